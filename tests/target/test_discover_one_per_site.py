"""Each setting is reported once, under the flag the script already accepts, and the single
rule that decides whether a reported setting is a knob judges every source alike.

The fixtures are small scripts run for real with the command line `render` builds, so a
reported flag is one the script takes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from aft_tui.runs.invocation import render
from aft_tui.target.config_files import config_params
from aft_tui.target.discover import discover
from aft_tui.target.knobs import is_knob

FIXTURES = Path(__file__).parent / "fixtures" / "duplicates"
# The nanoGPT-style script sits beside the configurator the convention tests exec.
CONFIGURATOR_APP = Path(__file__).parent / "fixtures" / "conventions" / "configurator_app"


def _run(script: Path, args: list[str]) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(script), *args], cwd=script.parent, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _by_location(discovery) -> Counter:
    """How many params point at each source line or config key: a value reported twice shows
    up as a count of two whatever the second copy was renamed to."""
    return Counter(p.location for p in discovery.params)


def test_configurator_globals_come_back_once_with_their_flag_lowercase_and_upper():
    script = CONFIGURATOR_APP / "nanogpt_train.py"
    discovery = discover(script)
    names = [p.name for p in discovery.params]
    assert sorted(names) == ["LR_DECAY", "dropout", "learning_rate", "max_iters"]
    assert all(n == 1 for n in _by_location(discovery).values())
    for param in discovery.params:
        assert param.source == "configurator"
        assert param.flag == f"--{param.name}"
    assert discovery.param("LR_DECAY").type == "float"
    # No module-value or constant twin renamed out of the way, and nothing left to refactor.
    assert not any(n.startswith("const_") or n.endswith("_2") or n == "lr_decay" for n in names)
    assert any(why == "LR_DECAY is already set by --LR_DECAY" for _, _, why in discovery.skipped)

    params = {p.name: p for p in discovery.params}
    args = render(params["LR_DECAY"].flag, 0.25, params["LR_DECAY"].extra) + render(
        params["learning_rate"].flag, 0.1, params["learning_rate"].extra)
    out = _run(script, args)
    assert "settings learning_rate=0.1 max_iters=20 LR_DECAY=0.25" in out


def test_yaml_keys_a_dotlist_convention_reads_are_not_reported_again_as_config_file_keys():
    pytest.importorskip("omegaconf")
    script = FIXTURES / "omegaconf_app" / "train.py"
    discovery = discover(script)
    names = [p.name for p in discovery.params]
    assert sorted(names) == ["model.dropout", "model.hidden", "train.aspect_ratio", "train.epochs", "train.lr"]
    assert all(n == 1 for n in _by_location(discovery).values())
    for param in discovery.params:
        assert param.source == "hydra"
        assert param.flag == param.name
    assert discovery.param("train.aspect_ratio").type == "int"

    params = {p.name: p for p in discovery.params}
    args = render(params["train.lr"].flag, 0.1, params["train.lr"].extra) + render(
        params["model.hidden"].flag, 32, params["model.hidden"].extra)
    out = _run(script, args)
    assert "settings train.lr=0.1 model.hidden=32" in out


def test_a_config_file_nobody_exposes_is_still_reported_key_by_key(tmp_path: Path):
    """The de-duplication only drops a twin; a config read with a plain open() keeps its keys."""
    (tmp_path / "config.yaml").write_text((FIXTURES / "omegaconf_app" / "config.yaml").read_text())
    script = tmp_path / "train.py"
    script.write_text("import yaml\ncfg = yaml.safe_load(open('config.yaml'))\nprint(cfg['train']['lr'])\n")
    discovery = discover(script)
    found = {p.name: p for p in discovery.params}
    assert {"train.lr", "train.epochs", "model.hidden", "model.dropout"} <= set(found)
    assert all(p.source == "config_file" and p.flag is None for p in found.values())


def test_config_keys_keep_an_int_literal_int_unless_the_name_makes_it_a_rate(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("aspect_ratio: 64\nwarmup_ratio: 0\nlr: 1\ndropout: 0.5\nn_layers: 4\n")
    found = {p.name: p for p in config_params(config, "config.yaml")[0]}
    # A ratio of 64 is a count; a ratio of 0 is a fraction; a learning rate is a float however written.
    assert (found["aspect_ratio"].type, found["aspect_ratio"].default) == ("int", 64)
    assert found["warmup_ratio"].type == "float"
    assert found["lr"].type == "float"
    assert found["dropout"].type == "float"
    assert (found["n_layers"].type, found["n_layers"].default) == ("int", 4)


@pytest.mark.parametrize("kind", ["literal", "flag", "option", "exposed"])
def test_seeds_and_path_values_are_never_knobs_whatever_the_source(kind):
    assert not is_knob("seed", "int", 0, kind=kind)
    assert not is_knob("random_seed", "int", 1234, choices=[1, 2], kind=kind)
    assert not is_knob("optimizer", "str", "configs/adam.yaml", kind=kind)
    assert is_knob("learning_rate", "float", 0.001, kind=kind)


@pytest.mark.parametrize("kind", ["flag", "option", "exposed"])
def test_a_choice_of_which_data_to_train_and_evaluate_on_is_never_searched(kind):
    """`--category {all,qna,technical}` picks the validation set too: a loss on one subset is not
    comparable with another's, so a search over it would reward the easiest subset."""
    assert not is_knob("category", "str", "all", ["all", "qna", "technical"], kind=kind)
    assert not is_knob("dataset", "str", "Cora", ["Cora", "CiteSeer", "PubMed"], kind=kind)
    assert not is_knob("split", "str", "train", ["train", "validation"], kind=kind)
    assert not is_knob("task", "str", "sst2", ["sst2", "mnli"], kind=kind)
    assert is_knob("optimizer", "str", "adam", ["adam", "sgd"], kind=kind)


def test_how_much_a_name_must_prove_depends_on_where_the_setting_was_found():
    # An argparse flag must be named like a hyperparameter; a declared option or an exposed
    # configurator global is a knob unless its name says plumbing.
    assert not is_knob("ndigit", "int", 3, kind="flag")
    assert is_knob("ndigit", "int", 3, kind="option")
    assert is_knob("ndigit", "int", 3, kind="exposed")
    # Cadence: plumbing for a config tree, a knob for an RL option (`train_frequency`).
    assert not is_knob("train_frequency", "int", 4, kind="exposed")
    assert is_knob("train_frequency", "int", 4, kind="option")
    assert not is_knob("log_interval", "int", 10, kind="literal")
    # Sections count only in config trees: under `data` only the model's view of the data.
    assert not is_knob("data.ndigit", "int", 3, kind="exposed")
    assert is_knob("data.block_size", "int", 64, kind="exposed")
    assert not is_knob("wandb.lr_log", "float", 0.1, kind="exposed")
    # A switch declared as an option has to name what it changes.
    assert not is_knob("fast", "bool", True, kind="option")
    assert is_knob("anneal_lr", "bool", True, kind="option")
    assert is_knob("anneal_lr", "bool", True, kind="exposed")
    # A switch that turns a feature on or off picks the kind of run, whatever the source.
    assert not is_knob("use_bias", "bool", True, kind="option")
    assert not is_knob("use_bias", "bool", True, kind="exposed")
