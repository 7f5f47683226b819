"""Records sessions/demo-mlp.jsonl from a real run of the bundled MLP example.

    python sessions/make_demo.py

It copies cookbook/targets/mlp_classifier.py into a fresh git repository in a temporary
folder, runs `aft tune mlp_classifier.py --trials 4 --metric val_acc --direction max --yes`
there, and copies the session log here. Absolute paths of the recording machine (the
temporary project, the interpreter, site-packages) are replaced by neutral ones so the file
says nothing about where it was made; nothing else is changed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "sessions" / "demo-mlp.jsonl"
PROJECT_NAME = "~/mlp-demo"


def _anonymise(value: Any, swaps: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for old, new in swaps:
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_anonymise(v, swaps) for v in value]
    if isinstance(value, dict):
        return {k: _anonymise(v, swaps) for k, v in value.items()}
    return value


def record(trials: int = 4) -> Path:
    with tempfile.TemporaryDirectory(prefix="aft-demo-") as tmp:
        project = Path(tmp) / "mlp-demo"
        project.mkdir()
        shutil.copy2(ROOT / "cookbook" / "targets" / "mlp_classifier.py", project / "mlp_classifier.py")
        (project / ".gitignore").write_text("outputs/\n")
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
               "GIT_AUTHOR_NAME": "AFT demo", "GIT_AUTHOR_EMAIL": "demo@aft.local",
               "GIT_COMMITTER_NAME": "AFT demo", "GIT_COMMITTER_EMAIL": "demo@aft.local"}
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "initial"]):
            subprocess.run(["git", *args], cwd=project, check=True, env=env)
        subprocess.run([sys.executable, "-m", "aft_tui", "tune", "mlp_classifier.py", "--trials", str(trials),
                        "--metric", "val_acc", "--direction", "max", "--yes"], cwd=project, check=True, env=env)
        (log,) = (project / ".aft" / "sessions").glob("*.jsonl")
        swaps = [(str(project.resolve()), PROJECT_NAME), (str(project), PROJECT_NAME),
                 (sysconfig.get_paths()["purelib"], "<site-packages>"), (sys.executable, "python")]
        lines = []
        for line in log.read_text(encoding="utf-8").splitlines():
            if line.strip():
                lines.append(json.dumps(_anonymise(json.loads(line), swaps), ensure_ascii=False))
        tmp_out = OUT.with_suffix(".tmp")
        tmp_out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp_out, OUT)
    return OUT


if __name__ == "__main__":
    print(f"Recorded {record()}")
