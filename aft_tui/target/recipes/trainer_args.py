"""The same recipes for a Hugging Face Trainer script: settings added to its
`TrainingArguments(...)` / `SFTConfig(...)` call where the call leaves them at their defaults.

A call that spreads `**kwargs` may set anything already, so it is left alone. The warmup is
spelled as the installed transformers takes it: `warmup_ratio` up to 4.x, a fractional
`warmup_steps` from 5 on (which removed `warmup_ratio`).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import libcst as cst

from aft_tui.target.cst_tools import append_item
from aft_tui.target.literals import dotted_name, keyword_arg, last_part
from aft_tui.target.recipes.base import RecipeEdit
from aft_tui.target.recipes.rewrite import SourceEdit, parse
from aft_tui.target.script import Script

_CALLS = frozenset({"TrainingArguments", "Seq2SeqTrainingArguments", "SFTConfig", "DPOConfig", "GRPOConfig", "RewardConfig"})
_ROOTS = frozenset({"transformers", "trl"})


def training_arguments(script: Script) -> list[cst.Call]:
    """The script's TrainingArguments-like calls with only explicit keywords."""
    found = []
    for call in script.find(cst.Call):
        qualified = script.qualified(dotted_name(call.func)) or ""
        if last_part(qualified) in _CALLS and qualified.split(".")[0] in _ROOTS and not any(a.star for a in call.args):
            found.append(call)
    return found


def transformers_major() -> int | None:
    """The major version of the transformers installed here, read without importing it."""
    try:
        return int(metadata.version("transformers").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return None


class TrainerSetting:
    """One recipe: keywords added to each call that lacks `missing` (and none of `absent`)."""

    needs_gpu = False

    def __init__(self, id: str, title: str, rationale: str, missing: str, absent: tuple[str, ...] = ()) -> None:
        self.id = id
        self.title = title
        self.rationale = rationale
        self.missing = missing
        self.absent = absent

    def keywords(self, edit: SourceEdit, call: cst.Call) -> list[tuple[str, str]]:
        """(keyword, value code) to add; knobs are made through `edit`."""
        raise NotImplementedError

    def apply(self, source: str) -> RecipeEdit | None:
        script = parse(source)
        if script is None:
            return None
        edit = SourceEdit(script)
        for call in training_arguments(script):
            if any(keyword_arg(call, k) is not None for k in (self.missing, *self.absent)):
                continue
            args = list(call.args)
            for keyword, code in self.keywords(edit, call):
                if keyword_arg(call, keyword) is None:
                    arg = cst.Arg(keyword=cst.Name(keyword), value=edit.expression(code), equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
                    args = append_item(args, arg, call.whitespace_before_args)
            edit.replace[call] = call.with_changes(args=args)
        if not edit.replace:
            return None
        new = edit.render()
        if new is None:
            return None
        return RecipeEdit(self.id, self.title, self.rationale, new, edit.knobs, self.needs_gpu)


class _Knob(TrainerSetting):
    def __init__(self, id: str, title: str, rationale: str, keyword: str, constant: str, default: Any) -> None:
        super().__init__(id, title, rationale, keyword)
        self.constant = constant
        self.default = default

    def keywords(self, edit: SourceEdit, call: cst.Call) -> list[tuple[str, str]]:
        name = edit.knob(self.constant, self.default)
        return [(self.missing, name)]


class TrainerCosine(TrainerSetting):
    def __init__(self, major: int | None = None) -> None:
        super().__init__(
            "trainer_cosine",
            "Trainer: warmup then cosine learning-rate decay",
            "A short warmup steadies the first updates and a cosine decay lets training settle; the "
            "Trainer's default is a linear decay without warmup.",
            "lr_scheduler_type",
        )
        self.major = major

    def keywords(self, edit: SourceEdit, call: cst.Call) -> list[tuple[str, str]]:
        added = [("lr_scheduler_type", '"cosine"')]
        if keyword_arg(call, "warmup_ratio") is None and keyword_arg(call, "warmup_steps") is None:
            name = edit.knob("WARMUP_RATIO", 0.05)
            major = self.major if self.major is not None else transformers_major()
            added.append(("warmup_steps" if major is not None and major >= 5 else "warmup_ratio", name))
        return added


class TrainerAdamW(TrainerSetting):
    """The Trainer's default optimizer is already AdamW (`adamw_hf`, `adamw_torch`, then
    `adamw_torch_fused`): naming one would at best change nothing and at worst swap the fused
    kernel for a slower one. What the default lacks is weight decay (0.0)."""

    def __init__(self) -> None:
        super().__init__(
            "trainer_adamw",
            "Trainer: AdamW with decoupled weight decay",
            "The Trainer's AdamW runs without weight decay by default; a little decoupled decay "
            "regularises the weights and usually generalises better.",
            "weight_decay",
        )

    def keywords(self, edit: SourceEdit, call: cst.Call) -> list[tuple[str, str]]:
        optim = keyword_arg(call, "optim")
        if optim is not None and "adamw" not in edit.script.code(optim.value).lower():
            return []  # another optimizer chosen on purpose
        return [("weight_decay", edit.knob("WEIGHT_DECAY", 0.01))]


def trainer_recipes() -> list[TrainerSetting]:
    return [
        TrainerCosine(),
        TrainerAdamW(),
        _Knob(
            "trainer_label_smoothing",
            "Trainer: label smoothing",
            "Training towards slightly softened targets keeps the model from growing over-confident, "
            "which often improves held-out accuracy.",
            "label_smoothing_factor",
            "LABEL_SMOOTHING",
            0.1,
        ),
        _Knob(
            "trainer_grad_clip",
            "Trainer: gradient clipping as a knob",
            "The Trainer clips the gradient norm at 1.0; making the limit a constant lets the search "
            "tighten or loosen it.",
            "max_grad_norm",
            "MAX_GRAD_NORM",
            1.0,
        ),
    ]
