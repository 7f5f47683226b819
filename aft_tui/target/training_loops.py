"""A script's hand-written training loops: where it updates its weights, which loop repeats that
update (an epoch loop, an iteration loop), which batch loop runs inside it, and where it reports.

A time budget needs exactly this: which loop to stop, where a stop cannot skip the evaluation.
Loops are followed through plain function calls (`for epoch in ...: train_one_epoch(...)`), so
a batch loop written in a helper function still counts as the epoch loop's batch loop.
"""

from __future__ import annotations

import re

import libcst as cst

from aft_tui.target.literals import dotted_name, last_part
from aft_tui.target.loops import is_epoch_loop, range_call
from aft_tui.target.script import Script

Loop = cst.For | cst.While
_REPORTS = {"print", "log", "info", "log_metrics", "add_scalar", "add_scalars", "set_postfix", "write"}
_EVAL_WORDS = ("eval", "estimate", "valid", "test")
# What a hand-written descent step subtracts: a gradient (`grad`, `gw`, `d_w`) or something scaled by
# a learning rate (`lr * velocity`, `FLAGS.learning_rate * g`), as update_step.py reads them.
_DESCENT = re.compile(r"grad|(?<![a-z0-9_])(lr|learning_rate|rate|step_size|dw|db|gw|gb|g_\w+|d_\w+)(?![a-z0-9_])")


class TrainingLoops:
    """The script's training loops: where a step is taken, which loops repeat it, which report."""

    def __init__(self, script: Script) -> None:
        self.script = script
        defs: dict[str, list[cst.FunctionDef]] = {}
        for d in script.find(cst.FunctionDef):
            defs.setdefault(d.name.value, []).append(d)
        self.callers: dict[cst.FunctionDef, list[cst.Call]] = {}
        for call in script.find(cst.Call):
            name = _callee(call)
            if name is not None and len(defs.get(name, [])) == 1:
                self.callers.setdefault(defs[name][0], []).append(call)

    def loop_of(self, node: cst.CSTNode, depth: int = 0) -> Loop | None:
        """The innermost loop that runs `node`, through the call sites of the function holding it."""
        for anc in self.script.ancestors(node):
            if isinstance(anc, cst.For) and _over_parameters(anc, self.script):
                continue  # `for p in model.parameters(): p -= lr * p.grad` is one update, not a loop to stop
            if isinstance(anc, (cst.For, cst.While)):
                return anc
            if isinstance(anc, (cst.Lambda, cst.ClassDef)):
                return None
            if isinstance(anc, cst.FunctionDef):
                if depth < 4:
                    for call in self.callers.get(anc, []):
                        loop = self.loop_of(call, depth + 1)
                        if loop is not None:
                            return loop
                return None
        return None

    def chain(self, loop: Loop) -> list[Loop]:
        out = [loop]
        while (up := self.loop_of(out[-1])) is not None and up not in out and len(out) < 8:
            out.append(up)
        return out

    def steps(self) -> list[cst.CSTNode]:
        """Where the script updates its weights: backward()/optimizer.step(), or `w -= lr * grad`."""
        s = self.script
        sites: list[cst.CSTNode] = []
        for call in s.find(cst.Call):
            func = call.func
            if not isinstance(func, cst.Attribute):
                continue
            attr, base = func.attr.value, s.code(func.value).lower()
            if (attr in ("backward", "apply_gradients", "train_on_batch")
                    or (attr == "step" and ("opt" in base or "scaler" in base))
                    or (attr in ("add_", "sub_") and "grad" in s.code(call).lower())):
                sites.append(call)
        for aug in s.find(cst.AugAssign):
            if isinstance(aug.operator, cst.SubtractAssign) and _DESCENT.search(s.code(aug.value).lower()):
                sites.append(aug)
        for assign in s.find(cst.Assign):
            value = assign.value
            if (isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Subtract)
                    and len(assign.targets) == 1 and s.code(value.left) == s.code(assign.targets[0].target)
                    and _DESCENT.search(s.code(value.right).lower())):
                sites.append(assign)
        return sites

    def targets(self) -> dict[Loop, list[Loop]]:
        """Each outer training loop and the batch loops under it that get a check; empty when unsafe."""
        module = self.script.module
        step_loops = [loop for site in self.steps() if (loop := self.loop_of(site)) is not None]
        found: dict[Loop, list[Loop]] = {}
        if not step_loops:
            # No update recognised: an epoch loop still names itself. Its inner loops may as well be
            # evaluation loops, so only the epoch loop is stopped (after the current epoch).
            epochs = [l for l in self.script.find(cst.For) if is_epoch_loop(l, module) and self.loop_of(l) is None]
            return {loop: [] for loop in epochs}
        for loop in step_loops:
            chain = self.chain(loop)
            epochs = [l for l in chain if is_epoch_loop(l, module)]
            if epochs:
                outer = epochs[-1]
                if chain[-1] is not outer:
                    return {}  # the epoch loop is itself repeated (a sweep): stopping it is not enough
                index = chain.index(outer)
                inner = chain[index - 1] if index > 0 else None
            else:
                outer = chain[-1]
                inner = chain[-2] if len(chain) > 1 else None
                if isinstance(inner, cst.For) and range_call(inner.iter) is not None:
                    if outer not in step_loops:
                        return {}  # an iteration loop repeated by an outer loop: which one trains?
                    inner = None  # gradient-accumulation micro-steps: the update stays whole
            inners = found.setdefault(outer, [])
            if inner is not None and inner not in inners:
                inners.append(inner)
        return found

    def is_report(self, call: cst.Call) -> bool:
        name = last_part(dotted_name(call.func)).lower()
        return name in _REPORTS or any(word in name for word in _EVAL_WORDS)

    def reports_in(self, node: cst.CSTNode, stop: tuple[type, ...]) -> bool:
        """A report call inside `node`, not looking into the node types in `stop`."""
        found: list[bool] = []
        outer = self

        class _Find(cst.CSTVisitor):
            def on_visit(self, n: cst.CSTNode) -> bool:
                if n is not node and isinstance(n, stop):
                    return False
                if isinstance(n, cst.Call) and outer.is_report(n):
                    found.append(True)
                return not found

        node.visit(_Find())
        return bool(found)

    def periodic_evaluations(self, loop: Loop) -> list[cst.If]:
        """`if it % k == 0: <evaluate or print>` statements right in the loop's body."""
        found = []
        for stmt in loop.body.body:
            if (isinstance(stmt, cst.If) and stmt.orelse is None and _has_modulo(stmt.test)
                    and self.reports_in(stmt.body, (cst.FunctionDef, cst.ClassDef))):
                found.append(stmt)
        return found

    def only_conditional_reports(self, loop: Loop) -> bool:
        """The loop reports only behind a condition (`if it == last: evaluate()`), and nothing after
        it reports: a stop at the end of an iteration could skip the script's only evaluation."""
        stop_defs = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
        inner = (*stop_defs, cst.For, cst.While)
        every_time = self.reports_in(loop.body, (*inner, cst.If))
        conditional = self.reports_in(loop.body, inner)
        return conditional and not every_time and not self.reports_after(loop)

    def reports_after(self, node: cst.CSTNode, depth: int = 0) -> bool:
        """A report in what runs after `node`: the rest of its function, then after its call sites."""
        child = node
        for anc in self.script.ancestors(node):
            if isinstance(anc, (cst.IndentedBlock, cst.Module)):
                later = list(anc.body)[list(anc.body).index(child) + 1:] if child in anc.body else []
                if any(self.reports_in(stmt, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) for stmt in later):
                    return True
            if isinstance(anc, cst.FunctionDef):
                return depth < 3 and any(self.reports_after(call, depth + 1) for call in self.callers.get(anc, []))
            child = anc
        return False


def _over_parameters(loop: cst.For, script: Script) -> bool:
    code = script.code(loop.iter).lower()
    return "param" in code or "grad" in code


def _callee(call: cst.Call) -> str | None:
    func = call.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
        return func.attr.value
    return None


def _has_modulo(node: cst.CSTNode) -> bool:
    found: list[bool] = []

    class _Find(cst.CSTVisitor):
        def visit_BinaryOperation(self, n: cst.BinaryOperation) -> None:
            if isinstance(n.operator, cst.Modulo):
                found.append(True)

    node.visit(_Find())
    return bool(found)
