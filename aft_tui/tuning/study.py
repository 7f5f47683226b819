"""Optuna study persistence: one journal file per project, one study per session.

The journal backend is an append-only file, so a session killed with SIGKILL leaves every
finished trial readable and the study can be resumed. Optuna is imported lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def storage_for(state_dir: Path) -> Any:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = Path(state_dir) / "optuna.journal"
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


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
