"""Reading metrics from the lines a training script prints on stdout.

A script that cannot be changed is read from its stdout, where metrics hide among progress bars,
warnings and timestamps; this parser is deliberately forgiving but conservative: a pair whose
value runs into a word, a path, a time of day or a version number is dropped rather than guessed at.
Names are read with the vocabulary of `aft_tui.metric_names`.

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
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from aft_tui.metric_names import (
    LOG_LEVELS,
    TOKEN_SPLIT_RE,
    find_metric,
    is_metric_word,
    label_name,
    looks_like_metric,
    metric_words,
    normalise_name,
)
from aft_tui.runs.metric_records import (
    EPOCH_KEYS,
    IGNORED_KEYS,
    NUMBER,
    SPECIAL,
    STEP_KEYS,
    MetricRecord,
    as_step,
    from_mapping,
)

# Lines longer than this are progress-bar debris or dumps, never a metric report.
_MAX_PARSE_LEN = 16_384


_WORD = r"[A-Za-z](?:[\w./\-]*\w)?"
_PAIR_RE = re.compile(
    # Not inside a word, a path, an option (--lr=), a URL query (?a=1&b=2) or a quoted string.
    r"(?<![\w\-/\\.@$?&'\"])"
    r"(?P<q>['\"]?)(?P<key>" + _WORD + r"(?:[ \t]" + _WORD + r"){0,2})(?P=q)"
    r"[ \t]*(?P<sep>[:=])(?P<sp>[ \t]*)"
    # A one-element array (`episodic_return=[116.]`) is its element.
    r"(?P<lb>\[)?(?P<val>" + SPECIAL + "|" + NUMBER + r")(?P<pct>%?)(?(lb)\])"
    # The value must end here: not `12:30`, `3rd`, `1.2.3`, `2024-01-01` or `8080/api`.
    r"(?![\w:/\-]|\.\w)"
)
# `train loss 2.01`: a name and a number with no separator; kept only when the name ends in a metric word.
_SPACED_RE = re.compile(
    r"(?<![\w\-/\\.@$?&'\"])"
    r"(?P<key>" + _WORD + r"(?:[ \t]" + _WORD + r"){0,2})[ \t]+"
    r"(?P<val>" + SPECIAL + "|" + NUMBER + r")(?P<pct>%?)"
    r"(?![\w:/\-]|\.\w)"
)
# One `| key value |` segment of a table-like line (`| valid ppl 529.57`).
_SEGMENT_RE = re.compile(
    r"(?P<key>" + _WORD + r"(?:[ \t]+" + _WORD + r"){0,3})[ \t]*[:=]?[ \t]*"
    r"(?P<val>" + SPECIAL + "|" + NUMBER + r")(?P<pct>%?)"
)
# `score: 363/500 = 72.60%`: a count fraction followed by the percentage it makes.
_FRACTION_PCT_RE = re.compile(
    r"(?<![\w\-/\\.@$?&'\"])"
    r"(?P<key>" + _WORD + r"(?:[ \t]" + _WORD + r"){0,2})[ \t]*[:=][ \t]*"
    r"\d+[ \t]*/[ \t]*\d+[ \t]*=[ \t]*(?P<val>" + NUMBER + r")%"
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
_EPOCH_WORD_RE = re.compile(r"(?i)\bepoch\b[ \t]*[:=]?[ \t]*[\[#(]?[ \t]*(\d+(?:\.\d+)?)")
_STEP_WORD_RE = re.compile(r"(?i)\b(?:step|iteration|iter)\b[ \t]*[:=]?[ \t]*[\[#(]?[ \t]*(\d+)")
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_PLAIN_INT_RE = re.compile(r"[-+]?\d+")
# A repr with keyword arguments: `Dropout(p=0.1, inplace=False)`, `LayerNorm((768,), eps=1e-05)`.
_REPR_RE = re.compile(r"(?<![\w.])[A-Za-z_][\w.]*\((?P<args>(?:[^()]|\([^()]*\))*=(?:[^()]|\([^()]*\))*)\)")
_REPR_KEY_RE = re.compile(r"([A-Za-z_]\w*)[ \t]*=(?!=)")


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
            values, step, epoch = from_mapping(mapping, numeric_strings=True)
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
            self.step = as_step(value)
            return
        name = label_name(words)
        if not name or name in self.values:
            return
        tokens = set(TOKEN_SPLIT_RE.split(name))
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
            if {t for w in words for t in TOKEN_SPLIT_RE.split(w.lower())} & _BOOKKEEPING_WORDS:
                continue  # `| end of epoch 3 |`, `| ms/batch 30.25 |`: the epoch is read below
            found.add(words, m.group("val"), bool(m.group("pct")))
    if any(c.isdigit() for c in text):
        for m in _SPACED_RE.finditer(text):
            words = m.group("key").split()
            last = TOKEN_SPLIT_RE.split(words[-1].lower())[-1]
            if is_metric_word(last):
                found.add(words, m.group("val"), bool(m.group("pct")), counts_ok=True)
    return found.values, found.step, found.epoch


def _is_bar(segment: str) -> bool:
    """A tqdm bar between pipes: block characters, hashes or blanks only."""
    return all(c in _BAR_CHARS for c in segment)


def _key_words(text: str, m: re.Match[str]) -> list[str]:
    """The words naming a value: the matched key, reaching further back into the same clause when
    the metric word comes earlier (`The RMSE of prediction is: 0.44`)."""
    words = m.group("key").split()
    if ("q" in m.groupdict() and m.group("q")) or any(is_metric_word(t) for w in words for t in metric_words(w)):
        return words
    clause = _CLAUSE_BREAK_RE.split(text[: m.start("key")])[-1].split()
    back: list[str] = []
    for word in reversed(clause[-5:]):
        if not _PLAIN_WORD_RE.fullmatch(word):
            break
        back.insert(0, word)
    if any(is_metric_word(t) for w in back for t in metric_words(w)):
        return back + words
    return words


def _normalise_key(key: str) -> str:
    words = key.split()
    if len(words) > 1 and words[0] in LOG_LEVELS:
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
