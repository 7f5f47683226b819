"""Metric lines in the shapes popular training scripts print them, beyond `name: value`, and the
look-alikes (counts, sizes, versions, progress) that must never become metrics."""

from __future__ import annotations

import pytest

from aft_tui.runs.metrics import (
    choose_objective,
    direction_for,
    find_metric,
    label_name,
    last_redraw,
    parse_line,
    rows_as_requested,
)

ESC = "\x1b"

# (line, values, epoch, step)
FORMATS = [
    # word-language-model style tables: `| key value |` segments, the epoch in prose
    ("| end of epoch   3 | time: 35.4s | valid loss  6.27 | valid ppl   529.57",
     {"valid_loss": 6.27, "valid_ppl": 529.57}, 3.0, None),
    ("| End of training | test loss 6.42 | test ppl 613.59", {"test_loss": 6.42, "test_ppl": 613.59}, None, None),
    ("| epoch   1 |   200/ 2983 batches | lr 20.00 | ms/batch 30.25 | loss  7.63 | ppl  2070.16",
     {"lr": 20.0, "loss": 7.63, "ppl": 2070.16}, 1.0, None),
    # nanoGPT / minGPT style: the step from `step`/`iter`, pairs without a separator
    ("step 250: train loss 2.01, val loss 2.09", {"train_loss": 2.01, "val_loss": 2.09}, None, 250),
    ("iter_dt 21.30ms; iter 300: train loss 2.44", {"train_loss": 2.44}, None, 300),
    ("loss 0.5", {"loss": 0.5}, None, None),
    # prose around a pair
    ("Loss: 0.52 after 200 batches", {"loss": 0.52}, None, None),
    ("Epoch: 100, Loss: 0.41, Train: 0.99, Val: 0.78, Test: 0.81",
     {"loss": 0.41, "train": 0.99, "val": 0.78, "test": 0.81}, 100.0, None),
    ("The RMSE of prediction is: 0.445", {"rmse_of_prediction": 0.445}, None, None),
    ("Epoch: 1000 cost = 0.000961", {"cost": 0.000961}, 1000.0, None),
    ("test final score: 363/500 = 72.60% correct", {"test_final_score": 72.6}, None, None),
    # Keras 3 progress with colours
    (f"{ESC}[1m1407/1407{ESC}[0m {ESC}[32m━━━━━━━━━━━━━━━━━━━━{ESC}[0m{ESC}[37m{ESC}[0m {ESC}[1m3s{ESC}[0m 2ms/step"
     " - loss: 0.6804 - val_loss: 0.6582", {"loss": 0.6804, "val_loss": 0.6582}, None, None),
    # Lightning / tqdm postfix; v_num is bookkeeping
    ("Epoch 3: 100%|██████████| 50/50 [00:01<00:00, 41.2it/s, loss=0.123, v_num=0, val_acc=0.91]",
     {"loss": 0.123, "val_acc": 0.91}, 3.0, None),
    # Trainer dicts whose numbers are strings, after a tqdm redraw on the same line
    ("{'eval_loss': '7.128', 'eval_runtime': '0.51', 'eval_samples_per_second': '98.1', 'epoch': '1'}",
     {"eval_loss": 7.128, "eval_runtime": 0.51, "eval_samples_per_second": 98.1}, 1.0, None),
    (" 50%|█████     | 5/10 [00:02<00:02,  2.10it/s]{'loss': '2.113', 'grad_norm': '3.2', 'learning_rate': '1e-05',"
     " 'epoch': '0.5'}", {"loss": 2.113, "grad_norm": 3.2, "learning_rate": 1e-05}, 0.5, None),
    # one-element arrays (CleanRL prints numpy arrays)
    ("global_step=29910, episodic_return=[116.]", {"episodic_return": 116.0}, None, 29910),
]


@pytest.mark.parametrize(("line", "values", "epoch", "step"), FORMATS, ids=[f[0][:45] for f in FORMATS])
def test_real_formats(line: str, values: dict[str, float], epoch: float | None, step: int | None) -> None:
    record = parse_line(line)
    assert record is not None
    assert record.values == pytest.approx(values)
    assert (record.epoch, record.step) == (epoch, step)


def test_carriage_return_run_keeps_only_the_final_update() -> None:
    chunk = (f"\r   1/1407 {ESC}[32m━{ESC}[0m 2:10 93ms/step - loss: 0.9312"
             f"\r 700/1407 {ESC}[32m━━━━━━━━━━{ESC}[0m 1s 2ms/step - loss: 0.7001"
             f"{ESC}[A{ESC}[2K\r1407/1407 {ESC}[32m━━━━━━━━━━━━━━━━━━━━{ESC}[0m 3s 2ms/step - loss: 0.6804 - val_loss: 0.6582\r")
    record = parse_line(chunk)
    assert record is not None and record.values == {"loss": 0.6804, "val_loss": 0.6582}
    assert last_redraw("a: 1\rb: 2\r  \r") == "b: 2"


NOT_METRICS = [
    "Loading the dataset and building the vocabulary",
    "torch 2.13.0",
    "torch version 2.13.0",
    "Python 3.11.4",
    "2024-01-01 12:30:00 starting",
    "Elapsed: 0:01:23",
    "Saved the model to ./out/model-3.pt",
    "checkpoint: /home/me/runs/ckpt-500",
    "Number of users: 300",
    "Total params: 1,234,567",
    "Trainable params: 4.2M",
    "batch_size = 32",
    "seed: 42",
    "shape: [32]",
    "Input shape: (32, 128)",
    "global_step: 500",
    "Loading dataset: 5000 examples",
    "10 examples: 3 errors",
    "We trained 3 models over 200 epochs and the loss went down",
    "Map: 100%|██████████| 500/500 [00:00<00:00, 1234.56 examples/s]",
    "Generating train split: 100%|██████████| 50/50 [00:00<00:00, 5000.00 examples/s]",
    "| epoch   1 |   200/ 2983 batches |",
]


@pytest.mark.parametrize("line", NOT_METRICS)
def test_look_alikes_are_not_metrics(line: str) -> None:
    assert parse_line(line) is None


def test_a_line_with_a_count_keeps_only_the_measurement() -> None:
    record = parse_line("Number of users: 610, Number of Movies: 9724, val_loss: 0.66")
    assert record is not None and record.values == {"val_loss": 0.66}


def test_bookkeeping_names_are_never_chosen_as_the_objective() -> None:
    names = ["time", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "train_runtime", "lr"]
    assert choose_objective(names) is None
    assert choose_objective([*names, "valid_ppl", "valid_loss"]) == ("valid_loss", "min")
    # PyG's `Loss: .., Train: .., Val: .., Test: ..`: the split names beside the loss are each
    # split's accuracy; optimising the training loss would reward overfitting.
    assert choose_objective(["loss", "train", "val", "test"]) == ("val", "max")
    assert choose_objective(["loss", "train", "test"]) == ("test", "max")
    assert choose_objective(["loss", "val"]) == ("loss", "min")  # one split name: could be its loss
    assert choose_objective(["train", "val"]) is None  # no loss beside them: nothing says what they are


@pytest.mark.parametrize(
    ("requested", "reported", "expected"),
    [
        ("valid ppl", ["valid_loss", "valid_ppl"], "valid_ppl"),
        ("RMSE", ["rmse_of_prediction"], "rmse_of_prediction"),
        ("Val", ["loss", "train", "val", "test"], "val"),
        ("test final score", ["test_final_score", "train_loss"], "test_final_score"),
        ("val_loss", ["loss", "val_loss"], "val_loss"),
        ("eval/loss", ["eval/loss", "eval_loss"], "eval/loss"),  # the exact spelling wins
        ("Val-Loss", ["val_loss"], "val_loss"),
        ("acc", ["train_acc", "val_acc"], None),  # ambiguous: not guessed
        ("loss", ["loss", "val_loss"], "loss"),
        ("bleu", ["val_loss"], None),
    ],
)
def test_find_metric_accepts_the_printed_spelling(requested: str, reported: list[str], expected: str | None) -> None:
    assert find_metric(requested, reported) == expected


def test_the_printed_spellings_have_a_direction() -> None:
    assert direction_for("valid ppl") == "min"
    assert direction_for("RMSE") == "min"
    assert direction_for("test final score") == "max"
    assert direction_for("episodic_return") == "max"


def test_label_name_trims_prose() -> None:
    assert label_name("The RMSE of prediction is".split()) == "rmse_of_prediction"
    assert label_name(["INFO", "Validation", "accuracy"]) == "validation_accuracy"
    assert label_name(["valid", "ppl"]) == "valid_ppl"


def test_rows_judged_after_the_run_carry_the_objective_under_its_requested_name() -> None:
    rows = [{"epoch": 1.0, "valid_loss": 6.3, "valid_ppl": 540.0}, {"epoch": 2.0, "valid_ppl": 529.57}]
    renamed = rows_as_requested(rows, "valid ppl")
    assert [row.get("valid ppl") for row in renamed] == [540.0, 529.57]
    assert renamed[0]["valid_loss"] == 6.3 and "valid_ppl" not in renamed[1]
    assert rows_as_requested(rows, "valid_ppl") is rows
    assert rows_as_requested(rows, "bleu") is rows
