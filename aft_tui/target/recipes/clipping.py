"""Gradient clipping by global norm, right before each update step."""

from __future__ import annotations

import libcst as cst

from aft_tui.target.literals import dotted_name, last_part
from aft_tui.target.recipes.base import RecipeEdit
from aft_tui.target.recipes.rewrite import SourceEdit, parse
from aft_tui.target.recipes.training import TrainingCode

_CLIPS = frozenset({"clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "clip_grads_with_norm_", "clip_by_global_norm"})


class GradClip:
    id = "grad_clip"
    title = "Clip the gradient norm before each optimizer step"
    needs_gpu = False

    def apply(self, source: str) -> RecipeEdit | None:
        script = parse(source)
        if script is None or any(last_part(dotted_name(c.func)) in _CLIPS for c in script.find(cst.Call)):
            return None
        training = TrainingCode(script)
        if not training.steps:
            return None
        edit = SourceEdit(script)
        clip = edit.spell("torch.nn.utils.clip_grad_norm_")
        if clip is None:
            return None
        limit = edit.knob("MAX_GRAD_NORM", 1.0)
        for step in training.steps:
            build = training.build_of(step.optimizer)
            same_scope = build is not None and script.enclosing_function(build.stmt) is script.enclosing_function(step.stmt)
            model = build.model() if build is not None and same_scope else None
            params = f"{model}.parameters()" if model else f'[p for g in {step.optimizer}.param_groups for p in g["params"]]'
            code = f"{clip}({params}, {limit})"
            if step.scaler:
                # Under a GradScaler the gradients are scaled: unscale them before measuring their norm.
                code = f"{step.scaler}.unscale_({step.optimizer})\n{code}"
            edit.insert_before(step.stmt, code)
        new = edit.render()
        if new is None:
            return None
        return RecipeEdit(
            self.id,
            self.title,
            "Capping the gradient norm keeps one bad batch from throwing the weights far off, which "
            "steadies training and often allows a higher learning rate.",
            new,
            edit.knobs,
            self.needs_gpu,
        )
