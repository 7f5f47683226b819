"""A printed setting is not a metric, and one value arrives under one normalised name: the
line parser's rules (parse_line), and a real trial run that knows its parameters."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from aft_tui.engine.trial import TrialRun, TrialSpec
from aft_tui.runs.metrics import (
    normalise_name,
    parameter_names,
    parse_line,
    parse_metrics_file_line,
    values_of_mapping,
)

PARAMS = parameter_names(["model.embd_pdrop", "--trainer.learning_rate", "--weight-decay", "n_estimators"])


def _values(line: str, params: frozenset[str] = PARAMS, metric: str | None = None) -> dict[str, float] | None:
    record = parse_line(line, params, metric)
    return None if record is None else record.values


def test_parameter_names_cover_flags_dotted_keys_and_spellings() -> None:
    assert {"model.embd_pdrop", "embd_pdrop", "trainer.learning_rate", "learning_rate", "weight_decay"} <= PARAMS


@pytest.mark.parametrize(
    "line",
    [
        "    embd_pdrop: 0.1",  # a config printout
        "    learning_rate: 0.0005",
        "weight_decay: 0.1",
        "Best parameters found by grid search are: {'learning_rate': 0.1, 'n_estimators': 40}",
        "                  (default): Dropout(p=0.1, inplace=False)",  # a model printout
        "  (ln_f): LayerNorm((768,), eps=1e-05, elementwise_affine=True)",
        '  "rms_norm_eps": 1e-06,',  # a model config dump, one key a line
        '  "rope_theta": 10000.0,',
        '  "initializer_range": 0.02,',
        '  "eos_token_id": 2,',
        '  "attention_dropout": 0.0,',
        '{"attention_dropout": 0.0, "rope_theta": 10000.0, "rms_norm_eps": 1e-06}',
        "Number of users: 300, Number of Movies: 400, Min rating: 0.5, Max rating: 5.0",  # a data summary
        "Size of the train set: 450. Size of the validation set: 90",
    ],
)
def test_settings_and_summaries_report_no_metric(line: str) -> None:
    assert _values(line) is None


def test_a_parameter_is_dropped_even_beside_a_metric() -> None:
    line = "{'loss': 0.52, 'grad_norm': 1.3, 'learning_rate': 5e-05, 'epoch': 0.4}"
    assert _values(line) == {"loss": 0.52, "grad_norm": 1.3}
    # Without the trial's parameters the same rate would pass as a value of the metric dict.
    assert _values(line, frozenset()) == {"loss": 0.52, "grad_norm": 1.3, "learning_rate": 5e-05}


def test_split_names_are_kept_on_a_line_that_reports_a_metric() -> None:
    record = parse_line("Epoch: 003, Loss: 1.9264, Train: 0.8857, Val: 0.6060, Test: 0.5980", PARAMS)
    assert record is not None and record.epoch == 3
    assert record.values == {"loss": 1.9264, "train": 0.8857, "val": 0.606, "test": 0.598}
    assert _values("Val: 0.6060, Test: 0.5980") is None  # no metric word on the line


def test_a_repr_whose_keys_name_a_metric_is_read() -> None:
    assert _values("TrainOutput(global_step=10, training_loss=0.5123)") == {"training_loss": 0.5123}


def test_the_objective_asked_for_is_always_found() -> None:
    assert _values("Val: 0.6060", metric="Val") == {"val": 0.606}
    assert _values("learning_rate: 0.0005", metric="learning_rate") == {"learning_rate": 0.0005}
    assert _values("Max rating: 5.0", metric="max rating") == {"max_rating": 5.0}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("iter 300: train loss 2.44", {"train_loss": 2.44}),
        ("{'train loss': 2.44, 'Val Acc': 0.81}", {"train_loss": 2.44, "val_acc": 0.81}),
        ("{'Val Acc': 0.81, 'val_acc': 0.79, 'val-acc': 0.7}", {"val_acc": 0.81}),
        ("test final score: 363/500 = 72.60% correct", {"test_final_score": 72.6}),
        ("train final score: 9000/9500 = 94.74% correct", {"train_final_score": 94.74}),
    ],
)
def test_one_value_one_normalised_name(line: str, expected: dict[str, float]) -> None:
    assert _values(line) == expected


def test_dicts_and_the_metrics_file_are_normalised_alike() -> None:
    assert normalise_name(" Train Loss ") == normalise_name("train-loss") == "train_loss"
    assert parse_metrics_file_line('{"Val Acc": 0.5, "step": 3}').values == {"val_acc": 0.5}
    assert values_of_mapping({"eval/Train Loss": "0.25"})[0] == {"eval/train_loss": 0.25}


SCRIPT = """
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--trainer.learning_rate", type=float, default=5e-4)
    parser.add_argument("--dropout", type=float, default=0.1)
    args = vars(parser.parse_args())
    print("trainer:")
    print("    learning_rate:", args["trainer.learning_rate"])
    print("    dropout: %s" % args["dropout"])
    print("  (drop): Dropout(p=0.1, inplace=False)")
    print("Min rating: 0.5, Max rating: 5.0")
    for it in range(3):
        print(f"iter {it}: train loss {2.5 - it / 10:.2f}")
        print({"loss": 2.5 - it / 10, "grad_norm": 1.0, "dropout": args["dropout"]})
    print("test final score: 363/500 = 72.60% correct")
"""


async def test_a_trial_reports_no_setting_it_was_given(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    run_dir = tmp_path / "runs" / "t001"
    spec = TrialSpec(run_id="t001", number=1, params={"dropout": 0.1},
                     command=[sys.executable, "-u", str(script), "--dropout", "0.1"], cwd=tmp_path,
                     run_dir=run_dir, log_path=run_dir / "log.txt", metrics_path=run_dir / "metrics.jsonl",
                     param_names=("--trainer.learning_rate", "--dropout"))
    outcome = await TrialRun(spec, lambda event: None, "test_final_score", "max").run()
    assert outcome.status == "ok", outcome.reason
    assert outcome.metric_names == ["train_loss", "loss", "grad_norm", "test_final_score"]
    assert outcome.value == 72.6
