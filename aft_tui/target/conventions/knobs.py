"""Which settings a convention exposes are worth searching over.

A configurator, a config tree or a flag library lists every setting the author made
overridable, knobs and plumbing alike, so the stance is the opposite of module constants: a
number or switch is a knob unless its name (or the section it sits in) says plumbing. Data
settings mostly define the task (`data.ndigit`), so there only names that speak of the model's
view of the data (`data.block_size`) count.
"""

from __future__ import annotations

from typing import Any

from aft_tui.target.names import (
    EXCLUDE_WORDS,
    STRING_WORDS,
    is_seed,
    looks_like_hyperparameter,
    looks_like_path_or_id,
    words,
)

# Sections whose every key is bookkeeping.
PLUMBING_SECTIONS = frozenset({"system", "logging", "log", "logger", "io", "paths", "path", "wandb", "hydra", "checkpoint", "callbacks"})
# Words that mark run mechanics rather than learning.
PLUMBING_WORDS = EXCLUDE_WORDS | frozenset(
    """
    workers threads jobs compile dtype backend precision ddp distributed world rank local resume from
    out seed tensorboard profile profiler benchmark deterministic
    """.split()
)
DATA_SECTIONS = frozenset({"data", "dataset", "datamodule", "loader", "dataloader"})
# Data settings that shape what the model sees, and are tuned like model settings.
DATA_KNOB_WORDS = frozenset({"block", "context", "seq", "sequence", "len", "length", "augment", "augmentation", "crop", "mask"})
# Strings that choose between implementations rather than name a thing.
CHOICE_WORDS = STRING_WORDS | frozenset({"type", "kind", "mode", "variant", "arch", "architecture", "schedule"})


def exposed_tunable(key: str, ptype: str, default: Any, choices: list[Any] | None = None) -> bool:
    """Whether an overridable setting named `key` (dotted for nested trees) should be searched;
    a setting the author gave `choices` is a choice unless its name says plumbing."""
    parts = [p for p in key.split(".") if p]
    if not parts:
        return False
    leaf, sections = parts[-1], parts[:-1]
    if default is None or is_seed(leaf):
        return False
    if any(set(words(s)) & PLUMBING_SECTIONS for s in sections):
        return False
    leaf_words = set(words(leaf))
    if leaf_words & PLUMBING_WORDS:
        return False
    if any(set(words(s)) & DATA_SECTIONS for s in sections):
        if not (looks_like_hyperparameter(leaf) or leaf_words & DATA_KNOB_WORDS):
            return False
    if choices:
        return True
    if ptype == "str":
        if not isinstance(default, str) or looks_like_path_or_id(default):
            return False
        return bool(leaf_words & CHOICE_WORDS)
    return ptype in ("int", "float", "bool")

