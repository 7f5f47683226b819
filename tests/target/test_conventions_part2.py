"""Scripts that already take overrides through tyro, click, typer, jsonargparse/LightningCLI or
HfArgumentParser/TrlParser: discovery reads their options statically, and the flags AFT renders
are the ones the real library parses."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from aft_tui.runs.invocation import render
from aft_tui.target.discover import discover
from aft_tui.target.params import Param

FIXTURES = Path(__file__).parent / "fixtures" / "conventions2"


def found(name: str) -> tuple[dict[str, Param], list[tuple[str, str, str]]]:
    d = discover(FIXTURES / name)
    return {p.name: p for p in d.params}, d.skipped


def tokens(params: dict[str, Param], values: dict[str, object]) -> list[str]:
    out: list[str] = []
    for name, value in values.items():
        p = params[name]
        presence = p.type == "bool" and p.extra.get("action") in ("store_true", "store_false")
        out += render(p.flag, value, p.extra, presence=presence)  # type: ignore[arg-type]
    return out


def printed(name: str, args: list[str], timeout: float = 120) -> dict[str, dict]:
    """Run the fixture with the real library; what it printed after each `label ` as JSON."""
    with tempfile.TemporaryDirectory() as cwd:  # runs may write files (Lightning's config.yaml)
        proc = subprocess.run([sys.executable, str(FIXTURES / name), *args], capture_output=True, text=True,
                              timeout=timeout, cwd=cwd, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out: dict[str, dict] = {}
    for line in proc.stdout.splitlines():
        label, _, rest = line.partition(" ")
        if rest.startswith("{"):
            out[label] = json.loads(rest)
    return out


def parsed(name: str, args: list[str], timeout: float = 120) -> dict:
    return printed(name, args, timeout)["parsed"]


def test_tyro_dataclass_fields_are_kebab_flags_with_docstring_help():
    params, skipped = found("tyro_train.py")
    lr = params["learning_rate"]
    assert (lr.source, lr.type, lr.default, lr.flag, lr.help) == ("tyro", "float", 0.01, "--learning-rate", "step size of the optimizer")
    assert lr.extra["syntax"] == "space" and lr.extra["tunable"]
    assert params["use_bias"].extra["bool_style"] == "pair" and params["use_bias"].default is True
    assert params["optimizer"].choices == ["sgd", "adam"]
    assert not params["seed"].extra["tunable"] and not params["track"].extra["tunable"]
    # Overwritten after parsing, or pinned by an assert: on the command line, but not knobs.
    assert not params["batch_size"].extra["tunable"]
    assert ("batch_size", "tyro_train.py:27", "set from num_envs × num_layers after parsing") in skipped
    assert not params["num_envs"].extra["tunable"]
    assert any(s[0] == "num_envs" and "asserted to be 1" in s[2] for s in skipped)


def test_tyro_run_sees_rendered_values():
    params, _ = found("tyro_train.py")
    seen = parsed("tyro_train.py", tokens(params, {"learning_rate": 0.05, "num_layers": 3, "use_bias": False, "optimizer": "adam"}))
    assert (seen["learning_rate"], seen["num_layers"], seen["use_bias"], seen["optimizer"]) == (0.05, 3, False, "adam")


def test_click_options_flags_pairs_choices_and_ranges():
    params, _ = found("click_train.py")
    lr = params["lr"]
    assert (lr.source, lr.type, lr.default, lr.flag, lr.help) == ("click", "float", 1e-3, "--lr", "step size")
    assert params["epochs"].type == "int" and params["epochs"].default == 3
    assert params["shuffle"].extra["bool_style"] == "pair" and params["shuffle"].default is True
    assert params["amp"].extra["action"] == "store_true" and params["amp"].default is False
    assert params["optimizer"].choices == ["sgd", "adam"]
    assert (params["dropout"].low, params["dropout"].high) == (0.0, 0.9)
    assert not params["seed"].extra["tunable"] and not params["data_dir"].extra["tunable"]
    seen = parsed("click_train.py", tokens(params, {"lr": 0.02, "epochs": 5, "shuffle": False, "amp": True, "optimizer": "sgd", "dropout": 0.3}))
    assert seen == {"lr": 0.02, "epochs": 5, "shuffle": False, "amp": True, "optimizer": "sgd", "dropout": 0.3, "seed": 0}


def test_typer_parameters_with_option_and_annotated_help():
    params, _ = found("typer_train.py")
    assert (params["lr"].source, params["lr"].flag, params["lr"].default) == ("typer", "--lr", 1e-3)
    assert params["epochs"].help == "passes over the data" and params["epochs"].default == 3
    assert params["dropout"].help == "dropout probability" and params["dropout"].default == 0.1
    assert params["hidden_size"].flag == "--hidden"
    assert params["augment"].extra["bool_style"] == "pair"
    assert not params["seed"].extra["tunable"] and not params["output_dir"].extra["tunable"]
    seen = parsed("typer_train.py", tokens(params, {"lr": 0.01, "epochs": 4, "dropout": 0.2, "hidden_size": 64, "augment": True}))
    assert seen == {"lr": 0.01, "epochs": 4, "dropout": 0.2, "hidden_size": 64, "augment": True, "seed": 0}


def test_jsonargparse_cli_over_a_function_takes_equals_tokens():
    params, _ = found("jsonargparse_train.py")
    lr = params["learning_rate"]
    assert (lr.source, lr.flag, lr.default, lr.help, lr.extra["syntax"]) == ("jsonargparse", "--learning_rate", 0.01, "step size of the optimizer", "equals")
    assert not params["log_dir"].extra["tunable"]
    seen = parsed("jsonargparse_train.py", tokens(params, {"learning_rate": 0.2, "epochs": 7, "warmup": True}))
    assert seen == {"learning_rate": 0.2, "epochs": 7, "warmup": True}


@pytest.mark.slow
def test_lightning_cli_model_data_and_trainer_groups():
    params, _ = found("lightning_train.py")
    lr = params["model.learning_rate"]
    assert (lr.flag, lr.default, lr.help) == ("--model.learning_rate", 0.01, "step size of SGD")
    assert params["data.batch_size"].flag == "--data.batch_size" and params["data.batch_size"].default == 16
    assert params["trainer.max_epochs"].default == 2  # from trainer_defaults
    assert not params["data.data_dir"].extra["tunable"]
    args = ["fit", *tokens(params, {"model.learning_rate": 0.05, "model.use_norm": True, "data.batch_size": 8, "trainer.max_epochs": 1})]
    seen = printed("lightning_train.py", args, timeout=240)
    assert seen["parsed"] == {"learning_rate": 0.05, "hidden": 8, "use_norm": True}
    assert seen["data"] == {"batch_size": 8}
    assert seen["trainer"] == {"max_epochs": 1}


@pytest.mark.slow
def test_hf_required_field_is_reported_and_library_fields_come_from_the_installed_library():
    import transformers
    params, _ = found("hf_required_train.py")
    model = params["model_name_or_path"]
    assert model.extra["required"] and not model.extra["tunable"] and model.help == "checkpoint to start from"
    library = {f.name: f.default for f in dataclasses.fields(transformers.TrainingArguments)}
    for name in ("learning_rate", "num_train_epochs", "per_device_train_batch_size", "weight_decay", "max_grad_norm"):
        assert params[name].default == library[name] and params[name].extra["tunable"], name
    for name in ("output_dir", "seed", "report_to", "use_cpu", "push_to_hub"):
        assert not params[name].extra["tunable"], name
    assert "hub_token" not in params and "dataloader_num_workers" not in params
    values = {"model_name_or_path": "tiny", "lora_r": 4, "learning_rate": 0.001, "use_cpu": True}
    seen = parsed("hf_required_train.py", tokens(params, values) + ["--output_dir", "out"], timeout=240)
    assert seen == values


def test_trl_parser_through_a_variable_reads_trl_configs_without_importing_them():
    import trl  # noqa: F401  (installed with the examples extra: the test reads its real source)
    code = (
        "import sys, json; from pathlib import Path; from aft_tui.target.discover import discover; "
        f"d = discover(Path({str(FIXTURES / 'trl_parser_train.py')!r})); "
        "print(json.dumps({'params': {p.name: [p.default, p.extra.get('tunable'), p.extra.get('dataclass')] for p in d.params}, "
        "'imported': [m for m in ('trl', 'transformers', 'torch') if m in sys.modules]}))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["imported"] == []  # locating the library's source does not execute it
    params = out["params"]
    from trl import ModelConfig, SFTConfig

    sft = {f.name: f.default for f in dataclasses.fields(SFTConfig)}
    model = {f.name: f.default for f in dataclasses.fields(ModelConfig)}
    for name in ("learning_rate", "max_length", "num_train_epochs", "gradient_accumulation_steps"):
        assert params[name][:2] == [sft[name], True], name
    assert params["learning_rate"][2] == "SFTConfig"
    for name in ("lora_r", "lora_alpha", "lora_dropout"):
        assert params[name][:2] == [model[name], True], name
    for name in ("model_name_or_path", "dataset_name", "output_dir", "seed", "use_cpu", "report_to"):
        assert params[name][1] is False, name


@pytest.mark.slow
def test_aft_tune_drives_a_tyro_script_in_its_own_syntax(git_project):
    from tests.engine.helpers import aft, results

    project = git_project(FIXTURES / "tyro_train.py")
    proc = aft(project, "tune", "tyro_train.py", "--trials", "2", "--yes", "--metric", "loss", "--direction", "min")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = results(project)
    assert [r["status"] for r in runs] == ["ok", "ok"], runs
    tuned = runs[1]["params"]
    assert {"learning_rate", "num_layers", "optimizer"} <= set(tuned)
    assert not {"seed", "track", "batch_size", "num_envs", "use_bias"} & set(tuned)
    log = (project / "outputs" / runs[1]["run_id"] / f"{runs[1]['run_id']}.log").read_text()
    seen = json.loads(next(line for line in log.splitlines() if line.startswith("parsed "))[len("parsed "):])
    for name in ("learning_rate", "num_layers", "optimizer"):
        assert seen[name] == tuned[name], name
