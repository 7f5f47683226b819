"""Optuna study persistence: one journal file per project, one study per session.

The journal backend is an append-only file, so a session killed with SIGKILL leaves every
finished trial readable and the study can be resumed. Optuna is imported lazily.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from aft_tui.tuning.optuna_adapter import unsynced_journal_backend


def storage_for(state_dir: Path) -> Any:
    import optuna
    from optuna.storages import JournalStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Experimental/deprecation notices are for library developers, not for the person tuning.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    path = Path(state_dir) / "optuna.journal"
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(unsynced_journal_backend(str(path)))


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
