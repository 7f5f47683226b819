"""The plain PyTorch cookbook targets are real training scripts: run them as users would.

Each test copies cookbook/targets/ to a temporary folder and runs a script there as a
subprocess, so the tests see exactly what `python script.py` does on a fresh checkout.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the example targets need the 'examples' extra")

TARGETS = Path(__file__).resolve().parents[2] / "cookbook" / "targets"

# script -> (regex of its final metric line, model file it writes, per-epoch line prefix, epochs)
SCRIPTS = {
    "mlp_classifier.py": (r"^final val_acc=(\S+)$", "model.pt", "epoch ", 5),
    "target.py": (r"^validation: (\S+)$", "model.pt", "Epoch ", 5),
    "cnn_kwargs.py": (r"^val_acc: (\S+)$", "cnn.pt", "epoch ", 4),
    "yaml_regressor.py": (r"^val_mse: (\S+)$", "regressor.pt", "epoch ", 8),
}


@dataclass
class Run:
    folder: Path
    stdout: str

    def metric(self, script: str) -> float:
        pattern = SCRIPTS[script][0]
        found = re.findall(pattern, self.stdout, flags=re.MULTILINE)
        assert found, f"no final metric line in output:\n{self.stdout}"
        return float(found[-1])


def copy_targets(dest: Path) -> Path:
    """Copy the plain PyTorch examples (top-level files only) as a user would find them."""
    folder = dest / "targets"
    folder.mkdir()
    for name in example_files():
        shutil.copy2(TARGETS / name, folder / name)
    return folder


def example_files() -> set[str]:
    return {p.name for p in TARGETS.iterdir()
            if p.is_file() and p.suffix in {".py", ".yaml", ".md"}}


def start_script(folder: Path, script: str, *args: str, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AFT_")}
    base.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", **(env or {}))
    return subprocess.Popen(
        [sys.executable, str(folder / script), *args], cwd=cwd or folder, env=base,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(proc: subprocess.Popen[str], folder: Path) -> Run:
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, f"{proc.args} failed:\n{stdout}\n{stderr}"
    return Run(folder, stdout)


def run_script(folder: Path, script: str, *args: str, cwd: Path | None = None,
               env: dict[str, str] | None = None) -> Run:
    return finish(start_script(folder, script, *args, cwd=cwd, env=env), folder)


@pytest.fixture(scope="module")
def default_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Each script run once at its defaults, in its own fresh copy; shared by several tests.

    The runs are independent single-threaded processes, so they are started side by side.
    """
    folders = {s: copy_targets(tmp_path_factory.mktemp(s.removesuffix(".py"))) for s in SCRIPTS}
    procs = {s: start_script(folder, s) for s, folder in folders.items()}
    return {s: finish(proc, folders[s]) for s, proc in procs.items()}


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_runs_with_no_flags(default_runs: dict[str, Run], script: str) -> None:
    _, model_file, epoch_prefix, epochs = SCRIPTS[script]
    run = default_runs[script]
    epoch_lines = [ln for ln in run.stdout.splitlines() if ln.startswith(epoch_prefix)]
    assert len(epoch_lines) == epochs
    value = run.metric(script)
    assert math.isfinite(value)
    state = torch.load(run.folder / model_file, weights_only=True)
    assert state and all(isinstance(t, torch.Tensor) for t in state.values())
    # Nothing else is written next to the script: no metrics file without AFT_METRICS.
    produced = {p.name for p in run.folder.iterdir()} - example_files()
    assert produced == {model_file}


def test_defaults_are_reasonable_but_improvable(default_runs: dict[str, Run]) -> None:
    metrics = {script: default_runs[script].metric(script) for script in SCRIPTS}
    assert 0.7 < metrics["mlp_classifier.py"] < 0.9
    assert 0.65 < metrics["target.py"] < 0.9
    assert 0.7 < metrics["cnn_kwargs.py"] < 0.95
    assert 0.05 < metrics["yaml_regressor.py"] < 0.5


def test_mlp_classifier_prints_the_exact_line_formats(default_runs: dict[str, Run]) -> None:
    lines = default_runs["mlp_classifier.py"].stdout.splitlines()
    assert re.fullmatch(r"epoch 1 train_loss=\d+\.\d{4} val_loss=\d+\.\d{4} val_acc=\d\.\d{4}",
                        lines[0])
    assert lines[-2] == "model saved to model.pt"
    assert re.fullmatch(r"final val_acc=\d\.\d{4}", lines[-1])


def test_mlp_classifier_honours_aft_metrics_and_run_dir(tmp_path: Path) -> None:
    folder = copy_targets(tmp_path)
    run_dir = tmp_path / "runs" / "trial-1"
    metrics = tmp_path / "metrics.jsonl"
    run = run_script(folder, "mlp_classifier.py", "--epochs", "2",
                     env={"AFT_METRICS": str(metrics), "AFT_RUN_DIR": str(run_dir)})
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert set(records[0]) == {"epoch", "train_loss", "val_loss", "val_acc"}
    assert records[-1]["val_acc"] == pytest.approx(run.metric("mlp_classifier.py"), abs=1e-4)
    assert (run_dir / "model.pt").is_file()
    assert not (folder / "model.pt").exists()
    assert f"model saved to {run_dir / 'model.pt'}" in run.stdout


def test_mlp_classifier_better_lr_and_epochs_beat_defaults(
        default_runs: dict[str, Run], tmp_path: Path) -> None:
    default = default_runs["mlp_classifier.py"].metric("mlp_classifier.py")
    tuned = run_script(copy_targets(tmp_path), "mlp_classifier.py", "--lr", "0.01",
                       "--epochs", "6").metric("mlp_classifier.py")
    assert tuned > default + 0.05


def test_mlp_classifier_is_deterministic_for_a_seed(
        default_runs: dict[str, Run], tmp_path: Path) -> None:
    first = default_runs["mlp_classifier.py"]
    again = run_script(copy_targets(tmp_path), "mlp_classifier.py")
    assert again.stdout == first.stdout


def test_mlp_classifier_reports_divergence_as_nan_without_crashing(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.jsonl"
    run = run_script(copy_targets(tmp_path), "mlp_classifier.py", "--optimizer", "sgd",
                     "--lr", "1000", "--epochs", "2", env={"AFT_METRICS": str(metrics)})
    assert "val_loss=nan" in run.stdout
    assert math.isnan(run.metric("mlp_classifier.py"))
    last = json.loads(metrics.read_text().splitlines()[-1])
    assert math.isnan(last["val_loss"])


def test_yaml_regressor_reads_its_config_from_its_own_folder(
        default_runs: dict[str, Run], tmp_path: Path) -> None:
    folder = copy_targets(tmp_path)
    config = folder / "yaml_regressor.yaml"
    text = config.read_text()
    text = re.sub(r"learning_rate: \S+", "learning_rate: 0.01", text)
    text = re.sub(r"epochs: \d+", "epochs: 10", text)
    config.write_text(text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = run_script(folder, "yaml_regressor.py", cwd=elsewhere)
    assert run.stdout.count("val_mse:") == 11
    assert (elsewhere / "regressor.pt").is_file()
    default = default_runs["yaml_regressor.py"].metric("yaml_regressor.py")
    assert run.metric("yaml_regressor.py") < default / 2
