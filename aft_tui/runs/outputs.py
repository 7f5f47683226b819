"""The outputs layout shared with the original AutoFineTuner.

    outputs/
      model.pt | model/     best trial's artifact
      result.json           latest trial
      results.json          every trial
      metadata.json         the experiment: target, space, strategy, best params and how chosen
      <run-id>/<run-id>.log one folder per run (plus its own result.json, metrics, artifact)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from aft_tui.errors import UserError
from aft_tui.fsutil import atomic_write_json, read_json


class Outputs:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def ensure_writable(self) -> None:
        """Fail before any trial runs rather than after an hour of training."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".aft-probe-", dir=self.root)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise UserError(
                f"The outputs folder {self.root} is not writable ({exc.strerror or exc}); "
                "fix its permissions or pass --outputs DIR."
            ) from None

    def run_dir(self, run_id: str) -> Path:
        return self.root / run_id

    def log_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / f"{run_id}.log"

    def metrics_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / "metrics.jsonl"

    def results(self) -> list[dict[str, Any]]:
        data = read_json(self.root / "results.json", default=[])
        return data if isinstance(data, list) else []

    def write_result(self, result: dict[str, Any]) -> None:
        """Write the trial's result.json, the latest result.json and merge into results.json."""
        run_id = result["run_id"]
        atomic_write_json(self.run_dir(run_id) / "result.json", result)
        atomic_write_json(self.root / "result.json", result)
        results = [r for r in self.results() if r.get("run_id") != run_id]
        results.append(result)
        atomic_write_json(self.root / "results.json", results)

    def write_metadata(self, metadata: dict[str, Any]) -> None:
        atomic_write_json(self.root / "metadata.json", metadata)

    def metadata(self) -> dict[str, Any]:
        data = read_json(self.root / "metadata.json", default={})
        return data if isinstance(data, dict) else {}

    def keep_best(self, artifact: Path) -> Path:
        """Copy the best trial's artifact to outputs/model.<ext> (or outputs/model/ for a directory)."""
        artifact = Path(artifact)
        if artifact.is_dir():
            dest = self.root / "model"
            tmp = self.root / ".model.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(artifact, tmp, symlinks=True)
            shutil.rmtree(dest, ignore_errors=True)
            os.replace(tmp, dest)
            return dest
        suffix = artifact.suffix or ".pt"
        dest = self.root / f"model{suffix}"
        tmp = self.root / f".model{suffix}.tmp"
        shutil.copy2(artifact, tmp)
        os.replace(tmp, dest)
        return dest
