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
        self._parsed: tuple[tuple[int, int, int], list[Any]] | None = None

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
        """Every trial's record, newest last.

        The tuning loop asks for this several times per trial; parsing the whole file each time
        made a trial's bookkeeping grow with the session's length. The parse is kept until the
        file changes (any writer replaces it, so its inode, size or mtime change). Each call gets
        its own shallow copies of the records.
        """
        return [dict(r) if isinstance(r, dict) else r for r in self._records()]

    def _records(self) -> list[Any]:
        path = self.root / "results.json"
        try:
            info = os.stat(path)
        except FileNotFoundError:
            self._parsed = None
            return []
        key = (info.st_ino, info.st_mtime_ns, info.st_size)
        if self._parsed is not None and self._parsed[0] == key:
            return self._parsed[1]
        data = read_json(path, default=[])
        records = data if isinstance(data, list) else []
        self._parsed = (key, records)
        return records

    def write_result(self, result: dict[str, Any]) -> None:
        """Write the trial's result.json, the latest result.json and merge into results.json.

        Only results.json, the record every other file can be rebuilt from, is synced to disk;
        the two copies are replaced atomically without an fsync each (milliseconds per trial).
        """
        run_id = result["run_id"]
        atomic_write_json(self.run_dir(run_id) / "result.json", result, durable=False)
        atomic_write_json(self.root / "result.json", result, durable=False)
        results = [r for r in self._records() if not isinstance(r, dict) or r.get("run_id") != run_id]
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
