"""Learning-curve analysis, tested on curves recorded from real training runs (see make_curves.py)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from aft_tui.errors import UserError
from aft_tui.tuning.analyzer import Finding, analyze, detect_train_metric, display_name, summarize

CURVES = Path(__file__).resolve().parent / "curves"
SCENARIOS = ["still_improving", "overfitting", "diverged", "underfitting", "plateau", "noisy"]


def curve(name: str) -> list[dict]:
    return json.loads((CURVES / f"{name}.json").read_text())["history"]


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_recorded_curves_are_real_training_runs() -> None:
    for name in SCENARIOS:
        data = json.loads((CURVES / f"{name}.json").read_text())
        assert data["scenario"] == name
        assert data["config"]["epochs"] == len(data["history"])
        assert {"epoch", "step", "train_loss", "val_loss", "train_acc", "val_acc"} <= set(data["history"][0])


# ---------------------------------------------------------------- one finding per recorded curve


@pytest.mark.parametrize("metric,direction", [("val_loss", "minimize"), ("val_acc", "maximize")])
def test_still_improving(metric: str, direction: str) -> None:
    findings = analyze(curve("still_improving"), metric, direction)
    assert codes(findings) == ["still_improving"]
    f = findings[0]
    assert f.severity == "info"
    assert f.suggestion == {"epochs": "increase"}
    assert f.best_epoch == 8
    verb = "falling" if metric == "val_loss" else "rising"
    assert f"still {verb} at the last epoch" in f.sentence
    assert "over the last 3 epochs" in f.sentence and "→" in f.sentence
    assert f.evidence["window"] == 3


def test_overfitting_names_the_best_epoch() -> None:
    findings = analyze(curve("overfitting"), "val_loss", "minimize")
    assert codes(findings) == ["overfitting"]
    f = findings[0]
    assert f.severity == "warning"
    assert f.best_epoch == 4
    assert "best at epoch 4 (0.868)" in f.sentence
    assert "training loss kept falling" in f.sentence
    assert f.suggestion["epochs"] == "decrease"
    assert f.evidence["train_metric"] == "train_loss"


def test_overfitting_seen_through_accuracy_is_milder() -> None:
    findings = analyze(curve("overfitting"), "val_acc", "maximize")
    assert codes(findings)[0] == "overfitting"
    assert findings[0].severity == "info"  # accuracy only dropped 0.617 -> 0.590
    assert findings[0].best_epoch == 6
    assert "training accuracy kept rising" in findings[0].sentence


@pytest.mark.parametrize("metric,direction", [("val_loss", "minimize"), ("val_acc", "maximize")])
def test_diverged_to_nan(metric: str, direction: str) -> None:
    findings = analyze(curve("diverged"), metric, direction)
    assert codes(findings) == ["diverged"]
    f = findings[0]
    assert f.severity == "error"
    assert f.suggestion == {"learning_rate": "decrease"}
    assert "NaN at epoch 1" in f.sentence
    assert f.best_epoch is None  # never had a finite value
    json.dumps(f.to_dict(), allow_nan=False)  # evidence stays valid JSON


@pytest.mark.parametrize("metric,direction", [("val_loss", "minimize"), ("val_acc", "maximize")])
def test_underfitting_with_too_low_learning_rate(metric: str, direction: str) -> None:
    findings = analyze(curve("underfitting"), metric, direction)
    assert codes(findings) == ["underfitting", "plateau"]
    f = findings[0]
    assert f.severity == "warning"
    assert f.suggestion["learning_rate"] == "increase"
    assert "barely improved" in f.sentence
    assert f.evidence["gain_rel"] < 0.10


@pytest.mark.parametrize("metric,direction", [("val_loss", "minimize"), ("val_acc", "maximize")])
def test_plateau_on_converged_run(metric: str, direction: str) -> None:
    findings = analyze(curve("plateau"), metric, direction)
    assert "plateau" in codes(findings)
    assert "still_improving" not in codes(findings) and "underfitting" not in codes(findings)
    plateau = next(f for f in findings if f.code == "plateau")
    assert "over the last 14 epochs" in plateau.sentence
    assert plateau.suggestion == {"epochs": "decrease"}
    # Validation loss crept up 3% after epoch 6 while training kept falling: noted, not alarmed.
    for f in findings:
        assert f.severity == "info"


def test_noisy_small_validation_set() -> None:
    findings = analyze(curve("noisy"), "val_acc", "maximize")
    assert codes(findings) == ["noisy"]
    f = findings[0]
    assert "too noisy" in f.sentence
    assert f.evidence["noise"] > 0.05  # accuracy on 40 samples jumps by several points per epoch
    assert abs(f.evidence["change"]) < 2 * f.evidence["stderr"]
    assert f.suggestion["batch_size"] == "increase"
    assert "a larger validation set" in f.sentence


def test_a_noisy_training_metric_is_not_told_to_get_a_larger_validation_set() -> None:
    """minGPT prints one batch's loss per step: its noise is for want of averaging, not of examples."""
    rows = [{("train_acc" if k == "val_acc" else k): v for k, v in row.items()} for row in curve("noisy")]
    f = next(f for f in analyze(rows, "train_acc", "maximize") if f.code == "noisy")
    assert "validation set" not in f.sentence
    assert "averaged over more batches" in f.sentence


def test_noisy_run_still_shows_overfitting_in_its_loss() -> None:
    # The same run's validation loss climbs 0.96 -> 2.7: far beyond the noise, so it is readable.
    assert codes(analyze(curve("noisy"), "val_loss", "minimize")) == ["overfitting"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_findings_are_json_safe_and_round_trip(name: str) -> None:
    for metric, direction in (("val_loss", "minimize"), ("val_acc", "maximize")):
        for f in analyze(curve(name), metric, direction):
            data = json.loads(json.dumps(f.to_dict(), allow_nan=False))
            assert Finding.from_dict(data) == f
            assert f.severity in ("info", "warning", "error")
            assert f.sentence.endswith(".") and "\n" not in f.sentence


@pytest.mark.parametrize("name", ["still_improving", "overfitting", "underfitting", "plateau", "noisy"])
def test_minimize_and_maximize_are_mirror_images(name: str) -> None:
    history = curve(name)
    mirrored = [{**r, "val_loss": -r["val_loss"], "train_loss": -r["train_loss"]} for r in history]
    plain = analyze(history, "val_loss", "minimize", train_metric="train_loss")
    # Negated losses are scores to maximize; the training metric must then be maximized too.
    flipped = [{"epoch": r["epoch"], "val_score": r["val_loss"], "train_score": r["train_loss"]} for r in mirrored]
    assert codes(analyze(flipped, "val_score", "maximize", train_metric="train_score")) == codes(plain)


# ---------------------------------------------------------------- edge cases


def test_empty_history() -> None:
    [f] = analyze([], "val_loss", "minimize")
    assert f.code == "too_short" and f.evidence["points"] == 0
    assert "no evaluations" in f.sentence


def test_metric_never_recorded_names_what_was() -> None:
    [f] = analyze([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.4}], "val_loss", "minimize")
    assert f.code == "too_short"
    assert "'val_loss'" in f.sentence and "loss" in f.evidence["recorded"]


@pytest.mark.parametrize("n", [1, 2])
def test_too_short(n: int) -> None:
    history = [{"epoch": i + 1, "val_acc": 0.5 + 0.1 * i} for i in range(n)]
    [f] = analyze(history, "val_acc", "maximize")
    assert f.code == "too_short"
    assert f.best_epoch == n
    assert f"Only {n} evaluation" in f.sentence


def test_all_nan_is_diverged() -> None:
    history = [{"epoch": i, "val_loss": float("nan")} for i in range(1, 5)]
    [f] = analyze(history, "val_loss", "minimize")
    assert f.code == "diverged" and f.best_epoch is None


def test_nan_after_progress_keeps_the_best_epoch() -> None:
    values = [1.0, 0.7, 0.5, float("inf"), float("nan")]
    history = [{"epoch": i + 1, "val_loss": v} for i, v in enumerate(values)]
    [f] = analyze(history, "val_loss", "minimize")
    assert f.code == "diverged"
    assert "infinity at epoch 4" in f.sentence
    assert f.best_epoch == 3


def test_single_nan_point_is_diverged_not_too_short() -> None:
    assert codes(analyze([{"epoch": 1, "val_loss": "nan"}], "val_loss", "minimize")) == ["diverged"]


def test_exploding_training_loss() -> None:
    train = [0.9, 0.7, 0.8, 1.6, 3.5, 9.0]
    history = [{"epoch": i + 1, "train_loss": t, "val_acc": 0.6} for i, t in enumerate(train)]
    [f] = analyze(history, "val_acc", "maximize")
    assert f.code == "diverged" and f.severity == "error"
    assert "Training loss exploded from 0.900 at epoch 1 to 9.00 at epoch 6" in f.sentence


def test_rising_validation_loss_with_falling_training_loss_is_overfitting_not_divergence() -> None:
    val = [0.9, 0.7, 0.8, 1.4, 2.0, 2.6]
    train = [0.9, 0.6, 0.4, 0.2, 0.1, 0.05]
    history = [{"epoch": i + 1, "val_loss": v, "train_loss": t} for i, (v, t) in enumerate(zip(val, train))]
    [f] = analyze(history, "val_loss", "minimize")
    assert f.code == "overfitting" and f.best_epoch == 2


def test_both_losses_rising_is_instability() -> None:
    val = [1.0, 0.6, 0.5, 0.55, 0.65, 0.7, 0.72, 0.78]
    train = [1.0, 0.6, 0.45, 0.5, 0.6, 0.66, 0.7, 0.75]
    history = [{"epoch": i + 1, "val_loss": v, "train_loss": t} for i, (v, t) in enumerate(zip(val, train))]
    [f] = analyze(history, "val_loss", "minimize")
    assert f.code == "diverged" and f.severity == "warning"
    assert "unstable" in f.sentence


def test_overfitting_without_training_metric_says_so() -> None:
    val = [0.9, 0.6, 0.5, 0.6, 0.75, 0.9]
    [f] = analyze([{"epoch": i + 1, "val_loss": v} for i, v in enumerate(val)], "val_loss", "minimize")
    assert f.code == "overfitting" and "no training metric" in f.sentence


def test_short_monotone_curve_is_improving_without_a_noise_estimate() -> None:
    history = [{"epoch": i + 1, "val_loss": v} for i, v in enumerate([1.0, 0.6, 0.5])]
    [f] = analyze(history, "val_loss", "minimize")
    assert f.code == "still_improving" and f.evidence["noise"] is None


def test_constant_curve_is_a_plateau() -> None:
    history = [{"epoch": i + 1, "val_loss": 0.25, "train_loss": 0.1 - 0.006 * i} for i in range(9)]
    assert codes(analyze(history, "val_loss", "minimize")) == ["plateau"]


def test_curve_without_epochs_uses_evaluations_and_no_best_epoch() -> None:
    history = [{"val_loss": v} for v in [1.0, 0.8, 0.65, 0.55, 0.48, 0.43, 0.40]]
    [f] = analyze(history, "val_loss", "minimize")
    assert f.code == "still_improving"
    assert "at the last evaluation" in f.sentence and "last 3 evaluations" in f.sentence
    assert f.best_epoch is None


def test_hugging_face_style_history_aligns_train_and_eval_records() -> None:
    history = []
    for e in range(1, 11):
        history.append({"epoch": e - 0.5, "step": e * 100 - 50, "loss": 1.0 / e})
        history.append({"epoch": float(e), "step": e * 100, "eval_loss": 0.4 + 0.02 * (e - 3) ** 2})
    findings = analyze(history, "eval_loss", "minimize")
    assert codes(findings) == ["overfitting"]
    assert findings[0].evidence["train_metric"] == "loss"
    assert findings[0].best_epoch == 3
    assert "training loss kept falling" in findings[0].sentence


def test_training_records_on_steps_align_with_validation_on_epochs() -> None:
    history = []
    for e in range(1, 9):
        history += [{"step": e * 100 - 50, "train_loss": 1.0 / e}, {"step": e * 100, "train_loss": 0.9 / e}]
        history.append({"epoch": e, "val_loss": 0.5 + 0.03 * (e - 2) ** 2})
    [f] = analyze(history, "val_loss", "minimize")
    assert f.code == "overfitting" and f.best_epoch == 2
    assert f.evidence["train_at_best"] == pytest.approx(0.45)  # the last training record before epoch 2's evaluation


def test_fractional_epochs_round_up_for_best_epoch() -> None:
    values = [1.0, 0.8, 0.7, 0.62, 0.56, 0.52]
    history = [{"epoch": 0.25 * (i + 1), "val_loss": v} for i, v in enumerate(values)]
    [f] = analyze(history, "val_loss", "minimize")
    assert f.best_epoch == 2  # best at epoch 1.5: two epochs are needed to get there
    assert "epoch 1.50" not in f.sentence  # evaluations, not epochs, are the unit
    assert "last evaluation" in f.sentence


def test_numeric_strings_and_unrelated_records_are_tolerated() -> None:
    history = [{"epoch": 1, "val_loss": "0.9"}, {"note": "checkpoint saved"}, {"epoch": 2, "val_loss": "0.6"},
               {"epoch": 3, "val_loss": 0.5}, {"epoch": 3, "val_loss": None}]
    assert codes(analyze(history, "val_loss", "min")) == ["still_improving"]


# ---------------------------------------------------------------- metric names and bad input


@pytest.mark.parametrize(
    "metric,direction,keys,expected",
    [
        ("val_loss", "minimize", ["val_loss", "train_loss", "loss"], "train_loss"),
        ("eval_loss", "minimize", ["eval_loss", "loss"], "loss"),
        ("val_acc", "maximize", ["val_acc", "train_acc", "train_loss"], "train_acc"),
        ("val/accuracy", "maximize", ["val/accuracy", "train/accuracy"], "train/accuracy"),
        ("val_acc", "maximize", ["val_acc", "train_loss"], "train_loss"),
        ("train_loss", "minimize", ["train_loss", "val_loss"], None),
        ("val_loss", "minimize", ["val_loss"], None),
    ],
)
def test_detect_train_metric(metric: str, direction: str, keys: list[str], expected: str | None) -> None:
    history = [{k: 0.5 for k in keys}]
    assert detect_train_metric(history, metric, direction) == expected


def test_display_names() -> None:
    assert display_name("val_acc") == "validation accuracy"
    assert display_name("eval_loss") == "validation loss"
    assert display_name("loss", role="train") == "training loss"
    assert display_name("test/f1") == "test F1"


def test_bad_direction_is_one_clear_sentence() -> None:
    with pytest.raises(UserError, match="'sideways' is not understood: use 'minimize' or 'maximize'"):
        analyze([], "val_loss", "sideways")


def test_bad_history_and_missing_train_metric() -> None:
    with pytest.raises(UserError, match="list of JSON objects"):
        analyze([1, 2, 3], "val_loss", "minimize")  # type: ignore[list-item]
    with pytest.raises(UserError, match="'train_los' was never recorded"):
        analyze(curve("plateau"), "val_loss", "minimize", train_metric="train_los")


# ---------------------------------------------------------------- summary


def test_summarize_orders_by_severity_and_stays_short() -> None:
    findings = analyze(curve("underfitting"), "val_loss", "minimize")
    text = summarize(list(reversed(findings)))
    assert text.startswith("Training loss barely improved")
    assert "\n" not in text
    assert summarize([f.to_dict() for f in findings]) == text
    assert summarize([]) == "The learning curve shows nothing unusual."
    many = findings * 3
    assert summarize(many).endswith("(3 more findings in the run details.)")


def test_analyzer_imports_nothing_heavy() -> None:
    code = (
        "import sys, aft_tui.tuning.analyzer\n"
        "heavy = {'numpy', 'torch', 'optuna', 'transformers', 'litellm'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_curves_have_finite_values_except_the_diverged_run() -> None:
    for name in SCENARIOS:
        values = [v for r in curve(name) for v in r.values()]
        assert all(math.isfinite(v) for v in values) == (name != "diverged")


# ---------------------------------------------------------------- an objective reported once per run


def _final_only(name: str) -> list[dict]:
    """A recorded run whose objective is printed once at the end (`score: 0.87`), as many scripts do."""
    history = curve(name)
    return history + [{"score": history[-1]["val_acc"]}]


def test_a_once_per_run_objective_is_read_through_its_held_out_curve() -> None:
    from aft_tui.tuning.analyzer import analyze_trial

    assert codes(analyze(_final_only("still_improving"), "score", "max")) == ["too_short"]
    findings = analyze_trial(_final_only("still_improving"), "score", "max")
    assert codes(findings) == ["still_improving"]
    assert findings[0].suggestion == {"epochs": "increase"}
    assert findings[0].evidence["curve_of"] in ("val_acc", "val_loss")
    assert findings[0].sentence.startswith("score is reported once per run, so the per-epoch curve of val_")
    overfit = analyze_trial(_final_only("overfitting"), "score", "max")
    assert "overfitting" in codes(overfit)


def test_only_a_held_out_curve_stands_in_for_the_objective() -> None:
    from aft_tui.tuning.analyzer import analyze_trial

    train_only = [{"epoch": r["epoch"], "train_loss": r["train_loss"]} for r in curve("still_improving")]
    findings = analyze_trial(train_only + [{"score": 0.8}], "score", "max")
    assert codes(findings) == ["too_short"]
    assert findings[0].sentence.startswith("Only 1 evaluation of score was recorded")
    # An objective with its own curve is read as it is.
    assert codes(analyze_trial(curve("plateau"), "val_loss", "min")) == codes(analyze(curve("plateau"), "val_loss", "min"))


def _rise_then_fall(name: str) -> list[dict]:
    ys = [20, 60, 120, 200, 280, 330, 360, 350, 300, 240, 180, 150]
    return [{"step": 2500 * (i + 1), name: float(y)} for i, y in enumerate(ys)]


def test_a_training_side_objective_falling_back_is_not_called_overfitting() -> None:
    # An RL return is measured on the episodes being trained on: a late fall is instability.
    findings = analyze(_rise_then_fall("episodic_return"), "episodic_return", "maximize")
    assert "overfitting" not in codes(findings)
    assert all("epochs" not in f.suggestion for f in findings)
    assert any("not measured on held-out data" in f.sentence for f in findings)


def test_the_same_fall_on_a_held_out_metric_is_overfitting() -> None:
    findings = analyze(_rise_then_fall("val_acc"), "val_acc", "maximize")
    assert codes(findings) == ["overfitting"]
    assert findings[0].suggestion["epochs"] == "decrease"
