"""Benchmark 1: what AFT adds to each trial.

A script that exits at once is run N times directly (`subprocess.run`) and N times as trials
of a tuning session through AFT's engine: Optuna's ask/tell, a git commit, tag and note per
trial, the outputs files, the session log and metric parsing all included. A direct run
happens just before each trial, so every trial is compared with the direct runs either side
of it and a change in the machine's load reaches both sides.

Figures: the steady-state cost per trial (median over trials of the gap between consecutive
trial starts, less the direct runs around it), the cost amortised over the whole session
including its one-off set-up, and where the per-trial time goes.

    python -m benchmarks.trial_overhead [--trials 50] [--json out.json]
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from benchmarks.common import TRIVIAL_SCRIPT, Report, finish, make_project, median, parser, python, run_direct
from benchmarks.common import use_benchmark_identity

TARGET_MS = 50.0


class _PhaseTimer:
    """Wall time spent in named engine steps (wrapped for the duration of one measurement)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._restore: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        self._restore.append((owner, name, original))
        seconds, calls = self.seconds, self.calls

        if inspect.iscoroutinefunction(original):
            @functools.wraps(original)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                began = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    seconds[label] += time.perf_counter() - began
                    calls[label] += 1

            setattr(owner, name, timed_async)
        else:
            @functools.wraps(original)
            def timed_sync(*args: Any, **kwargs: Any) -> Any:
                began = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    seconds[label] += time.perf_counter() - began
                    calls[label] += 1

            setattr(owner, name, timed_sync)

    def restore(self) -> None:
        for owner, name, original in reversed(self._restore):
            setattr(owner, name, original)
        self._restore.clear()


def _phase_timer() -> _PhaseTimer:
    from aft_tui.engine.trial import TrialRun
    from aft_tui.engine.tuner import Tuner
    from aft_tui.runs.outputs import Outputs
    from aft_tui.vcs.workspace import Workspace

    timer = _PhaseTimer()
    timer.wrap(Tuner, "_ask", "optuna ask (sampler + journal)")
    timer.wrap(Tuner, "_tell", "optuna tell")
    timer.wrap(Workspace, "commit", "git commit of the parameters")
    timer.wrap(Workspace, "tag", "git tag (in a thread, while the trial runs)")
    timer.wrap(Workspace, "add_note", "git note (in a thread, beside the outputs files)")
    timer.wrap(Outputs, "write_result", "outputs/ result files")
    timer.wrap(TrialRun, "run", "the trial process (launch to exit)")
    return timer


async def _tune(project: Path, trials: int, on_event: Callable[[Any], None]) -> dict[str, float]:
    from aft_tui.engine.engine import Engine
    from aft_tui.settings import Settings

    settings = Settings()
    settings.update({"metric": "val_loss", "direction": "min", "trials": trials, "yes": True,
                     "python": python()}, "the benchmark")
    began = time.perf_counter()
    engine = Engine.open(project / "train.py", settings, project=project, cwd=project)
    engine.subscribe(on_event)
    await engine.start()
    started = time.perf_counter()
    summary = await engine.tune(trials)
    tuned = time.perf_counter()
    engine.close("finished")
    closed = time.perf_counter()
    if summary["trials"] != trials:
        raise RuntimeError(f"the session ran {summary['trials']} trials instead of {trials}: {summary}")
    return {"open_start": started - began, "tune": tuned - started, "total": closed - began, "tune_began": started}


def measure(trials: int = 50, workdir: Path | None = None) -> dict[str, Any]:
    """Run the comparison; every time is in seconds.

    A direct run of the script happens just before each trial, inside the session, so each
    trial is compared with the direct runs either side of it, under the same machine load;
    the time of those direct runs is taken out of the session's figures.
    """
    from aft_tui.engine.tuner import one_trial

    use_benchmark_identity()
    with tempfile.TemporaryDirectory(prefix="aft-bench-trials-", dir=workdir) as tmp:
        project = make_project(Path(tmp), {"train.py": TRIVIAL_SCRIPT})
        command = [python(), "train.py", "--lr", "0.01"]
        run_direct(command, project)  # warm the interpreter's files into the page cache
        direct: list[float] = []
        starts: list[float] = []

        def on_event(event: Any) -> None:
            if event.kind == "trial_started":
                starts.append(time.perf_counter())

        original = one_trial.run_trial

        async def direct_then_trial(*args: Any, **kwargs: Any) -> Any:
            direct.append(run_direct(command, project))
            return await original(*args, **kwargs)

        timer = _phase_timer()
        one_trial.run_trial = direct_then_trial  # type: ignore[assignment]
        try:
            spans = asyncio.run(_tune(project, trials, on_event))
        finally:
            one_trial.run_trial = original  # type: ignore[assignment]
            timer.restore()
        direct.append(run_direct(command, project))

    # starts[k] follows direct[k]; the gap to starts[k + 1] holds trial k+1's process, its
    # bookkeeping, the next choice, direct[k + 1] and the next commit.
    cycles = [starts[k + 1] - starts[k] - direct[k + 1] for k in range(len(starts) - 1)]
    added = [cycle - (direct[k] + direct[k + 1]) / 2 for k, cycle in enumerate(cycles)]
    direct_total = sum(direct[:trials])
    aft_total = spans["total"] - direct_total
    return {
        "trials": trials,
        "direct_median": median(direct),
        "direct_total": direct_total,
        "cycle_median": median(cycles),
        "added_steady": median(added),
        "added_amortised": (aft_total - direct_total) / trials,
        # From the tune call to the first trial's start: search-space discovery, opening the study.
        "to_first_trial": starts[0] - spans.pop("tune_began") - direct[0],
        "spans": spans,
        "phases": {k: timer.seconds[k] / trials for k in timer.seconds},
        "phase_calls": dict(timer.calls),
        "aft_total": aft_total,
    }


def report(result: dict[str, Any], command: str) -> Report:
    r = Report("Benchmark 1: per-trial overhead", command)
    n = result["trials"]
    r.add(f"direct run, median of {n}", result["direct_median"] * 1000, "ms")
    r.add("AFT trial cycle, median", result["cycle_median"] * 1000, "ms")
    r.add("AFT adds per trial (steady state)", result["added_steady"] * 1000, "ms",
          f"<= {TARGET_MS:g} ms", result["added_steady"] * 1000 <= TARGET_MS)
    r.add("ratio AFT / direct (steady state)", result["cycle_median"] / result["direct_median"], "x")
    r.add(f"{n} trials direct, total", result["direct_total"], "s")
    r.add(f"{n} trials through AFT, total", result["aft_total"], "s")
    r.add("AFT adds per trial (amortised, set-up included)", result["added_amortised"] * 1000, "ms")
    r.add("one-off: session set-up (open, worktree, session log)", result["spans"]["open_start"] * 1000, "ms")
    r.add("one-off: tune call to first trial (discovery, study)", result["to_first_trial"] * 1000, "ms")
    for name, seconds in sorted(result["phases"].items(), key=lambda kv: -kv[1]):
        r.add(f"  per trial: {name}", seconds * 1000, "ms")
    r.data = result
    return r


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=50)
    args = p.parse_args(argv)
    result = measure(args.trials)
    return finish(report(result, f"python -m benchmarks.trial_overhead --trials {args.trials}"), args.json)


if __name__ == "__main__":
    raise SystemExit(main())
