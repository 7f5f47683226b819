"""Tuning tests drive the real engine in-process: real git projects, real subprocess trials,
real Optuna journal storage. The scripts here are tiny pure-Python "training" runs so a whole
session takes a few seconds."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git

# Validation accuracy of a pretend run: best at lr=0.01, width 64 and 'adam'; bad settings are
# worse from the first epoch on. AFT_TEST_SLEEP (seconds per epoch) gives pruning time to act.
# --crash-above makes runs with a larger lr die like an out-of-memory error; a lr above 0.08
# makes the metric NaN from epoch 2 (diverged).
CURVE = textwrap.dedent('''\
    import argparse, json, math, os, sys, time
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--width", type=int, default=32, choices=[16, 32, 64])
    parser.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    args = parser.parse_args()
    sleep = float(os.environ.get("AFT_TEST_SLEEP", "0"))
    crash = float(os.environ.get("AFT_TEST_CRASH_ABOVE", "inf"))
    if args.lr > crash:
        print("RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB")
        sys.exit(1)
    quality = 0.95 - 0.15 * abs(math.log10(args.lr) + 2) - 0.02 * (args.width != 64) - 0.05 * (args.optimizer == "sgd")
    if os.environ.get("AFT_TEST_GPU_LOG"):
        with open(os.environ["AFT_TEST_GPU_LOG"], "a") as fh:
            fh.write(json.dumps({"lr": args.lr, "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
                                 "start": time.time()}) + "\\n")
    for epoch in range(1, args.epochs + 1):
        time.sleep(sleep)
        value = quality - 0.3 * 0.5 ** epoch
        if args.lr > 0.08 and epoch >= 2:
            value = float("nan")
        print(f"epoch {epoch} val_acc={value!r}", flush=True)
        if os.environ.get("AFT_METRICS"):
            with open(os.environ["AFT_METRICS"], "a") as fh:
                fh.write(json.dumps({"epoch": epoch, "val_acc": value}) + "\\n")
    ''')


@pytest.fixture
def curve_project(git_project) -> Path:
    project = git_project()
    (project / "train.py").write_text(CURVE)
    git(project, "add", "train.py")
    git(project, "commit", "-q", "-m", "add train.py")
    return project


def make_settings(**values: Any) -> Any:
    from aft_tui.settings import Settings

    settings = Settings()
    known = {k: v for k, v in values.items() if k in Settings.__dataclass_fields__}
    settings.update({"metric": "val_acc", "direction": "max", "yes": True, "pruner": "none", **known}, "the test")
    for key, value in values.items():  # settings this area reads with getattr (not user-facing yet)
        if key not in Settings.__dataclass_fields__:
            setattr(settings, key, value)
    return settings


async def tune(project: Path, trials: int, **values: Any) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    """One real tuning session on project/train.py; returns (summary, this session's records, engine)."""
    from aft_tui.engine.engine import Engine

    engine = Engine.open(project / "train.py", make_settings(trials=trials, **values), project=project)
    await engine.start()
    try:
        summary = await engine.tune(trials)
    finally:
        engine.close("test over")
    records = sorted(engine.runs(), key=lambda r: r["number"])
    return summary, records, engine


def session_events(engine: Any) -> list[dict[str, Any]]:
    from aft_tui.engine.session import log_path

    path = log_path(engine.state_dir, engine.session_id)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_study(engine: Any) -> Any:
    import optuna

    from aft_tui.tuning.study import storage_for

    return optuna.load_study(study_name=engine.session_id, storage=storage_for(engine.state_dir))
