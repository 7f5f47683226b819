"""A bigger batch for the data loader that only feeds evaluation: the same numbers, sooner.

Evaluation keeps no activations for a backward pass, so four times the training batch fits
where training fits. The loader must be used only by gradient-free evaluation (a loop under
`torch.no_grad()`, or a function named for evaluation that turns gradients off); its new batch
size is a plain constant, not a knob: it changes how fast the score comes, not the score.
"""

from __future__ import annotations

import libcst as cst

from aft_tui.target.constants import module_assignments
from aft_tui.target.cst_tools import append_item
from aft_tui.target.literals import dotted_name, keyword_arg, last_part, literal_of, positional_args
from aft_tui.target.recipes.base import RecipeEdit
from aft_tui.target.recipes.rewrite import SourceEdit, parse
from aft_tui.target.recipes.training import TrainingCode, evaluation_name, line_of
from aft_tui.target.script import Script

_FACTOR = 4
_HARMLESS = frozenset({"len"})  # uses of a loader that do not run it


class EvalBatch:
    id = "eval_batch"
    title = "A 4x larger batch for the evaluation data loader"
    needs_gpu = False

    def apply(self, source: str) -> RecipeEdit | None:
        script = parse(source)
        if script is None:
            return None
        training = TrainingCode(script)
        loaders = _loaders(script)
        train = [(c, n) for c, n in loaders if _kind(script, training, n) == "train"]
        sizes = {_batch_size(script, c) for c, _ in train}
        if len(sizes) != 1 or None in sizes:
            return None
        size = sizes.pop()
        edit = SourceEdit(script)
        name = ""
        for call, loader in loaders:
            current = _batch_size(script, call, default=1)  # DataLoader's own default is 1
            if _kind(script, training, loader) != "eval" or current is None or current > size:  # type: ignore[operator]
                continue
            name = name or edit.constant("EVAL_BATCH_SIZE", str(size * _FACTOR))  # type: ignore[operator]
            edit.replace[call] = _with_batch_size(call, name)
        if not name:
            return None
        new = edit.render()
        if new is None:
            return None
        return RecipeEdit(
            self.id,
            self.title,
            "Evaluation needs no gradients, so a larger batch fits in the same memory and the "
            "evaluation finishes sooner, leaving more of a fixed time budget for training.",
            new,
            {},
            self.needs_gpu,
        )


def _loaders(script: Script) -> list[tuple[cst.Call, str]]:
    """`name = DataLoader(...)` assignments, with the name."""
    found = []
    for call in script.find(cst.Call):
        if last_part(script.qualified(dotted_name(call.func))) != "DataLoader":
            continue
        assign = script.parent(call)
        if isinstance(assign, cst.Assign) and len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name) and line_of(script, call):
            found.append((call, assign.targets[0].target.value))
    return found


def _kind(script: Script, training: TrainingCode, loader: str) -> str | None:
    """"train" when a loop over it makes update steps, "eval" when every use evaluates without
    gradients, else None."""
    kinds: set[str] = set()
    for use in script.find(cst.Name):
        if use.value != loader:
            continue
        parent = script.parent(use)
        if isinstance(parent, cst.AssignTarget):
            continue
        loop = _loop_over(script, use)
        if loop is not None:
            steps = [s for s in training.steps if loop is s.region or loop in script.ancestors(s.stmt)]
            kinds.add("train" if steps else "eval" if training.is_evaluation(loop) and _grad_free(training, loop) else "other")
            continue
        call = script.parent(parent) if isinstance(parent, cst.Arg) else None
        if isinstance(call, cst.Call) and last_part(dotted_name(call.func)) in _HARMLESS:
            continue
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and evaluation_name(call.func.value):
            function = next((f for f in script.find(cst.FunctionDef) if f.name.value == call.func.value), None)
            kinds.add("eval" if function is not None and _grad_free(training, function) and not training.in_training(call) else "other")
            continue
        if isinstance(parent, cst.Attribute) and parent.value is use:
            continue  # `loader.dataset`, `len(loader.dataset)`
        kinds.add("other")
    return kinds.pop() if len(kinds) == 1 else None


def _loop_over(script: Script, use: cst.Name) -> cst.For | None:
    node: cst.CSTNode = use
    for _ in range(3):
        parent = script.parent(node)
        if isinstance(parent, cst.For) and parent.iter is node:
            return parent
        if isinstance(parent, cst.Arg):
            node = script.parent(parent)  # enumerate(loader), tqdm(loader)
            if not (isinstance(node, cst.Call) and last_part(dotted_name(node.func)) in ("enumerate", "tqdm", "track")):
                return None
            continue
        return None
    return None


def _grad_free(training: TrainingCode, node: cst.CSTNode) -> bool:
    """Gradients are off in `node`: it sits under `no_grad`, or holds such a block, or is a
    function decorated with one."""
    script = training.script
    if any(training.no_grad(a) for a in [node, *script.ancestors(node)]):
        return True
    return any(training.no_grad(n) for n in script.find(cst.With) if node in script.ancestors(n))


def _batch_size(script: Script, call: cst.Call, default: int | None = None) -> int | None:
    """The loader's batch size as a number: a literal, or a module constant holding one."""
    arg = keyword_arg(call, "batch_size")
    positional = positional_args(call)
    node = arg.value if arg is not None else positional[1].value if len(positional) > 1 else None
    if node is None:
        return default
    if isinstance(node, cst.Name):
        values = [v for n, v, _ in module_assignments(script.module) if n == node.value]
        node = values[0] if len(values) == 1 and values[0] is not None else None
    lit = literal_of(node, script.module) if node is not None else None
    return lit.value if lit is not None and lit.type == "int" else None


def _with_batch_size(call: cst.Call, name: str) -> cst.Call:
    value = cst.Name(name)
    arg = keyword_arg(call, "batch_size")
    positional = positional_args(call)
    if arg is None and len(positional) > 1:
        arg = positional[1]
    if arg is not None:
        return call.with_changes(args=[a.with_changes(value=value) if a is arg else a for a in call.args])
    new = cst.Arg(keyword=cst.Name("batch_size"), value=value, equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
    return call.with_changes(args=append_item(call.args, new, call.whitespace_before_args))
