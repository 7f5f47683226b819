"""Mirror AFT's trials into an MLflow experiment (`--mlflow URI`).

A person who tracks experiments with MLflow should find AFT's trials where they already look:
one MLflow run per trial, holding its parameters, its per-epoch metric history (step = epoch),
its final value, its status, the commit that reproduces it and, when small, its log.

The mirror only watches the engine's events. It hands them to a background thread, so a slow
or unreachable tracking store never holds up the tuning loop, and a failure becomes a warning
in the session, never an error in the engine. MLflow is imported in that thread, once, so its
import cost overlaps with the first trial.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import queue
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any, Callable, TYPE_CHECKING

from aft_tui.engine import events as ev
from aft_tui.errors import UserError

if TYPE_CHECKING:
    from aft_tui.engine.engine import Engine

# Logs up to this size are attached to their MLflow run; larger ones are referenced by path.
MAX_LOG_ARTIFACT_BYTES = 5 * 1024 * 1024
# How long the end of a session waits for MLflow to catch up (a fresh SQLite store takes
# several seconds to create its tables).
DRAIN_TIMEOUT_S = 120.0
# MLflow's limits per log_batch request.
_BATCH_METRICS, _BATCH_PARAMS, _BATCH_TAGS = 1000, 100, 100
_MAX_TAG = 5000
_MAX_PARAM = 6000

# AFT's trial status -> MLflow's run status (the exact AFT status is kept as the aft.status tag).
RUN_STATUS = {"ok": "FINISHED", "pruned": "KILLED", "cancelled": "KILLED", "failed": "FAILED", "timeout": "FAILED"}

Lookup = Callable[[str], "dict[str, Any] | None"]
Warn = Callable[[str], None]


def mlflow_available() -> bool:
    if "mlflow" in sys.modules:
        return sys.modules["mlflow"] is not None
    return importlib.util.find_spec("mlflow") is not None


def default_experiment(project: str | Path, target: str | Path) -> str:
    """`<project folder>/<script>`: distinct per target, recognisable in MLflow's experiment list."""
    return f"{Path(project).name}/{Path(target).as_posix()}"


def artifact_root(uri: str) -> str | None:
    """Where runs of a new experiment keep their artifacts when the store is a SQLite file.

    Next to the database, as `mlflow ui` started in that folder would expect, rather than in
    whatever folder AFT happened to be started from.
    """
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or len(uri) == len(prefix):
        return None
    db = Path(uri[len(prefix):].split("?", 1)[0])
    if str(db) in (":memory:", ""):
        return None
    return (db.expanduser().resolve().parent / "mlruns").as_uri()


class MlflowMirror:
    """An engine subscriber that records each trial as an MLflow run."""

    def __init__(self, uri: str, experiment: str, session_id: str, *, lookup: Lookup, warn: Warn,
                 source: str = "") -> None:
        if not mlflow_available():
            raise UserError("--mlflow needs the mlflow package, which is not installed; run `pip install mlflow` "
                            "or drop --mlflow.")
        self.uri = uri
        self.experiment = experiment
        self.session_id = session_id
        self.source = source
        self.mirrored = 0  # trials recorded in full
        self._lookup = lookup
        self._warn = warn
        self._jobs: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
        self._runs: dict[str, str] = {}  # AFT run id -> MLflow run id (worker thread only)
        self._warnings: deque[str] = deque()
        self._errors = 0
        self._last_error = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="aft-mlflow", daemon=True)
        self._thread.start()

    # -- the subscriber (engine thread) ----------------------------------------------------
    def __call__(self, event: ev.Event) -> None:
        if self._loop is None:
            try:
                self._loop = asyncio.get_running_loop()
            except RuntimeError:
                pass
        if isinstance(event, ev.SessionStarted):
            self._report(f"Mirroring trials to MLflow: experiment '{self.experiment}' in {self.uri}.")
        elif isinstance(event, ev.TrialStarted):
            self._jobs.put(("start", event))
        elif isinstance(event, ev.TrialFinished):
            try:
                record = self._lookup(event.run_id)
            except Exception:  # the durable record adds the history; the event alone still mirrors
                record = None
            self._jobs.put(("finish", event, record))

    def drain(self, timeout: float = DRAIN_TIMEOUT_S) -> bool:
        """Wait until every queued trial is recorded; False when it took longer than `timeout`."""
        if not self._closed:
            self._closed = True
            self._jobs.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._warnings.append(f"MLflow mirror: stopped waiting for {self.uri} after {timeout:g} s; trials not "
                                  "recorded by then are missing from the experiment.")
            return False
        return True

    def close(self, timeout: float = DRAIN_TIMEOUT_S) -> None:
        """Drain, then report what went wrong (call from the engine's thread)."""
        self.drain(timeout)
        self._report_totals()

    async def aclose(self, timeout: float = DRAIN_TIMEOUT_S) -> None:
        """`close` without blocking the event loop while MLflow catches up."""
        await asyncio.to_thread(self.drain, timeout)
        self._report_totals()

    def _report_totals(self) -> None:
        if self._errors > 1:
            self._warnings.append(f"MLflow mirror: {self._errors} errors in all while recording trials; the last: "
                                  f"{self._last_error}")
        self._errors = min(self._errors, 1)  # reported once
        self._deliver()

    # -- warnings go back to the engine's thread ---------------------------------------------
    def _report(self, text: str) -> None:
        self._warnings.append(text)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._deliver)
            except RuntimeError:  # the loop closed meanwhile; close() delivers it
                pass

    def _deliver(self) -> None:
        while self._warnings:
            try:
                text = self._warnings.popleft()
            except IndexError:
                return
            self._warn(text)

    def _failed(self, what: str, exc: BaseException) -> None:
        self._errors += 1
        self._last_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        if self._errors == 1:
            self._report(f"MLflow mirror: could not {what} in {self.uri} ({self._last_error}); tuning goes on.")

    # -- the worker thread -----------------------------------------------------------------------
    def _work(self) -> None:
        client = None
        try:
            client, experiment_id = self._connect()
        except Exception as exc:
            self._failed(f"open the experiment '{self.experiment}'", exc)
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if client is None:
                continue
            kind, event = job[0], job[1]
            try:
                if kind == "start":
                    self._start(client, experiment_id, event)
                else:
                    self._finish(client, experiment_id, event, job[2])
                    self.mirrored += 1
            except Exception as exc:
                self._failed(f"record trial {event.number}", exc)

    def _connect(self) -> tuple[Any, str]:
        import logging

        from mlflow.tracking import MlflowClient

        # A new SQLite store announces its table creation at INFO; AFT's own output is enough.
        for name in ("mlflow.store.db.utils", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
        client = MlflowClient(tracking_uri=self.uri)
        experiment = client.get_experiment_by_name(self.experiment)
        if experiment is None:
            try:
                experiment_id = client.create_experiment(self.experiment, artifact_location=artifact_root(self.uri))
            except Exception:  # created by another process in the meantime
                experiment = client.get_experiment_by_name(self.experiment)
                if experiment is None:
                    raise
                experiment_id = experiment.experiment_id
        else:
            experiment_id = experiment.experiment_id
            if experiment.lifecycle_stage == "deleted":
                client.restore_experiment(experiment_id)
            self._end_stale_runs(client, experiment_id)
        return client, experiment_id

    def _end_stale_runs(self, client: Any, experiment_id: str) -> None:
        """Runs this session left RUNNING when it was killed: they will never finish, say so."""
        stale = client.search_runs([experiment_id], filter_string=f"tags.`aft.session` = '{self.session_id}' and "
                                                                  "attributes.status = 'RUNNING'")
        for run in stale:
            client.set_tag(run.info.run_id, "aft.status", "interrupted")
            client.set_terminated(run.info.run_id, status="KILLED")

    def _start(self, client: Any, experiment_id: str, event: ev.TrialStarted) -> None:
        tags = {"aft.session": self.session_id, "aft.run_id": event.run_id, "aft.trial": str(event.number),
                "aft.status": "running", "aft.commit": event.commit, "mlflow.source.git.commit": event.commit,
                "aft.rationale": event.rationale[:_MAX_TAG]}
        if self.source:
            tags["mlflow.source.name"] = self.source
        run = client.create_run(experiment_id, start_time=int(event.ts * 1000), tags=tags, run_name=event.run_id)
        self._runs[event.run_id] = run.info.run_id
        self._log_batch(client, run.info.run_id, params=_params(event.params))

    def _finish(self, client: Any, experiment_id: str, event: ev.TrialFinished, record: dict[str, Any] | None) -> None:
        from mlflow.entities import Metric

        record = record or {}
        result = event.result or {}
        tuned = result.get("params") or record.get("params") or {}
        run_id = self._runs.pop(event.run_id, None)
        if run_id is None:  # its start was not seen (mirror attached mid-trial) or failed
            started = ev.TrialStarted(run_id=event.run_id, number=event.number, params=tuned,
                                      commit=result.get("commit") or record.get("commit") or "",
                                      rationale=record.get("rationale") or "", ts=event.ts - event.duration)
            self._start(client, experiment_id, started)
            run_id = self._runs.pop(event.run_id)
        stamp = int(event.ts * 1000)
        metric = result.get("metric") or record.get("metric") or ""
        metrics = [Metric(name, value, stamp, step) for name, value, step in history_points(record.get("history") or [])]
        last_step = max((m.step for m in metrics), default=0)
        for name, value in ((f"final_{metric}", event.value), (f"best_{metric}", result.get("best"))):
            if metric and _number(value) is not None:
                metrics.append(Metric(name, _number(value), stamp, last_step))
        metrics.append(Metric("duration_s", float(event.duration), stamp, last_step))
        fixed = {k: v for k, v in (record.get("fixed") or {}).items() if k not in tuned}
        tags = {"aft.status": event.status, "aft.metric": metric,
                "aft.direction": result.get("direction") or record.get("direction") or ""}
        if event.reason:
            tags["aft.reason"] = event.reason[:_MAX_TAG]
        if result.get("pruned_at") is not None:
            tags["aft.pruned_at"] = str(result["pruned_at"])
        log = record.get("log")
        if log:
            tags["aft.log"] = str(log)
        self._log_batch(client, run_id, metrics=metrics, params=_params(fixed), tags=tags)
        if log and Path(log).is_file() and Path(log).stat().st_size <= MAX_LOG_ARTIFACT_BYTES:
            client.log_artifact(run_id, str(log))
        client.set_terminated(run_id, status=RUN_STATUS.get(event.status, "FAILED"), end_time=stamp)

    @staticmethod
    def _log_batch(client: Any, run_id: str, metrics: list[Any] = (), params: dict[str, str] | None = None,  # type: ignore[assignment]
                   tags: dict[str, str] | None = None) -> None:
        from mlflow.entities import Param, RunTag

        params_l = [Param(k, v) for k, v in (params or {}).items()]
        tags_l = [RunTag(k, v) for k, v in (tags or {}).items()]
        metrics_l = list(metrics)
        while metrics_l or params_l or tags_l:
            client.log_batch(run_id, metrics=metrics_l[:_BATCH_METRICS], params=params_l[:_BATCH_PARAMS],
                             tags=tags_l[:_BATCH_TAGS])
            metrics_l, params_l, tags_l = metrics_l[_BATCH_METRICS:], params_l[_BATCH_PARAMS:], tags_l[_BATCH_TAGS:]


def history_points(history: list[dict[str, Any]]) -> list[tuple[str, float, int]]:
    """(metric, value, step) for every number in a trial's per-evaluation rows; step is the epoch.

    Rows without a whole epoch fall back to the script's own step, then to the row's position,
    so fractional-epoch evaluations (HF Trainer) still plot in order.
    """
    points = []
    for index, row in enumerate(history, start=1):
        epoch, step = _number(row.get("epoch")), _number(row.get("step"))
        if epoch is not None and math.isfinite(epoch) and epoch == int(epoch):
            at = int(epoch)
        elif step is not None and math.isfinite(step):
            at = int(step)
        else:
            at = index
        for name, value in row.items():
            if name in ("epoch", "step"):
                continue
            number = _number(value)
            if number is not None:
                points.append((str(name), number, at))
    return points


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _params(values: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v)[:_MAX_PARAM] for k, v in values.items()}


def attach(engine: Engine) -> MlflowMirror | None:
    """Subscribe a mirror to `engine` when its settings name an MLflow store (`--mlflow URI`).

    Raises UserError before anything runs when mlflow is not installed.
    """
    settings = engine.settings
    uri = getattr(settings, "mlflow", None)
    if not uri:
        return None
    experiment = getattr(settings, "mlflow_experiment", None) or default_experiment(engine.state.project,
                                                                                   engine.state.target)

    def lookup(run_id: str) -> dict[str, Any] | None:
        return next((r for r in engine.runs() if r.get("run_id") == run_id), None)

    mirror = MlflowMirror(str(uri), experiment, engine.session_id, lookup=lookup,
                          warn=lambda text: engine.emit(ev.Info(text=text)), source=str(engine.state.target))
    engine.subscribe(mirror)
    return mirror
