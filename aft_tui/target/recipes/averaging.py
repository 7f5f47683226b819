"""An exponential moving average of the weights, updated after every step and evaluated in
place of the raw model.

Only where the script makes it safe: one optimizer built from `model.parameters()`, the
evaluation done by the script's own function (`evaluate(model, loader)`) which puts the model
it is given in eval mode, no other evaluation of the raw model, and the model only saved as
`torch.save(model.state_dict(), ...)` (which then saves the averaged weights it reported on).
Anything else declines: a fragile EMA would report numbers of the wrong model.
"""

from __future__ import annotations

import libcst as cst

from aft_tui.target.literals import dotted_name, last_part
from aft_tui.target.names import words
from aft_tui.target.recipes.base import RecipeEdit
from aft_tui.target.recipes.rewrite import SourceEdit, parse
from aft_tui.target.recipes.training import OptimizerBuild, TrainingCode, evaluation_name, names_in
from aft_tui.target.script import Script

_MOVES = frozenset({"to", "cuda", "cpu", "half", "bfloat16", "float", "double", "compile"})


class Ema:
    id = "ema"
    title = "Evaluate an exponential moving average of the weights"
    needs_gpu = False

    def apply(self, source: str) -> RecipeEdit | None:
        script = parse(source)
        if script is None or _averages_already(script):
            return None
        training = TrainingCode(script)
        optimizers = {s.optimizer for s in training.steps}
        build = training.build_of(next(iter(optimizers))) if len(optimizers) == 1 else None
        model = build.model() if build is not None else None
        if build is None or model is None:
            return None
        scope = script.enclosing_function(build.stmt)
        if any(script.enclosing_function(s.stmt) is not scope for s in training.steps) or _changed_after(script, build, model):
            return None
        evaluations = _evaluation_calls(script, training, model, scope)
        saves = _final_saves(script, model)
        if not evaluations or saves is None:
            return None
        edit = SourceEdit(script)
        averaged = edit.spell("torch.optim.swa_utils.AveragedModel")
        ema_fn = edit.spell("torch.optim.swa_utils.get_ema_multi_avg_fn")
        if averaged is None or ema_fn is None:
            return None
        decay = edit.knob("EMA_DECAY", 0.99)
        ema = edit.fresh(f"ema_{model}")
        edit.insert_after(build.stmt, f"""
            {ema} = {averaged}(
                {model}, multi_avg_fn={ema_fn}({decay}), use_buffers=True
            )
        """)
        for step in training.steps:
            edit.insert_after(step.stmt, f"{ema}.update_parameters({model})")
        for node in evaluations:
            edit.replace[node] = cst.Name(ema)
        for node in saves:
            edit.replace[node] = edit.expression(f"{ema}.module")
        new = edit.render()
        if new is None:
            return None
        return RecipeEdit(
            self.id,
            self.title,
            "Averaging the weights over recent steps smooths out the noise of the last updates; the "
            "averaged model often scores better than the raw one at no extra training cost.",
            new,
            edit.knobs,
            self.needs_gpu,
        )


def _averages_already(script: Script) -> bool:
    if any("ema" in words(n.value) or n.value in ("AveragedModel", "swa_utils") for n in script.find(cst.Name)):
        return True
    return any(last_part(dotted_name(c.func)) == "compile" for c in script.find(cst.Call))


def _changed_after(script: Script, build: OptimizerBuild, model: str) -> bool:
    """The model moved, cast, compiled or rebound after the optimizer: the average would copy
    the wrong thing."""
    start = script.pos(build.stmt)
    for call in script.find(cst.Call):
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in _MOVES
            and isinstance(func.value, cst.Name)
            and func.value.value == model
            and script.pos(call) > start
        ):
            return True
    for target in script.find(cst.AssignTarget):
        if model in names_in(target.target) and script.pos(target) > start:
            return True
    return False


def _evaluation_calls(script: Script, training: TrainingCode, model: str, scope: cst.FunctionDef | None) -> list[cst.Name] | None:
    """The `model` arguments of calls to the script's evaluation functions, each of which must put
    the model it is given in eval mode; None when the raw model is evaluated anywhere else."""
    functions = {f.name.value: f for f in script.find(cst.FunctionDef) if evaluation_name(f.name.value)}
    found: list[cst.Name] = []
    for call in script.find(cst.Call):
        func = call.func
        if not (isinstance(func, cst.Name) and func.value in functions):
            continue
        args = [(i, a) for i, a in enumerate(call.args) if isinstance(a.value, cst.Name) and a.value.value == model]
        if not args:
            continue
        if script.enclosing_function(call) is not scope:
            return None
        for index, arg in args:
            param = _parameter(functions[func.value], index, arg)
            if param is None or not _sets_eval_mode(script, functions[func.value], param):
                return None
            found.append(arg.value)  # type: ignore[arg-type]
    for call in script.find(cst.Call):
        func = call.func
        if isinstance(func, cst.Name) and func.value == model and training.is_evaluation(call):
            return None  # the raw model evaluated inline
    return found


def _parameter(function: cst.FunctionDef, index: int, arg: cst.Arg) -> str | None:
    params = [*function.params.posonly_params, *function.params.params]
    if arg.keyword is not None:
        return arg.keyword.value
    if arg.star or index >= len(params):
        return None
    return params[index].name.value


def _sets_eval_mode(script: Script, function: cst.FunctionDef, param: str) -> bool:
    for call in script.find(cst.Call):
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "eval"
            and isinstance(func.value, cst.Name)
            and func.value.value == param
            and function in script.ancestors(call)
        ):
            return True
    return False


def _final_saves(script: Script, model: str) -> list[cst.Name] | None:
    """The `model` of each `torch.save(model.state_dict(), ...)`; None when the model is saved
    or handed out any other way (`save_pretrained`, a checkpoint dict)."""
    found: list[cst.Name] = []
    for call in script.find(cst.Call):
        func = call.func
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == model):
            continue
        if func.attr.value in ("save_pretrained", "push_to_hub"):
            return None
        if func.attr.value != "state_dict":
            continue
        parent = script.parent(script.parent(call))
        if not (isinstance(parent, cst.Call) and last_part(script.qualified(dotted_name(parent.func))) == "save" and parent.args[0].value is call):
            return None
        found.append(func.value)
    return found
