"""What `aft inspect` lists as metrics, on scripts shaped like popular examples: every real metric,
and never a fragment of a log message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest

from aft_tui.target.discover import discover
from aft_tui.target.metric_sites import metric_prints
from aft_tui.target.script import parse_script


def _metrics(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(body))
    return discover(script).metrics


# Log messages a script prints around its training; none of them is a metric.
CHATTER = """
    import logging
    import time
    logger = logging.getLogger(__name__)
    ds, label2id, train_ds, path, times = [1, 2], {"a": 0}, [3], "out/model.pt", [0.1]
    num_users, min_rating, step, start, lr = 300, 0.5, 10, time.time(), 0.1
    print("Dataset loaded:", len(ds))
    print(f"Dataset loaded: {len(ds)} rows")
    print("label2id", label2id)
    print(f"label2id: {label2id}")
    logger.info("Sample %d of the training set: %s.", 0, train_ds[0])
    print(f"Saved the model to {path}")
    print(f"Number of users: {num_users}, Min rating: {min_rating}")
    print("Best parameters found by grid search are:", {"lr": lr})
    print(f"Median time per epoch: {sum(times) / len(times):.4f}s")
    print("SPS:", int(step / (time.time() - start)))
    print(f"Using device: {'cpu'}")
    print("Epoch:", 3, "of", 10)
"""


def test_log_message_fragments_are_not_metrics(tmp_path: Path) -> None:
    assert _metrics(tmp_path, CHATTER) == []


def test_logged_bookkeeping_is_not_a_metric(tmp_path: Path) -> None:
    body = """
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter()
        step, lr, length, ret, loss = 1, 0.1, 20, 17.0, 0.3
        writer.add_scalar("charts/learning_rate", lr, step)
        writer.add_scalar("charts/episodic_length", length, step)
        writer.add_scalar("charts/SPS", int(step / 2), step)
        writer.add_scalar("charts/episodic_return", ret, step)
        writer.add_scalar("losses/td_loss", loss, step)
        print(f"global_step={step}, episodic_return={ret}")
    """
    assert _metrics(tmp_path, body) == ["charts/episodic_return", "losses/td_loss", "episodic_return"]


def test_split_labels_count_when_the_value_is_a_metric(tmp_path: Path) -> None:
    # A graph-network example's shape: a logging helper taking `Key=value` keyword arguments.
    body = """
        def log(**kwargs):
            print(", ".join(f"{k}: {v:.4f}" for k, v in kwargs.items()))

        for epoch in range(1, 4):
            loss, train_acc, val_acc, test_acc, seconds = 0.4, 0.9, 0.8, 0.7, 1.2
            log(Epoch=epoch, Loss=loss, Train=train_acc, Val=val_acc, Test=test_acc, Time=seconds)
            print("Val:", val_acc)
            print(f"validation: {val_acc:.4f}")
            print(f"Best: {seconds}")
    """
    assert _metrics(tmp_path, body) == ["loss", "train", "val", "test", "validation"]


def test_prose_and_percent_formats_name_the_metric_as_the_run_prints_it(tmp_path: Path) -> None:
    body = """
        rmse_test, correct, total, frac, it, loss, cost = 0.44, 363, 500, 0.726, 300, 2.44, 0.001
        print(f"The RMSE of prediction is: {rmse_test}")
        print("%s final score: %d/%d = %.2f%% correct" % ("test", correct, total, 100 * frac))
        print(f"iter_dt {1.5:.2f}ms; iter {it}: train loss {loss:.5f}")
        print('Epoch:', '%04d' % (it + 1), 'cost =', '{:.6f}'.format(cost))
    """
    assert _metrics(tmp_path, body) == ["rmse_of_prediction", "final_score", "train_loss", "cost"]


def test_a_count_fraction_hooks_its_percentage(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text('correct, total, frac = 363, 500, 0.726\n'
                      'print("%s final score: %d/%d = %.2f%% correct" % ("test", correct, total, 100 * frac))\n')
    parsed = parse_script(script, script.read_text())
    [site] = metric_prints(parsed)
    [(name, expr)] = site.metrics
    assert name == "final_score" and parsed.module.code_for_node(expr) == "100 * frac"


def test_trainer_and_keras_style_metrics_are_still_found(tmp_path: Path) -> None:
    body = """
        from transformers import Trainer, TrainingArguments

        def compute_metrics(pred):
            return {"accuracy": 0.9, "f1": 0.8}

        trainer = Trainer(model=None, args=TrainingArguments("out"), compute_metrics=compute_metrics)
        trainer.train()
        for epoch in range(3):
            val_acc, val_loss = 0.8, 0.4
            print(f"epoch {epoch}: val_acc={val_acc:.3f} val_loss={val_loss:.3f}")
    """
    assert _metrics(tmp_path, body) == ["val_acc", "val_loss", "eval_loss", "eval_accuracy", "eval_f1"]


@pytest.mark.parametrize(
    ("label", "value", "expected"),
    [
        ("val_acc", "acc", True),
        ("loss", "total / n", True),
        ("loss", "len(batches)", False),
        ("loss", "'high'", False),
        ("loss", "[0.1, 0.2]", False),
        ("val", "val_acc", True),
        ("val", "n_val", False),
        ("dataset_loaded", "0.5", False),
        ("best_epoch", "best_val_acc_epoch", False),
    ],
)
def test_is_metric_rule(label: str, value: str, expected: bool) -> None:
    from aft_tui.target.metric_sites import is_metric

    module = cst.parse_module("")
    assert is_metric(label, cst.parse_expression(value), module) is expected
