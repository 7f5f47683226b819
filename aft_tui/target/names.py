"""How AFT judges and spells parameter names.

A module constant is only worth tuning when its name says "hyperparameter"; a path, a model id
or a class count is not. One vocabulary, shared by constants, config keys and argparse flags,
keeps those judgements consistent.
"""

from __future__ import annotations

import re

# Words that mark a name as a hyperparameter.
HYPER_WORDS = frozenset(
    """
    lr learning rate epoch epochs batch bs hidden dropout decay wd momentum warmup gamma
    layers heads embed embedding emb units width depth clip patience smoothing alpha beta beta1
    beta2 eps epsilon temperature rank lora estimators leaves iters iterations accumulation accum
    optimizer optim scheduler sched activation seed channels filters kernel reg l1 l2 tau
    nesterov dim margin steps neighbors penalty subsample factor ratio nhead ff topk amp
    """.split()
)
# Exact names that are hyperparameters although they contain none of the words.
HYPER_NAMES = frozenset({"c", "k", "r", "n_estimators", "max_depth", "max_len", "max_length", "d_model", "max_grad_norm"})
# Words that mark a name as data, plumbing or bookkeeping rather than a hyperparameter.
EXCLUDE_WORDS = frozenset(
    """
    classes labels vocab path paths dir file filename url uri name device cuda gpu gpus workers
    log logging print save eval checkpoint ckpt root data dataset version id input output
    verbose debug token api host port project run wandb mlflow every freq frequency interval
    """.split()
)
# Settings that choose which data a run trains and is evaluated on (`--category {all,qna}`,
# `--split`, `--dataset {Cora,PubMed}`): a metric measured on one subset cannot be compared with
# another's, so they are never searched, whatever choices the author listed.
DATA_SELECTION_WORDS = frozenset(
    {"data", "dataset", "datasets", "category", "categories", "subset", "subsets", "split", "splits", "task",
     "domain", "corpus", "lang", "language"})
STRING_WORDS = frozenset({"optimizer", "optim", "scheduler", "sched", "activation", "act", "pooling", "loss", "criterion", "init", "norm"})
SEED_WORDS = frozenset({"seed", "random_state"})
# Names whose values are fractions or rates even when written as an integer literal.
FLOAT_WORDS = frozenset({"lr", "learning", "dropout", "decay", "wd", "momentum", "smoothing", "eps", "epsilon", "beta1", "beta2", "gamma", "temperature"})
# Words of a fraction: float only when the value itself lies in [0, 1] (`ASPECT_RATIO = 64` is a count).
FRACTION_WORDS = frozenset({"ratio", "frac", "fraction"})
# Plumbing that is reported but never proposed for tuning: it changes what is logged, where
# things go or how fast data loads, not what the model learns. Used for bare values in code.
PLUMBING_WORDS = frozenset(
    """
    seed workers device cuda gpu gpus verbose verbosity debug log logging print save eval checkpoint ckpt
    interval every wandb track tensorboard mlflow capture video path dir file url uri
    host port project entity exp env id name threads jobs nthread
    """.split()
)
PLUMBING_NAMES = frozenset({"n_jobs", "num_threads", "nthread", "num_workers", "random_state", "exp_name", "env_id", "track", "capture_video"})
# Plumbing words of a setting a configurator, config tree or flag library exposes: the general
# exclusions plus run mechanics.
EXPOSED_PLUMBING_WORDS = EXCLUDE_WORDS | frozenset(
    """
    workers threads jobs compile dtype backend precision ddp distributed world rank local resume from
    out seed tensorboard profile profiler benchmark deterministic
    """.split()
) | DATA_SELECTION_WORDS
# Sections of a config tree whose every key is bookkeeping.
PLUMBING_SECTIONS = frozenset({"system", "logging", "log", "logger", "io", "paths", "path", "wandb", "hydra", "checkpoint", "callbacks"})
DATA_SECTIONS = frozenset({"data", "dataset", "datamodule", "loader", "dataloader"})
# Data settings that shape what the model sees, and are tuned like model settings.
DATA_KNOB_WORDS = frozenset({"block", "context", "seq", "sequence", "len", "length", "augment", "augmentation", "crop", "mask"})
# Strings that choose between implementations rather than name a thing.
CHOICE_WORDS = STRING_WORDS | frozenset({"type", "kind", "mode", "variant", "arch", "architecture", "schedule"})
# Plumbing words of a declared command-line option (tyro, click, typer, jsonargparse). Cadence
# words (`every`, `frequency`) are absent: there `train_frequency` or `num_envs` stay knobs.
OPTION_PLUMBING_WORDS = frozenset(
    """
    path paths dir file filename url uri device devices cuda gpu gpus cpu workers worker log logs logging
    print save checkpoint ckpt wandb mlflow tensorboard project entity name id ids verbose debug track
    tracking capture video upload hub push output root data dataset token host port deterministic exp
    run tag resume profile profiler proc cache eval dtype precision
    """.split()
) | DATA_SELECTION_WORDS
OPTION_PLUMBING_NAMES = frozenset({"local_rank", "world_size", "rank", "node_rank"})
# Switches that change the training itself, beyond the hyperparameter vocabulary.
BOOL_KNOB_WORDS = frozenset({"anneal", "norm", "clip", "amsgrad", "augment", "augmentation", "bias", "dueling", "double", "packing", "shuffle", "residual", "tie", "nesterov"})
# First words of a switch that turns a feature on or off (`use_peft_lora`, `enable_xformers`,
# `disable_tqdm`): it changes what kind of training runs, not how well it is tuned.
FEATURE_SWITCH_WORDS = frozenset({"use", "enable", "disable"})
# Words that make an argparse flag with `choices` plumbing (`--device {cpu,cuda}`).
FLAG_CHOICE_PLUMBING_WORDS = frozenset({"dir", "path", "file", "device", "output"}) | DATA_SELECTION_WORDS


def words(name: str) -> list[str]:
    parts = re.split(r"[^a-z0-9]+", _snake(name))
    return [p for p in parts if p]


def _snake(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return name.lower()


def looks_like_hyperparameter(name: str) -> bool:
    key = _snake(name).strip("_")
    ws = words(name)
    if any(w in EXCLUDE_WORDS for w in ws):
        return False
    if key in HYPER_NAMES:
        return True
    return any(w in HYPER_WORDS for w in ws)


def is_seed(name: str) -> bool:
    key = _snake(name).strip("_")
    return key in SEED_WORDS or "seed" in words(name)


def is_feature_switch(name: str, ptype: str | None = None, default: object = None) -> bool:
    """`use_peft_lora = True`, `--enable-xformers`, `disable_tqdm`: a bool whose name starts by
    switching a feature on or off."""
    if ptype != "bool" and not isinstance(default, bool):
        return False
    ws = words(name.split(".")[-1])
    return bool(ws) and ws[0] in FEATURE_SWITCH_WORDS


def looks_like_tunable_string(name: str, value: str) -> bool:
    """Strings are tunable only when named like a choice (optimizer, activation) and short."""
    if not any(w in STRING_WORDS for w in words(name)):
        return False
    return not looks_like_path_or_id(value)


def looks_like_path_or_id(value: str) -> bool:
    if "/" in value or "\\" in value or "://" in value or value.startswith("."):
        return True
    if re.search(r"\.[A-Za-z0-9]{1,5}$", value):
        return True
    return len(value) > 40 or " " in value


def prefers_float(name: str, value: object = None) -> bool:
    """Should an integer literal under this name be typed float? A rate (`lr`, `dropout`) is a
    float whatever its spelling; a ratio or fraction only when its value is one (0..1), so
    `warmup_ratio = 0` is a float and `ASPECT_RATIO = 64` stays an int."""
    ws = words(name)
    if any(w in FLOAT_WORDS for w in ws):
        return True
    if any(w in FRACTION_WORDS for w in ws):
        return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1)
    return False


def identifier(name: str) -> str:
    """A Python identifier for a parameter name: `T_max` -> `t_max`, `training.lr` -> `training_lr`."""
    text = re.sub(r"[^0-9a-zA-Z_]+", "_", _snake(name)).strip("_")
    if not text:
        text = "param"
    if text[0].isdigit():
        text = "p_" + text
    return text


def dest_from_option_strings(options: list[str], dest: str | None = None) -> str | None:
    """The attribute argparse stores a flag under: the long flag, dashes to underscores."""
    if dest:
        return dest
    longs = [o for o in options if o.startswith("--")]
    shorts = [o for o in options if o.startswith("-") and not o.startswith("--")]
    if longs:
        return longs[0][2:].replace("-", "_")
    if shorts:
        return shorts[0][1:].replace("-", "_")
    if options and not options[0].startswith("-"):
        return options[0]
    return None


def flag_for(dest: str, underscores: bool = False) -> str:
    return "--" + (dest if underscores else dest.replace("_", "-"))
