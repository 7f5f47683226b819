"""The outputs layout shared with the original AutoFineTuner.

    outputs/
      model.pt | model/     best trial's artifact
      result.json           latest trial
      results.json          every trial
      metadata.json         the experiment: target, space, strategy, best params and how chosen
      <run-id>/<run-id>.log one folder per run (plus its own result.json, metrics, artifact)
      .aft.lock             held while any session updates the files above (see file_lock)

Several sessions may write here at once. Every update holds the lock and merges into the files as
they are at that moment; the best model is the best of every session's trials (`keep_if_best`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

from aft_tui.errors import UserError
from aft_tui.fsutil import (CorruptJSON, atomic_write_json, atomic_write_text, json_text, keep_aside, number,
                            parse_json_bytes, read_json)
from aft_tui.runs.file_lock import locked
from aft_tui.runs.results_format import (EMPTY, Snapshot, array_item, file_identity, is_record, list_text,
                                         record_order, records_problem, salvage)

# Held around every read-modify-write of results.json and the files that go with it (see file_lock).
LOCK_NAME = ".aft.lock"


def _stderr(sentence: str) -> None:
    print(f"aft: {sentence}", file=sys.stderr)


class Outputs:
    """The outputs folder of a project, safe to share between sessions running at the same time.

    `recover` gives the trial records kept outside outputs/ (the git notes), used with the run
    folders' copies when results.json has to be rebuilt. `warn` receives one sentence when a file
    is found corrupt and set aside.
    """

    def __init__(self, root: Path, recover: Callable[[], list[dict[str, Any]]] | None = None,
                 warn: Callable[[str], None] | None = None) -> None:
        self.root = Path(root)
        self.recover = recover
        self.warn: Callable[[str], None] = warn or _stderr
        self._cache: Snapshot | None = None  # results.json as last read or written

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

    # -- results.json ---------------------------------------------------------------------
    @property
    def results_path(self) -> Path:
        return self.root / "results.json"

    def lock(self) -> Any:
        """The lock every writer of results.json (in any session) holds while it reads and writes."""
        return locked(self.root / LOCK_NAME)

    def results(self) -> list[dict[str, Any]]:
        """Every trial's record, newest last.

        The tuning loop asks for this several times per trial, and with a long session parsing
        the whole file each time dominated a trial's bookkeeping. The parse is kept until the
        file changes (every writer replaces it, so its identity changes). Each call gets its own
        shallow copies of the records. A corrupt file is set aside and rebuilt (see `_repair`).
        """
        return [dict(r) for r in self._load().records]

    def _load(self) -> "Snapshot":
        path = self.results_path
        try:
            key = file_identity(path)
            if self._cache is not None and self._cache.key == key:
                return self._cache
            raw = path.read_bytes()
        except FileNotFoundError:
            self._cache = None
            return EMPTY
        parsed = self._parse(raw)
        if parsed is None:
            return self._repair()
        self._cache = Snapshot(key, parsed[0], None, raw, parsed[1])
        return self._cache

    def _parse(self, raw: bytes) -> tuple[list[dict[str, Any]], bool] | None:
        """The records in results.json's bytes and whether the text can be appended to as it is
        (no bare NaN/Infinity from an older writer); None when they are not a list of records."""
        bare: list[str] = []
        try:
            data = parse_json_bytes(raw, self.results_path, parse_constant=lambda c: bare.append(c) or float(c))
        except CorruptJSON:
            return None
        return (data, not bare) if records_problem(data) is None else None

    def _fresh(self) -> "Snapshot":
        """results.json as it is now (call with the lock held).

        The bytes are compared with the last ones this process read or wrote, so an unchanged file
        is not parsed again; any other writer's change is seen, whatever its timestamps say.
        """
        path = self.results_path
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return EMPTY
        if self._cache is not None and self._cache.raw == raw:
            return self._cache
        parsed = self._parse(raw)
        if parsed is None:
            return self._repair()
        self._cache = Snapshot(file_identity(path), parsed[0], None, raw, parsed[1])
        return self._cache

    def _repair(self) -> "Snapshot":
        """Set a corrupt results.json aside and rebuild it from the other copies of each record.

        Each record is also in its run folder (outputs/<run-id>/result.json, the most complete
        copy), in the readable part of the damaged file, and in the git note on its trial commit;
        the rebuilt list is their union, one record per run. The damaged file is kept next to it
        as results.json.corrupt-<time>. The sentence says what happened, once.
        """
        path = self.results_path
        try:
            with self.lock():
                try:
                    raw = path.read_bytes()
                except FileNotFoundError:
                    self._cache = None
                    return EMPTY
                try:
                    data = parse_json_bytes(raw, path)
                    why = records_problem(data)
                except CorruptJSON as exc:
                    why = exc.why
                if why is None:  # another session repaired it while this one waited for the lock
                    self._cache = None
                    return self._fresh()
                records, sources = self._rebuild(raw)
                aside = keep_aside(path)
                texts = [array_item(r) for r in records]
                text = list_text(texts)
                atomic_write_text(path, text)
                self._cache = Snapshot(file_identity(path), [json.loads(t) for t in texts], texts,
                                        text.encode("utf-8"), True)
        except OSError as exc:  # a read-only folder: show what the copies hold, change nothing
            try:
                raw, key = path.read_bytes(), file_identity(path)
            except OSError:
                raw, key = b"", ()
            records, sources = self._rebuild(raw)
            self.warn(f"{path} is corrupt and could not be repaired ({exc.strerror or exc}); "
                      f"showing the {len(records)} records found in {sources}.")
            self._cache = Snapshot(key, records, None, raw, False)  # said once, not at every read
            return self._cache
        self.warn(f"{path} was corrupt ({why}); it was kept as {aside.name} and rebuilt with "
                  f"{len(records)} records from {sources}.")
        return self._cache

    def _rebuild(self, damaged: bytes) -> tuple[list[dict[str, Any]], str]:
        by_run: dict[str, dict[str, Any]] = {}
        counts = {"notes": 0, "file": 0, "folders": 0}
        if self.recover is not None:
            try:
                noted = self.recover()
            except Exception as exc:  # the notes are a last resort; the run folders still count
                self.warn(f"The git notes could not be read to rebuild {self.results_path} ({exc}).")
                noted = []
            for record in noted:
                if is_record(record):
                    by_run[record["run_id"]] = record
                    counts["notes"] += 1
        for record in salvage(damaged):
            by_run[record["run_id"]] = record
            counts["file"] += 1
        for record in self.run_records():
            by_run[record["run_id"]] = record
            counts["folders"] += 1
        sources = [f"{counts['folders']} run folders"]
        if counts["file"]:
            sources.append(f"{counts['file']} readable records of the damaged file")
        if counts["notes"]:
            sources.append(f"{counts['notes']} git notes")
        return sorted(by_run.values(), key=record_order), ", ".join(sources)

    def run_records(self) -> Iterator[dict[str, Any]]:
        """The record in each run folder (outputs/<run-id>/result.json), skipping a corrupt one with a warning.

        A run folder's result.json may also be the file a script wrote itself before AFT replaced
        it with the record; only a record naming this very run counts.
        """
        try:
            folders = sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return
        for folder in folders:
            path = folder / "result.json"
            try:
                data = read_json(path)
            except CorruptJSON as exc:
                self.warn(f"{path} is corrupt ({exc.why}); skipped.")
                continue
            except OSError:
                continue
            if is_record(data) and data["run_id"] == folder.name and "session" in data:
                yield data

    def write_result(self, result: dict[str, Any]) -> None:
        """Write the trial's result.json, the latest result.json and merge into results.json.

        Under the outputs lock, so sessions sharing the folder never lose each other's records:
        the record is merged into results.json as read now, not as this process last saw it.
        Only results.json, the record every other file can be rebuilt from, is synced to disk;
        the two copies are replaced atomically without an fsync each (milliseconds per trial).
        results.json is assembled from each record's JSON text, kept from the previous write,
        so a trial serialises its own record only; the file is the same as dumping the list.
        """
        run_id = result["run_id"]
        text = json_text(result)
        item = "  " + text.replace("\n", "\n  ")  # as array_item, without serialising twice
        with self.lock():
            atomic_write_text(self.run_dir(run_id) / "result.json", text + "\n", durable=False)
            atomic_write_text(self.root / "result.json", text + "\n", durable=False)
            now = self._fresh()
            records = now.records
            if now.clean and now.texts is None and all(r.get("run_id") != run_id for r in records):
                # Another session wrote last: append to its text rather than serialise every record
                # again while the other sessions wait for the lock.
                head = now.raw.decode("utf-8").rstrip()[:-1].rstrip()  # the list without its "]"
                joined = head + (",\n" if records else "\n") + item + "\n]\n"
                texts = None
            else:
                texts = now.texts if now.texts is not None else [array_item(r) for r in records]
                keep = [i for i, r in enumerate(records) if r.get("run_id") != run_id]
                texts = [texts[i] for i in keep] + [item]
                records = [records[i] for i in keep]
                joined = list_text(texts)
            # The cached record is the file's view of it, not the caller's dict (which may change).
            records = records + [json.loads(item)]
            path = self.results_path
            atomic_write_text(path, joined)
            self._cache = Snapshot(file_identity(path), records, texts, joined.encode("utf-8"), True)

    # -- metadata.json ----------------------------------------------------------------------
    def write_metadata(self, metadata: dict[str, Any]) -> None:
        with self.lock():
            self._corrupt_metadata_aside()
            atomic_write_json(self.root / "metadata.json", metadata)

    def metadata(self) -> dict[str, Any]:
        """The experiment's metadata; {} when there is none, or when it was corrupt (then set aside)."""
        try:
            data = read_json(self.root / "metadata.json", default={})
        except CorruptJSON:
            data = None
        if isinstance(data, dict):
            return data
        try:
            with self.lock():
                self._corrupt_metadata_aside()
        except OSError as exc:  # a read-only folder: say so, change nothing
            self.warn(f"{self.root / 'metadata.json'} is corrupt and could not be set aside ({exc.strerror or exc}).")
        return {}

    def _corrupt_metadata_aside(self) -> None:
        """metadata.json is rewritten at each session's end; a corrupt one is kept aside, not overwritten."""
        path = self.root / "metadata.json"
        try:
            data = read_json(path, default={})
            why = None if isinstance(data, dict) else f"it holds a JSON {type(data).__name__} instead of an object"
        except CorruptJSON as exc:
            why = exc.why
        if why is not None:
            aside = keep_aside(path)
            self.warn(f"{path} was corrupt ({why}); it was kept as {aside.name} and is written again "
                      "when a session ends.")

    # -- the best model -----------------------------------------------------------------------
    def keep_if_best(self, record: dict[str, Any], artifact: Path) -> Path | None:
        """Copy `record`'s artifact to outputs/model* when it is the project's best for its objective.

        Sessions running at the same time share outputs/model*, so the rule is decided under the
        outputs lock against every record in results.json, not this session's: the artifact is
        kept when no other successful trial with the same metric and direction that saved a model
        did as well or better (an earlier equal trial keeps its place). Returns where it was kept,
        or None when another trial's model stays.
        """
        value = number(record.get("value"))
        if record.get("status") != "ok" or value is None or not math.isfinite(value):
            return None
        maximise = record.get("direction") == "max"
        with self.lock():
            for other in self._fresh().records:
                if (other.get("run_id") == record.get("run_id") or other.get("status") != "ok"
                        or not other.get("model_path") or other.get("metric") != record.get("metric")
                        or other.get("direction") != record.get("direction")):
                    continue
                theirs = number(other.get("value"))
                if theirs is not None and math.isfinite(theirs) and (theirs >= value if maximise else theirs <= value):
                    return None
            return self.keep_best(artifact)

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
