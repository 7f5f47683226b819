"""Which options a script's own command line declares are worth tuning.

An option a person declared on purpose (a tyro field, a click option, a typer parameter) is
usually a knob, so numbers are tunable unless their name says plumbing: seeds, ids, paths,
devices, workers, logging and tracking. The general name vocabulary in `aft_tui.target.names`
is stricter because it judges bare constants; here `num_envs` or `train_frequency` stay knobs.
"""

from __future__ import annotations

from typing import Any

from aft_tui.target.names import HYPER_WORDS, STRING_WORDS, is_seed, looks_like_path_or_id, words

PLUMBING_WORDS = frozenset(
    """
    path paths dir file filename url uri device devices cuda gpu gpus cpu workers worker log logs logging
    print save checkpoint ckpt wandb mlflow tensorboard project entity name id ids verbose debug track
    tracking capture video upload hub push output root data dataset token host port deterministic exp
    run tag resume profile profiler proc cache eval dtype precision
    """.split()
)
PLUMBING_NAMES = frozenset({"local_rank", "world_size", "rank", "node_rank"})
# Switches that change the training itself, beyond the hyperparameter vocabulary.
BOOL_KNOB_WORDS = frozenset({"anneal", "norm", "clip", "amsgrad", "augment", "augmentation", "bias", "dueling", "double", "packing", "shuffle", "residual", "tie", "nesterov"})


def cli_knob(name: str, ptype: str | None, default: Any, choices: list[Any] | None = None) -> bool:
    """Whether a declared command-line option is a hyperparameter rather than plumbing."""
    ws = set(words(name))
    if is_seed(name) or name.lower() in PLUMBING_NAMES or ws & PLUMBING_WORDS:
        return False
    if isinstance(default, str) and looks_like_path_or_id(default):
        return False
    if choices:
        return True
    if ptype == "bool":
        return bool(ws & (HYPER_WORDS | BOOL_KNOB_WORDS))
    if ptype == "str":
        return bool(ws & STRING_WORDS)
    return ptype in ("int", "float")
