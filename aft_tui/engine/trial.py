"""One trial: launch the script, stream its output, collect metrics, decide its status.

Kept apart from the tuning loop so the same code runs a smoke run, a tuning trial, or a
user's one-off run, and so pruning is just a callback.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from aft_tui.engine.events import Event, TrialLog, TrialMetric
from aft_tui.fsutil import CorruptJSON, read_json
from aft_tui.runs import artifacts, result_files
from aft_tui.engine.judge import Evidence, TrialOutcome, judge
from aft_tui.runs.launch_request import LaunchRequest
from aft_tui.runs.launcher import TrialProcess
from aft_tui.runs.metrics import MetricRecord, find_metric, parameter_names


@dataclass
class TrialSpec:
    run_id: str
    number: int
    params: dict[str, Any]
    command: list[str]
    cwd: Path
    run_dir: Path
    log_path: Path
    metrics_path: Path
    timeout: float | None = None
    gpus: list[int] | None = None
    omp_threads: int | None = 1
    model_path: str | None = None  # user's pattern
    artifact_dirs: list[Path] = field(default_factory=list)
    unbuffered: bool = True
    # Every name the script's settings go by (search space, discovered params, their flags): a
    # printed setting (`learning_rate: 0.0005`) is never taken for a metric. The keys of `params`
    # count too.
    param_names: tuple[str, ...] = ()
    metric_window: int | None = None  # objective = mean of the last N reports (runs/objective.py)
    # The running process is recorded here with this note (see LaunchRequest.process_file), so a
    # resume after AFT was killed can stop a trial still running and record it.
    process_file: Path | None = None
    process_note: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # set for the script besides the trial protocol's own
    # Set to run the trial on a Ray cluster (runs/cluster/executor.ClusterLaunch); None: here.
    cluster: Any = None


def pruning_step(step: Any, epoch: Any, count: int) -> int:
    """The step an evaluation is reported to the pruner at: its step, else its epoch, else its count."""
    if step is not None:
        return int(step)
    return int(epoch) if epoch is not None else count


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


class TrialRun:
    """Runs one trial. `prune_check(value, step)` returning a reason string stops it as pruned."""

    def __init__(
        self,
        spec: TrialSpec,
        emit: Callable[[Event], None],
        metric: str | None,
        direction: str | None,
        prune_check: Callable[[float, int], str | None] | None = None,
    ) -> None:
        self.spec = spec
        self.emit = emit
        self.metric = metric  # the tuner passes it normalised (normalise_name); renamed to as given
        self.direction = direction
        self.prune_check = prune_check
        self._file_records: list[MetricRecord] = []
        self._stdout_records: list[MetricRecord] = []
        self._result_records: list[MetricRecord] = []  # from files the script wrote (trainer_state.json)
        self._metric_alias: str | None = None  # the reported name the objective refers to (`valid_ppl`)
        self._names: dict[str, None] = {}
        self._process: Any = None  # TrialProcess here, RayTrialProcess on a cluster
        self._prune_reason: str | None = None
        self._pruned_at: int | None = None
        self._warnings: list[str] = []
        self._reports = 0
        self._last_step: int | None = None

    @property
    def pid(self) -> int | None:
        """The script's process while it runs (for measuring it; None before the launch)."""
        return self._process.pid if self._process is not None else None

    async def run(self) -> TrialOutcome:
        spec = self.spec
        spec.run_dir.mkdir(parents=True, exist_ok=True)
        watch = [spec.cwd, *spec.artifact_dirs]
        before = artifacts.snapshot_mtimes(watch)
        started = time.time()
        launched = await self._launch(spec)
        if launched.status == "lost":  # a node died under it: once more, from the start, on another node
            lost, first_error = dict(launched.placement), launched.error
            self._forget_reports()
            note = (f"[aft] {launched.error} The trial runs again from the start on another node "
                    "(once); its records so far are set aside.")
            self.emit(TrialLog(run_id=spec.run_id, lines=[note]))
            with open(spec.log_path, "a", encoding="utf-8") as log:
                log.write(note + "\n")
            launched = await self._launch(spec)
            launched.placement = {**launched.placement, "lost_node": {**lost, "error": first_error}}
            self._warnings.append(note.removeprefix("[aft] "))
        self._read_result_files(started)
        outcome = judge(self.evidence(launched), self.metric, self.direction, self.spec.metric_window)
        outcome.duration = launched.duration or (time.time() - started)
        outcome.artifact = self._find_artifact(outcome, watch, before, started)
        outcome.placement = dict(launched.placement)
        return outcome

    def _forget_reports(self) -> None:
        """A re-run after a lost node starts clean: what the first attempt reported is set aside
        (its metrics file too), so its values never count for the re-run."""
        self._file_records.clear()
        self._stdout_records.clear()
        self._names.clear()
        self._reports = 0
        self._last_step = None
        try:
            metrics = self.spec.metrics_path
            if metrics.exists():
                metrics.replace(metrics.with_name(metrics.name + ".lost"))
        except OSError:
            pass

    async def _launch(self, spec: TrialSpec) -> Any:
        request = LaunchRequest(
            command=spec.command,
            cwd=spec.cwd,
            run_dir=spec.run_dir,
            log_path=spec.log_path,
            metrics_path=spec.metrics_path,
            gpus=spec.gpus,
            timeout=spec.timeout,
            omp_threads=spec.omp_threads,
            unbuffered=spec.unbuffered,
            param_names=parameter_names([*spec.params, *spec.param_names]),
            metric=self.metric,
            process_file=spec.process_file,
            process_note=dict(spec.process_note),
            env=dict(spec.env),
            cluster=spec.cluster,
        )
        if spec.cluster is not None:
            from aft_tui.runs.cluster.executor import RayTrialProcess

            self._process = RayTrialProcess(request, self._on_lines, self._on_metrics, self._on_warning)
        else:
            self._process = TrialProcess(request, self._on_lines, self._on_metrics, self._on_warning)
        return await self._process.run()

    async def cancel(self, status: str = "cancelled") -> None:
        if self._process is not None:
            await self._process.cancel(status)

    # -- streaming callbacks -------------------------------------------------
    def _on_lines(self, lines: list[str]) -> None:
        if lines:
            self.emit(TrialLog(run_id=self.spec.run_id, lines=lines))

    def _on_warning(self, text: str) -> None:
        self._warnings.append(text)

    def _as_requested(self, record: MetricRecord) -> None:
        """Rename the value the objective refers to (`--metric "valid ppl"` -> `valid_ppl`, see
        find_metric) so that every later lookup by the objective's name finds it."""
        metric = self.metric
        if metric is None:
            return
        if metric in record.values:
            self._metric_alias = metric  # reported under its own name: rename nothing else to it
            return
        name = find_metric(metric, record.values)
        if name is not None and (self._metric_alias is None or name == self._metric_alias):
            self._metric_alias = name
            record.values[metric] = record.values.pop(name)

    def _read_result_files(self, started: float) -> None:
        """Metrics from the result files the script wrote during the trial, a fallback source."""
        spec = self.spec
        dirs = result_files.search_dirs(spec.run_dir, spec.cwd, spec.command)
        for record in result_files.read_result_files(dirs, started):
            self._as_requested(record)
            for name in record.values:
                self._names.setdefault(name, None)
            self._result_records.append(record)

    def _on_metrics(self, records: list[MetricRecord]) -> None:
        for record in records:
            self._as_requested(record)
            for name in record.values:
                self._names.setdefault(name, None)
            if record.source == "file":
                self._file_records.append(record)
            else:
                self._stdout_records.append(record)
                # Once the script reports through AFT_METRICS, its prints are only a fallback:
                # keep them (they may hold what the file lacks) but do not show them twice.
                if self._file_records:
                    continue
            self.emit(TrialMetric(run_id=self.spec.run_id, step=record.step, epoch=record.epoch,
                                  values=dict(record.values)))
            self._maybe_prune(record)

    def _maybe_prune(self, record: MetricRecord) -> None:
        if self.prune_check is None or self.metric is None or self._prune_reason is not None:
            return
        value = record.values.get(self.metric)
        if not _finite(value):
            return
        self._reports += 1
        step = pruning_step(record.step, record.epoch, self._reports)
        # The same evaluation can arrive twice (printed and written to AFT_METRICS): report a step once.
        if self._last_step is not None and step <= self._last_step:
            return
        self._last_step = int(step)
        reason = self.prune_check(float(value), int(step))
        if reason and self._process is not None:
            import asyncio

            self._prune_reason = reason
            self._pruned_at = int(step)
            asyncio.get_running_loop().create_task(self._process.cancel("pruned"))

    # -- judging ---------------------------------------------------------------
    def histories(self) -> dict[str, list[dict[str, Any]]]:
        """Both sources, so the objective can be chosen after the run and its history rebuilt."""
        both = {"file": self._rows(self._file_records), "stdout": self._rows(self._stdout_records)}
        if self._result_records:
            both["results"] = self._rows(self._result_records)
        return both

    @staticmethod
    def _rows(records: list[MetricRecord]) -> list[dict[str, Any]]:
        rows = []
        for r in records:
            row: dict[str, Any] = {}
            if r.epoch is not None:
                row["epoch"] = r.epoch
            if r.step is not None:
                row["step"] = r.step
            row.update(r.values)
            rows.append(row)
        return rows

    def evidence(self, launched: Any) -> Evidence:
        """What the run left to judge it by (see engine/judge.py)."""
        try:
            script_result = read_json(self.spec.run_dir / "result.json")
        except CorruptJSON as exc:  # the script's own file: named and ignored, the trial's metrics still count
            script_result = None
            self._on_warning(f"The script wrote {exc.path.name} in its run folder but it is not valid JSON ({exc.why}); "
                             "AFT ignored it.")
        return Evidence(sources=self.histories(), names=list(self._names), launch_status=launched.status,
                        returncode=launched.returncode, tail=list(launched.tail), error=launched.error or "",
                        script_result=script_result if isinstance(script_result, dict) else None,
                        prune_reason=self._prune_reason, pruned_at=self._pruned_at, warnings=list(self._warnings),
                        timeout=self.spec.timeout, log_path=self.spec.log_path, renamed_for=self.metric)

    def _find_artifact(self, outcome: TrialOutcome, watch: list[Path], before: dict[Path, float],
                       started: float) -> Path | None:
        spec = self.spec
        if outcome.script_result:
            for key in ("model_pt_path", "model_path"):
                raw = outcome.script_result.get(key)
                if isinstance(raw, str) and raw:
                    path = Path(raw)
                    if not path.is_absolute():
                        path = spec.cwd / path
                    if path.exists():
                        return artifacts.claim(path, spec.run_dir)
        if spec.model_path:
            hits = artifacts.resolve_pattern(spec.model_path, [spec.run_dir, spec.cwd])
            if hits:
                return artifacts.claim(hits[-1], spec.run_dir)
        found = artifacts.find_new_artifacts([spec.run_dir], {}, started)
        if found:
            return max(found, key=lambda p: p.stat().st_mtime)
        found = artifacts.find_new_artifacts(watch, before, started)
        if found:
            claimed = [artifacts.claim(p, spec.run_dir) for p in found]
            return claimed[-1]
        return None
