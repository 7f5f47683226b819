"""Making a training script stop training once its time budget (AFT_TIME_BUDGET, seconds) is spent,
while it still evaluates and prints its metric.

Research mode gives every experiment the same wall-clock budget, so experiments are comparable
whatever they change. The edit is inert without the variable: the deadline is None and every added
check is false, so the person's own runs and AFT's static proof of unchanged behaviour see the
original program. The deadline is taken once, right after the script's imports, so the budget
covers data loading and setup as well as training.

Shapes handled; anything else gives None rather than an edit that could skip the evaluation:
- an epoch loop (see loops.py) around a batch loop, in the same function or in a function the epoch
  loop calls: a check at the top of the batch loop, so the rest of the epoch (its evaluation and
  print) still runs, and one at the end of the epoch loop, so the next epoch does not start (the
  first epoch always reaches its evaluation, even when setup spent the whole budget);
- an epoch loop that steps itself (full-batch training), or whose update is not recognised: the
  check at its end (its inner loops are left whole: they may be evaluation loops);
- an iteration loop (`while True`, `for it in range(max_iters)`, one pass over a loader), also around
  gradient-accumulation micro-steps (left whole) or around a loop over the data: the check at its end;
  where it evaluates every k iterations (`if it % k == 0: ...`), the clock is read once before that
  evaluation, which then also runs when the time is up, and the loop stops right after it;
- a Hugging Face Trainer/SFTTrainer construction: a TrainerCallback whose on_step_end stops training
  past the deadline (and asks for the last evaluation under a per-step evaluation strategy);
- a Lightning Trainer construction: a Callback whose on_train_batch_end sets `trainer.should_stop`
  past the deadline (Lightning validates before it stops, as for early stopping);
- Keras `model.fit(...)` (Keras 3 on any backend, tf.keras): a Callback whose on_train_batch_end sets
  `self.model.stop_training`; Keras ends the epoch there, still runs that epoch's validation and
  reports it, then stops.
A loop over the parameters (`for p in model.parameters(): p -= lr * p.grad`) is part of one update
and is never cut. Not handled (None): an epoch loop inside another loop (a sweep), an
iteration loop repeated by an outer loop that does not step itself, loops with an `else:` clause or
a one-line body, a loop whose only evaluation sits behind a condition that is not periodic.
Every check calls one added helper: under torch.distributed (torchrun, accelerate) rank 0's clock
decides for every rank, by a broadcast per check, so all ranks stop at the same step; a rank that
stopped alone would leave the others waiting in their next collective forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from aft_tui.errors import UserError
from aft_tui.target.cst_tools import with_callback
from aft_tui.target.hooks import callback_import, statement
from aft_tui.target.literals import keyword_arg, string_value
from aft_tui.target.loops import is_epoch_loop
from aft_tui.target.script import Script, parse_script
from aft_tui.target.script_facts import keras_fit_calls, keras_root, trainer_calls, uses_keras
from aft_tui.target.training_loops import Loop, TrainingLoops

BUDGET_ENV = "AFT_TIME_BUDGET"
DEADLINE = "_AFT_DEADLINE"
_OUT_OF_TIME = "_aft_out_of_time"
_PAST = "_aft_past_deadline"
_CALLBACK = "_AftTimeBudgetCallback"
_CALLBACK_BASE = "_AftTrainerCallback"
_LIGHTNING_BASE = "_AftLightningCallback"
_KERAS_BASE = "_AftKerasCallback"


@dataclass(frozen=True)
class BudgetEdit:
    """The edited source, where the checks went (in words, for a person) and which kind of edit."""

    new_source: str
    where: str
    kind: str  # "loop" | "trainer_callback" (Hugging Face, Lightning or Keras)


def has_budget_check(source: str) -> bool:
    """Whether the script already honours AFT_TIME_BUDGET (this edit, or the person's own code)."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return DEADLINE in source or BUDGET_ENV in source
    found: list[bool] = []

    class _Find(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value == DEADLINE:
                found.append(True)

        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            if string_value(node) == BUDGET_ENV:
                found.append(True)

    module.visit(_Find())
    return bool(found)


def insert_budget_check(source: str) -> BudgetEdit | None:
    """The script with a time-budget stop added; None when it has one already, when no training
    loop or Trainer is recognised, or when its shape is not one the edit handles safely."""
    if has_budget_check(source):
        return None
    try:
        script = parse_script(Path("train.py"), source)
    except UserError:
        return None
    trainers = trainer_calls(script)
    if trainers:
        kinds = {kind for _, kind in trainers}
        if len(kinds) != 1 or (kinds == {"hf_trainer"} and not script.imports_module("transformers")):
            return None  # two frameworks; or an SFTTrainer in a script that never imports transformers
        calls = [call for call, _ in trainers]
        if not _takes_a_callback(calls):
            return None
        return _lightning_edit(script, calls) if kinds == {"lightning"} else _trainer_edit(script, calls)
    if uses_keras(script):
        return _keras_edit(script)
    return _loop_edit(script)


@dataclass(eq=False)
class _Plan:
    """The insertions, keyed by the original tree's nodes."""

    top: dict[cst.CSTNode, list[cst.BaseStatement]] = field(default_factory=dict)  # block -> first statements
    end: dict[cst.CSTNode, list[cst.BaseStatement]] = field(default_factory=dict)  # block -> last statements
    before: dict[cst.CSTNode, list[cst.BaseStatement]] = field(default_factory=dict)
    after: dict[cst.CSTNode, list[cst.BaseStatement]] = field(default_factory=dict)
    or_tests: set[cst.If] = field(default_factory=set)
    callback_calls: set[cst.Call] = field(default_factory=set)
    touched: list[cst.CSTNode] = field(default_factory=list)  # the header goes before the first of these


def _trainer_edit(script: Script, calls: list[cst.Call]) -> BudgetEdit:
    body = (
        f"class {_CALLBACK}({_CALLBACK_BASE}):\n"
        f'    """Stops training once AFT_TIME_BUDGET is spent; the evaluation after train() still runs."""\n\n'
        "    def on_step_end(self, args, state, control, **kwargs):\n"
        f"        if {_PAST}():\n"
        "            control.should_training_stop = True\n"
        '            if getattr(args, "eval_strategy", getattr(args, "evaluation_strategy", "no")) == "steps":\n'
        "                control.should_evaluate = True\n"
        "        return control\n"
    )
    base = f"from transformers import TrainerCallback as {_CALLBACK_BASE}"
    return _callback_edit(script, calls, body, _CALLBACK_BASE, base, "a Trainer callback")


def _lightning_edit(script: Script, calls: list[cst.Call]) -> BudgetEdit:
    """Lightning validates when `trainer.should_stop` is set (as it does for early stopping), so
    the run stops after the batch that passed the deadline, evaluates and reports."""
    body = (
        f"class {_CALLBACK}({_LIGHTNING_BASE}):\n"
        f'    """Stops training once AFT_TIME_BUDGET is spent; Lightning validates before it stops."""\n\n'
        "    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):\n"
        f"        if {_PAST}():\n"
        "            trainer.should_stop = True\n"
    )
    root = "pytorch_lightning" if script.imports_module("pytorch_lightning") else "lightning"
    return _callback_edit(script, calls, body, _LIGHTNING_BASE, callback_import("lightning", root), "a Lightning callback")


def _keras_edit(script: Script) -> BudgetEdit | None:
    """Keras checks `stop_training` after every batch: the epoch ends there, its validation still
    runs and is logged, and no further epoch starts. A `GradientTape` loop beside no fit() is a loop."""
    calls = keras_fit_calls(script)
    if not calls:
        return _loop_edit(script)
    if not _takes_a_callback(calls):
        return None
    body = (
        f"class {_CALLBACK}({_KERAS_BASE}):\n"
        f'    """Stops training once AFT_TIME_BUDGET is spent; Keras still validates the epoch it stops in."""\n\n'
        "    def on_train_batch_end(self, batch, logs=None):\n"
        f"        if {_PAST}():\n"
        "            self.model.stop_training = True\n"
    )
    return _callback_edit(script, calls, body, _KERAS_BASE, _keras_callback_import(script), "a Keras callback",
                          "fit()")


def _takes_a_callback(calls: list[cst.Call]) -> bool:
    """Trainer(**kwargs) or fit(**kwargs) may pass callbacks= already: one added beside it could
    name the keyword twice, unless the call spells callbacks= out."""
    return not any(a.star == "**" for c in calls for a in c.args) or all(keyword_arg(c, "callbacks") for c in calls)


def _keras_callback_import(script: Script) -> str:
    """The Callback base from the Keras the script trains with (Keras 3, tf.keras or tf_keras)."""
    return f"from {keras_root(script) or 'keras'}.callbacks import Callback as {_KERAS_BASE}"


def _callback_edit(script: Script, calls: list[cst.Call], body: str, base: str, base_import: str,
                   what: str, receiver: str = "the Trainer") -> BudgetEdit:
    """The callback class in the header, passed to every Trainer construction (its base class
    imported unless an earlier AFT edit imported it under the same name)."""
    plan = _Plan(callback_calls=set(calls), touched=list(calls))
    extra = [] if base in script.imports else [base_import]
    source = _render(script, plan, extra, [statement(body, script.module, blank_lines=2)])
    lines = ", ".join(f"line {script.line(c)}" for c in calls)
    return BudgetEdit(source, f"{what} ({_CALLBACK}) passed to {receiver} at {lines}", "trainer_callback")


def _loop_edit(script: Script) -> BudgetEdit | None:
    loops = TrainingLoops(script)
    targets = loops.targets()
    if not targets:
        return None
    plan = _Plan()
    check = f"if {_PAST}():\n    break\n"
    where: list[str] = []
    for outer, inners in targets.items():
        if not _plain_loop(outer) or not all(_plain_loop(i) for i in inners):
            return None
        periodic = loops.periodic_evaluations(outer)
        if not periodic and loops.only_conditional_reports(outer):
            return None
        for inner in inners:
            plan.top[inner.body] = [statement(check, script.module)]
            plan.touched.append(inner)
            where.append(f"the top of the batch loop at line {script.line(inner)}")
        plan.touched.append(outer)
        if periodic:
            plan.before[periodic[0]] = [statement(f"{_OUT_OF_TIME} = {_PAST}()", script.module)]
            plan.or_tests.update(periodic)
            plan.after[periodic[-1]] = [statement(f"if {_OUT_OF_TIME}:\n    break\n", script.module)]
            where.append(f"the periodic evaluation at line {script.line(periodic[0])} of the {_name(outer, script)} "
                         f"at line {script.line(outer)} (it runs once more when the time is up, then the loop stops)")
        else:
            plan.end[outer.body] = [statement(check, script.module)]
            where.append(f"the end of the {_name(outer, script)} at line {script.line(outer)}")
    return BudgetEdit(_render(script, plan, [], []), " and ".join(reversed(where)), "loop")


def _plain_loop(loop: Loop) -> bool:
    """A `break` added to it does only what it says: no `else:` clause to skip, a body of lines."""
    return loop.orelse is None and isinstance(loop.body, cst.IndentedBlock)


def _name(loop: Loop, script: Script) -> str:
    if is_epoch_loop(loop, script.module):
        return "epoch loop"
    return "training loop"


def _module_name(script: Script, module: str) -> str:
    """The name the added code calls the module by: its own, unless the script gives that name to
    something else (`from time import time`, a parameter called time)."""
    for name in script.find(cst.Name):
        if name.value != module:
            continue
        parent = script.parent(name)
        if isinstance(parent, cst.Attribute) and parent.value is name:
            continue  # time.monotonic()
        if isinstance(parent, cst.Attribute) or (isinstance(parent, cst.Arg) and parent.keyword is name):
            continue  # x.time, f(time=...)
        if isinstance(parent, cst.ImportFrom) or (isinstance(parent, cst.ImportAlias) and (
                parent.asname is not None or isinstance(script.parent(parent), cst.Import))):
            continue  # from time import ..., from time import time as now, import time
        return f"_aft_{module}"
    return module


def _imported_before(script: Script, module: str, index: int) -> bool:
    for stmt in script.module.body[:index]:
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Import) and any(
                    a.asname is None and isinstance(a.name, cst.Name) and a.name.value == module for a in small.names):
                return True
    return False


def _header_index(script: Script, touched: list[cst.CSTNode]) -> int:
    """After the imports that come before the first statement the edit touches."""
    body = script.module.body
    indices = [i for i in (script.top_level_index(n) for n in touched) if i is not None]
    first_use = min(indices, default=len(body))
    index = 0
    for i, stmt in enumerate(body[:first_use]):
        is_import = _is_import(stmt)
        is_doc = i == 0 and isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Expr) \
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
        if is_import or is_doc:
            index = i + 1
    return index


def _is_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)


def _render(script: Script, plan: _Plan, imports: list[str], helpers: list[cst.BaseStatement]) -> str:
    index = _header_index(script, plan.touched)
    added = []
    for module in ("os", "sys", "time"):
        name = _module_name(script, module)
        if name != module:
            added.append(f"import {module} as {name}")
        elif not _imported_before(script, module, index):
            added.append(f"import {module}")
    clock, env, system = _module_name(script, "time"), _module_name(script, "os"), _module_name(script, "sys")
    deadline = (
        f'_aft_budget = {env}.environ.get("{BUDGET_ENV}", "").strip()\n'
        f"{DEADLINE} = {clock}.monotonic() + float(_aft_budget) if _aft_budget else None\n"
    )
    past = (
        f"def {_PAST}():\n"
        f'    """Whether {BUDGET_ENV} is spent; under torch.distributed, the clock of rank 0 decides for\n'
        '    every rank, so all of them stop at the same step."""\n'
        f"    if {DEADLINE} is None:\n"
        "        return False\n"
        f"    late = {clock}.monotonic() > {DEADLINE}\n"
        f'    dist = {system}.modules.get("torch.distributed")\n'
        "    if dist is None or not dist.is_available() or not dist.is_initialized():\n"
        "        return late\n"
        "    import torch\n"
        "\n"
        '    on = torch.device("cuda", torch.cuda.current_device()) if "nccl" in str(dist.get_backend()) else "cpu"\n'
        "    flag = torch.tensor([int(late)], device=on)\n"
        "    dist.broadcast(flag, src=0)\n"
        "    return bool(flag.item())\n"
    )
    header: list[cst.BaseStatement] = [statement(code, script.module) for code in [*added, *imports]]
    parsed = cst.parse_module(deadline, config=script.module.config_for_parsing).body
    note = cst.EmptyLine(comment=cst.Comment(f"# {BUDGET_ENV}: the seconds this run may train; unset, the script trains as it always did."))
    header += [parsed[0].with_changes(leading_lines=[cst.EmptyLine(), note]), *parsed[1:]]
    header.append(statement(past, script.module, blank_lines=2))
    header += helpers
    if index == 0 or ((added or imports) and _is_import(script.module.body[index - 1])):
        header[0] = header[0].with_changes(leading_lines=[])  # at the top, or joining the imports
    return script.module.visit(_Apply(plan, header, index)).code


def _or_out_of_time(test: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(test, (cst.BooleanOperation, cst.IfExp, cst.Lambda, cst.NamedExpr)) and not test.lpar:
        test = test.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.BooleanOperation(left=test, operator=cst.Or(), right=cst.Name(_OUT_OF_TIME))


class _Apply(cst.CSTTransformer):
    def __init__(self, plan: _Plan, header: list[cst.BaseStatement], index: int) -> None:
        super().__init__()
        self.plan, self.header, self.index = plan, header, index

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.If:
        if original in self.plan.or_tests:
            return updated.with_changes(test=_or_out_of_time(updated.test))
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        return with_callback(updated, f"{_CALLBACK}()") if original in self.plan.callback_calls else updated

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        body: list[cst.BaseStatement] = list(self.plan.top.get(original, []))
        for orig, upd in zip(original.body, updated.body):
            before = self.plan.before.get(orig, [])
            if before:  # the statement's blank lines and comments move above what goes before it
                body += [before[0].with_changes(leading_lines=upd.leading_lines), *before[1:]]
                upd = upd.with_changes(leading_lines=[])
            body.append(upd)
            body += self.plan.after.get(orig, [])
        body += self.plan.end.get(original, [])
        return updated.with_changes(body=body)

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        body = list(updated.body)
        if self.index < len(body) and not body[self.index].leading_lines:
            body[self.index] = body[self.index].with_changes(leading_lines=[cst.EmptyLine()])
        return updated.with_changes(body=[*body[:self.index], *self.header, *body[self.index:]])
