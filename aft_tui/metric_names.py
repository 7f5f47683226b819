"""What a metric's name says: whether it measures anything, which way is better, which split it
was measured on, what a person calls it, and which reported name a request refers to.

Every part of AFT that reads metric names (the stdout parser, the static listing of a script's
prints, the curve analysis, goals said in words) asks here, so a name means the same thing in
`aft inspect`, in a trial's record, in a finding's sentence and in the chat. Standard library
only: it sits below every layer that reads names.

The rules:
- A name is normalised once (`normalise_name`): blanks and hyphens become `_`, letters lower-case.
- A name is split into words however it is spelled (`valid ppl`, `Valid-PPL`, `validPPL`), a split
  prefix glued to a metric word included (`valacc` -> val, acc); the *last* metric word decides
  its kind and direction (`eval_loss` is a loss), and `neg` flips it (scikit-learn's
  `neg_mean_squared_error` is maximised).
- A split word (`val`, `eval`, `test`, `train`, ...) says where it was measured.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# ---------------------------------------------------------------- spelling

_KEY_SPACES_RE = re.compile(r"[ \t\-]+")
TOKEN_SPLIT_RE = re.compile(r"[^a-z0-9]+")
"""What separates the words of a lower-cased name."""

LOG_LEVELS = frozenset({"TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"})
"""A logging prefix (`INFO loss: 0.3`) is no part of the name after it."""

# Filler around a name written in prose: `The RMSE of prediction is: 0.44` -> rmse_of_prediction.
_LEADING_FILLER = frozenset({"the", "a", "an", "our", "my"})
_TRAILING_FILLER = frozenset({"is", "are", "was", "were", "of", "for", "on", "at", "to", "by"})

QUALIFIER_WORDS = frozenset({
    "val", "valid", "validation", "eval", "evaluation", "dev", "test", "train", "training", "holdout",
    "final", "best", "mean", "avg", "average", "total", "overall", "episodic",
})
"""Words that name a split or a summary of a metric but no measurement (`Val`, `final`, `episodic`)."""

BOOKKEEPING_LABELS = frozenset({
    "epoch", "epochs", "step", "steps", "iter", "iters", "iteration", "batch", "lr", "learning_rate",
    "time", "elapsed", "eta", "took", "seconds", "secs", "s", "it", "of", "and", "rank", "seed", "device",
})
"""Labels a script prints next to its metrics that never name one (the epoch, the time, the rate)."""


def normalise_name(name: str) -> str:
    """A metric name as AFT reports it: blanks and hyphens become `_`, letters lower-case
    (`train loss` -> `train_loss`, `Val-Acc` -> `val_acc`). Applied to every name, from prose,
    dicts and the metrics file alike, so one value never arrives under two spellings."""
    return _KEY_SPACES_RE.sub("_", name.strip()).lower()


def label_name(words: list[str]) -> str:
    """The name of a value from the words printed before it, shared by the stdout parser and
    the static listing so that `aft inspect` shows the names a run reports.

    Normally the last three words (`Validation accuracy`, `Average loss`). When they hold no metric
    word but an earlier word does (`The RMSE of prediction is`), the name starts at that word, or
    at a split/qualifier word just before it. Articles in front and verbs or prepositions at the end
    are dropped. Separators and case are normalised: `valid ppl` -> `valid_ppl`.
    """
    words = [w for w in words if w]
    if len(words) > 1 and words[0] in LOG_LEVELS:
        words = words[1:]  # `INFO loss: 0.3` from a logging prefix
    metric_at = [i for i, w in enumerate(words) if any(_kind(t) is not None for t in _tokens(w))]
    if metric_at and metric_at[-1] < len(words) - 3:
        start = metric_at[-1]
        if start > 0 and words[start - 1].lower() in QUALIFIER_WORDS:
            start -= 1
        words = words[start:]
    else:
        words = words[-3:]
    while len(words) > 1 and words[0].lower() in _LEADING_FILLER:
        words = words[1:]
    while len(words) > 1 and words[-1].lower() in _TRAILING_FILLER:
        words = words[:-1]
    return _KEY_SPACES_RE.sub("_", " ".join(words)).lower()


def label_or_none(label: str) -> str | None:
    """A label from a script's source as a metric name, or None when it names only bookkeeping
    (`epoch`, `lr`, `time`) or nothing."""
    name = normalise_name(label).strip("_")
    if not name or name in BOOKKEEPING_LABELS or set(name.split("_")) <= BOOKKEEPING_LABELS:
        return None
    return name


# ---------------------------------------------------------------- metric words

_ACC_RE = re.compile(r"acc|accuracy|top\d+|top\d+acc|acc\d+")
_F1_RE = re.compile(r"f1|f\d+|fbeta|f1\w+|macrof1|microf1")
_MAX_RE = re.compile(
    r"auc|auroc|auprc|aupr|rocauc|precision|prec|recall|score|r2|bleu\d*|sacrebleu|rouge\w*|meteor|chrf\w*"
    r"|iou|miou|dice|map\d*|ndcg\d*|mrr|em|exact|spearman\w*|pearson\w*|mcc|matthews\w*|kappa|jaccard"
    r"|reward|return|sharpe|correlation|corr|sensitivity|specificity|hits?\d*"
)
_LOSS_RE = re.compile(r"loss|nll")
_MIN_RE = re.compile(
    r"error|err|errors|perplexity|ppl|mse|mae|rmse|rmsle|msle|mape|smape|wer|cer|ter|fid|kid|bpd|bpc|bpb"
    r"|regret|distance|dist|divergence|kl|cost|ece"
)

VALIDATION_WORDS = frozenset({"eval", "val", "valid", "validation", "dev", "evaluation", "holdout"})
TEST_WORDS = frozenset({"test"})
TRAIN_WORDS = frozenset({"train", "training", "tr"})
_SPLIT_PREFIXES = ("validation", "valid", "eval", "val", "test", "train", "dev")

# kind ranks, best first
_ACC, _F1, _OTHER_MAX, _LOSS, _OTHER_MIN = range(5)


def _tokens(name: str) -> list[str]:
    tokens: list[str] = []
    for token in TOKEN_SPLIT_RE.split(name.lower()):
        if not token:
            continue
        # `valacc`, `evalloss`: split a glued split prefix from a known metric word.
        for prefix in _SPLIT_PREFIXES:
            rest = token[len(prefix) :]
            if token.startswith(prefix) and rest and _kind(rest) is not None:
                tokens.extend((prefix, rest))
                break
        else:
            tokens.append(token)
    return tokens


def _kind(token: str) -> int | None:
    if _ACC_RE.fullmatch(token):
        return _ACC
    if _F1_RE.fullmatch(token):
        return _F1
    if _MAX_RE.fullmatch(token):
        return _OTHER_MAX
    if _LOSS_RE.fullmatch(token):
        return _LOSS
    if _MIN_RE.fullmatch(token):
        return _OTHER_MIN
    return None


def is_metric_word(word: str) -> bool:
    """Whether one lower-case word names a measurement (`loss`, `acc`, `ppl`), not a split or a count."""
    return _kind(word) is not None


def _classify(name: str) -> tuple[int, str, list[str]] | None:
    """(kind rank, direction, tokens); the last metric word in the name decides (`eval_loss`)."""
    tokens = _tokens(name)
    for token in reversed(tokens):
        kind = _kind(token)
        if kind is None:
            continue
        direction = "max" if kind <= _OTHER_MAX else "min"
        if "neg" in tokens:  # scikit-learn's neg_mean_squared_error is maximised
            direction = "min" if direction == "max" else "max"
        return kind, direction, tokens
    return None


def looks_like_metric(name: str) -> bool:
    """Whether a name holds a metric word (loss, acc, f1, ppl, score, rmse, return, cost, ...).

    The one vocabulary for "is this a measurement": the stdout parser uses it to tell metrics from
    counts, and the static listing (`aft inspect`) to tell metrics from log-message fragments.
    """
    return _classify(name) is not None


def metric_words(name: str) -> tuple[str, ...]:
    """A metric name as lower-case words, however it is spelled: `valid ppl`, `valid_ppl`,
    `Valid-PPL` and `validPPL` all give (valid, ppl)."""
    return tuple(_tokens(name))


def direction_for(name: str) -> str | None:
    """'max', 'min', or None when the name says nothing about which way is better."""
    classified = _classify(name)
    return classified[1] if classified else None


def is_loss(name: str) -> bool:
    """Whether a metric is a loss (`val_loss`, `eval_nll`, or `cost` as older tutorials call it):
    the training criterion, measured."""
    classified = _classify(name)
    return classified is not None and (classified[0] == _LOSS or "cost" in classified[2])


def is_held_out(name: str) -> bool:
    """Whether a metric name says it is measured on held-out data (val_*, eval_*, test_*)."""
    classified = _classify(name)
    return classified is not None and bool(set(classified[2]) & (VALIDATION_WORDS | TEST_WORDS))


def find_metric(requested: str, names: Iterable[str]) -> str | None:
    """The reported name that the objective `requested` (as the person typed it) refers to.

    The rule, used wherever the objective is looked up among parsed names: the name itself; else the
    one name with the same words once case and separators are ignored (`valid ppl` = `valid_ppl`,
    `Val` = `val`); else the one name whose words include all of the requested words (`RMSE` ->
    `rmse_of_prediction`). Two or more candidates at that last step are ambiguous (`acc` among
    `train_acc` and `val_acc`), and ambiguity finds nothing rather than guessing.
    """
    candidates = list(dict.fromkeys(names))
    if requested in candidates:
        return requested
    wanted = metric_words(requested)
    if not wanted:
        return None
    same = [n for n in candidates if metric_words(n) == wanted]
    if len(same) == 1:
        return same[0]
    if same:
        return None
    wanted_set = set(wanted)
    wider = [n for n in candidates if wanted_set <= set(metric_words(n))]
    return wider[0] if len(wider) == 1 else None


def _split_scores(names: list[str]) -> dict[str, tuple[int, str, list[str]]]:
    """Bare split names reported beside a loss (PyG's `Loss: .., Train: .., Val: .., Test: ..`)
    are that split's score, higher is better: a loss per split would have said so, and the loss is
    reported apart. Two split names at least, so a lone `val` beside `loss` is not guessed at."""
    splits = VALIDATION_WORDS | TEST_WORDS | TRAIN_WORDS
    bare = {name: tokens for name in names if len(tokens := _tokens(name)) == 1 and tokens[0] in splits}
    with_loss = any((c := _classify(name)) is not None and c[0] == _LOSS for name in names)
    if len(bare) < 2 or not with_loss:
        return {}
    return {name: (_OTHER_MAX, "max", tokens) for name, tokens in bare.items()}


def choose_objective(names: Iterable[str]) -> tuple[str, str] | None:
    """The metric to optimise among those a script reported, with its direction.

    Held-out metrics beat training ones (tuning on training loss rewards overfitting); within a
    split, accuracy-like metrics beat F1, other maximised scores, the loss, then other errors.
    Bare split names beside a loss count as scores (`_split_scores`).
    """
    names = list(names)
    scores = _split_scores(names)
    best: tuple[tuple[int, int, int, int, str], str, str] | None = None
    for name in names:
        classified = _classify(name) or scores.get(name)
        if classified is None:
            continue
        kind, direction, tokens = classified
        token_set = set(tokens)
        if token_set & VALIDATION_WORDS:
            split_rank = 0
        elif token_set & TEST_WORDS:
            split_rank = 1
        elif token_set & TRAIN_WORDS:
            split_rank = 3
        else:
            split_rank = 2
        # Validation first, then a test split (often the only held-out data a script has),
        # then unnamed and training metrics.
        group = split_rank if split_rank <= 1 else 2
        key = (group, kind, split_rank, len(name), name)
        if best is None or key < best[0]:
            best = (key, name, direction)
    return (best[1], best[2]) if best else None


# ---------------------------------------------------------------- names for people

LOWER_IS_BETTER = frozenset({"loss", "error", "err", "mse", "rmse", "mae", "nll", "ppl", "perplexity", "wer", "cer"})
"""The common metrics where lower is better, by the name a script usually gives them."""

_NICE_NAMES = {
    "loss": "loss", "acc": "accuracy", "accuracy": "accuracy", "f1": "F1", "ppl": "perplexity",
    "perplexity": "perplexity", "mse": "MSE", "rmse": "RMSE", "mae": "MAE", "auc": "AUC",
    "roc_auc": "ROC AUC", "bleu": "BLEU", "wer": "WER", "cer": "CER", "err": "error",
    "nll": "NLL", "iou": "IoU", "map": "mAP", "r2": "R²",
}


def split_prefix(name: str) -> tuple[str, str]:
    """'val_loss' -> ('val', 'loss'); 'eval/accuracy' -> ('eval', 'accuracy'); 'loss' -> ('', 'loss')."""
    for sep in ("_", "/", "-", "."):
        head, _, tail = name.partition(sep)
        if tail and head.lower() in VALIDATION_WORDS | TRAIN_WORDS | TEST_WORDS:
            return head.lower(), tail
    return "", name


def display_name(name: str, role: str = "objective") -> str:
    """A metric key as words: 'val_acc' -> 'validation accuracy', 'loss' (train role) -> 'training loss'."""
    prefix, suffix = split_prefix(name)
    words = _NICE_NAMES.get(suffix.lower(), suffix.replace("_", " ").replace("/", " "))
    if prefix in VALIDATION_WORDS:
        return f"validation {words}"
    if prefix in TRAIN_WORDS or (not prefix and role == "train"):
        return f"training {words}"
    if prefix in TEST_WORDS:
        return f"test {words}"
    return words


def sign_for(name: str, fallback: int) -> int:
    """-1 when smaller is better, +1 when larger is, for the common metrics a curve is read on;
    `fallback` (the objective's sign) for any other name."""
    suffix = split_prefix(name)[1].lower()
    if suffix in LOWER_IS_BETTER or "loss" in suffix:
        return -1
    if suffix in _NICE_NAMES and suffix not in LOWER_IS_BETTER:
        return 1
    return fallback


# ---------------------------------------------------------------- names said in words

# Common words for metrics, mapped to the names scripts usually print, most likely first.
_SYNONYMS = {
    "accuracy": ("val_acc", "val_accuracy", "eval_accuracy", "accuracy", "acc"),
    "acc": ("val_acc", "val_accuracy", "eval_accuracy", "accuracy", "acc"),
    "loss": ("val_loss", "eval_loss", "loss"),
    "f1": ("val_f1", "eval_f1", "f1"),
    "perplexity": ("val_ppl", "eval_perplexity", "perplexity", "ppl"),
    "bleu": ("val_bleu", "eval_bleu", "bleu"),
    "auc": ("val_auc", "eval_auc", "auc", "roc_auc"),
}


def name_for_words(words: str, known: list[str] | None = None) -> str:
    """The script's name for a metric said in words ("val loss" -> val_loss, "accuracy" -> val_acc)."""
    cleaned = re.sub(r"[\s\-]+", "_", words.strip().lower()).strip("_")
    cleaned = {"validation_loss": "val_loss", "validation_accuracy": "val_acc"}.get(cleaned, cleaned)
    cleaned = re.sub(r"^validation_", "val_", cleaned)
    known = [k for k in (known or []) if k]
    if cleaned in known:
        return cleaned
    candidates = _SYNONYMS.get(cleaned.split("_")[-1], ()) if cleaned.split("_")[0] != "train" else ()
    for candidate in candidates:
        if candidate in known:
            return candidate
    for name in known:
        if cleaned in name or name in cleaned:
            return name
    if candidates and not cleaned.startswith(("val_", "eval_", "test_")):
        return candidates[0]
    return cleaned


def lower_is_better(name: str) -> bool:
    """Whether a name chosen without a direction ("optimise val_loss") should be minimised."""
    return any(word in name for word in LOWER_IS_BETTER)
