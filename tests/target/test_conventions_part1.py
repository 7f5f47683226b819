"""Scripts that already take overrides in their own syntax: exec'd configurators, config-node
trees, Hydra/OmegaConf dotlists, absl flags and python-fire.

Each fixture is discovered statically, then run for real with its own library and a command line
built by `render` for a changed value; the script prints the settings it ended up with.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aft_tui.runs.invocation import render
from aft_tui.target.discover import discover
from aft_tui.target.params import Param

FIXTURES = Path(__file__).parent / "fixtures" / "conventions"


def _params(path: Path) -> dict[str, Param]:
    return {p.name: p for p in discover(path).params}


def _run(script: Path, args: list[str], cwd: Path | None = None, pythonpath: Path | None = None) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    proc = subprocess.run([sys.executable, str(script), *args], cwd=cwd or script.parent, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _args(params: dict[str, Param], **values: Any) -> list[str]:
    tokens: list[str] = []
    for name, value in values.items():
        param = params[name]
        assert param.flag is not None
        tokens += render(param.flag, value, param.extra)
    return tokens


def _shape(param: Param) -> tuple[str, Any, bool]:
    return param.type, param.default, param.extra["tunable"]


# --- exec'd configurator -----------------------------------------------------------------------


def test_configurator_globals_are_discovered_with_exact_types_and_help():
    params = _params(FIXTURES / "configurator_app" / "train.py")
    found = {n: p for n, p in params.items() if p.source == "configurator"}
    assert list(found) == ["learning_rate", "max_steps", "batch_size", "weight_decay", "use_bias",
                           "optimizer_type", "seed", "out_dir", "betas"]
    assert _shape(found["learning_rate"]) == ("float", 0.05, True)
    assert _shape(found["max_steps"]) == ("int", 30, True)
    # Exact types: the configurator asserts an override keeps the default's type.
    assert _shape(found["weight_decay"]) == ("float", 0.0, True)
    assert _shape(found["use_bias"]) == ("bool", True, False)  # a feature switch: reported, not searched
    assert _shape(found["optimizer_type"]) == ("str", "sgd", True)
    assert _shape(found["seed"]) == ("int", 1234, False)
    assert _shape(found["out_dir"]) == ("str", "out", False)
    assert _shape(found["betas"]) == ("str", "(0.9, 0.99)", False)
    assert found["learning_rate"].help == "step size of gradient descent"
    assert found["learning_rate"].flag == "--learning_rate"
    assert found["learning_rate"].extra["syntax"] == "equals"
    assert found["learning_rate"].location == "train.py:6"


def test_configurator_run_takes_the_rendered_values():
    script = FIXTURES / "configurator_app" / "train.py"
    params = _params(script)
    args = _args(params, learning_rate=0.2, max_steps=7, use_bias=False, optimizer_type="momentum")
    assert args == ["--learning_rate=0.2", "--max_steps=7", "--use_bias=False", "--optimizer_type=momentum"]
    out = _run(script, args)
    assert "settings learning_rate=0.2 max_steps=7 use_bias=False optimizer_type='momentum'" in out


def test_an_exec_of_a_file_that_reads_no_command_line_is_not_a_configurator(tmp_path: Path):
    (tmp_path / "setup_env.py").write_text("import os\nHOME = os.getcwd()\n")
    script = tmp_path / "train.py"
    script.write_text("lr = 0.1\nexec(open('setup_env.py').read())\nprint(lr)\n")
    params = discover(script)
    assert not [p for p in params.params if p.source == "configurator"]
    assert any("does not read sys.argv" in why for _, _, why in params.skipped)


# --- config-node trees ------------------------------------------------------------------------

CFGNODE = FIXTURES / "cfgnode_app"


def test_cfgnode_tree_follows_imports_into_the_project_and_applies_later_assignments():
    params = _params(CFGNODE / "projects" / "fit" / "fit.py")
    found = {n: p for n, p in params.items() if p.source == "cfgnode"}
    assert list(found) == ["system.seed", "system.work_dir", "shape.kind", "shape.noise", "fitter.device",
                           "fitter.num_workers", "fitter.max_steps", "fitter.learning_rate", "fitter.batch_size",
                           "fitter.betas", "fitter.clip_norm"]
    # Defaults read from treecfg/fitter.py and treecfg/shape.py, overridden by the script's builder.
    assert _shape(found["fitter.learning_rate"]) == ("float", 0.05, True)
    assert found["fitter.learning_rate"].help == "faster for this tiny problem"
    assert found["fitter.learning_rate"].location == "fit.py:18"
    assert _shape(found["fitter.max_steps"]) == ("int", 20, True)
    assert _shape(found["fitter.batch_size"]) == ("int", 16, True)
    assert _shape(found["fitter.clip_norm"]) == ("float", 1.0, True)
    assert found["fitter.clip_norm"].help == "gradient clipping threshold"
    assert found["fitter.clip_norm"].location.endswith("treecfg/fitter.py:14")
    assert _shape(found["shape.noise"]) == ("float", 0.1, True)
    assert _shape(found["shape.kind"]) == ("str", "line", True)
    assert _shape(found["fitter.betas"]) == ("str", "(0.9, 0.95)", False)
    for plumbing in ("system.seed", "system.work_dir", "fitter.device", "fitter.num_workers"):
        assert found[plumbing].extra["tunable"] is False, plumbing
    assert found["fitter.learning_rate"].flag == "--fitter.learning_rate"
    assert found["fitter.learning_rate"].extra["syntax"] == "equals"
    # shape.width is None in its builder and set by the script after the command line is read.
    assert "shape.width" not in found
    assert any(name == "shape.width" and "after it reads the command line" in why
               for name, _, why in discover(CFGNODE / "projects" / "fit" / "fit.py").skipped)


def test_cfgnode_run_takes_the_rendered_values():
    script = CFGNODE / "projects" / "fit" / "fit.py"
    params = _params(script)
    args = _args(params, **{"fitter.learning_rate": 0.125, "shape.kind": "curve"})
    assert args == ["--fitter.learning_rate=0.125", "--shape.kind=curve"]
    out = _run(script, args, cwd=CFGNODE, pythonpath=CFGNODE)
    assert "settings fitter.learning_rate=0.125 shape.kind='curve'" in out


# --- Hydra and OmegaConf dotlists ---------------------------------------------------------------

HYDRA = FIXTURES / "hydra_app"


def test_hydra_config_is_composed_from_its_defaults_list():
    params = _params(HYDRA / "train.py")
    found = {n: p for n, p in params.items() if p.source == "hydra"}
    assert list(found) == ["optimizer.lr", "optimizer.momentum", "trainer.steps", "trainer.batch_size",
                           "trainer.shuffle", "trainer.seed", "trainer.log_dir", "trainer.schedule", "optimizer"]
    # 5e-2 is a string to YAML 1.1 but a float to OmegaConf.
    assert _shape(found["optimizer.lr"]) == ("float", 0.05, True)
    assert found["optimizer.lr"].help == "step size"
    assert found["optimizer.lr"].location == os.path.join("conf", "optimizer", "momentum.yaml") + ":1"
    assert found["optimizer.lr"].extra["config"] == os.path.join("conf", "optimizer", "momentum.yaml")
    assert _shape(found["trainer.steps"]) == ("int", 25, True)
    assert found["trainer.steps"].help == "optimisation steps"
    assert _shape(found["trainer.shuffle"]) == ("bool", True, True)
    assert _shape(found["trainer.seed"]) == ("int", 3, False)
    assert _shape(found["trainer.log_dir"]) == ("str", "logs", False)
    assert _shape(found["trainer.schedule"]) == ("str", None, False)
    assert found["optimizer"].choices == ["momentum", "plain"]
    assert found["optimizer"].extra["tunable"] is False
    assert found["optimizer.lr"].flag == "optimizer.lr"
    assert found["optimizer.lr"].extra["syntax"] == "equals"
    assert not any(name.startswith("hydra") for name in params)


def test_hydra_run_takes_the_rendered_dotlist():
    script = HYDRA / "train.py"
    params = _params(script)
    args = _args(params, **{"optimizer.lr": 1e-05, "trainer.steps": 4, "trainer.shuffle": False})
    assert args == ["optimizer.lr=1e-05", "trainer.steps=4", "trainer.shuffle=false"]
    out = _run(script, args)
    assert "settings optimizer.lr=1e-05 trainer.steps=4 trainer.shuffle=False" in out


def test_omegaconf_from_cli_over_a_literal_base():
    script = FIXTURES / "omegaconf_cli.py"
    params = _params(script)
    found = {n: p for n, p in params.items() if p.source == "hydra"}
    assert list(found) == ["model.hidden", "model.dropout", "train.lr", "train.epochs", "train.amp"]
    assert _shape(found["model.hidden"]) == ("int", 16, True)
    assert found["model.hidden"].help == "a tiny model"
    assert _shape(found["train.lr"]) == ("float", 0.01, True)
    assert _shape(found["train.amp"]) == ("bool", False, True)
    args = _args(params, **{"train.lr": 3e-4, "model.hidden": 64, "train.amp": True})
    assert args == ["train.lr=0.0003", "model.hidden=64", "train.amp=true"]
    out = _run(script, args)
    assert "settings train.lr=0.0003 model.hidden=64 train.amp=True" in out


# --- absl flags -------------------------------------------------------------------------------


def test_absl_flags_are_discovered_with_help_choices_and_bounds():
    params = _params(FIXTURES / "absl_train.py")
    found = {n: p for n, p in params.items() if p.source == "absl"}
    assert list(found) == ["learning_rate", "num_steps", "use_momentum", "schedule", "data_dir", "seed"]
    assert _shape(found["learning_rate"]) == ("float", 0.05, True)
    assert found["learning_rate"].help == "Step size of gradient descent."
    assert _shape(found["num_steps"]) == ("int", 20, True)
    assert (found["num_steps"].low, found["num_steps"].high) == (1, 200)
    assert _shape(found["use_momentum"]) == ("bool", True, False)  # a feature switch: reported, not searched
    assert _shape(found["schedule"]) == ("str", "constant", True)
    assert found["schedule"].choices == ["constant", "linear"]
    assert _shape(found["data_dir"]) == ("str", "/tmp/data", False)
    assert _shape(found["seed"]) == ("int", 0, False)
    assert found["learning_rate"].flag == "--learning_rate"


def test_absl_run_takes_the_rendered_values():
    script = FIXTURES / "absl_train.py"
    params = _params(script)
    args = _args(params, learning_rate=0.25, use_momentum=False, schedule="linear")
    assert args == ["--learning_rate=0.25", "--use_momentum=false", "--schedule=linear"]
    out = _run(script, args)
    assert "settings learning_rate=0.25 use_momentum=False schedule='linear'" in out


# --- python-fire ------------------------------------------------------------------------------


def test_fire_function_parameters_are_discovered_from_annotations_and_defaults():
    params = _params(FIXTURES / "fire_train.py")
    found = {n: p for n, p in params.items() if p.source == "fire"}
    assert list(found) == ["lr", "steps", "use_warmup", "optimizer", "seed", "out_dir", "width"]
    assert _shape(found["lr"]) == ("float", 0.05, True)
    assert found["lr"].help == "step size of gradient descent."
    assert _shape(found["steps"]) == ("int", 20, True)
    assert found["steps"].help == "how many updates."
    assert _shape(found["use_warmup"]) == ("bool", False, False)  # a feature switch: reported, not searched
    assert _shape(found["optimizer"]) == ("str", "sgd", True)
    assert _shape(found["seed"]) == ("int", 0, False)
    assert _shape(found["out_dir"]) == ("str", "runs", False)
    assert _shape(found["width"]) == ("int", None, False)


def test_fire_run_takes_the_rendered_values():
    script = FIXTURES / "fire_train.py"
    params = _params(script)
    args = _args(params, lr=0.3, steps=5, use_warmup=True, optimizer="adam")
    assert args == ["--lr=0.3", "--steps=5", "--use_warmup=True", "--optimizer=adam"]
    out = _run(script, args)
    assert "settings lr=0.3 steps=5 use_warmup=True optimizer='adam'" in out


def test_fire_class_exposes_its_constructor_and_reports_its_commands():
    script = FIXTURES / "fire_class_train.py"
    discovery = discover(script)
    found = {p.name: p for p in discovery.params if p.source == "fire"}
    assert list(found) == ["learning_rate", "hidden", "device"]
    assert _shape(found["learning_rate"]) == ("float", 0.01, True)
    assert _shape(found["device"]) == ("str", "cpu", False)
    assert any(name == "Experiment.fit" for name, _, _ in discovery.skipped)
    out = _run(script, [*_args(found, learning_rate=0.5, hidden=8), "fit"])
    assert "settings learning_rate=0.5 hidden=8 epochs=2" in out


def test_a_script_without_these_conventions_gets_none_of_their_sources():
    params = discover(Path(__file__).parent / "fixtures" / "argparse_train.py").params
    assert not {p.source for p in params} & {"configurator", "cfgnode", "hydra", "absl", "fire"}


# --- end to end: `aft tune` drives the script in its own syntax ---------------------------------


def _tune_twice(project: Path, setting: str) -> None:
    from tests.engine.helpers import aft, results

    proc = aft(project, "tune", "train.py", "--trials", "2", "--yes", "--metric", "val_loss", "--direction", "min")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = results(project)
    assert [r["status"] for r in runs] == ["ok", "ok"], [(r["status"], r["reason"]) for r in runs]
    assert runs[0]["params"] != runs[1]["params"]
    for run in runs:
        log = (project / "outputs" / run["run_id"] / f"{run['run_id']}.log").read_text()
        assert f"{setting}={run['params'][setting]!r}" in log, log


@pytest.mark.slow
def test_tune_drives_an_exec_configurator_script(git_project):
    app = FIXTURES / "configurator_app"
    project = git_project(app / "train.py", app / "configurator.py")
    _tune_twice(project, "learning_rate")


@pytest.mark.slow
def test_tune_drives_a_hydra_app_with_a_dotlist(git_project):
    project = git_project(HYDRA / "train.py", HYDRA / "conf")
    _tune_twice(project, "optimizer.lr")
