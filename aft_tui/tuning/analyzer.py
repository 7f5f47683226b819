"""Learning-curve analysis of one trial: what the curves say and what to try next.

The tuner, the chat and the strategies all need the same reading of a run ("it was still
improving", "it overfitted after epoch 4", "the learning rate is far too high"), so it is
computed once here, from the per-evaluation history a trial reports, with statistics simple
enough to state in the sentence shown to the person:

* the **tail** is the last third of the evaluations (at least 3); its trend is the
  least-squares line through the tail, and the change quoted is that line's rise or fall
  from the tail's first evaluation to its last;
* the **noise** is the epoch-to-epoch scatter around a local quadratic fitted to each five
  neighbouring points (so real curvature is not counted as noise), turned into a standard
  deviation with the median absolute residual (robust to one bad epoch). With fewer than five
  points there is no noise estimate and a trend must be monotone to count;
* a change is **significant** when it exceeds ``SIGNIFICANCE_Z`` standard errors of that noise,
  and **meaningful** when it exceeds ``MEANINGFUL_REL`` of the metric's scale. The scale is the
  metric's magnitude; for scores bounded in [0, 1] that are maximized (accuracy, F1) it is the
  remaining error ``1 - value``, since 0.98 -> 0.99 halves the errors. Near zero, a tenth of
  the curve's range is used instead so a metric centred on 0 still has a usable scale.

Thresholds are module constants so strategies and tests can name them. Known limit: a history
whose first evaluation comes after most of the learning happened (one huge epoch) looks flat
from the start and can read as underfitting; evaluating more often than once per epoch avoids it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

from aft_tui.errors import UserError

MIN_POINTS = 3
"""Fewer evaluations than this cannot show a trend: the analysis says so and stops."""

TAIL_FRACTION = 1 / 3
"""The trend is read over the last third of the evaluations (never fewer than 3)."""

SIGNIFICANCE_Z = 2.0
"""A change counts only beyond 2 standard errors of the estimated epoch-to-epoch noise."""

MEANINGFUL_REL = 0.02
"""Changes below 2% of the metric's scale over the tail are "no meaningful change"."""

OVERFIT_REL = 0.02
"""Validation must end at least 2% (of its scale) worse than its best to call overfitting..."""

OVERFIT_WARN_REL = 0.10
"""...and at least 10% worse for it to be a warning rather than a note (mild overfitting)."""

UNDERFIT_REL = 0.10
"""Underfitting: the training metric improved by less than 10% of its start (losses) or of
its headroom ``1 - start`` (scores bounded in [0, 1]), and validation did no better."""

EXPLODE_FACTOR = 1.5
"""A loss whose tail median exceeds 1.5x its first value has exploded (diverged)."""

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

_VAL_PREFIXES = {"val", "valid", "validation", "eval", "dev"}
_TRAIN_PREFIXES = {"train", "training", "tr"}
_TEST_PREFIXES = {"test"}
_LOSS_LIKE = {"loss", "error", "err", "mse", "rmse", "mae", "nll", "ppl", "perplexity", "wer", "cer"}
_NICE_NAMES = {
    "loss": "loss", "acc": "accuracy", "accuracy": "accuracy", "f1": "F1", "ppl": "perplexity",
    "perplexity": "perplexity", "mse": "MSE", "rmse": "RMSE", "mae": "MAE", "auc": "AUC",
    "roc_auc": "ROC AUC", "bleu": "BLEU", "wer": "WER", "cer": "CER", "err": "error",
    "nll": "NLL", "iou": "IoU", "map": "mAP", "r2": "R²",
}


@dataclass
class Finding:
    """One statement about a run's curves, for people (`sentence`) and strategies (`suggestion`).

    `code` is one of still_improving, overfitting, underfitting, diverged, plateau, noisy,
    too_short. `suggestion` maps a kind of hyperparameter to "increase" or "decrease"
    (``{"learning_rate": "decrease"}``); strategies apply the ones the target exposes.
    `best_epoch` is the epoch of the best recorded value in the history's own numbering
    (rounded up when fractional), or None when the history records no epochs.
    """

    code: str
    sentence: str
    severity: str = "info"
    evidence: dict[str, Any] = field(default_factory=dict)
    suggestion: dict[str, Any] = field(default_factory=dict)
    best_epoch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Finding":
        return cls(
            code=str(data.get("code", "")),
            sentence=str(data.get("sentence", "")),
            severity=str(data.get("severity", "info")),
            evidence=dict(data.get("evidence") or {}),
            suggestion=dict(data.get("suggestion") or {}),
            best_epoch=data.get("best_epoch"),
        )


# --------------------------------------------------------------------------- series


@dataclass
class _Series:
    """One metric's finite-or-not values in history order, with where each was recorded."""

    name: str
    sign: int  # +1 when larger is better, -1 when smaller is better
    ys: list[float]
    records: list[dict[str, Any]]
    axis: str  # epoch | step | index: what labels a point for people
    pos: list[int]  # each point's index in the history, which aligns train and validation

    @property
    def n(self) -> int:
        return len(self.ys)

    @property
    def bounded_score(self) -> bool:
        return self.sign > 0 and all(0.0 <= y <= 1.0 for y in self.ys if math.isfinite(y))

    def label(self, i: int) -> str:
        if self.axis == "epoch":
            return f"epoch {_fmt_epoch(self.records[i]['epoch'])}"
        if self.axis == "step":
            return f"step {int(_num(self.records[i]['step']) or 0)}"
        return f"evaluation {i + 1}"

    def epoch_of(self, i: int) -> int | None:
        """Epochs needed to reach point i (fractional epochs round up); None without epochs."""
        if self.axis != "epoch":
            return None
        return int(math.ceil(_num(self.records[i]["epoch"]) - 1e-9))

    def unit(self) -> str:
        if self.axis == "epoch":
            epochs = [_num(r["epoch"]) for r in self.records]
            if all(e is not None and float(e).is_integer() for e in epochs) and len(set(epochs)) == len(epochs):
                return "epoch"
        return "evaluation"


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _split(name: str) -> tuple[str, str]:
    """'val_loss' -> ('val', 'loss'); 'eval/accuracy' -> ('eval', 'accuracy'); 'loss' -> ('', 'loss')."""
    for sep in ("_", "/", "-", "."):
        head, _, tail = name.partition(sep)
        if tail and head.lower() in _VAL_PREFIXES | _TRAIN_PREFIXES | _TEST_PREFIXES:
            return head.lower(), tail
    return "", name


def display_name(name: str, role: str = "objective") -> str:
    """A metric key as words: 'val_acc' -> 'validation accuracy', 'loss' (train role) -> 'training loss'."""
    prefix, suffix = _split(name)
    words = _NICE_NAMES.get(suffix.lower(), suffix.replace("_", " ").replace("/", " "))
    if prefix in _VAL_PREFIXES:
        return f"validation {words}"
    if prefix in _TRAIN_PREFIXES or (not prefix and role == "train"):
        return f"training {words}"
    if prefix in _TEST_PREFIXES:
        return f"test {words}"
    return words


def _sign_for(name: str, fallback: int) -> int:
    suffix = _split(name)[1].lower()
    if suffix in _LOSS_LIKE or "loss" in suffix:
        return -1
    if suffix in _NICE_NAMES and suffix not in _LOSS_LIKE:
        return 1
    return fallback


def _choose_axis(records: Sequence[dict[str, Any]]) -> str:
    if records and all(_num(r.get("epoch")) is not None for r in records):
        return "epoch"
    if records and all(_num(r.get("step")) is not None for r in records):
        return "step"
    return "index"


def _series(history: Sequence[dict[str, Any]], name: str, sign: int) -> _Series:
    rows = [(i, r) for i, r in enumerate(history) if _num(r.get(name)) is not None]
    records = [r for _, r in rows]
    ys = [_num(r[name]) for r in records]
    return _Series(name, sign, ys, records, _choose_axis(records), [i for i, _ in rows])  # type: ignore[arg-type]


def detect_train_metric(history: Sequence[dict[str, Any]], metric: str, direction: str) -> str | None:
    """The training counterpart of `metric` present in `history` (train_loss for val_loss, ...)."""
    keys = {k for r in history for k, v in r.items() if _num(v) is not None}
    prefix, suffix = _split(metric)
    if prefix in _TRAIN_PREFIXES:
        return None
    candidates: list[str] = []
    if prefix:
        for head in ("train", "training"):
            candidates += [f"{head}{sep}{suffix}" for sep in ("_", "/", "-", ".")]
        candidates.append(suffix)  # Hugging Face logs 'loss' for training next to 'eval_loss'
    loss_names = ["train_loss", "training_loss", "train/loss", "loss"]
    score_names = ["train_acc", "train_accuracy", "training_accuracy", "train/acc", "train/accuracy"]
    candidates += loss_names if _sign(direction) < 0 else score_names + loss_names
    for name in candidates:
        if name in keys and name != metric:
            return name
    return None


# --------------------------------------------------------------------------- statistics


def _median(values: Sequence[float]) -> float:
    s = sorted(values)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


_SG5 = (-3 / 35, 12 / 35, 17 / 35, 12 / 35, -3 / 35)
"""Savitzky-Golay weights: the value of a quadratic fitted to 5 neighbouring points."""


def _noise(ys: Sequence[float]) -> float | None:
    """Robust epoch-to-epoch noise, as a standard deviation; None below 5 points.

    Residuals are taken around a local quadratic (5 points) so the honest curvature of a
    fast-learning curve is not mistaken for noise; with 5 or 6 points, around a local straight
    line (3 points). The median absolute residual keeps one bad epoch from inflating it.
    """
    n = len(ys)
    if n < 5:
        return None
    if n >= 7:
        residuals = [ys[i] - sum(w * ys[i + j - 2] for j, w in enumerate(_SG5)) for i in range(2, n - 2)]
        variance_factor = 630 / 1225  # var(residual) / sigma^2 for white noise
    else:
        residuals = [ys[i] - (ys[i - 1] + ys[i + 1]) / 2 for i in range(1, n - 1)]
        variance_factor = 1.5
    # 1.4826 turns a median absolute deviation into a standard deviation (normal noise).
    return 1.4826 * _median([abs(r) for r in residuals]) / math.sqrt(variance_factor)


def _smooth(ys: Sequence[float]) -> list[float]:
    """Centred 3-point mean (2-point at the ends), so one lucky epoch is not 'the best'."""
    out = []
    for i in range(len(ys)):
        window = ys[max(0, i - 1): i + 2]
        out.append(sum(window) / len(window))
    return out


def _slope(ys: Sequence[float]) -> float:
    k = len(ys)
    xbar = (k - 1) / 2
    ybar = sum(ys) / k
    sxx = sum((i - xbar) ** 2 for i in range(k))
    return sum((i - xbar) * (y - ybar) for i, y in enumerate(ys)) / sxx


def _scale(value: float, series: _Series) -> float:
    """The size a change is measured against (see the module docstring)."""
    magnitude = abs(1.0 - value) if series.bounded_score else abs(value)
    spread = max(series.ys) - min(series.ys)
    return max(magnitude, 0.1 * spread, 1e-12)


@dataclass
class _Trend:
    kind: str  # improving | worsening | flat | unclear
    k: int
    start: float
    end: float
    change: float
    stderr: float | None
    threshold: float
    first: float  # raw values at the tail's ends, kept as evidence
    last: float


def _trend(s: _Series, sigma: float | None) -> _Trend:
    k = min(s.n, max(MIN_POINTS, math.ceil(s.n * TAIL_FRACTION)))
    tail = s.ys[-k:]
    slope = _slope(tail)
    change = slope * (k - 1)
    mid = sum(tail) / k
    # The trend line's ends, not the raw first and last points: one noisy epoch at either end
    # would otherwise misstate the change the sentence reports.
    start, end = mid - slope * (k - 1) / 2, mid + slope * (k - 1) / 2
    threshold = MEANINGFUL_REL * _scale(_median(tail), s)
    stderr = None
    if sigma is None:
        steps = [s.sign * (b - a) for a, b in zip(tail, tail[1:])]
        if abs(change) < threshold:
            kind = "flat"
        elif all(d > 0 for d in steps):
            kind = "improving"
        elif all(d < 0 for d in steps):
            kind = "worsening"
        else:
            kind = "unclear"
    else:
        stderr = sigma * (k - 1) / math.sqrt(k * (k * k - 1) / 12)
        if abs(change) >= threshold and abs(change) >= SIGNIFICANCE_Z * stderr:
            kind = "improving" if s.sign * change > 0 else "worsening"
        elif abs(change) < threshold and SIGNIFICANCE_Z * stderr <= threshold:
            kind = "flat"
        else:
            kind = "unclear"
    return _Trend(kind, k, start, end, change, stderr, threshold, tail[0], tail[-1])


def _best_index(s: _Series) -> int:
    return max(range(s.n), key=lambda i: (s.sign * s.ys[i], -i))


def _relative_gain(s: _Series, ys: Sequence[float]) -> float:
    """How much of the possible improvement the curve achieved (fraction; see UNDERFIT_REL)."""
    first = ys[0]
    best = max(ys) if s.sign > 0 else min(ys)
    gain = s.sign * (best - first)
    if s.bounded_score:
        headroom = 1.0 - first
        return gain / headroom if headroom > 0.05 else 1.0
    return gain / abs(first) if first else 1.0


# --------------------------------------------------------------------------- formatting


def _fmt(value: float, digits: int = 3) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "infinity" if value > 0 else "-infinity"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 5 or magnitude < -3:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{max(0, digits - 1 - magnitude)}f}"


def _pair(a: float, b: float) -> tuple[str, str]:
    """Format two numbers with just enough digits to show that they differ."""
    for digits in range(3, 8):
        fa, fb = _fmt(a, digits), _fmt(b, digits)
        if fa != fb or a == b:
            return fa, fb
    return fa, fb


def _fmt_epoch(value: Any) -> str:
    e = _num(value) or 0.0
    return str(int(e)) if e.is_integer() else f"{e:.2f}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" + ("" if n == 1 else "s")


# --------------------------------------------------------------------------- analysis


def _sign(direction: str) -> int:
    d = str(direction).strip().lower()
    if d in ("min", "minimize", "minimise", "lower"):
        return -1
    if d in ("max", "maximize", "maximise", "higher"):
        return 1
    raise UserError(f"Direction {direction!r} is not understood: use 'minimize' or 'maximize'.")


def analyze(
    history: list[dict[str, Any]],
    metric: str,
    direction: str,
    train_metric: str | None = None,
) -> list[Finding]:
    """Read one trial's learning curve; findings come most severe first.

    `history` holds one record per evaluation (``{"epoch": 3, "val_loss": 0.41, ...}``) in the
    order they were reported. Records without a value for `metric` are ignored, so training-only
    log lines can stay in the list. The training metric is detected when not given.
    """
    if not metric or not isinstance(metric, str):
        raise UserError("No metric name was given to analyse: pass the objective, e.g. 'val_loss'.")
    sign = _sign(direction)
    if not isinstance(history, (list, tuple)) or any(not isinstance(r, dict) for r in history):
        raise UserError("A trial history must be a list of JSON objects, one per evaluation.")
    if train_metric is None:
        train_metric = detect_train_metric(history, metric, direction)
    elif not any(_num(r.get(train_metric)) is not None for r in history):
        keys = sorted({k for r in history for k in r})
        raise UserError(
            f"The training metric {train_metric!r} was never recorded in this run "
            f"(recorded: {', '.join(keys) or 'nothing'}): pass one of those or leave it unset."
        )

    obj = _series(history, metric, sign)
    train = None
    if train_metric and train_metric != metric:
        train = _series(history, train_metric, _sign_for(train_metric, sign))

    diverged = _non_finite(history, obj, train)
    if diverged:
        return [diverged]
    if obj.n < MIN_POINTS:
        return [_too_short(history, obj)]
    if train is not None and train.n < 2:
        train = None

    exploded = _exploded(obj, train)
    if exploded:
        return [exploded]

    sigma = _noise(obj.ys)
    trend = _trend(obj, sigma)
    best = _best_index(obj)
    findings: list[Finding] = []

    degraded = _degraded(obj, sigma, train)
    if degraded:
        findings.append(degraded)
    elif trend.kind == "improving":
        findings.append(_still_improving(obj, trend, sigma, best))
    elif trend.kind == "flat":
        findings.append(_plateau(obj, trend, sigma, best))
    elif trend.kind == "unclear":
        findings.append(_noisy(obj, trend, sigma, best))
    # A tail that worsens without ending clearly below the best says nothing reliable yet.

    if degraded and degraded.severity == "info" and trend.kind == "flat":
        findings.append(_plateau(obj, trend, sigma, best))

    underfit = _underfitting(obj, train)
    if underfit:
        findings.append(underfit)

    findings.sort(key=lambda f: SEVERITY_ORDER.get(f.severity, 3))
    return findings


def analyze_trial(history: list[dict[str, Any]], metric: str, direction: str) -> list[Finding]:
    """`analyze`, reading a per-evaluation companion when the objective is reported once per run.

    Many scripts print their objective once at the end (`validation: 0.87`) and their
    per-epoch metrics on another line (`val_loss: ... val_accuracy: ...`). The final value
    has no curve, but the per-epoch held-out metric next to it does: its findings (still
    improving, overfitting, ...) are what the strategies and the person need. Each sentence
    says which curve it read.
    """
    findings = analyze(history, metric, direction)
    if not (len(findings) == 1 and findings[0].code == "too_short"):
        return findings
    companion = curve_companion(history, metric)
    if companion is None:
        return findings
    name, companion_direction = companion
    read = analyze(history, name, companion_direction)
    if len(read) == 1 and read[0].code == "too_short":
        return findings
    lead = f"{display_name(metric)} is reported once per run, so the per-epoch curve of {name} was read: "
    for finding in read:
        finding.sentence = lead + finding.sentence[:1].lower() + finding.sentence[1:]
        finding.evidence = {**finding.evidence, "curve_of": name}
    return read


def curve_companion(history: Sequence[dict[str, Any]], metric: str) -> tuple[str, str] | None:
    """The held-out metric with a per-evaluation curve to read in place of a once-per-run objective."""
    from aft_tui.runs.metrics import choose_objective, is_held_out

    counts: dict[str, int] = {}
    for record in history:
        for key, value in record.items():
            if key not in ("epoch", "step") and key != metric and _num(value) is not None:
                counts[key] = counts.get(key, 0) + 1
    candidates = [name for name, n in counts.items() if n >= MIN_POINTS]
    picked = choose_objective(candidates)
    if picked is None:
        return None
    if not is_held_out(picked[0]):
        return None  # only a held-out curve stands in for the objective; a training curve would mislead
    return picked


def _non_finite(history: Sequence[dict[str, Any]], obj: _Series, train: _Series | None) -> Finding | None:
    """NaN or infinity in the objective, the training metric or any loss: training diverged."""
    watched = [obj.name] + ([train.name] if train else [])
    watched += sorted({k for r in history for k in r if "loss" in k.lower() and k not in watched})
    for i, record in enumerate(history):
        for key in watched:
            value = _num(record.get(key))
            if value is None or math.isfinite(value):
                continue
            finite_before = [j for j in range(obj.n) if obj.pos[j] < i and math.isfinite(obj.ys[j])]
            where = _where(record, i, obj.axis)
            first = not any(_num(r.get(key)) is not None for r in history[:i])
            role = "train" if train and key == train.name else "objective"
            sentence = (
                f"{_cap(display_name(key, role))} became {_fmt(value)} at {where}"
                f"{' (its first evaluation)' if first else ''}: training diverged; "
                "lower the learning rate (or clip gradients)."
            )
            best_epoch = None
            evidence: dict[str, Any] = {"metric": key, "at": where, "value": _fmt(value)}
            if finite_before:
                b = max(finite_before, key=lambda j: (obj.sign * obj.ys[j], -j))
                best_epoch = obj.epoch_of(b)
                evidence["best_before"] = {"at": obj.label(b), "value": obj.ys[b]}
            return Finding("diverged", sentence, "error", evidence, {"learning_rate": "decrease"}, best_epoch)
    return None


def _where(record: dict[str, Any], i: int, axis: str) -> str:
    if axis == "epoch" and _num(record.get("epoch")) is not None:
        return f"epoch {_fmt_epoch(record['epoch'])}"
    if _num(record.get("step")) is not None:
        return f"step {int(_num(record['step']) or 0)}"
    return f"record {i + 1}"


def _too_short(history: Sequence[dict[str, Any]], obj: _Series) -> Finding:
    name = display_name(obj.name)
    if obj.n == 0:
        keys = sorted({k for r in history for k, v in r.items() if _num(v) is not None} - {"epoch", "step"})
        if not history:
            sentence = "The run recorded no evaluations, so there is no learning curve to read."
        else:
            sentence = (
                f"No values of {obj.name!r} were recorded (the run reported "
                f"{', '.join(keys) or 'no numeric metrics'}), so there is no curve to read."
            )
        return Finding("too_short", sentence, "warning", {"points": 0, "recorded": keys}, {}, None)
    best = _best_index(obj)
    sentence = (
        f"Only {_plural(obj.n, 'evaluation')} of {name} {'was' if obj.n == 1 else 'were'} recorded: at least {MIN_POINTS} "
        "are needed to tell a trend from noise."
    )
    evidence = {"points": obj.n, "values": list(obj.ys)}
    return Finding("too_short", sentence, "info", evidence, {}, obj.epoch_of(best))


def _exploded(obj: _Series, train: _Series | None) -> Finding | None:
    """A loss that ends well above where it started (and is not explained by overfitting)."""
    candidates = []
    if train is not None and train.sign < 0:
        candidates.append((train, "train"))
    if obj.sign < 0 and (train is None or not _improved(train, 0, train.n - 1)):
        candidates.append((obj, "objective"))
    for s, role in candidates:
        if s.n < MIN_POINTS or s.ys[0] <= 0:
            continue
        k = min(s.n, max(MIN_POINTS, math.ceil(s.n * TAIL_FRACTION)))
        level = _median(s.ys[-k:])
        if level > EXPLODE_FACTOR * s.ys[0]:
            peak = max(range(s.n), key=lambda i: s.ys[i])
            a, b = _pair(s.ys[0], s.ys[peak])
            sentence = (
                f"{_cap(display_name(s.name, role))} exploded from {a} at {s.label(0)} to {b} at "
                f"{s.label(peak)}: training diverged; lower the learning rate."
            )
            evidence = {"metric": s.name, "first": s.ys[0], "tail_median": level, "peak": s.ys[peak],
                        "peak_at": s.label(peak), "factor": EXPLODE_FACTOR}
            best = _best_index(obj)
            return Finding("diverged", sentence, "error", evidence, {"learning_rate": "decrease"},
                           obj.epoch_of(best))
    return None


def _at(s: _Series, pos: int) -> int:
    """Index of the last point of `s` recorded at or before history position `pos` (0 if none)."""
    idx = 0
    for i, p in enumerate(s.pos):
        if p <= pos:
            idx = i
    return idx


def _improved(s: _Series, i: int, j: int) -> bool:
    """Did `s` get meaningfully and significantly better from point i to point j (smoothed)?"""
    sm = _smooth(s.ys)
    sigma = _noise(s.ys) or 0.0
    gain = s.sign * (sm[j] - sm[i])
    return gain > max(SIGNIFICANCE_Z * sigma * math.sqrt(2), MEANINGFUL_REL * _scale(sm[i], s))


def _degraded(obj: _Series, sigma: float | None, train: _Series | None) -> Finding | None:
    """Validation ended clearly worse than its best: overfitting (or instability if training
    got worse too)."""
    sm = _smooth(obj.ys)
    b = max(range(obj.n), key=lambda i: (obj.sign * sm[i], -i))
    if b > obj.n - 3:
        return None
    worsening = obj.sign * (sm[b] - sm[-1])
    scale = _scale(sm[b], obj)
    noise_bar = SIGNIFICANCE_Z * (sigma or 0.0) * math.sqrt(2)
    if worsening <= max(OVERFIT_REL * scale, noise_bar):
        return None
    raw_best = _best_index(obj)
    best_epoch = obj.epoch_of(raw_best)
    name = display_name(obj.name)
    vb, ve = _pair(obj.ys[raw_best], obj.ys[-1])
    evidence: dict[str, Any] = {
        "metric": obj.name, "best": obj.ys[raw_best], "best_at": obj.label(raw_best),
        "last": obj.ys[-1], "last_at": obj.label(obj.n - 1), "worsening": worsening,
        "worsening_rel": worsening / scale, "noise": sigma,
    }
    head = f"{_cap(name)} was best at {obj.label(raw_best)} ({vb}) and ended at {ve} ({obj.label(obj.n - 1)})"
    if train is not None:
        tb = _at(train, obj.pos[raw_best])
        t0, t1 = _pair(train.ys[tb], train.ys[-1])
        tname = display_name(train.name, "train")
        evidence.update({"train_metric": train.name, "train_at_best": train.ys[tb], "train_last": train.ys[-1]})
        if _improved(train, tb, train.n - 1):
            verb = "falling" if train.sign < 0 else "rising"
            if worsening >= OVERFIT_WARN_REL * scale:
                sentence = (
                    f"{head} while {tname} kept {verb} ({t0} → {t1}): the model is overfitting; "
                    f"stop near {obj.label(raw_best)} or add regularization."
                )
                severity = "warning"
            else:
                sentence = (
                    f"{head} while {tname} kept {verb} "
                    f"({t0} → {t1}): mild overfitting; training past {obj.label(raw_best)} did not help."
                )
                severity = "info"
            suggestion = {"epochs": "decrease", "weight_decay": "increase", "dropout": "increase"}
            return Finding("overfitting", sentence, severity, evidence, suggestion, best_epoch)
        if _improved(train, train.n - 1, tb):  # training got worse too: unstable, not overfitting
            sentence = (
                f"{head} while {tname} got worse too ({t0} → {t1}): training is unstable; "
                "lower the learning rate."
            )
            return Finding("diverged", sentence, "warning", evidence, {"learning_rate": "decrease"}, best_epoch)
        sentence = (
            f"{head} while {tname} held steady ({t0} → {t1}): the model is overfitting; "
            f"stop near {obj.label(raw_best)} or add regularization."
        )
        severity = "warning" if worsening >= OVERFIT_WARN_REL * scale else "info"
        return Finding("overfitting", sentence, severity, evidence,
                       {"epochs": "decrease", "weight_decay": "increase"}, best_epoch)
    from aft_tui.runs.metrics import is_held_out

    if not is_held_out(obj.name):
        # A training-side objective (an RL return, a batch loss) that falls back says nothing of
        # generalisation: calling it overfitting would shorten runs that were merely unstable.
        sentence = (
            f"{head}: it fell back from its best late in the run; it is not measured on held-out "
            "data, so this is instability or noise rather than overfitting."
        )
        return Finding("noisy", sentence, "info", evidence, {}, best_epoch)
    sentence = (
        f"{head}: likely overfitting (no training metric was recorded to rule out instability); "
        f"stop near {obj.label(raw_best)}."
    )
    return Finding("overfitting", sentence, "warning", evidence, {"epochs": "decrease"}, best_epoch)


def _trend_evidence(obj: _Series, trend: _Trend, sigma: float | None) -> dict[str, Any]:
    return {
        "metric": obj.name, "window": trend.k, "start": trend.start, "end": trend.end,
        "first": trend.first, "last": trend.last, "change": trend.change, "threshold": trend.threshold, "noise": sigma,
        "stderr": trend.stderr,
    }


def _still_improving(obj: _Series, trend: _Trend, sigma: float | None, best: int) -> Finding:
    a, b = _pair(trend.start, trend.end)
    verb = "rising" if obj.sign > 0 else "falling"
    unit = obj.unit()
    sentence = (
        f"{_cap(display_name(obj.name))} was still {verb} at the last {unit} "
        f"({a} → {b} over the last {_plural(trend.k, unit)}): more epochs would likely help."
    )
    return Finding("still_improving", sentence, "info", _trend_evidence(obj, trend, sigma),
                   {"epochs": "increase"}, obj.epoch_of(best))


def _plateau(obj: _Series, trend: _Trend, sigma: float | None, best: int) -> Finding:
    sm = _smooth(obj.ys)
    level = _median(obj.ys[-trend.k:])
    band = max(trend.threshold, SIGNIFICANCE_Z * (sigma or 0.0))
    since = obj.n - 1
    while since > 0 and abs(sm[since - 1] - level) <= band:
        since -= 1
    a, b = _pair(trend.start, trend.end)
    unit = obj.unit()
    sentence = (
        f"{_cap(display_name(obj.name))} has not changed meaningfully over the last "
        f"{_plural(trend.k, unit)} ({a} → {b}; flat since {obj.label(since)}): "
        "more epochs are unlikely to help."
    )
    evidence = _trend_evidence(obj, trend, sigma) | {"since": obj.label(since), "level": level}
    return Finding("plateau", sentence, "info", evidence, {"epochs": "decrease"}, obj.epoch_of(best))


def _noisy(obj: _Series, trend: _Trend, sigma: float | None, best: int) -> Finding:
    a, b = _pair(trend.start, trend.end)
    unit = obj.unit()
    name = _cap(display_name(obj.name))
    if sigma:
        sentence = (
            f"{name} is too noisy to read: its epoch-to-epoch noise (±{_fmt(sigma, 2)}) is as large as "
            f"the change over the last {_plural(trend.k, unit)} ({a} → {b}); a larger validation set "
            "or batch size would make the curve readable."
        )
    else:
        sentence = (
            f"{name} went up and down over the last {_plural(trend.k, unit)} ({a} → {b}), too few "
            "points to tell a trend from noise; a larger validation set or batch size would help."
        )
    return Finding("noisy", sentence, "warning", _trend_evidence(obj, trend, sigma),
                   {"batch_size": "increase", "eval_samples": "increase"}, obj.epoch_of(best))


def _underfitting(obj: _Series, train: _Series | None) -> Finding | None:
    """Training (and validation) barely moved from where they started."""
    basis = train if train is not None else obj
    if basis.n < MIN_POINTS:
        return None
    gain = _relative_gain(basis, _smooth(basis.ys))
    obj_gain = _relative_gain(obj, _smooth(obj.ys))
    if gain >= UNDERFIT_REL or obj_gain >= UNDERFIT_REL:
        return None
    role = "train" if basis is train else "objective"
    a, b = _pair(basis.ys[0], basis.ys[-1])
    unit = basis.unit()
    what = "of its headroom" if basis.bounded_score else "of its start"
    tail = f" and {display_name(obj.name)} stayed near its start too" if basis is train else ""
    sentence = (
        f"{_cap(display_name(basis.name, role))} barely improved ({a} → {b}, "
        f"{max(gain, 0.0):.1%} {what} over {_plural(basis.n, unit)}){tail}: the model is underfitting; "
        "try a higher learning rate or a larger model."
    )
    evidence = {"metric": basis.name, "first": basis.ys[0], "last": basis.ys[-1], "gain_rel": gain,
                "objective_gain_rel": obj_gain, "threshold": UNDERFIT_REL}
    return Finding("underfitting", sentence, "warning", evidence,
                   {"learning_rate": "increase", "model_capacity": "increase"},
                   obj.epoch_of(_best_index(obj)))


def summarize(findings: Iterable[Finding | dict[str, Any]]) -> str:
    """One short paragraph for the chat: the most severe findings first, at most three."""
    items = [f if isinstance(f, Finding) else Finding.from_dict(f) for f in findings]
    if not items:
        return "The learning curve shows nothing unusual."
    items.sort(key=lambda f: SEVERITY_ORDER.get(f.severity, 3))
    text = " ".join(f.sentence.strip() for f in items[:3])
    if len(items) > 3:
        text += f" ({len(items) - 3} more finding{'s' if len(items) > 4 else ''} in the run details.)"
    return text
