"""Metric lines as real training scripts print them, and the metrics-file contract."""

from __future__ import annotations

import math
import timeit

import pytest

from aft_tui.runs.metrics import (
    choose_objective,
    direction_for,
    parse_line,
    parse_metrics_file_line,
)

# (line, values, epoch, step)
REAL_LINES = [
    # Hugging Face Trainer log and eval dicts
    (
        "{'eval_loss': 0.51, 'eval_accuracy': 0.83, 'epoch': 1.0}",
        {"eval_loss": 0.51, "eval_accuracy": 0.83},
        1.0,
        None,
    ),
    (
        "{'loss': 0.6931, 'grad_norm': 1.2345, 'learning_rate': 4.5e-05, 'epoch': 0.5}",
        {"loss": 0.6931, "grad_norm": 1.2345, "learning_rate": 4.5e-05},
        0.5,
        None,
    ),
    (
        "{'train_runtime': 12.5, 'train_samples_per_second': 80.1, 'train_loss': 0.42, 'epoch': 3.0}",
        {"train_runtime": 12.5, "train_samples_per_second": 80.1, "train_loss": 0.42},
        3.0,
        None,
    ),
    # JSON printed to stdout
    ('{"step": 200, "val_loss": 0.25, "val_f1": 0.7}', {"val_loss": 0.25, "val_f1": 0.7}, None, 200),
    # hand-written loops
    ("epoch 3 | train_loss: 0.51 val_acc=0.83", {"train_loss": 0.51, "val_acc": 0.83}, 3.0, None),
    ("Validation accuracy: 0.83", {"validation_accuracy": 0.83}, None, None),
    ("Val Acc = 0.9", {"val_acc": 0.9}, None, None),
    ("Epoch [1/10], Step [100/600], Loss: 0.2345", {"loss": 0.2345}, 1.0, 100),
    ("step=100 loss=0.2 lr=1e-3", {"loss": 0.2, "lr": 0.001}, None, 100),
    ("Epoch: 2/10 val-loss: 3.2E-01", {"val_loss": 0.32}, 2.0, None),
    ("Loss: 0.5.", {"loss": 0.5}, None, None),
    ("acc: 83.2%", {"acc": 83.2}, None, None),
    # PyTorch MNIST example
    ("Train Epoch: 1 [0/60000 (0%)]\tLoss: 2.302585", {"loss": 2.302585}, 1.0, None),
    ("Test set: Average loss: 0.0336, Accuracy: 9890/10000 (99%)", {"average_loss": 0.0336}, None, None),
    # PyTorch Lightning progress bar (final redraw)
    (
        "Epoch 0: 100%|██████████| 313/313 [00:05<00:00, 55.12it/s, v_num=0, train_loss=0.512, val_loss=0.43, val_acc=0.88]",
        {"train_loss": 0.512, "val_loss": 0.43, "val_acc": 0.88},
        0.0,
        None,
    ),
    # tqdm with a postfix
    (" 45%|████▌     | 45/100 [00:03<00:04, 12.3it/s, loss=0.234]", {"loss": 0.234}, None, None),
    # Keras
    (
        "938/938 [==============================] - 2s 2ms/step - loss: 0.3 - accuracy: 0.9 - val_loss: 0.2 - val_accuracy: 0.93",
        {"loss": 0.3, "accuracy": 0.9, "val_loss": 0.2, "val_accuracy": 0.93},
        None,
        None,
    ),
    # logging prefixes and colour codes
    ("2024-01-01 12:30:45,123 INFO loss: 0.3", {"loss": 0.3}, None, None),
    ("INFO:root:val_loss: 0.125", {"val_loss": 0.125}, None, None),
    ("\x1b[32mloss\x1b[0m: 0.5", {"loss": 0.5}, None, None),
    ("eval/accuracy=0.91 eval/loss=0.3", {"eval/accuracy": 0.91, "eval/loss": 0.3}, None, None),
]


@pytest.mark.parametrize(("line", "values", "epoch", "step"), REAL_LINES, ids=[r[0][:40] for r in REAL_LINES])
def test_parse_line_real_formats(line, values, epoch, step):
    record = parse_line(line)
    assert record is not None
    assert record.values == pytest.approx(values)
    assert record.epoch == epoch
    assert record.step == step
    assert record.source == "stdout"
    assert record.raw == line


NOT_METRICS = [
    "plain log line without separators",
    "",
    "Using device: cuda:0",
    "Running on http://localhost:8080/?a=1&b=2",
    "Listening on localhost:8080",
    "Time: 12:30:45",
    "Started at 2024-01-01 12:30:45",
    "date: 2024-01-01",
    "/home/user/project/train.py:12: UserWarning: something deprecated",
    "Namespace(lr=0.001, epochs=3, batch_size=32)",
    "python train.py --lr=0.1 --epochs=3",
    "version: 1.2.3",
    "eta: 3s",
    "loss: nano-scale",
    "Saving model checkpoint to outputs/checkpoint-500",
    " 33%|███▎      | 100/300 [00:10<00:20,  9.8it/s]",
    "Epoch 1/5",
    "status: done",
    "{'model': 'bert', 'task': 'sst2'}",
]


@pytest.mark.parametrize("line", NOT_METRICS)
def test_parse_line_ignores_non_metrics(line):
    assert parse_line(line) is None


def test_nan_and_inf_are_kept_as_floats():
    record = parse_line("{'loss': nan, 'epoch': 2.0}")
    assert record is not None and math.isnan(record.values["loss"]) and record.epoch == 2.0
    record = parse_line("step 7 loss=inf grad_norm=-Infinity val_loss: NaN")
    assert record is not None
    assert record.values["loss"] == math.inf
    assert record.values["grad_norm"] == -math.inf
    assert math.isnan(record.values["val_loss"])
    assert record.step == 7


def test_plain_line_prefilter_is_cheap():
    line = "Downloading shard 3 of 12 for the tokenizer vocabulary"
    n = 100_000
    best = min(timeit.repeat(lambda: parse_line(line), number=n, repeat=3)) / n
    assert best < 1e-6


def test_metrics_file_line_good():
    record = parse_metrics_file_line('{"step": 10, "epoch": 1, "val_loss": 0.5, "val_acc": 1, "note": "x"}\n')
    assert record.values == {"val_loss": 0.5, "val_acc": 1.0}
    assert record.step == 10 and record.epoch == 1.0 and record.source == "file"

    nested = parse_metrics_file_line('{"epoch": 2, "metrics": {"val_loss": 0.4}, "eval": {"f1": 0.6}}')
    assert nested.values == {"val_loss": 0.4, "eval/f1": 0.6}

    diverged = parse_metrics_file_line('{"val_loss": NaN, "train_loss": Infinity}')
    assert math.isnan(diverged.values["val_loss"]) and diverged.values["train_loss"] == math.inf


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{bad json", "is not valid JSON"),
        ('{"val_loss": 0.5', "is not valid JSON"),
        ("[1, 2]", "is a JSON list, not an object"),
        ('"loss"', "is a JSON string"),
        ('{"step": 3, "status": "ok", "flag": true}', "has no numeric metric value"),
        ("   ", "is empty"),
    ],
)
def test_metrics_file_line_bad(line, reason):
    with pytest.raises(ValueError) as err:
        parse_metrics_file_line(line)
    assert str(err.value).startswith(reason)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["train_loss", "eval_loss", "eval_accuracy", "epoch"], ("eval_accuracy", "max")),
        (["train_loss", "eval_loss", "eval_f1", "eval_runtime"], ("eval_f1", "max")),
        (["eval_loss", "eval_rouge1", "eval_rougeL"], ("eval_rouge1", "max")),
        (["loss", "val_loss", "learning_rate"], ("val_loss", "min")),
        (["train_acc", "val_loss"], ("val_loss", "min")),
        (["val_loss", "test_acc"], ("val_loss", "min")),
        (["accuracy", "loss"], ("accuracy", "max")),
        (["train_loss"], ("train_loss", "min")),
        (["loss", "accuracy", "val_loss", "val_accuracy"], ("val_accuracy", "max")),
        (["valAcc", "valLoss"], ("valAcc", "max")),
        (["eval/loss", "eval/wer"], ("eval/loss", "min")),
        (["test_loss", "train_accuracy"], ("test_loss", "min")),
        (["neg_mean_squared_error"], ("neg_mean_squared_error", "max")),
        (["eval_runtime", "grad_norm", "learning_rate", "eval_samples_per_second"], None),
        ([], None),
    ],
)
def test_choose_objective(names, expected):
    assert choose_objective(names) == expected
    assert choose_objective(reversed(names)) == expected  # order of reporting does not matter


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("val_accuracy", "max"),
        ("eval_f1_macro", "max"),
        ("roc_auc", "max"),
        ("bleu", "max"),
        ("r2", "max"),
        ("precision", "max"),
        ("recall", "max"),
        ("eval_score", "max"),
        ("val_loss", "min"),
        ("perplexity", "min"),
        ("eval_ppl", "min"),
        ("rmse", "min"),
        ("mae", "min"),
        ("wer", "min"),
        ("cer", "min"),
        ("error_rate", "min"),
        ("grad_accumulation_steps", None),
        ("learning_rate", None),
        ("train_runtime", None),
    ],
)
def test_direction_for(name, direction):
    assert direction_for(name) == direction
