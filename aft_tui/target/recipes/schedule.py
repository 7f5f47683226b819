"""Linear warmup then cosine decay of the learning rate, stepped after every update.

The schedule needs the number of updates the run will make, so it is added only where the
script spells that out: `epochs * len(loader)` for an epoch loop over a data loader, or the
bound of a step loop (`for it in range(MAX_ITERS)`, `while step < max_steps`). Gradient
accumulation (a step under an `if`) or a script that already schedules its learning rate
declines.
"""

from __future__ import annotations

import re

import libcst as cst

from aft_tui.target.literals import dotted_name, last_part, positional_args, string_value
from aft_tui.target.loops import is_epoch_loop, range_call
from aft_tui.target.recipes.base import RecipeEdit
from aft_tui.target.recipes.rewrite import SourceEdit, parse
from aft_tui.target.recipes.training import TrainingCode, UpdateStep, assigned_names
from aft_tui.target.script import Script

_SCHEDULE_CALL = re.compile(r"(LR|Scheduler)$|schedule")

_HELPER = '''
def {fn}(total_steps):
    """LambdaLR factor: linear warmup over {warmup} of the steps, then cosine decay to {floor}."""
    warmup_steps = int({warmup} * total_steps)

    def factor(step):
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return {floor} + (1 - {floor}) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor
'''


class CosineWarmup:
    id = "cosine_warmup"
    title = "Linear warmup then cosine decay of the learning rate"
    needs_gpu = False

    def apply(self, source: str) -> RecipeEdit | None:
        script = parse(source)
        if script is None or _schedules_lr(script):
            return None
        training = TrainingCode(script)
        if len(training.steps) != 1 or not isinstance(script.parent(training.steps[0].stmt), cst.IndentedBlock):
            return None
        step = training.steps[0]
        if not re.fullmatch(r"[A-Za-z_]\w*", step.optimizer) or _conditional(script, step):
            return None
        edit = SourceEdit(script)
        plan = _total_steps(script, edit, step)
        if plan is None:
            return None
        where, total = plan
        if not _visible(script, training, step.optimizer, where):
            return None
        lambda_lr = edit.spell("torch.optim.lr_scheduler.LambdaLR")
        if lambda_lr is None:
            return None
        warmup = edit.knob("WARMUP_FRACTION", 0.05)
        floor = edit.knob("MIN_LR_RATIO", 0.0)
        fn = edit.fresh("warmup_cosine")
        scheduler = edit.fresh("scheduler")
        edit.import_plain("math")
        edit.helper(_HELPER.format(fn=fn, warmup=warmup, floor=floor))
        edit.insert_before(where, f"{scheduler} = {lambda_lr}({step.optimizer}, {fn}({total}))")
        edit.insert_after(step.stmt, f"{scheduler}.step()")
        new = edit.render()
        if new is None:
            return None
        return RecipeEdit(
            self.id,
            self.title,
            "A short warmup keeps the first updates from destabilising the freshly initialised model, "
            "and decaying the rate along a cosine lets training settle into a better minimum.",
            new,
            edit.knobs,
            self.needs_gpu,
        )


def _schedules_lr(script: Script) -> bool:
    """An lr scheduler, or a hand-written schedule (`group["lr"] = ...`)."""
    for call in script.find(cst.Call):
        qualified = script.qualified(dotted_name(call.func)) or ""
        if ".lr_scheduler." in f".{qualified}." or _SCHEDULE_CALL.search(last_part(qualified)):
            return True
    for target in [t.target for t in script.find(cst.AssignTarget)] + [a.target for a in script.find(cst.AugAssign)]:
        if isinstance(target, cst.Subscript) and len(target.slice) == 1:
            index = target.slice[0].slice
            if isinstance(index, cst.Index) and string_value(index.value) in ("lr", "learning_rate"):
                return True
    return False


def _conditional(script: Script, step: UpdateStep) -> bool:
    """A step under an `if` inside its loop (gradient accumulation) runs fewer times than the loop."""
    for anc in script.ancestors(step.stmt):
        if anc is step.region:
            return False
        if isinstance(anc, cst.If):
            return True
    return False


def _total_steps(script: Script, edit: SourceEdit, step: UpdateStep) -> tuple[cst.CSTNode, str] | None:
    """(the statement the scheduler goes before, the expression of the number of updates)."""
    loop = step.region
    if isinstance(loop, cst.While):
        test = loop.test
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(test.left, cst.Name):
            target = test.comparisons[0]
            bound = script.code(target.comparator)
            if isinstance(target.operator, cst.LessThan):
                return loop, bound
            if isinstance(target.operator, cst.LessThanEqual):
                return loop, f"{bound} + 1"
        return None
    if not isinstance(loop, cst.For):
        return None
    if range_call(loop.iter) is not None:  # one update per pass: a step loop, or full-batch epochs
        count = _range_count(script, edit, loop)
        return (loop, count) if count is not None else None
    loader = _loader(script, loop.iter)
    epochs = next((a for a in script.ancestors(loop) if isinstance(a, (cst.For, cst.While, cst.FunctionDef))), None)
    if loader is None or not isinstance(epochs, cst.For) or not is_epoch_loop(epochs, script.module):
        return None
    if loader in assigned_names(epochs) or not _built_by_dataloader(script, loader):
        return None  # a loader rebuilt each epoch, or one whose length is unknown
    count = _range_count(script, edit, epochs)
    if count is None:
        return None
    return epochs, f"{count} * len({loader})"


def _range_count(script: Script, edit: SourceEdit, loop: cst.For) -> str | None:
    """How many times `for ... in range(...)` runs, as code; a literal bound becomes a knob so
    the loop and the schedule keep counting the same."""
    call = range_call(loop.iter)
    if call is None or last_part(dotted_name(call.func)) != "range":
        return None
    args = positional_args(call)
    if len(args) != len(call.args) or not 1 <= len(args) <= 2:
        return None
    stop = args[-1].value
    if isinstance(stop, cst.Integer):
        name = edit.knob("EPOCHS" if is_epoch_loop(loop, script.module) else "MAX_STEPS", int(stop.value, 0), stop.value)
        edit.replace[stop] = cst.Name(name)
        stop_code = name
    else:
        stop_code = script.code(stop)
        if isinstance(stop, cst.BinaryOperation):
            stop_code = f"({stop_code})"
    if len(args) == 1:
        return stop_code
    start = script.code(args[0].value)
    return f"({stop_code} - {start})" if start != "0" else stop_code


def _loader(script: Script, iterable: cst.BaseExpression) -> str | None:
    """`train_loader` of `for xb, yb in train_loader` / `enumerate(train_loader)` / `tqdm(...)`."""
    node = iterable
    for _ in range(3):
        if isinstance(node, cst.Name):
            return node.value
        if isinstance(node, cst.Call) and last_part(dotted_name(node.func)) in ("enumerate", "tqdm", "track", "progress") and positional_args(node):
            node = positional_args(node)[0].value
            continue
        return None
    return None


def _built_by_dataloader(script: Script, name: str) -> bool:
    """Every assignment of `name` is a `DataLoader(...)`, whose len() is its number of batches."""
    values = [a.value for a in script.find(cst.Assign) if any(isinstance(t.target, cst.Name) and t.target.value == name for t in a.targets)]
    return bool(values) and all(isinstance(v, cst.Call) and last_part(dotted_name(v.func)) == "DataLoader" for v in values)


def _visible(script: Script, training: TrainingCode, optimizer: str, where: cst.CSTNode) -> bool:
    """The optimizer exists where the scheduler is built: built before that point in the same
    scope, or a parameter of the function the loop is in, or a module global it does not rebind."""
    function = script.enclosing_function(where)
    build = training.build_of(optimizer)
    if function is not None and optimizer in {p.name.value for p in function.params.params}:
        return True
    if build is None:
        return False
    build_scope = script.enclosing_function(build.stmt)
    if build_scope is function:
        return script.pos(build.stmt) < script.pos(where) and where not in script.ancestors(build.stmt)
    return build_scope is None and optimizer not in assigned_names(function)  # type: ignore[arg-type]
