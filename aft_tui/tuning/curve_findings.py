"""The findings the curve analysis can state, one function each: what it checks and the
sentence it says (see `aft_tui.tuning.analyzer` for the order they are tried in).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from aft_tui.metric_names import display_name, is_held_out
from aft_tui.tuning.curve_reading import (
    EXPLODE_FACTOR,
    MIN_POINTS,
    OVERFIT_REL,
    OVERFIT_WARN_REL,
    SIGNIFICANCE_Z,
    TAIL_FRACTION,
    UNDERFIT_REL,
    Series,
    Trend,
    as_number,
    best_index,
    capitalised,
    fmt_epoch,
    fmt_number,
    fmt_pair,
    improved,
    index_at,
    plural,
    relative_gain,
    scale_of,
    smoothed,
)
from aft_tui.tuning.noise import median


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


def find_non_finite(history: Sequence[dict[str, Any]], obj: Series, train: Series | None) -> Finding | None:
    """NaN or infinity in the objective, the training metric or any loss: training diverged."""
    watched = [obj.name] + ([train.name] if train else [])
    watched += sorted({k for r in history for k in r if "loss" in k.lower() and k not in watched})
    for i, record in enumerate(history):
        for key in watched:
            value = as_number(record.get(key))
            if value is None or math.isfinite(value):
                continue
            finite_before = [j for j in range(obj.n) if obj.pos[j] < i and math.isfinite(obj.ys[j])]
            where = _where(record, i, obj.axis)
            first = not any(as_number(r.get(key)) is not None for r in history[:i])
            role = "train" if train and key == train.name else "objective"
            sentence = (
                f"{capitalised(display_name(key, role))} became {fmt_number(value)} at {where}"
                f"{' (its first evaluation)' if first else ''}: training diverged; "
                "lower the learning rate (or clip gradients)."
            )
            best_epoch = None
            evidence: dict[str, Any] = {"metric": key, "at": where, "value": fmt_number(value)}
            if finite_before:
                b = max(finite_before, key=lambda j: (obj.sign * obj.ys[j], -j))
                best_epoch = obj.epoch_of(b)
                evidence["best_before"] = {"at": obj.label(b), "value": obj.ys[b]}
            return Finding("diverged", sentence, "error", evidence, {"learning_rate": "decrease"}, best_epoch)
    return None


def _where(record: dict[str, Any], i: int, axis: str) -> str:
    if axis == "epoch" and as_number(record.get("epoch")) is not None:
        return f"epoch {fmt_epoch(record['epoch'])}"
    if as_number(record.get("step")) is not None:
        return f"step {int(as_number(record['step']) or 0)}"
    return f"record {i + 1}"


def find_too_short(history: Sequence[dict[str, Any]], obj: Series) -> Finding:
    name = display_name(obj.name)
    if obj.n == 0:
        keys = sorted({k for r in history for k, v in r.items() if as_number(v) is not None} - {"epoch", "step"})
        if not history:
            sentence = "The run recorded no evaluations, so there is no learning curve to read."
        else:
            sentence = (
                f"No values of {obj.name!r} were recorded (the run reported "
                f"{', '.join(keys) or 'no numeric metrics'}), so there is no curve to read."
            )
        return Finding("too_short", sentence, "warning", {"points": 0, "recorded": keys}, {}, None)
    best = best_index(obj)
    sentence = (
        f"Only {plural(obj.n, 'evaluation')} of {name} {'was' if obj.n == 1 else 'were'} recorded: at least {MIN_POINTS} "
        "are needed to tell a trend from noise."
    )
    evidence = {"points": obj.n, "values": list(obj.ys)}
    return Finding("too_short", sentence, "info", evidence, {}, obj.epoch_of(best))


def find_exploded(obj: Series, train: Series | None) -> Finding | None:
    """A loss that ends well above where it started (and is not explained by overfitting)."""
    candidates = []
    if train is not None and train.sign < 0:
        candidates.append((train, "train"))
    if obj.sign < 0 and (train is None or not improved(train, 0, train.n - 1)):
        candidates.append((obj, "objective"))
    for s, role in candidates:
        if s.n < MIN_POINTS or s.ys[0] <= 0:
            continue
        k = min(s.n, max(MIN_POINTS, math.ceil(s.n * TAIL_FRACTION)))
        level = median(s.ys[-k:])
        if level > EXPLODE_FACTOR * s.ys[0]:
            peak = max(range(s.n), key=lambda i: s.ys[i])
            a, b = fmt_pair(s.ys[0], s.ys[peak])
            sentence = (
                f"{capitalised(display_name(s.name, role))} exploded from {a} at {s.label(0)} to {b} at "
                f"{s.label(peak)}: training diverged; lower the learning rate."
            )
            evidence = {"metric": s.name, "first": s.ys[0], "tail_median": level, "peak": s.ys[peak],
                        "peak_at": s.label(peak), "factor": EXPLODE_FACTOR}
            best = best_index(obj)
            return Finding("diverged", sentence, "error", evidence, {"learning_rate": "decrease"},
                           obj.epoch_of(best))
    return None


def find_degraded(obj: Series, sigma: float | None, train: Series | None) -> Finding | None:
    """Validation ended clearly worse than its best: overfitting (or instability if training
    got worse too)."""
    sm = smoothed(obj.ys)
    b = max(range(obj.n), key=lambda i: (obj.sign * sm[i], -i))
    if b > obj.n - 3:
        return None
    worsening = obj.sign * (sm[b] - sm[-1])
    scale = scale_of(sm[b], obj)
    noise_bar = SIGNIFICANCE_Z * (sigma or 0.0) * math.sqrt(2)
    if worsening <= max(OVERFIT_REL * scale, noise_bar):
        return None
    raw_best = best_index(obj)
    best_epoch = obj.epoch_of(raw_best)
    name = display_name(obj.name)
    vb, ve = fmt_pair(obj.ys[raw_best], obj.ys[-1])
    evidence: dict[str, Any] = {
        "metric": obj.name, "best": obj.ys[raw_best], "best_at": obj.label(raw_best),
        "last": obj.ys[-1], "last_at": obj.label(obj.n - 1), "worsening": worsening,
        "worsening_rel": worsening / scale, "noise": sigma,
    }
    head = f"{capitalised(name)} was best at {obj.label(raw_best)} ({vb}) and ended at {ve} ({obj.label(obj.n - 1)})"
    if train is not None:
        tb = index_at(train, obj.pos[raw_best])
        t0, t1 = fmt_pair(train.ys[tb], train.ys[-1])
        tname = display_name(train.name, "train")
        evidence.update({"train_metric": train.name, "train_at_best": train.ys[tb], "train_last": train.ys[-1]})
        if improved(train, tb, train.n - 1):
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
        if improved(train, train.n - 1, tb):  # training got worse too: unstable, not overfitting
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


def _trend_evidence(obj: Series, trend: Trend, sigma: float | None) -> dict[str, Any]:
    return {
        "metric": obj.name, "window": trend.k, "start": trend.start, "end": trend.end,
        "first": trend.first, "last": trend.last, "change": trend.change, "threshold": trend.threshold, "noise": sigma,
        "stderr": trend.stderr,
    }


def find_still_improving(obj: Series, trend: Trend, sigma: float | None, best: int) -> Finding:
    a, b = fmt_pair(trend.start, trend.end)
    verb = "rising" if obj.sign > 0 else "falling"
    unit = obj.unit()
    sentence = (
        f"{capitalised(display_name(obj.name))} was still {verb} at the last {unit} "
        f"({a} → {b} over the last {plural(trend.k, unit)}): more epochs would likely help."
    )
    return Finding("still_improving", sentence, "info", _trend_evidence(obj, trend, sigma),
                   {"epochs": "increase"}, obj.epoch_of(best))


def find_plateau(obj: Series, trend: Trend, sigma: float | None, best: int) -> Finding:
    sm = smoothed(obj.ys)
    level = median(obj.ys[-trend.k:])
    band = max(trend.threshold, SIGNIFICANCE_Z * (sigma or 0.0))
    since = obj.n - 1
    while since > 0 and abs(sm[since - 1] - level) <= band:
        since -= 1
    a, b = fmt_pair(trend.start, trend.end)
    unit = obj.unit()
    sentence = (
        f"{capitalised(display_name(obj.name))} has not changed meaningfully over the last "
        f"{plural(trend.k, unit)} ({a} → {b}; flat since {obj.label(since)}): "
        "more epochs are unlikely to help."
    )
    evidence = _trend_evidence(obj, trend, sigma) | {"since": obj.label(since), "level": level}
    return Finding("plateau", sentence, "info", evidence, {"epochs": "decrease"}, obj.epoch_of(best))


def find_noisy(obj: Series, trend: Trend, sigma: float | None, best: int) -> Finding:
    a, b = fmt_pair(trend.start, trend.end)
    unit = obj.unit()
    name = capitalised(display_name(obj.name))
    # A held-out metric is noisy for want of examples; a training loss logged per step, for want of
    # averaging (minGPT prints one batch's loss): no validation set makes that curve readable.
    remedy = ("a larger validation set or batch size" if is_held_out(obj.name)
              else "a larger batch size, or the loss averaged over more batches before it is printed,")
    if sigma:
        sentence = (
            f"{name} is too noisy to read: its epoch-to-epoch noise (±{fmt_number(sigma, 2)}) is as large as "
            f"the change over the last {plural(trend.k, unit)} ({a} → {b}); {remedy} "
            "would make the curve readable."
        )
    else:
        sentence = (
            f"{name} went up and down over the last {plural(trend.k, unit)} ({a} → {b}), too few "
            f"points to tell a trend from noise; {remedy} would help."
        )
    return Finding("noisy", sentence, "warning", _trend_evidence(obj, trend, sigma),
                   {"batch_size": "increase", "eval_samples": "increase"}, obj.epoch_of(best))


def find_underfitting(obj: Series, train: Series | None) -> Finding | None:
    """Training (and validation) barely moved from where they started."""
    basis = train if train is not None else obj
    if basis.n < MIN_POINTS:
        return None
    gain = relative_gain(basis, smoothed(basis.ys))
    obj_gain = relative_gain(obj, smoothed(obj.ys))
    if gain >= UNDERFIT_REL or obj_gain >= UNDERFIT_REL:
        return None
    role = "train" if basis is train else "objective"
    a, b = fmt_pair(basis.ys[0], basis.ys[-1])
    unit = basis.unit()
    what = "of its headroom" if basis.bounded_score else "of its start"
    tail = f" and {display_name(obj.name)} stayed near its start too" if basis is train else ""
    sentence = (
        f"{capitalised(display_name(basis.name, role))} barely improved ({a} → {b}, "
        f"{max(gain, 0.0):.1%} {what} over {plural(basis.n, unit)}){tail}: the model is underfitting; "
        "try a higher learning rate or a larger model."
    )
    evidence = {"metric": basis.name, "first": basis.ys[0], "last": basis.ys[-1], "gain_rel": gain,
                "objective_gain_rel": obj_gain, "threshold": UNDERFIT_REL}
    return Finding("underfitting", sentence, "warning", evidence,
                   {"learning_rate": "increase", "model_capacity": "increase"},
                   obj.epoch_of(best_index(obj)))
