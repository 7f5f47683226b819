"""Where a PyTorch script trains and where it evaluates, read from its tree.

An update step is `optimizer.step()` (or `scaler.step(optimizer)`) with a `.backward()` before
it in the same loop: one pass of that loop is one update, which is where a scheduler steps,
gradients are clipped and an average of the weights is updated. Evaluation is code under
`torch.no_grad()` / `torch.inference_mode()` or in a function named for it; recipes that must
not touch evaluation (label smoothing) or must touch only it (EMA, bigger batches) ask here.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from aft_tui.target.literals import dotted_name, keyword_arg, last_part, positional_args
from aft_tui.target.names import words
from aft_tui.target.script import Script

OPTIMIZERS = frozenset(
    {"Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "Adafactor", "Lion", "SparseAdam", "LBFGS"}
)
EVALUATION_WORDS = frozenset(
    {"eval", "evaluate", "evaluation", "valid", "validate", "validation", "val", "test", "testing", "predict", "inference", "infer", "score"}
)
_NO_GRAD_CALLS = frozenset({"no_grad", "inference_mode"})
_LOOPS = (cst.For, cst.While)


@dataclass(frozen=True)
class OptimizerBuild:
    """`optimizer = torch.optim.Adam(model.parameters(), ...)`."""

    var: str  # the assignment target as written: "optimizer", "self.opt"
    stmt: cst.SimpleStatementLine
    call: cst.Call

    def model(self) -> str | None:
        """`model` when the optimizer is built from `model.parameters()`, else None."""
        params = keyword_arg(self.call, "params")
        node = params.value if params is not None else (positional_args(self.call)[0].value if positional_args(self.call) else None)
        if (
            isinstance(node, cst.Call)
            and not node.args
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "parameters"
            and isinstance(node.func.value, cst.Name)
        ):
            return node.func.value.value
        return None


@dataclass(frozen=True)
class UpdateStep:
    """One `optimizer.step()` line that follows a `.backward()`."""

    stmt: cst.SimpleStatementLine
    optimizer: str  # the optimizer expression as written
    scaler: str | None  # "scaler" for `scaler.step(optimizer)`
    region: cst.CSTNode  # the innermost loop around it (else its function, else the module)


class TrainingCode:
    """The optimizers a script builds, its update steps, and what is training or evaluation."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.builds = _optimizer_builds(script)
        self.steps = _update_steps(script, {b.var for b in self.builds})

    def build_of(self, optimizer: str) -> OptimizerBuild | None:
        found = [b for b in self.builds if b.var == optimizer]
        return found[0] if len(found) == 1 else None

    def in_training(self, node: cst.CSTNode) -> bool:
        """Inside the loop (or function) of an update step, not in a nested definition or under
        `no_grad`."""
        chain = [node, *self.script.ancestors(node)]
        for step in self.steps:
            if step.region not in chain:
                continue
            inner = chain[: chain.index(step.region)]
            if any(isinstance(n, (cst.FunctionDef, cst.Lambda, cst.ClassDef)) for n in inner):
                continue
            if not any(self.no_grad(n) for n in inner):
                return True
        return False

    def is_evaluation(self, node: cst.CSTNode) -> bool:
        """Under `torch.no_grad()` / `inference_mode()`, or in a function named for evaluation."""
        for anc in [node, *self.script.ancestors(node)]:
            if self.no_grad(anc):
                return True
            if isinstance(anc, cst.FunctionDef) and evaluation_name(anc.name.value):
                return True
        return False

    def no_grad(self, node: cst.CSTNode) -> bool:
        """`with torch.no_grad():` / `@torch.inference_mode()`."""
        if isinstance(node, cst.With):
            return any(self._no_grad_call(item.item) for item in node.items)
        if isinstance(node, cst.FunctionDef):
            return any(self._no_grad_call(d.decorator) for d in node.decorators)
        return False

    def _no_grad_call(self, expr: cst.BaseExpression) -> bool:
        target = expr.func if isinstance(expr, cst.Call) else expr
        return last_part(self.script.qualified(dotted_name(target))) in _NO_GRAD_CALLS


def evaluation_name(name: str) -> bool:
    return bool(EVALUATION_WORDS & set(words(name)))


def calls_to(script: Script, *qualified: str) -> list[cst.Call]:
    """Calls whose callee, expanded through the imports, is one of `qualified`."""
    wanted = set(qualified)
    return [c for c in script.find(cst.Call) if script.qualified(dotted_name(c.func)) in wanted]


def line_of(script: Script, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
    """The simple statement line holding `node`, when that line sits in a block or the module
    (not on the same line as an `if ...:`), so statements can go before or after it."""
    for anc in [node, *script.ancestors(node)]:
        if isinstance(anc, cst.SimpleStatementLine):
            return anc if isinstance(script.parent(anc), (cst.IndentedBlock, cst.Module)) else None
        if isinstance(anc, (cst.BaseCompoundStatement, cst.SimpleStatementSuite)):
            return None
    return None


def names_in(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _Names(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.add(n.value)

    node.visit(_Names())
    return found


def assigned_names(node: cst.CSTNode) -> set[str]:
    """Names bound by assignments, for-loop targets and `with ... as` inside `node`."""
    found: set[str] = set()

    class _Targets(cst.CSTVisitor):
        def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
            found.update(names_in(n.target))

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            found.update(names_in(n.target))

        def visit_AnnAssign(self, n: cst.AnnAssign) -> None:
            found.update(names_in(n.target))

        def visit_For(self, n: cst.For) -> None:
            found.update(names_in(n.target))

        def visit_AsName(self, n: cst.AsName) -> None:
            found.update(names_in(n.name))

    node.visit(_Targets())
    return found


def _optimizer_builds(script: Script) -> list[OptimizerBuild]:
    builds: list[OptimizerBuild] = []
    for assign in script.find(cst.Assign):
        value = assign.value
        if len(assign.targets) != 1 or not isinstance(value, cst.Call):
            continue
        qualified = script.qualified(dotted_name(value.func)) or ""
        if last_part(qualified) not in OPTIMIZERS or qualified.split(".")[0] in ("keras", "tensorflow", "tf", "optax"):
            continue
        line = line_of(script, assign)
        if line is not None:
            builds.append(OptimizerBuild(script.code(assign.targets[0].target), line, value))
    return builds


def _update_steps(script: Script, optimizers: set[str]) -> list[UpdateStep]:
    steps: list[UpdateStep] = []
    for call in script.find(cst.Call):
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "step"):
            continue
        receiver = script.code(func.value)
        scaler: str | None = None
        if not call.args and (receiver in optimizers or _named_optimizer(receiver)):
            optimizer = receiver
        elif len(call.args) == 1 and call.args[0].keyword is None and "scaler" in words(receiver):
            optimizer, scaler = script.code(call.args[0].value), receiver
        else:
            continue
        parent = script.parent(call)
        line = line_of(script, call)
        if line is None or not isinstance(parent, cst.Expr):
            continue
        region = next((a for a in script.ancestors(call) if isinstance(a, (*_LOOPS, cst.FunctionDef))), script.module)
        start = script.pos(call)
        backward = any(
            isinstance(c.func, cst.Attribute) and c.func.attr.value == "backward" and script.pos(c) < start
            for c in _calls_inside(script, region)
        )
        if backward:
            steps.append(UpdateStep(line, optimizer, scaler, region))
    return steps


def _named_optimizer(code: str) -> bool:
    ws = set(words(code.split(".")[-1]))
    return bool(ws & {"opt", "optim", "optimizer", "optimiser"}) and not ws & {"sched", "scheduler", "lr"}


def _calls_inside(script: Script, node: cst.CSTNode) -> list[cst.Call]:
    if isinstance(node, cst.Module):
        return script.find(cst.Call)
    return [c for c in script.find(cst.Call) if node in script.ancestors(c)]
