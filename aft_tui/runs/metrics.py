"""Reading metrics a training script reports, and guessing which one to optimise.

Two sources feed the tuner. A refactored script appends JSON objects to the file named by
`AFT_METRICS`; that format is strict and a bad line is reported. A script that cannot be changed
is read from its stdout, where metrics hide among progress bars, warnings and timestamps; that
parser is deliberately forgiving but conservative: a pair whose value runs into a word, a path,
a time of day or a version number is dropped rather than guessed at.

Choices worth knowing:
- Percentages keep the number as printed: `acc: 83.2%` gives `acc = 83.2` (not 0.832), so a
  metric reads the same in AFT as in the script's own log; the objective's direction is unaffected.
- Every name is normalised the same way (`normalise_name`: blanks and hyphens become `_`, letters
  lower-case), whether written in prose (`Validation accuracy` -> `validation_accuracy`, `train loss
  2.44` -> `train_loss`), as a dict key (`{'train loss': 2.44}`) or in the metrics file; a line
  gives each name once.
- `nan` and `inf` are kept as floats so the tuner can fail a diverged trial.
- A whole number next to a name with no metric word in it (`Number of users: 300`, `Total
  params: 1,234`) is a count, not a measurement, and is dropped; so are names of sizes and ids.
- A pair written without a separator (`train loss 2.01`) counts only when its name ends in a metric
  word, or when it fills a whole `| key value |` segment of a table-like log line. On a line with
  no `:`, `=` or `|` only a loss or perplexity is looked for, which keeps the per-line test cheap.
- `N/M = P%` (`test final score: 363/500 = 72.60% correct`) reports the percentage.
- Of a line redrawn with carriage returns only what a terminal would finally show counts.
- A printed parameter is not a metric (`parse_line`'s `params` and `metric`, the rule in its docstring):
  a name among the trial's parameters is dropped, so are the arguments of a module repr
  (`Dropout(p=0.1, inplace=False)`) and a name with no metric word on a line (or dict) where no name
  holds one (`embd_pdrop: 0.1`, `Min rating: 0.5, Max rating: 5.0`, a model config dump); the
  objective the person asked for is always kept.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Collection, Iterable, Mapping
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
    # A one-element array (`episodic_return=[116.]`) is its element.
    r"(?P<lb>\[)?(?P<val>" + _SPECIAL + "|" + _NUMBER + r")(?P<pct>%?)(?(lb)\])"
    # The value must end here: not `12:30`, `3rd`, `1.2.3`, `2024-01-01` or `8080/api`.
    r"(?![\w:/\-]|\.\w)"
)
# `train loss 2.01`: a name and a number with no separator; kept only when the name ends in a metric word.
_SPACED_RE = re.compile(
    r"(?<![\w\-/\\.@$?&'\"])"
    r"(?P<key>" + _WORD + r"(?:[ \t]" + _WORD + r"){0,2})[ \t]+"
    r"(?P<val>" + _SPECIAL + "|" + _NUMBER + r")(?P<pct>%?)"
    r"(?![\w:/\-]|\.\w)"
)
# One `| key value |` segment of a table-like line (`| valid ppl 529.57`).
_SEGMENT_RE = re.compile(
    r"(?P<key>" + _WORD + r"(?:[ \t]+" + _WORD + r"){0,3})[ \t]*[:=]?[ \t]*"
    r"(?P<val>" + _SPECIAL + "|" + _NUMBER + r")(?P<pct>%?)"
)
# `score: 363/500 = 72.60%`: a count fraction followed by the percentage it makes.
_FRACTION_PCT_RE = re.compile(
    r"(?<![\w\-/\\.@$?&'\"])"
    r"(?P<key>" + _WORD + r"(?:[ \t]" + _WORD + r"){0,2})[ \t]*[:=][ \t]*"
    r"\d+[ \t]*/[ \t]*\d+[ \t]*=[ \t]*(?P<val>" + _NUMBER + r")%"
)
_CLAUSE_BREAK_RE = re.compile(r"[,;|:=(){}\[\]]| - ")
_PLAIN_WORD_RE = re.compile(_WORD)
_BAR_CHARS = frozenset(" #█▏▎▍▌▋▊▉━─=>.")
# Words that say a number is a size, count or identifier rather than a measurement.
_COUNT_WORDS = frozenset({
    "number", "num", "count", "counts", "size", "sizes", "shape", "dim", "dims", "dimension", "length", "len",
    "version", "seed", "id", "ids", "idx", "index", "rank", "pid", "port", "year", "params", "parameters",
})
# Table segments and spaced pairs naming these are bookkeeping (`| end of epoch 3 |`, `| ms/batch 30.2 |`).
_BOOKKEEPING_WORDS = frozenset({
    "epoch", "epochs", "step", "steps", "iter", "iters", "iteration", "batch", "batches", "time", "eta", "elapsed",
})
# Filler around a name written in prose: `The RMSE of prediction is: 0.44` -> rmse_of_prediction.
_LEADING_FILLER = frozenset({"the", "a", "an", "our", "my"})
_TRAILING_FILLER = frozenset({"is", "are", "was", "were", "of", "for", "on", "at", "to", "by"})
# Words that name a split or a summary of a metric but no measurement (`Val`, `final`, `episodic`).
QUALIFIER_WORDS = frozenset({
    "val", "valid", "validation", "eval", "evaluation", "dev", "test", "train", "training", "holdout",
    "final", "best", "mean", "avg", "average", "total", "overall", "episodic",
})
_EPOCH_WORD_RE = re.compile(r"(?i)\bepoch\b[ \t]*[:=]?[ \t]*[\[#(]?[ \t]*(\d+(?:\.\d+)?)")
_STEP_WORD_RE = re.compile(r"(?i)\b(?:step|iteration|iter)\b[ \t]*[:=]?[ \t]*[\[#(]?[ \t]*(\d+)")
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_KEY_SPACES_RE = re.compile(r"[ \t\-]+")
_LOG_LEVELS = frozenset({"TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"})
_PLAIN_INT_RE = re.compile(r"[-+]?\d+")
_NUMERIC_STRING_RE = re.compile(_SPECIAL + "|" + _NUMBER)
# A repr with keyword arguments: `Dropout(p=0.1, inplace=False)`, `LayerNorm((768,), eps=1e-05)`.
_REPR_RE = re.compile(r"(?<![\w.])[A-Za-z_][\w.]*\((?P<args>(?:[^()]|\([^()]*\))*=(?:[^()]|\([^()]*\))*)\)")
_REPR_KEY_RE = re.compile(r"([A-Za-z_]\w*)[ \t]*=(?!=)")


def normalise_name(name: str) -> str:
    """A metric name as AFT reports it: blanks and hyphens become `_`, letters lower-case
    (`train loss` -> `train_loss`, `Val-Acc` -> `val_acc`). Applied to every name, from prose,
    dicts and the metrics file alike, so one value never arrives under two spellings."""
    return _KEY_SPACES_RE.sub("_", name.strip()).lower()


def parameter_names(names: Iterable[str]) -> frozenset[str]:
    """The names a trial's parameters may be printed under: each name or flag normalised, without
    its dashes, and its last dotted part (`--trainer.learning_rate` -> `trainer.learning_rate`,
    `learning_rate`)."""
    found: set[str] = set()
    for raw in names:
        name = normalise_name(str(raw).lstrip("-"))
        if not name:
            continue
        found.add(name)
        found.add(re.split(r"[./]", name)[-1])
    found.discard("")
    return frozenset(found)


def parse_line(line: str, params: Collection[str] = frozenset(), metric: str | None = None) -> MetricRecord | None:
    """Metrics printed on one stdout line, or None when the line reports none.

    Most lines are plain log text, so the first test must reject them almost for free.

    Which printed numbers are metrics, in order:
    1. the objective the person asked for (`metric`, matched as `find_metric` matches it) is kept;
    2. a name in `params` (the trial's parameters, see `parameter_names`) is dropped;
    3. the keyword arguments of a repr (`Dropout(p=0.1, inplace=False)`) are dropped unless one of
       its keys holds a metric word (`looks_like_metric`);
    4. a name with no metric word is kept only in a metric context: another value of the same line
       (or of the same printed dict) holds a metric word. So `Epoch: 3, Loss: 0.4, Train: 0.9,
       Val: 0.8` keeps `train` and `val` next to `loss`, while `embd_pdrop: 0.1`, `Min rating: 0.5,
       Max rating: 5.0` and a config dump (`"rope_theta": 10000.0`) report nothing.
    """
    if ":" not in line and "=" not in line and "|" not in line and "loss" not in line and "ppl" not in line:
        return None  # may_hold_metrics, inlined: this runs on every line
    if len(line) > _MAX_PARSE_LEN:
        return None
    text = _ANSI_RE.sub("", line) if "\x1b" in line else line
    if "\r" in text:
        text = last_redraw(text)
    if text.lstrip().startswith("Namespace("):
        return None  # an argparse dump: the parameters, not metrics
    if "(" in text and "=" in text:
        text = _REPR_RE.sub(_drop_config_repr, text)

    values: dict[str, float] = {}
    step: int | None = None
    epoch: float | None = None

    if "{" in text:
        mapping = _dict_in_line(text)
        if mapping is not None:
            values, step, epoch = _from_mapping(mapping, numeric_strings=True)
    if not values:
        values, step, epoch = _pairs(text)
    if values:
        values = _only_metrics(values, params, metric)
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


def _drop_config_repr(m: re.Match[str]) -> str:
    """A repr whose keyword arguments are settings (no metric word among its keys) read as blank."""
    keys = _REPR_KEY_RE.findall(m.group("args"))
    return m.group(0) if any(looks_like_metric(k) for k in keys) else " "


def _only_metrics(values: dict[str, float], params: Collection[str], metric: str | None) -> dict[str, float]:
    """Rules 1, 2 and 4 of `parse_line`."""
    context = any(looks_like_metric(n) and n not in params for n in values)
    kept: dict[str, float] = {}
    for name, value in values.items():
        if metric is not None and find_metric(metric, [name]) == name:
            kept[name] = value
        elif name in params or (not context and not looks_like_metric(name)):
            continue
        else:
            kept[name] = value
    return kept


def may_hold_metrics(text: str) -> bool:
    """False when no line of `text` can hold a metric: the test run on every line a script prints,
    so it is a few substring tests (a regex or a lower() costs several times more). Without a
    separator only a loss or perplexity is read (`train loss 2.44`, `valid ppl 529.57`)."""
    return ":" in text or "=" in text or "|" in text or "loss" in text or "ppl" in text


def last_redraw(text: str) -> str:
    """What a terminal finally shows of a line redrawn with carriage returns.

    Progress bars (Keras, tqdm) print every update over the last one; only the final complete
    update is a result, the earlier ones are partial epochs.
    """
    for segment in reversed(text.split("\r")):
        if segment.strip():
            return segment
    return ""


class _Found:
    """Pairs gathered from one line by several patterns; the first claim of a name wins."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.step: int | None = None
        self.epoch: float | None = None

    def add(self, words: list[str], raw_value: str, percent: bool, *, counts_ok: bool = False) -> None:
        key = _normalise_key(" ".join(words))
        if key in IGNORED_KEYS:
            return
        value = float(raw_value)
        if key in EPOCH_KEYS:
            self.epoch = value
            return
        if key in STEP_KEYS:
            self.step = _as_step(value)
            return
        name = label_name(words)
        if not name or name in self.values:
            return
        tokens = set(_TOKEN_SPLIT_RE.split(name))
        metric_like = looks_like_metric(name)
        if not metric_like and tokens & _COUNT_WORDS:
            return  # `Batch size: 32`, `Number of users: 300`
        if not metric_like and not percent and not counts_ok and _PLAIN_INT_RE.fullmatch(raw_value):
            return  # a whole number named without a metric word is a count of something
        self.values[name] = value


def _pairs(text: str) -> tuple[dict[str, float], int | None, float | None]:
    found = _Found()
    for m in _FRACTION_PCT_RE.finditer(text):
        found.add(_key_words(text, m), m.group("val"), True)
    for m in _PAIR_RE.finditer(text):
        raw_value = m.group("val")
        if m.group("sep") == ":" and not m.group("sp") and not m.group("lb") and _PLAIN_INT_RE.fullmatch(raw_value):
            continue  # `cuda:0`, `localhost:8080`: an address, not a metric
        if m.group("pct") and text[m.end() :].lstrip().startswith("|"):
            continue  # `Map: 100%|████|`: how far a progress bar got, not a metric
        found.add(_key_words(text, m), raw_value, bool(m.group("pct")))
    if text.count("|") >= 2:
        segments = text.split("|")
        for i, segment in enumerate(segments):
            m = _SEGMENT_RE.fullmatch(segment.strip())
            if m is None or (m.group("pct") and i + 1 < len(segments) and _is_bar(segments[i + 1])):
                continue
            words = m.group("key").split()
            if {t for w in words for t in _TOKEN_SPLIT_RE.split(w.lower())} & _BOOKKEEPING_WORDS:
                continue  # `| end of epoch 3 |`, `| ms/batch 30.25 |`: the epoch is read below
            found.add(words, m.group("val"), bool(m.group("pct")))
    if any(c.isdigit() for c in text):
        for m in _SPACED_RE.finditer(text):
            words = m.group("key").split()
            last = _TOKEN_SPLIT_RE.split(words[-1].lower())[-1]
            if _kind(last) is not None:
                found.add(words, m.group("val"), bool(m.group("pct")), counts_ok=True)
    return found.values, found.step, found.epoch


def _is_bar(segment: str) -> bool:
    """A tqdm bar between pipes: block characters, hashes or blanks only."""
    return all(c in _BAR_CHARS for c in segment)


def _key_words(text: str, m: re.Match[str]) -> list[str]:
    """The words naming a value: the matched key, reaching further back into the same clause when
    the metric word comes earlier (`The RMSE of prediction is: 0.44`)."""
    words = m.group("key").split()
    if ("q" in m.groupdict() and m.group("q")) or any(_kind(t) is not None for w in words for t in _tokens(w)):
        return words
    clause = _CLAUSE_BREAK_RE.split(text[: m.start("key")])[-1].split()
    back: list[str] = []
    for word in reversed(clause[-5:]):
        if not _PLAIN_WORD_RE.fullmatch(word):
            break
        back.insert(0, word)
    if any(_kind(t) is not None for w in back for t in _tokens(w)):
        return back + words
    return words


def label_name(words: list[str]) -> str:
    """The name of a value from the words printed before it, shared by the stdout parser and
    the static listing so that `aft inspect` shows the names a run reports.

    Normally the last three words (`Validation accuracy`, `Average loss`). When they hold no metric
    word but an earlier word does (`The RMSE of prediction is`), the name starts at that word, or
    at a split/qualifier word just before it. Articles in front and verbs or prepositions at the end
    are dropped. Separators and case are normalised: `valid ppl` -> `valid_ppl`.
    """
    words = [w for w in words if w]
    if len(words) > 1 and words[0] in _LOG_LEVELS:
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


def _normalise_key(key: str) -> str:
    words = key.split()
    if len(words) > 1 and words[0] in _LOG_LEVELS:
        words = words[1:]  # `INFO loss: 0.3` from a logging prefix
    return normalise_name(" ".join(words))


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
    mapping: Mapping[Any, Any], prefix: str = "", depth: int = 0, numeric_strings: bool = False
) -> tuple[dict[str, float], int | None, float | None]:
    """Values, step and epoch of a dict; `numeric_strings` reads `'7.128'` as a number, as TRL and
    recent Trainers print their log dicts (the metrics file stays strict: a string there is a mistake)."""
    values: dict[str, float] = {}
    step: int | None = None
    epoch: float | None = None
    for raw_key, value in mapping.items():
        key = normalise_name(str(raw_key))
        if isinstance(value, Mapping):
            if depth < 2:
                inner_prefix = prefix if key.lower() in _TRANSPARENT_KEYS else f"{prefix}{key}/"
                inner, inner_step, inner_epoch = _from_mapping(value, inner_prefix, depth + 1, numeric_strings)
                values.update(inner)
                step = step if inner_step is None else inner_step
                epoch = epoch if inner_epoch is None else inner_epoch
            continue
        if numeric_strings and isinstance(value, str) and _NUMERIC_STRING_RE.fullmatch(value.strip()):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float is no metric
            continue
        if not prefix and key in EPOCH_KEYS:
            epoch = number
        elif not prefix and key in STEP_KEYS:
            step = _as_step(number)
        elif key not in IGNORED_KEYS:
            values.setdefault(prefix + key, number)
    return values, step, epoch


def values_of_mapping(mapping: Mapping[Any, Any]) -> tuple[dict[str, float], int | None, float | None]:
    """(values, step, epoch) of a dict a script wrote itself (Trainer result files), read as
    leniently as its printed dicts: numbers written as strings count."""
    return _from_mapping(mapping, numeric_strings=True)


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
    r"error|err|errors|perplexity|ppl|mse|mae|rmse|rmsle|msle|mape|smape|wer|cer|ter|fid|kid|bpd|bpc|bpb"
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


def rows_as_requested(rows: list[dict[str, Any]], requested: str | None) -> list[dict[str, Any]]:
    """History rows with the value the objective refers to (find_metric) under the objective's own
    name, for a trial judged after its run; rows already carrying the name come back unchanged."""
    if not requested or any(requested in row for row in rows):
        return rows
    name = find_metric(requested, (k for row in rows for k in row if k not in ("epoch", "step")))
    if name is None:
        return rows
    return [{(requested if k == name else k): v for k, v in row.items()} for row in rows]


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
    "find_metric",
    "label_name",
    "last_redraw",
    "looks_like_metric",
    "may_hold_metrics",
    "metric_words",
    "normalise_name",
    "parameter_names",
    "rows_as_requested",
    "values_of_mapping",
]

