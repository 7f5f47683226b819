"""Reading the script's own arguments and putting AFT's values into them."""

from __future__ import annotations

from pathlib import Path

import pytest

from aft_tui.errors import UserError
from aft_tui.runs.invocation import baseline_args, build_args
from aft_tui.settings import Settings
from aft_tui.target.params import Param
from aft_tui.target.ranges import suggest_range
from aft_tui.target.script_args import apply_args, config_files, discover_with_args, parse
from aft_tui.tuning.space import build_space


def test_parse_reads_every_convention():
    items = parse(["data.csv", "--lr", "5e-4", "--epochs=3", "-b", "16", "trainer.max_epochs=2", "--cuda",
                   "--shift", "-1.5", "--", "--not-a-flag"], bare=["--cuda"])
    got = [(i.key, i.value, i.style) for i in items]
    assert got == [(None, "data.csv", "positional"), ("lr", "5e-4", "space"), ("epochs", "3", "equals"),
                   ("b", "16", "space"), ("trainer.max_epochs", "2", "dotlist"), ("cuda", None, "bare"),
                   ("shift", "-1.5", "space"), (None, "--not-a-flag", "positional")]


def test_a_store_true_flag_does_not_swallow_the_positional_after_it():
    assert [(i.key, i.value) for i in parse(["--cuda", "data.csv"], bare=["--cuda"])] == [("cuda", None),
                                                                                          (None, "data.csv")]
    assert [(i.key, i.value) for i in parse(["--cuda", "data.csv"])] == [("cuda", "data.csv")]


def _lr(default: float = 5e-5, flag: str = "--learning_rate") -> Param:
    return suggest_range(Param("learning_rate", "float", default, flag=flag))


@pytest.mark.parametrize("typed", [["--learning_rate", "5e-4"], ["--learning-rate", "5e-4"],
                                   ["--learning_rate=5e-4"], ["learning_rate=5e-4"]])
def test_a_typed_value_is_the_default_and_the_centre_of_the_range(typed):
    (p,) = apply_args([_lr()], ["--data", "d.csv", *typed])
    assert p.default == 5e-4 and p.extra["from_args"] is True
    assert p.low == pytest.approx(5e-5) and p.high == pytest.approx(5e-3)
    assert p.low <= 2e-3 <= p.high  # out of reach of the range around the source's 5e-5


def test_the_last_occurrence_wins_and_unreadable_values_are_left_alone():
    (p,) = apply_args([_lr()], ["--learning_rate", "1e-3", "--learning_rate", "2e-3"])
    assert p.default == 2e-3
    (q,) = apply_args([_lr()], ["--learning_rate", "fast"])
    assert q.default == 5e-5 and "from_args" not in q.extra


def test_choices_from_the_script_are_kept_but_suggested_ones_move():
    script = Param("optimizer_bs", "int", 32, flag="--bs", choices=[8, 32, 128])
    (kept,) = apply_args([script], ["--bs", "128"])
    assert kept.choices == [8, 32, 128] and kept.default == 128
    suggested = suggest_range(Param("batch_size", "int", 32, flag="--batch_size"))
    (moved,) = apply_args([suggested], ["--batch_size", "256"])
    assert 256 in moved.choices and 1024 in moved.choices and 32 not in moved.choices


def test_bool_flags_bare_and_pairs():
    cuda = Param("cuda", "bool", False, flag="--cuda", extra={"action": "store_true"})
    pair = Param("shuffle", "bool", True, flag="--shuffle", extra={"bool_style": "pair"})
    out = apply_args([cuda, pair], ["--cuda", "--no-shuffle"])
    assert [p.default for p in out] == [True, False]


def _space(*params: Param, search: dict | None = None):
    return build_space(list(params), search or {})


def test_build_args_replaces_every_occurrence_in_place(tmp_path: Path):
    lr = _lr(0.5, flag="--lr")
    epochs = suggest_range(Param("epochs", "int", 3, flag="--epochs"))
    space = _space(lr, epochs)
    script_args = ["d.csv", "--lr", "0.5", "--data", "x", "--lr=0.7", "--", "pos"]
    out = build_args(space, {"learning_rate": 0.1, "epochs": 5}, tmp_path, tmp_path, script_args)
    assert out == ["d.csv", "--lr", "0.1", "--data", "x", "--epochs", "5", "--", "pos"]
    assert out.count("--lr") == 1
    assert build_args(space, {"learning_rate": 0.2, "epochs": 3}, tmp_path, tmp_path, ["--epochs", "9"]) == [
        "--epochs", "3", "--lr", "0.2"]
    # kebab-case typed for a snake_case flag
    snake = _space(_lr(0.5))
    assert build_args(snake, {"learning_rate": 0.1}, tmp_path, tmp_path, ["--learning-rate", "0.5", "a"]) == [
        "--learning_rate", "0.1", "a"]


def test_build_args_without_script_args_is_unchanged(tmp_path: Path):
    space = _space(_lr(0.5, flag="--lr"))
    assert build_args(space, {"learning_rate": 0.1}, tmp_path, tmp_path) == ["--lr", "0.1"]
    assert build_args(space, {"learning_rate": 0.1}, tmp_path, tmp_path, []) == ["--lr", "0.1"]


def test_dotlist_and_equals_syntax_are_replaced_in_place(tmp_path: Path):
    p = Param("trainer.lr", "float", 0.01, flag="trainer.lr", extra={"syntax": "equals"})
    space = _space(suggest_range(p))
    out = build_args(space, {"trainer.lr": 0.02}, tmp_path, tmp_path, ["data=./d", "trainer.lr=0.01", "seed=1"])
    assert out == ["data=./d", "trainer.lr=0.02", "seed=1"]


def test_fixed_values_replace_the_persons_and_a_presence_flag_can_vanish(tmp_path: Path):
    lr = _lr(0.5, flag="--lr")
    cuda = Param("cuda", "bool", False, flag="--cuda", extra={"action": "store_true"})
    space = _space(lr, cuda, search={"cuda": {"fixed": False}, "learning_rate": {"fixed": 0.25}})
    assert baseline_args(space, ["--cuda", "d.csv", "--lr", "0.5"]) == ["d.csv", "--lr", "0.25"]


def test_args_setting_must_be_a_list_of_strings():
    s = Settings()
    s.update({"args": ["--data", "d"]}, "aft.toml")
    assert s.args == ["--data", "d"]
    with pytest.raises(UserError, match="args in aft.toml must be a list of strings"):
        s.update({"args": "--data d"}, "aft.toml")
    with pytest.raises(UserError):
        s.update({"args": ["--epochs", 3]}, "aft.toml")


def test_config_files_named_by_the_arguments_are_discovered(tmp_path: Path):
    (tmp_path / "train.py").write_text("import sys\nprint('val_loss: 1.0')\n")
    (tmp_path / "cfg.yaml").write_text("training:\n  learning_rate: 0.01\n  epochs: 4\n")
    assert config_files(["--config", "cfg.yaml", "missing.yaml"], tmp_path) == [
        (tmp_path / "cfg.yaml", "cfg.yaml", "--config")]
    discovery = discover_with_args(tmp_path / "train.py", ["--config", "cfg.yaml"], tmp_path)
    names = {p.name: p for p in discovery.params}
    assert names["training.learning_rate"].extra["config_arg"] == "cfg.yaml", list(names)
    assert discover_with_args(tmp_path / "train.py", [], tmp_path).params == []


def test_a_setting_left_out_for_want_of_a_value_is_tuned_once_the_arguments_give_one():
    unset = Param("trainer.max_iters", "int", None, source="cfgnode", flag="--trainer.max_iters",
                  extra={"syntax": "equals", "key": "trainer.max_iters", "default_none": True, "tunable": False})
    (p,) = apply_args([unset], ["--trainer.max_iters=300"])
    assert p.default == 300 and p.extra["tunable"] is True and p.low is not None and p.low <= 300 <= p.high
    plumbing = Param("trainer.num_workers", "int", None, source="cfgnode", flag="--trainer.num_workers",
                     extra={"syntax": "equals", "key": "trainer.num_workers", "default_none": True, "tunable": False})
    (q,) = apply_args([plumbing], ["--trainer.num_workers=0"])
    assert q.default == 0 and q.extra["tunable"] is False
