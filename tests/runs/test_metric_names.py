"""One vocabulary of metric names: the stdout parser, the static listing, the curve analysis and
goals said in words read a name the same way."""

from __future__ import annotations

from aft_tui.metric_names import (
    direction_for,
    display_name,
    is_held_out,
    label_or_none,
    lower_is_better,
    name_for_words,
    sign_for,
    split_prefix,
)


def test_split_words_are_read_the_same_everywhere():
    for name in ("val_loss", "eval/accuracy", "valid-ppl", "test_acc"):
        prefix, _ = split_prefix(name)
        assert prefix and is_held_out(name)
    assert split_prefix("train_loss") == ("train", "loss") and not is_held_out("train_loss")
    assert split_prefix("loss") == ("", "loss")


def test_directions_agree_for_the_common_metrics():
    for name in ("val_loss", "eval_rmse", "val_ppl", "wer", "nll"):
        assert direction_for(name) == "min" and sign_for(name, 1) == -1 and lower_is_better(name)
    for name in ("val_acc", "eval_f1", "auc", "bleu"):
        assert direction_for(name) == "max" and sign_for(name, -1) == 1 and not lower_is_better(name)


def test_names_for_people_and_from_words():
    assert display_name("val_acc") == "validation accuracy"
    assert display_name("loss", "train") == "training loss"
    assert name_for_words("validation loss") == "val_loss"
    assert name_for_words("accuracy", ["train_acc", "val_accuracy"]) == "val_accuracy"
    assert label_or_none("Val Acc") == "val_acc"
    assert label_or_none("epoch") is None and label_or_none("learning rate") is None
