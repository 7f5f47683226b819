"""Optuna study persistence: one journal file per project, one study per session.

The journal backend is an append-only file, so a session killed with SIGKILL leaves every
finished trial readable and the study can be resumed. Optuna is imported lazily.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def storage_for(state_dir: Path) -> Any:
    import optuna
    from optuna.storages import JournalStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Experimental/deprecation notices are for library developers, not for the person tuning.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    path = Path(state_dir) / "optuna.journal"
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(_journal_file(str(path)))


def _journal_file(path: str) -> Any:
    """Optuna's journal file, appended without an fsync per entry.

    The stock backend syncs the disk on every append, and a trial makes about five (ask, its
    parameters, intermediate values, tell): at several milliseconds per fsync that was the largest
    part of AFT's own cost per trial. Appends still go through Optuna's lock and land in one
    write, so a process killed at any point leaves whole lines, and the tuning loop reconciles
    the study with outputs/results.json (which is synced) on resume.
    """
    import json

    from optuna.storages.journal import JournalFileBackend

    class UnsyncedJournalFile(JournalFileBackend):
        def append_logs(self, logs: list[dict[str, Any]]) -> None:
            lock, file_path = getattr(self, "_lock", None), getattr(self, "_file_path", None)
            if lock is None or file_path is None:  # another Optuna layout: keep its own behaviour
                super().append_logs(logs)
                return
            payload = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs).encode("utf-8")
            lock.acquire()
            try:
                with open(file_path, "ab") as fh:
                    fh.write(payload)
            finally:
                lock.release()

    return UnsyncedJournalFile(path)


def open_study(state_dir: Path, session_id: str, direction: str, sampler: Any, pruner: Any) -> Any:
    import optuna

    return optuna.create_study(
        study_name=session_id,
        storage=storage_for(state_dir),
        direction="maximize" if direction == "max" else "minimize",
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
