"""The outputs layout shared with the original AutoFineTuner.

    outputs/
      model.pt | model/     best trial's artifact
      result.json           latest trial
      results.json          every trial
      metadata.json         the experiment: target, space, strategy, best params and how chosen
      <run-id>/<run-id>.log one folder per run (plus its own result.json, metrics, artifact)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from aft_tui.errors import UserError
from aft_tui.fsutil import atomic_write_json, atomic_write_text, json_text, read_json


def _identity(path: Path) -> tuple[int, int, int]:
    info = os.stat(path)
    return info.st_ino, info.st_mtime_ns, info.st_size


def _array_item(record: Any) -> str:
    """A record's text as an element of the indented results list."""
    return "  " + json_text(record).replace("\n", "\n  ")


class Outputs:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        # results.json as last read or written: (file identity, records, each record's JSON text).
        self._cache: tuple[tuple[int, int, int], list[Any], list[str] | None] | None = None

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

    def adopt_run(self, old_id: str, new_id: str) -> None:
        """Give a finished run (a smoke run) a trial's id: its folder, log and metrics move over."""
        old_dir, new_dir = self.run_dir(old_id), self.run_dir(new_id)
        if new_dir.exists():
            raise FileExistsError(f"{new_dir} already exists")
        os.replace(old_dir, new_dir)
        old_log = new_dir / self.log_path(old_id).name
        if old_log.exists():
            os.replace(old_log, self.log_path(new_id))

    def results(self) -> list[dict[str, Any]]:
        """Every trial's record, newest last.

        The tuning loop asks for this several times per trial, and with a long session parsing
        the whole file each time dominated a trial's bookkeeping. The parse is kept until the
        file changes (every writer replaces it, so its inode, size or mtime change). Each call
        gets its own shallow copies of the records.
        """
        return [dict(r) if isinstance(r, dict) else r for r in self._load()[1]]

    def _load(self) -> tuple[tuple[int, int, int], list[Any], list[str] | None]:
        path = self.root / "results.json"
        try:
            key = _identity(path)
        except FileNotFoundError:
            self._cache = None
            return (0, 0, 0), [], []
        if self._cache is None or self._cache[0] != key:
            data = read_json(path, default=[])
            self._cache = (key, data if isinstance(data, list) else [], None)
        return self._cache

    def write_result(self, result: dict[str, Any]) -> None:
        """Write the trial's result.json, the latest result.json and merge into results.json.

        Only results.json, the record every other file can be rebuilt from, is synced to disk;
        the two copies are replaced atomically without an fsync each (milliseconds per trial).
        results.json is assembled from each record's JSON text, kept from the previous write,
        so a trial serialises its own record only; the file is the same as dumping the list.
        """
        run_id = result["run_id"]
        atomic_write_json(self.run_dir(run_id) / "result.json", result, durable=False)
        atomic_write_json(self.root / "result.json", result, durable=False)
        _, records, texts = self._load()
        if texts is None:
            texts = [_array_item(r) for r in records]
        keep = [i for i, r in enumerate(records) if not isinstance(r, dict) or r.get("run_id") != run_id]
        item = _array_item(result)
        texts = [texts[i] for i in keep] + [item]
        # The cached record is the file's view of it, not the caller's dict (which may change).
        records = [records[i] for i in keep] + [json.loads(item)]
        path = self.root / "results.json"
        atomic_write_text(path, "[\n" + ",\n".join(texts) + "\n]\n")
        self._cache = (_identity(path), records, texts)

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
