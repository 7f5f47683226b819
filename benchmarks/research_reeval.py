"""Each mode's final pick, measured again on fresh seeds: what the person actually gets.

The best single trial rewards the mode that drew more trials on a noisy score (the best of 18
noisy draws is higher than the best of 12 even when no setting is better), and it cannot tell
two modes apart at a ceiling (CartPole's 500, an accuracy of 1.0). What a person takes home is
one configuration: numeric tuning's best trial, or research's incumbent (the code with its kept
changes and the parameters it kept, or the baseline when nothing beat the noise). Here each pick
is run again N times, both picks' i-th runs side by side, with the same fresh seeds on both
sides when the script has an integer seed flag (its own value plus 1000 + i: seeds neither mode
ran), and compared by their means.

A re-run is the trial's own recorded command, at the trial's own commit, in the mode's session
worktree (so the data links it made are there), through AFT's own trial runner (`TrialRun`), so
the value is read exactly as the mode read it. Paths into the trial's run folder (a per-trial
config file) are moved to a new folder, the files they name copied along.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEED_OFFSET = 1000
"""Fresh seeds start this far above the script's own: research's measurement runs use +1, +2, ..."""


@dataclass
class Pick:
    """The configuration a mode ends with, as one of its recorded trials."""

    mode: str
    run_id: str
    what: str                     # "baseline", "experiment 7, adamw", "trial 12"
    value: float | None           # what the mode measured for it
    commit: str
    command: list[str]
    run_dir: Path
    params: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0


@dataclass
class Remeasured:
    what: str = ""
    run_id: str = ""
    measured: float | None = None         # the value the mode had for it
    values: list[float | None] = field(default_factory=list)
    seeds: list[int | None] = field(default_factory=list)
    error: str = ""

    @property
    def finite(self) -> list[float]:
        return [v for v in self.values if v is not None]

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.finite) if self.finite else None

    @property
    def stdev(self) -> float | None:
        return statistics.stdev(self.finite) if len(self.finite) > 1 else None


# -- what each mode ends with ---------------------------------------------------------------------
def _result(project: Path, run_id: str) -> dict[str, Any]:
    for path in project.glob(f"**/outputs/{run_id}/result.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            data["_run_dir"] = str(path.parent)
            return data
    raise FileNotFoundError(f"no result.json for {run_id} under {project}")


def _pick(mode: str, project: Path, run_id: str, what: str) -> Pick:
    rec = _result(project, run_id)
    value = rec.get("value")
    return Pick(mode, run_id, what, float(value) if isinstance(value, (int, float)) else None,
                str(rec.get("commit") or ""), [str(a) for a in rec.get("command") or []], Path(rec["_run_dir"]),
                dict(rec.get("params") or {}), float(rec.get("duration") or 0.0))


def research_pick(project: Path) -> Pick:
    """Research's incumbent: the experiment it last kept beyond the noise, else its first baseline
    run (the person's own configuration: the code and parameters nothing beat)."""
    states = sorted(project.glob("**/research/*/state.json"), key=lambda p: p.stat().st_mtime)
    if not states:
        raise FileNotFoundError(f"no research state under {project}")
    state = json.loads(states[-1].read_text(encoding="utf-8"))
    experiments = json.loads((states[-1].parent / "experiments.json").read_text(encoding="utf-8"))
    number = state.get("best_experiment")
    chosen = next((e for e in experiments if number is not None and e.get("number") == number), None)
    if chosen is None:
        chosen = min((e for e in experiments if e.get("kind") == "baseline"), key=lambda e: e.get("number", 0))
        what = "baseline"
    else:
        what = f"experiment {chosen.get('number')}" + (f", {chosen['recipe']}" if chosen.get("recipe") else "")
    pick = _pick("research", project, str(chosen["run_id"]), what)
    incumbent = state.get("best_value")  # the baseline's mean, or the kept change's value: what research believes
    if isinstance(incumbent, (int, float)) and not isinstance(incumbent, bool):
        pick.value = float(incumbent)
    return pick


def numeric_pick(project: Path, mode: str, run_id: str, number: Any) -> Pick:
    """Numeric tuning's pick: its best trial (the one `aft runs` ranks first)."""
    return _pick(mode, project, run_id, f"trial {number}")


# -- running a pick again ---------------------------------------------------------------------------
def _worktree_of(command: list[str]) -> Path | None:
    """The session worktree the recorded command ran in (its script lives there)."""
    for arg in command:
        marker = "/.aft/worktrees/"
        if marker in arg:
            head, _, tail = arg.partition(marker)
            return Path(head + marker + tail.split("/", 1)[0])
    return None


def seed_flag(script: Path, args: list[str], cwd: Path) -> tuple[str, int] | None:
    """The script's integer seed flag and its default, by the rule research varies seeds with."""
    from aft_tui.target.script_args import discover_with_args
    from aft_tui.tuning.space import seed_param

    try:
        found = seed_param(discover_with_args(script, args, cwd).params)
    except Exception:  # a script discovery cannot read has no flag we could set
        return None
    return (found.flag, found.default) if found is not None and found.flag else None


def with_flag(command: list[str], flag: str, value: str) -> list[str]:
    """The command with `flag` set to `value` (replaced where it is given, `--f v` or `--f=v`; else added)."""
    out = list(command)
    for i, arg in enumerate(out):
        if arg == flag and i + 1 < len(out):
            out[i + 1] = value
            return out
        if arg.startswith(flag + "="):
            out[i] = f"{flag}={value}"
            return out
    return [*out, flag, value]


def moved_command(command: list[str], old_dir: Path, new_dir: Path) -> list[str]:
    """The command with paths into the trial's run folder pointing at `new_dir`; the files they
    name (a per-trial config file) are copied there."""
    old, out = str(old_dir), []
    for arg in command:
        if old in arg:
            for piece in arg.split("="):
                if piece.startswith(old):
                    source = Path(piece)
                    if source.is_file():
                        target = new_dir / source.relative_to(old_dir)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(source, target)
            arg = arg.replace(old, str(new_dir))
        out.append(arg)
    return out


@dataclass
class Prepared:
    pick: Pick
    worktree: Path
    cwd: Path
    seed: tuple[str, int] | None


def prepare(pick: Pick, cwd: str, script_args: list[str]) -> Prepared:
    """Check the pick's commit out in its session worktree (the session is over; the data links stay)."""
    worktree = _worktree_of(pick.command)
    if worktree is None or not worktree.is_dir():
        raise FileNotFoundError(f"the session worktree of {pick.run_id} is gone")
    subprocess.run(["git", "checkout", "-q", "-f", "--detach", pick.commit], cwd=worktree, check=True,
                   capture_output=True, timeout=120)
    script = next((Path(a) for a in pick.command if a.endswith(".py") and str(worktree) in a), None)
    seed = seed_flag(script, script_args, worktree / cwd) if script is not None else None
    return Prepared(pick, worktree, worktree / cwd, seed)


async def _run_once(prep: Prepared, index: int, folder: Path, metric: str, direction: str,
                    env: dict[str, str]) -> tuple[float | None, int | None, str]:
    from aft_tui.engine.trial import TrialRun, TrialSpec
    from aft_tui.metric_names import normalise_name

    pick = prep.pick
    run_dir = folder / f"{pick.mode}-{index}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    command = moved_command(pick.command, pick.run_dir, run_dir)
    seed = None
    if prep.seed is not None:
        seed = prep.seed[1] + SEED_OFFSET + index
        command = with_flag(command, prep.seed[0], str(seed))
    spec = TrialSpec(run_id=f"reeval-{pick.mode}-{index}", number=index, params=dict(pick.params), command=command,
                     cwd=prep.cwd, run_dir=run_dir, log_path=run_dir / "log.txt",
                     metrics_path=run_dir / "metrics.jsonl", timeout=max(120.0, 4 * pick.duration + 60),
                     param_names=tuple(pick.params), env=dict(env))
    outcome = await TrialRun(spec, lambda _event: None, normalise_name(metric), direction).run()
    value = outcome.value if outcome.status == "ok" and isinstance(outcome.value, (int, float)) \
        and math.isfinite(outcome.value) else None
    return value, seed, "" if value is not None else f"run {index}: {outcome.status} {outcome.reason}".strip()


async def _remeasure(preps: list[Prepared], runs: int, folder: Path, metric: str, direction: str,
                     env: dict[str, str]) -> list[Remeasured]:
    out = [Remeasured(p.pick.what, p.pick.run_id, p.pick.value) for p in preps]
    for i in range(1, runs + 1):  # the two picks' i-th runs side by side: the same machine load
        done = await asyncio.gather(*(_run_once(p, i, folder, metric, direction, env) for p in preps))
        for m, (value, seed, error) in zip(out, done):
            m.values.append(value)
            m.seeds.append(seed)
            if error and not m.error:
                m.error = error
    return out


def remeasure(picks: list[Pick], runs: int, folder: Path, metric: str, direction: str, env: dict[str, str],
              cwd: str, script_args: list[str]) -> list[Remeasured]:
    """Each pick run `runs` times again (see the module's docstring); one result per pick, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    preps = [prepare(p, cwd, script_args) for p in picks]
    return asyncio.run(_remeasure(preps, runs, folder, metric, direction, env))


def standard_errors(a: Remeasured, b: Remeasured) -> float | None:
    """|mean a - mean b| in standard errors of that difference (None: too few runs, or no spread)."""
    if a.mean is None or b.mean is None or a.stdev is None or b.stdev is None:
        return None
    se = math.sqrt(a.stdev ** 2 / len(a.finite) + b.stdev ** 2 / len(b.finite))
    return abs(a.mean - b.mean) / se if se > 0 else None
