"""Refactored scripts run: same output with no flags, JSON lines under AFT_METRICS, flags work.

These are real subprocesses on the pure-Python fixtures (no torch needed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aft_tui.target.discover import discover
from aft_tui.target.refactor import plan_refactor

FIXTURES = Path(__file__).parent / "fixtures"


def run(script: Path, *args: str, metrics: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AFT_METRICS"}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", PYTHONHASHSEED="0")
    if metrics is not None:
        env["AFT_METRICS"] = str(metrics)
    return subprocess.run(
        [sys.executable, script.name, *args], cwd=script.parent, env=env, capture_output=True, text=True, timeout=60
    )


def refactored_copy(tmp_path: Path, name: str, *extra: str) -> tuple[Path, Path]:
    """(original, refactored) copies side by side in tmp_path."""
    for other in extra:
        shutil.copy(FIXTURES / other, tmp_path / other)
    original = tmp_path / f"original_{name}"
    shutil.copy(FIXTURES / name, original)
    target = tmp_path / name
    shutil.copy(FIXTURES / name, target)
    plan = plan_refactor(target, discover(target), project_root=tmp_path)
    target.write_text(plan.new_source)
    return original, target


@pytest.mark.parametrize(
    "name,extra,args",
    [
        ("constants_train.py", (), ()),
        ("plain_loop.py", (), ()),
        ("argparse_train.py", (), ()),
        ("config_train.py", ("train_config.yaml",), ()),
        ("sysargv_train.py", (), ("my-run",)),
    ],
)
def test_no_flags_means_identical_behaviour(tmp_path, name, extra, args):
    original, refactored = refactored_copy(tmp_path, name, *extra)
    before = run(original, *args)
    after = run(refactored, *args)
    assert before.returncode == 0, before.stderr
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout
    assert after.stderr == before.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [original.name, refactored.name, *extra]
    ), "nothing extra is written when AFT_METRICS is unset"


def test_metrics_are_appended_as_json_lines(tmp_path):
    _, refactored = refactored_copy(tmp_path, "plain_loop.py")
    metrics = tmp_path / "metrics.jsonl"
    result = run(refactored, metrics=metrics)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    # Numbered as the print numbers them ("epoch 1/5" ... "epoch 5/5"), not by the 0-based loop variable.
    assert [r["epoch"] for r in rows[:-1]] == [1, 2, 3, 4, 5]
    assert all(set(r) == {"epoch", "loss", "val_acc"} for r in rows[:-1])
    assert set(rows[-1]) == {"validation"}
    printed = [line for line in result.stdout.splitlines() if line.startswith("epoch 5/5")][0]
    assert f"val_acc={rows[4]['val_acc']:.3f}" in printed


def test_flags_change_the_run(tmp_path):
    _, refactored = refactored_copy(tmp_path, "constants_train.py")
    metrics = tmp_path / "m.jsonl"
    result = run(refactored, "--epochs", "2", "--lr", "0.2", metrics=metrics)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("train_loss=") == 2
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r.get("epoch") for r in rows] == [0, 1, None]
    help_text = run(refactored, "--help").stdout
    assert "--batch-size" in help_text and "BATCH_SIZE (module constant" in help_text


def test_merged_parser_keeps_existing_flags(tmp_path):
    _, refactored = refactored_copy(tmp_path, "argparse_train.py")
    metrics = tmp_path / "m.jsonl"
    result = run(refactored, "--epochs", "1", "--momentum", "0.5", "--lr", "0.2", metrics=metrics)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "epoch=0 val_score=0.5500"
    assert json.loads(metrics.read_text()) == {"epoch": 0, "val_score": 0.55}


def test_pass_through_parser_leaves_script_arguments(tmp_path):
    _, refactored = refactored_copy(tmp_path, "sysargv_train.py")
    result = run(refactored, "--epochs", "1", "my-run", "--learning-rate", "0.25")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "my-run epoch 0 score=0.2500\n"


def test_config_flag_reads_a_per_trial_config(tmp_path):
    _, refactored = refactored_copy(tmp_path, "config_train.py", "train_config.yaml")
    (tmp_path / "trial.yaml").write_text("training:\n  epochs: 1\n  m2:\n    learning_rate: 0.5\n")
    result = run(refactored, "--config", "trial.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "epoch 0 val_score=0.5000\n"


def test_pass_through_parser_with_hf_argument_parser(tmp_path):
    pytest.importorskip("transformers")
    script = tmp_path / "train.py"
    script.write_text(
        "from dataclasses import dataclass\n\nfrom transformers import HfArgumentParser\n\n\n@dataclass\n"
        "class RunArguments:\n    name: str = \"run\"\n\n\ndef main():\n"
        "    (args,) = HfArgumentParser(RunArguments).parse_args_into_dataclasses()\n"
        "    for epoch in range(3):\n        print(f\"{args.name} epoch {epoch} loss={1 / (epoch + 1):.3f}\")\n\n\nmain()\n"
    )
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert plan.parser_mode == "pass_through" and [p.flag for p in plan.lifted] == ["--epochs"]
    script.write_text(plan.new_source)
    result = run(script, "--epochs", "2", "--name", "x")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "x epoch 0 loss=1.000\nx epoch 1 loss=0.500\n"


def test_computed_config_path_runs_with_and_without_the_flag(tmp_path):
    shutil.copy(FIXTURES / "train_config.yaml", tmp_path)
    source = (
        "from pathlib import Path\n\nimport yaml\n\nCONFIG_PATH = Path(__file__).with_name(\"train_config.yaml\")\n\n\n"
        "cfg = yaml.safe_load(CONFIG_PATH.read_text())\nfor epoch in range(cfg[\"training\"][\"epochs\"]):\n"
        "    print(f\"epoch {epoch} lr: {cfg['training']['m2']['learning_rate']}\")\n"
    )
    original = tmp_path / "original.py"
    original.write_text(source)
    script = tmp_path / "train.py"
    script.write_text(source)
    script.write_text(plan_refactor(script, discover(script), project_root=tmp_path).new_source)
    assert run(script).stdout == run(original).stdout == "".join(f"epoch {i} lr: 0.25\n" for i in range(4))
    trial = tmp_path / "trial"
    trial.mkdir()
    (trial / "train_config.yaml").write_text("training:\n  epochs: 1\n  m2:\n    learning_rate: 0.5\n")
    result = run(script, "--config", str(trial / "train_config.yaml"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "epoch 0 lr: 0.5\n"


def test_tyro_script_sees_only_its_own_flags(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("tyro")
    original, refactored = refactored_copy(tmp_path, "tyro_train.py")
    plan = plan_refactor(original, discover(original), project_root=tmp_path)
    assert plan.parser_mode == "pass_through"
    assert [p.flag for p in plan.lifted] == ["--lr", "--eps"]
    # No flags: the same run. AFT's flag in both spellings, tyro's flags around it.
    assert run(refactored).stdout == run(original).stdout
    spaced = run(refactored, "--run-name", "x", "--eps", "0.001", "--epochs", "1")
    assert spaced.returncode == 0, spaced.stderr
    assert spaced.stdout.splitlines()[0] == "x eps=0.001"
    joined = run(refactored, "--eps=0.01", "--run-name=y", "--epochs=2")
    assert joined.returncode == 0, joined.stderr
    assert joined.stdout.splitlines()[0] == "y eps=0.01" and len(joined.stdout.splitlines()) == 3
    # tyro still rejects what it does not know, as it did before the refactor.
    assert run(refactored, "--no-such-flag", "1").returncode != 0


def test_pass_through_parser_runs_before_a_module_level_parse(tmp_path):
    pytest.importorskip("tyro")
    script = tmp_path / "train.py"
    script.write_text(
        "from dataclasses import dataclass\n\nimport tyro\n\n\n@dataclass\nclass Args:\n    name: str = \"run\"\n\n\n"
        "args = tyro.cli(Args)\nimport json  # imported after the parse\n\n\nclass SGD:\n"
        "    def __init__(self, lr):\n        self.lr = lr\n\n\n"
        "print(args.name, json.dumps(SGD(lr=0.3).lr))\n"
    )
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert plan.parser_mode == "pass_through"
    assert plan.new_source.index("sys.argv[1:] = _aft_rest") < plan.new_source.index("args = tyro.cli(Args)")
    script.write_text(plan.new_source)
    result = run(script, "--lr", "0.5", "--name", "x")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "x 0.5\n"
