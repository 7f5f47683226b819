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

from typing import Any, Iterable, Sequence

from aft_tui.errors import UserError
from aft_tui.metric_names import TRAIN_WORDS, choose_objective, display_name, is_held_out, sign_for, split_prefix
from aft_tui.tuning.curve_findings import (
    Finding,
    find_degraded,
    find_exploded,
    find_non_finite,
    find_noisy,
    find_plateau,
    find_still_improving,
    find_too_short,
    find_underfitting,
)
from aft_tui.tuning.curve_reading import (
    EXPLODE_FACTOR,
    MEANINGFUL_REL,
    MIN_POINTS,
    OVERFIT_REL,
    OVERFIT_WARN_REL,
    SIGNIFICANCE_Z,
    TAIL_FRACTION,
    UNDERFIT_REL,
    as_number,
    best_index,
    read_trend,
    series_of,
)
from aft_tui.tuning.noise import curve_noise

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def detect_train_metric(history: Sequence[dict[str, Any]], metric: str, direction: str) -> str | None:
    """The training counterpart of `metric` present in `history` (train_loss for val_loss, ...)."""
    keys = {k for r in history for k, v in r.items() if as_number(v) is not None}
    prefix, suffix = split_prefix(metric)
    if prefix in TRAIN_WORDS:
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
    elif not any(as_number(r.get(train_metric)) is not None for r in history):
        keys = sorted({k for r in history for k in r})
        raise UserError(
            f"The training metric {train_metric!r} was never recorded in this run "
            f"(recorded: {', '.join(keys) or 'nothing'}): pass one of those or leave it unset."
        )

    obj = series_of(history, metric, sign)
    train = None
    if train_metric and train_metric != metric:
        train = series_of(history, train_metric, sign_for(train_metric, sign))

    diverged = find_non_finite(history, obj, train)
    if diverged:
        return [diverged]
    if obj.n < MIN_POINTS:
        return [find_too_short(history, obj)]
    if train is not None and train.n < 2:
        train = None

    exploded = find_exploded(obj, train)
    if exploded:
        return [exploded]

    sigma = curve_noise(obj.ys)
    trend = read_trend(obj, sigma)
    best = best_index(obj)
    findings: list[Finding] = []

    degraded = find_degraded(obj, sigma, train)
    if degraded:
        findings.append(degraded)
    elif trend.kind == "improving":
        findings.append(find_still_improving(obj, trend, sigma, best))
    elif trend.kind == "flat":
        findings.append(find_plateau(obj, trend, sigma, best))
    elif trend.kind == "unclear":
        findings.append(find_noisy(obj, trend, sigma, best))
    # A tail that worsens without ending clearly below the best says nothing reliable yet.

    if degraded and degraded.severity == "info" and trend.kind == "flat":
        findings.append(find_plateau(obj, trend, sigma, best))

    underfit = find_underfitting(obj, train)
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
    counts: dict[str, int] = {}
    for record in history:
        for key, value in record.items():
            if key not in ("epoch", "step") and key != metric and as_number(value) is not None:
                counts[key] = counts.get(key, 0) + 1
    candidates = [name for name, n in counts.items() if n >= MIN_POINTS]
    picked = choose_objective(candidates)
    if picked is None:
        return None
    if not is_held_out(picked[0]):
        return None  # only a held-out curve stands in for the objective; a training curve would mislead
    return picked


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


__all__ = [
    "EXPLODE_FACTOR",
    "MEANINGFUL_REL",
    "MIN_POINTS",
    "OVERFIT_REL",
    "OVERFIT_WARN_REL",
    "SEVERITY_ORDER",
    "SIGNIFICANCE_Z",
    "TAIL_FRACTION",
    "UNDERFIT_REL",
    "Finding",
    "analyze",
    "analyze_trial",
    "curve_companion",
    "detect_train_metric",
    "display_name",
    "summarize",
]
