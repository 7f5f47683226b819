"""Label smoothing on the cross-entropy loss the model trains on, never on the one it is
evaluated with: the reported validation loss must keep meaning what it meant."""

from __future__ import annotations

from typing import Callable

import libcst as cst

from aft_tui.target.cst_tools import append_item
from aft_tui.target.literals import keyword_arg
from aft_tui.target.recipes.base import RecipeEdit
from aft_tui.target.recipes.rewrite import SourceEdit, parse
from aft_tui.target.recipes.training import TrainingCode, assigned_names, calls_to, line_of
from aft_tui.target.script import Script

_FUNCTIONAL = ("torch.nn.functional.cross_entropy",)
_MODULE = ("torch.nn.CrossEntropyLoss", "torch.nn.modules.loss.CrossEntropyLoss")


class LabelSmoothing:
    id = "label_smoothing"
    title = "Label smoothing on the training loss"
    needs_gpu = False

    def apply(self, source: str) -> RecipeEdit | None:
        script = parse(source)
        if script is None:
            return None
        functional, modules = calls_to(script, *_FUNCTIONAL), calls_to(script, *_MODULE)
        if any(keyword_arg(c, "label_smoothing") is not None for c in functional + modules):
            return None
        training = TrainingCode(script)
        if not training.steps:
            return None
        edit = SourceEdit(script)

        def smoothed(call: cst.Call) -> cst.Call:
            name = edit.knob("LABEL_SMOOTHING", 0.1)
            arg = cst.Arg(keyword=cst.Name("label_smoothing"), value=cst.Name(name), equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
            return call.with_changes(args=append_item(call.args, arg, call.whitespace_before_args))

        for call in functional:
            if training.in_training(call):
                edit.replace[call] = smoothed(call)
        for call in modules:
            parent = script.parent(call)
            if isinstance(parent, cst.Call) and parent.func is call:  # nn.CrossEntropyLoss()(logits, y)
                if training.in_training(parent):
                    edit.replace[call] = smoothed(call)
                continue
            self._criterion(script, training, edit, call, smoothed)
        if not edit.replace and not edit.after:
            return None
        new = edit.render()
        if new is None:
            return None
        return RecipeEdit(
            self.id,
            self.title,
            "Training towards slightly softened targets keeps the model from growing over-confident, "
            "which often improves held-out accuracy; evaluation keeps the plain loss.",
            new,
            edit.knobs,
            self.needs_gpu,
        )

    def _criterion(self, script: Script, training: TrainingCode, edit: SourceEdit, call: cst.Call,
                   smoothed: Callable[[cst.Call], cst.Call]) -> None:
        """`criterion = nn.CrossEntropyLoss()`: smoothed where every use trains; where it also
        evaluates, a smoothed copy for the training uses alone."""
        assign = script.parent(call)
        line = line_of(script, call)
        if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1 and line is not None):
            return
        target = assign.targets[0].target
        if not isinstance(target, cst.Name):
            return
        var = target.value
        scope = script.enclosing_function(line)
        uses = [n for n in script.find(cst.Name) if n.value == var and n is not target]
        calls: list[cst.Call] = []
        for use in uses:
            parent = script.parent(use)
            if not (isinstance(parent, cst.Call) and parent.func is use):
                return  # passed on or rebound: where it trains cannot be told
            calls.append(parent)
        trains = [c for c in calls if training.in_training(c) and not training.is_evaluation(c)]
        if not trains:
            return
        if len(trains) == len(calls):
            edit.replace[call] = smoothed(call)
            return
        for use in trains:
            function = script.enclosing_function(use)
            if function is not scope and (scope is not None or var in assigned_names(function) or _is_param(function, var)):
                return  # the training code cannot see a copy made beside the original
        copy = edit.fresh(f"train_{var}")
        edit.after.setdefault(line, []).append(
            cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(copy))], smoothed(call))])
        )
        for use in trains:
            edit.replace[use.func] = cst.Name(copy)


def _is_param(function: cst.FunctionDef | None, name: str) -> bool:
    if function is None:
        return False
    params = function.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return any(p.name.value == name for p in every)
