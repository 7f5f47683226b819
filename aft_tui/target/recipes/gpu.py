"""Recipes that only pay on a GPU: bf16 autocast around the forward pass and the loss, and
compiling the model. Both change speed, not the maths a person wrote, and both switch
themselves off where there is no CUDA device, so the script still runs on a laptop.
"""

from __future__ import annotations

import libcst as cst

from aft_tui.target.literals import dotted_name, last_part
from aft_tui.target.recipes.base import RecipeEdit
from aft_tui.target.recipes.rewrite import SourceEdit, parse
from aft_tui.target.recipes.training import TrainingCode, UpdateStep, assigned_names, line_of, names_in
from aft_tui.target.script import Script

# Mixed precision the script already manages: autocast, a grad scaler, half weights, Accelerate.
_PRECISION = frozenset({"autocast", "GradScaler", "half", "bfloat16", "Accelerator", "amp"})
_STEP_CALLS = frozenset({"zero_grad", "step", "backward"})


class Amp:
    id = "amp"
    title = "bf16 autocast around the forward pass and the loss"
    needs_gpu = True

    def apply(self, source: str) -> RecipeEdit | None:
        script = parse(source)
        if script is None or _manages_precision(script):
            return None
        training = TrainingCode(script)
        edit = SourceEdit(script)
        autocast = edit.spell("torch.autocast")
        cuda = edit.spell("torch.cuda")
        bf16 = edit.spell("torch.bfloat16")
        if not training.steps or autocast is None or cuda is None or bf16 is None:
            return None
        runs = [_forward(script, step) for step in training.steps]
        if any(run is None for run in runs):
            return None
        enabled = edit.constant("AUTOCAST_BF16", f"{cuda}.is_available() and {cuda}.is_bf16_supported()")
        for run in runs:
            edit.wrap(run, f'with {autocast}("cuda", dtype={bf16}, enabled={enabled}):')  # type: ignore[arg-type]
        new = edit.render()
        if new is None:
            return None
        return RecipeEdit(
            self.id,
            self.title,
            "Running the forward pass and the loss in bfloat16 roughly doubles throughput on recent "
            "GPUs, so a fixed time budget trains on more data; bf16 needs no loss scaling.",
            new,
            edit.knobs,
            self.needs_gpu,
        )


class Compile:
    id = "compile"
    title = "Compile the model with torch.compile"
    needs_gpu = True

    def apply(self, source: str) -> RecipeEdit | None:
        script = parse(source)
        if script is None or any(last_part(dotted_name(c.func)) == "compile" for c in script.find(cst.Call)):
            return None
        if any(n.value == "AveragedModel" for n in script.find(cst.Name)):
            return None  # a deep copy of a compiled model would still call the original
        training = TrainingCode(script)
        optimizers = {s.optimizer for s in training.steps}
        build = training.build_of(next(iter(optimizers))) if len(optimizers) == 1 else None
        model = build.model() if build is not None else None
        if build is None or model is None:
            return None
        edit = SourceEdit(script)
        cuda = edit.spell("torch.cuda")
        if cuda is None:
            return None
        # In place (`Module.compile`), so `model.state_dict()` keeps its keys and saved weights load as before.
        edit.insert_after(build.stmt, f"if {cuda}.is_available():\n    {model}.compile()")
        new = edit.render()
        if new is None:
            return None
        return RecipeEdit(
            self.id,
            self.title,
            "Compiling fuses the model's operations into fewer, faster GPU kernels; after a short "
            "warm-up each step runs faster, so a fixed time budget trains on more data.",
            new,
            edit.knobs,
            self.needs_gpu,
        )


def _manages_precision(script: Script) -> bool:
    for node in script.find(cst.Name):
        if node.value in _PRECISION:
            return True
    return False


def _forward(script: Script, step: UpdateStep) -> list[cst.BaseStatement] | None:
    """The statements just before `loss.backward()` that compute the loss (back to the
    `zero_grad()` or the start of the block), when they can be put under one `with`."""
    backward = [
        c for c in script.find(cst.Call)
        if isinstance(c.func, cst.Attribute) and c.func.attr.value == "backward" and script.pos(c) < script.pos(step.stmt)
        and (step.region is script.module or step.region in script.ancestors(c))
    ]
    if len(backward) != 1:
        return None
    line = line_of(script, backward[0])
    block = script.parent(line) if line is not None else None
    if line is None or not isinstance(block, cst.IndentedBlock):
        return None
    body = list(block.body)
    index = body.index(line)
    run: list[cst.BaseStatement] = []
    for stmt in reversed(body[:index]):
        if not isinstance(stmt, cst.SimpleStatementLine) or _calls_any(stmt, _STEP_CALLS):
            break
        run.insert(0, stmt)
    needed = names_in(backward[0].func)
    if not run or not needed & set().union(*(assigned_names(s) for s in run)):
        return None  # the loss is not computed right above its backward pass
    return run


def _calls_any(stmt: cst.CSTNode, names: frozenset[str]) -> bool:
    found = False

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            found = found or last_part(dotted_name(node.func)) in names

    stmt.visit(_Calls())
    return found
