"""Reading metrics a training script reports, and guessing which one to optimise.

Two sources feed the tuner. A refactored script appends JSON objects to the file named by
`AFT_METRICS`; that format is strict and a bad line is reported. A script that cannot be changed
is read from its stdout, where metrics hide among progress bars, warnings and timestamps; that
parser is deliberately forgiving but conservative: a pair whose value runs into a word, a path,
a time of day or a version number is dropped rather than guessed at.

Choices worth knowing:
- Percentages keep the number as printed: `acc: 83.2%` gives `acc = 83.2` (not 0.832), so a
  metric reads the same in AFT as in the script's own log; the objective's direction is unaffected.
- Keys written in prose are normalised (`Validation accuracy` -> `validation_accuracy`,
  `Val Acc` -> `val_acc`); keys of dicts and of the metrics file are kept as written.
- `nan` and `inf` are kept as floats so the tuner can fail a diverged trial.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

EPOCH_KEYS = frozenset({"epoch", "train_epoch", "current_epoch"})
STEP_KEYS = frozenset({"step", "global_step", "iteration", "iter", "train_step", "trainer/global_step"})
# Bookkeeping values some frameworks print next to real metrics.
IGNORED_KEYS = frozenset({"v_num"})
# Nested objects under these keys hold the metrics themselves, not a namespace.
_TRANSPARENT_KEYS = frozenset({"metrics", "values"})

# Lines longer than this are progress-bar debris or dumps, never a metric report.
_MAX_PARSE_LEN = 16_384


@dataclass
class MetricRecord:
    values: dict[str, float]
    step: int | None = None
    epoch: float | None = None
    source: str = "stdout"
    raw: str = ""


# ---------------------------------------------------------------- stdout lines

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_SPECIAL = r"[-+]?(?i:nan|inf(?:inity)?)"
_WORD = r"[A-Za-z](?:[\w./\-]*\w)?"
_PAIR_RE = re.compile(
    # Not inside a word, a path, an option (--lr=), a URL query (?a=1&b=2) or a quoted string.
    r"(?<![\w\-/\\.@$?&'\"])"
    r"(?P<q>['\"]?)(?P<key>" + _WORD + r"(?:[ \t]" + _WORD + r"){0,2})(?P=q)"
    r"[ \t]*(?P<sep>[:=])(?P<sp>[ \t]*)"
    r"(?P<val>" + _SPECIAL + "|" + _NUMBER + r")(?P<pct>%?)"
    # The value must end here: not `12:30`, `3rd`, `1.2.3`, `2024-01-01` or `8080/api`.
    r"(?![\w:/\-]|\.\w)"
)
_EPOCH_WORD_RE = re.compile(r"(?i)\bepoch\b[ \t]*[:=]?[ \t]*[\[#(]?[ \t]*(\d+(?:\.\d+)?)")
_STEP_WORD_RE = re.compile(r"(?i)\b(?:step|iteration|iter)\b[ \t]*[:=]?[ \t]*[\[#(]?[ \t]*(\d+)")
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_KEY_SPACES_RE = re.compile(r"[ \t\-]+")
_LOG_LEVELS = frozenset({"TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"})
_PLAIN_INT_RE = re.compile(r"[-+]?\d+")


def parse_line(line: str) -> MetricRecord | None:
    """Metrics printed on one stdout line, or None when the line reports none.

    Most lines are plain log text, so the first test must reject them almost for free.
    """
    if ":" not in line and "=" not in line:
        return None
    if len(line) > _MAX_PARSE_LEN:
        return None
    text = _ANSI_RE.sub("", line) if "\x1b" in line else line
    if text.lstrip().startswith("Namespace("):
        return None  # an argparse dump: the parameters, not metrics

    values: dict[str, float] = {}
    step: int | None = None
    epoch: float | None = None

    if "{" in text:
        mapping = _dict_in_line(text)
        if mapping is not None:
            values, step, epoch = _from_mapping(mapping)
    if not values:
        values, step, epoch = _pairs(text)
    if not values:
        return None
    if epoch is None:
        m = _EPOCH_WORD_RE.search(text)
        if m:
            epoch = float(m.group(1))
    if step is None:
        m = _STEP_WORD_RE.search(text)
        if m:
            step = int(m.group(1))
    return MetricRecord(values=values, step=step, epoch=epoch, source="stdout", raw=line)


def _pairs(text: str) -> tuple[dict[str, float], int | None, float | None]:
    values: dict[str, float] = {}
    step: int | None = None
    epoch: float | None = None
    for m in _PAIR_RE.finditer(text):
        raw_value = m.group("val")
        if m.group("sep") == ":" and not m.group("sp") and _PLAIN_INT_RE.fullmatch(raw_value):
            continue  # `cuda:0`, `localhost:8080`: an address, not a metric
        key = _normalise_key(m.group("key"))
        if key in IGNORED_KEYS:
            continue
        value = float(raw_value)
        if key in EPOCH_KEYS:
            epoch = value
        elif key in STEP_KEYS:
            step = _as_step(value)
        else:
            values[key] = value
    return values, step, epoch


def _normalise_key(key: str) -> str:
    words = key.split()
    if len(words) > 1 and words[0] in _LOG_LEVELS:
        words = words[1:]  # `INFO loss: 0.3` from a logging prefix
    return _KEY_SPACES_RE.sub("_", " ".join(words)).lower()


def _dict_in_line(text: str) -> Mapping[Any, Any] | None:
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end <= start:
        return None
    span = text[start : end + 1]
    try:
        obj = json.loads(span)
    except ValueError:
        try:
            obj = ast.literal_eval(span)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
    return obj if isinstance(obj, dict) else None


def _as_step(value: float) -> int | None:
    return int(value) if math.isfinite(value) else None


def _from_mapping(
    mapping: Mapping[Any, Any], prefix: str = "", depth: int = 0
) -> tuple[dict[str, float], int | None, float | None]:
    values: dict[str, float] = {}
    step: int | None = None
    epoch: float | None = None
    for raw_key, value in mapping.items():
        key = str(raw_key)
        if isinstance(value, Mapping):
            if depth < 2:
                inner_prefix = prefix if key.lower() in _TRANSPARENT_KEYS else f"{prefix}{key}/"
                inner, inner_step, inner_epoch = _from_mapping(value, inner_prefix, depth + 1)
                values.update(inner)
                step = step if inner_step is None else inner_step
                epoch = epoch if inner_epoch is None else inner_epoch
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float is no metric
            continue
        lowered = key.lower()
        if not prefix and lowered in EPOCH_KEYS:
            epoch = number
        elif not prefix and lowered in STEP_KEYS:
            step = _as_step(number)
        elif lowered not in IGNORED_KEYS:
            values[prefix + key] = number
    return values, step, epoch


# ---------------------------------------------------------------- metrics file


def parse_metrics_file_line(line: str) -> MetricRecord:
    """One line of the `AFT_METRICS` file; ValueError says what is wrong with it.

    The reason reads as the end of a sentence ("line 3 is not valid JSON: ...").
    """
    text = line.strip()
    if not text:
        raise ValueError("is empty")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise ValueError("is not valid JSON: it is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ValueError(f"is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"is a JSON {_json_type(obj)}, not an object like {{\"val_loss\": 0.5}}")
    values, step, epoch = _from_mapping(obj)
    if not values:
        raise ValueError("has no numeric metric value")
    return MetricRecord(values=values, step=step, epoch=epoch, source="file", raw=text)


def _json_type(obj: object) -> str:
    if isinstance(obj, list):
        return "list"
    if isinstance(obj, str):
        return "string"
    if isinstance(obj, bool):
        return "boolean"
    if obj is None:
        return "null"
    return "number"


# ---------------------------------------------------------------- objective

_TOKEN_SPLIT_RE = re.compile(r"[^a-z0-9]+")
_ACC_RE = re.compile(r"acc|accuracy|top\d+|top\d+acc|acc\d+")
_F1_RE = re.compile(r"f1|f\d+|fbeta|f1\w+|macrof1|microf1")
_MAX_RE = re.compile(
    r"auc|auroc|auprc|aupr|rocauc|precision|prec|recall|score|r2|bleu\d*|sacrebleu|rouge\w*|meteor|chrf\w*"
    r"|iou|miou|dice|map\d*|ndcg\d*|mrr|em|exact|spearman\w*|pearson\w*|mcc|matthews\w*|kappa|jaccard"
    r"|reward|return|sharpe|correlation|corr|sensitivity|specificity|hits?\d*"
)
_LOSS_RE = re.compile(r"loss|nll")
_MIN_RE = re.compile(
    r"error|err|errors|perplexity|ppl|mse|mae|rmse|rmsle|msle|mape|smape|wer|cer|ter|fid|kid|bpd|bpc"
    r"|regret|distance|dist|divergence|kl|cost|ece"
)
_EVAL_TOKENS = frozenset({"eval", "val", "valid", "validation", "dev", "evaluation", "holdout"})
_TEST_TOKENS = frozenset({"test"})
_TRAIN_TOKENS = frozenset({"train", "training", "tr"})
_SPLIT_PREFIXES = ("validation", "valid", "eval", "val", "test", "train", "dev")

# kind ranks, best first
_ACC, _F1, _OTHER_MAX, _LOSS, _OTHER_MIN = range(5)


def _tokens(name: str) -> list[str]:
    tokens: list[str] = []
    for token in _TOKEN_SPLIT_RE.split(name.lower()):
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


def direction_for(name: str) -> str | None:
    """'max', 'min', or None when the name says nothing about which way is better."""
    classified = _classify(name)
    return classified[1] if classified else None


def is_held_out(name: str) -> bool:
    """Whether a metric name says it is measured on held-out data (val_*, eval_*, test_*)."""
    classified = _classify(name)
    return classified is not None and bool(set(classified[2]) & (_EVAL_TOKENS | _TEST_TOKENS))


def choose_objective(names: Iterable[str]) -> tuple[str, str] | None:
    """The metric to optimise among those a script reported, with its direction.

    Held-out metrics beat training ones (tuning on training loss rewards overfitting); within a
    split, accuracy-like metrics beat F1, other maximised scores, the loss, then other errors.
    """
    best: tuple[tuple[int, int, int, int, str], str, str] | None = None
    for name in names:
        classified = _classify(name)
        if classified is None:
            continue
        kind, direction, tokens = classified
        token_set = set(tokens)
        if token_set & _EVAL_TOKENS:
            split_rank = 0
        elif token_set & _TEST_TOKENS:
            split_rank = 1
        elif token_set & _TRAIN_TOKENS:
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


__all__ = [
    "MetricRecord",
    "parse_line",
    "parse_metrics_file_line",
    "choose_objective",
    "direction_for",
]

