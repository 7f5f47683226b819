"""Every use of Optuna's private API, in one place, each with the reason and its public way out.

AFT drives Optuna by ask-and-tell, outside `study.optimize`, and explains prunes in numbers;
both need a few things Optuna does not publish. They live here, and only here, so an Optuna
release that moves one fails `tests/tuning/test_optuna_adapter.py` by the function's name
instead of a trial somewhere in the middle of a session. Each function says what would
replace it if Optuna made it public. Optuna is imported lazily: it is heavy.
"""

from __future__ import annotations

import json
from typing import Any


def unsynced_journal_backend(path: str) -> Any:
    """Optuna's journal file backend, appending without an fsync per entry.

    The stock backend syncs the disk on every append, and a trial makes about five (ask, its
    parameters, intermediate values, tell): at several milliseconds per fsync that was the
    largest part of AFT's own cost per trial. Appends still take the backend's file lock and
    land in one write, so a process killed at any point leaves whole lines, and the tuning loop
    reconciles the study with outputs/results.json (which is synced) on resume.

    Private part: the file's line format (one compact JSON object per line, which the stock
    `read_logs` parses). The lock is the public `JournalFileSymlinkLock` handed to the public
    constructor, kept by this class rather than read from the backend. Public replacement: an
    option on `JournalFileBackend` to skip the fsync.
    """
    from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

    class UnsyncedJournalFile(JournalFileBackend):
        def __init__(self, file_path: str) -> None:
            self._aft_path = file_path
            self._aft_lock = JournalFileSymlinkLock(file_path)
            super().__init__(file_path, lock_obj=self._aft_lock)

        def append_logs(self, logs: list[dict[str, Any]]) -> None:
            payload = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs).encode("utf-8")
            self._aft_lock.acquire()
            try:
                with open(self._aft_path, "ab") as fh:
                    fh.write(payload)
            finally:
                self._aft_lock.release()

    return UnsyncedJournalFile(path)


def _trial_id(trial: Any) -> int:
    """The storage's id of a live Trial or a FrozenTrial (`number` is per study, not the key)."""
    return trial._trial_id


def set_trial_system_attr(study: Any, trial: Any, key: str, value: Any) -> None:
    """Write a system attribute of a trial that is already running.

    Needed by the ask-and-tell grid sampler (`tuning/strategies.py`), which, like Optuna's own
    GridSampler, records the grid point a trial sits on as system attributes in `before_trial`.
    Private parts: `study._storage` and `trial._trial_id`. Public replacement: none since
    `Trial.set_system_attr` was removed; a `GridSampler` hook to choose the next grid point would
    make this unnecessary.
    """
    study._storage.set_trial_system_attr(_trial_id(trial), key, value)


def set_trial_user_attr(study: Any, trial: Any, key: str, value: Any) -> None:
    """Write a user attribute of a trial that may be a FrozenTrial from `study.get_trials`.

    A live Trial has the public `set_user_attr`, used when there is one. Reconciling the study
    after a crash tells trials the session only knows as FrozenTrials, and their labels
    (`aft_status`, `aft_penalised`) must still be written. Private parts: `study._storage` and
    `trial._trial_id`. Public replacement: a study method that sets a trial's user attribute by
    trial number.
    """
    if hasattr(trial, "set_user_attr") and not hasattr(trial, "state"):
        trial.set_user_attr(key, value)
        return
    study._storage.set_trial_user_attr(_trial_id(trial), key, value)


def grid_param_names(sampler: Any) -> list[str]:
    """A GridSampler's parameter names, in the order of the values of each grid point.

    Needed to find which grid point an enqueued trial (fixed parameters) sits on. Private part:
    `GridSampler._param_names`. Public replacement: the grid's points made public.
    """
    return list(sampler._param_names)


def grid_points(sampler: Any) -> list[tuple[Any, ...]]:
    """A GridSampler's points in its seeded order; a point's index is its `grid_id`.

    AFT runs the first point not yet visited, so the order has to be the sampler's own (it is
    shuffled with Optuna's seeded random state, which AFT cannot reproduce). Private part:
    `GridSampler._all_grids`. Public replacement: the grid's points made public.
    """
    return list(sampler._all_grids)


def grid_search_space(sampler: Any) -> dict[str, list[Any]]:
    """The search space a GridSampler stores beside a trial's `grid_id`, as the sampler stores it.

    Its own `_get_unvisited_grid_ids` and `is_exhausted` count only the trials whose stored
    space equals this one, so AFT must store exactly this object. Private part:
    `GridSampler._search_space`. Public replacement: the grid's points made public.
    """
    return sampler._search_space


def unvisited_grid_ids(sampler: Any, study: Any) -> list[int]:
    """The grid points of a GridSampler that have neither run nor are running.

    Private part: `GridSampler._get_unvisited_grid_ids` (the public `is_exhausted` answers only
    whether the list is empty). Public replacement: that method made public.
    """
    return list(sampler._get_unvisited_grid_ids(study))


def hyperband_bracket(pruner: Any, study: Any, trial: Any) -> int | None:
    """The bracket a trial belongs to under a HyperbandPruner, or None for another pruner.

    A prune is explained by comparing the trial with the trials of its own bracket, as Hyperband
    does. Private part: `HyperbandPruner._get_bracket_id`. Public replacement: a public bracket
    lookup on HyperbandPruner.
    """
    get_bracket = getattr(pruner, "_get_bracket_id", None)
    return int(get_bracket(study, trial)) if callable(get_bracket) else None


def hyperband_bracket_count(pruner: Any) -> int | None:
    """How many brackets a HyperbandPruner has (None before its first prune decision).

    Shown as "bracket 2 of 4" in a prune's reason. Private part: `HyperbandPruner._n_brackets`.
    Public replacement: a public property.
    """
    count = getattr(pruner, "_n_brackets", None)
    return int(count) if count else None


def hyperband_reduction_factor(pruner: Any, default: int = 3) -> int:
    """A HyperbandPruner's reduction factor: the top 1/factor of a rung continue.

    Private part: `HyperbandPruner._reduction_factor` (AFT sets 3, the default here, when it
    makes the pruner). Public replacement: a public property.
    """
    return int(getattr(pruner, "_reduction_factor", default))


RUNG_PREFIX = "completed_rung_"
"""The system-attribute key under which successive halving stores a trial's value at rung N."""


def completed_rungs(trial: Any) -> dict[int, float]:
    """{rung: the trial's value there} as successive halving (inside Hyperband) recorded it.

    Private part: the `completed_rung_<N>` system-attribute keys of SuccessiveHalvingPruner.
    Public replacement: none; a pruner that returned its comparison with its decision would
    make recomputing it unnecessary.
    """
    attrs = getattr(trial, "system_attrs", None) or {}
    return {int(k[len(RUNG_PREFIX):]): float(v) for k, v in attrs.items()
            if k.startswith(RUNG_PREFIX) and k[len(RUNG_PREFIX):].isdigit()}
