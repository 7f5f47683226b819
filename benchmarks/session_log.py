"""Benchmark 4: the session log, replay, and the cost of history.

Part 1 appends N events (default 100,000, a realistic mix of trial starts, log batches,
metrics and results) through `SessionLog`, then replays them as `aft replay` does (read the
file, rebuild each event, fold it into the session view). The direct baselines write the same
JSON lines with one write and flush each, and parse them with `json.loads`.

Part 2 runs the git bookkeeping of T trials (default 1,000: commit of the parameters file,
tag, note, through `Workspace`), then alternates 50 more trials between that session, a new
one, and the same three git commands run directly, so the three are compared under the same
machine load. Part 3 does the same for the outputs files (`Outputs.write_result`), which hold
every trial's record.

    python -m benchmarks.session_log [--events 100000] [--trials 1000] [--json out.json]
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Report, child_env, finish, make_project, median, parser, use_benchmark_identity

REPLAY_TARGET_S = 2.0
WINDOW = 50  # trials compared at the start and the end of the history


def synthetic_events(count: int, seed: int = 0) -> list[Any]:
    """A long tuning session: per trial a start, a commit, log batches, metrics, a result."""
    from aft_tui.engine import events as ev

    rng = random.Random(seed)
    out: list[Any] = [ev.SessionStarted(session_id="bench", target="train.py", project="/project",
                                        branch="aft/bench", worktree="/project/.aft/worktrees/bench",
                                        settings={"metric": "val_loss", "direction": "min", "trials": 2000})]
    trial = 0
    while len(out) < count:
        trial += 1
        run_id = f"bench-t{trial:03d}"
        params = {"lr": 10 ** rng.uniform(-5, -1), "batch_size": rng.choice([16, 32, 64]), "dropout": rng.random()}
        out.append(ev.CommitMade(sha=f"{trial:040x}", message=f"trial {trial}", branch="aft/bench",
                                 tag=f"aft/bench/trial-{trial:03d}"))
        out.append(ev.TrialStarted(run_id=run_id, number=trial, params=params,
                                   command=["python", "-u", "train.py", "--lr", str(params["lr"])],
                                   commit=f"{trial:040x}", rationale="proposed by the tpe sampler"))
        for step in range(50):
            if step % 5 == 0:
                lines = [f"epoch {step // 5} step {step * 20 + i} loss {rng.random():.4f} lr {params['lr']:.2e}"
                         for i in range(20)]
                out.append(ev.TrialLog(run_id=run_id, lines=lines))
            out.append(ev.TrialMetric(run_id=run_id, step=step, epoch=step / 5,
                                      values={"val_loss": rng.random(), "val_acc": rng.random()}))
        value = rng.random()
        out.append(ev.TrialFinished(run_id=run_id, number=trial, status="ok", value=value, duration=rng.uniform(5, 50),
                                    result={"params": params, "metric": "val_loss", "direction": "min",
                                            "best": value, "commit": f"{trial:040x}"}))
        finding = {"code": "plateau", "sentence": "val_loss stopped improving."}
        out.append(ev.Analysis(run_id=run_id, findings=[finding]))
        out.append(ev.TuneProgress(done=trial, total=2000, best=value, metric="val_loss"))
        if trial % 5 == 0:
            out.append(ev.BestUpdated(run_id=run_id, value=value, params=params, metric="val_loss"))
    return out[:count]


def measure_log(count: int, workdir: Path) -> dict[str, Any]:
    from aft_tui.engine.session_log import SessionLog
    from aft_tui.ui.replay import ReplayController

    events = synthetic_events(count)
    path = workdir / "session.jsonl"
    began = time.perf_counter()
    with SessionLog(path) as log:
        for event in events:
            log.append(event)
    append_s = time.perf_counter() - began

    dicts = [event.to_dict() for event in events]
    direct_path = workdir / "direct.jsonl"
    began = time.perf_counter()
    with open(direct_path, "a", encoding="utf-8") as fh:
        for data in dicts:
            fh.write(json.dumps(data) + "\n")
            fh.flush()
    direct_append_s = time.perf_counter() - began

    began = time.perf_counter()
    controller = ReplayController.open(str(path))
    read_s = time.perf_counter() - began
    controller.seek(controller.total)
    replay_s = time.perf_counter() - began
    if controller.total != count or controller.view.events_applied != count:
        raise RuntimeError(f"replay rebuilt {controller.view.events_applied} of {count} events")

    began = time.perf_counter()
    with open(path, encoding="utf-8") as fh:
        parsed = [json.loads(line) for line in fh]
    direct_read_s = time.perf_counter() - began
    assert len(parsed) == count
    return {"events": count, "bytes": path.stat().st_size, "append_s": append_s, "direct_append_s": direct_append_s,
            "replay_read_s": read_s, "replay_s": replay_s, "direct_read_s": direct_read_s}


def _git(project: Path, *args: str, stdin: bytes | None = None) -> None:
    subprocess.run(["git", *args], cwd=project, env=child_env(), input=stdin, capture_output=True, check=True)


def _aft_trial_git(ws: Any, i: int) -> float:
    """One trial's git bookkeeping through Workspace, as the tuning loop does it."""
    from aft_tui.vcs.workspace import PARAMS_FILE

    payload = json.dumps({"trial": i, "params": {"lr": 1e-3 * i}}, indent=2) + "\n"
    began = time.perf_counter()
    sha = ws.commit(f"trial {i}: lr={1e-3 * i:.4g}", files={PARAMS_FILE: payload})
    ws.tag(f"aft/{ws.session_id}/trial-{i:04d}", sha)
    ws.add_note(sha, {"run_id": f"{ws.session_id}-t{i:04d}", "status": "ok", "value": 1.0 / i})
    return time.perf_counter() - began


def _direct_trial_git(project: Path, i: int) -> float:
    """The same three git commands, run directly."""
    (project / "aft_params.json").write_text(json.dumps({"trial": i}) + "\n", encoding="utf-8")
    began = time.perf_counter()
    _git(project, "commit", "-q", "-m", f"trial {i}", "--", "aft_params.json")
    _git(project, "tag", "-f", f"trial-{i:04d}", "HEAD")
    _git(project, "notes", "--ref=aft", "add", "-f", "-F", "-", "HEAD", stdin=b'{"status": "ok"}\n')
    return time.perf_counter() - began


def measure_git(trials: int, workdir: Path, window: int = WINDOW) -> dict[str, Any]:
    """Grow one session to `trials` trials, then alternate trials between it, a fresh session and
    plain git, so all three are measured under the same load."""
    from aft_tui.vcs.workspace import Workspace

    use_benchmark_identity()
    files = {"train.py": "print('val_loss: 1')\n"}
    long = Workspace.create(make_project(workdir, files, name="git-long"), "long")
    building = [_aft_trial_git(long, i) for i in range(1, trials + 1)]
    fresh = Workspace.create(make_project(workdir, files, name="git-fresh"), "fresh")
    direct_project = make_project(workdir, {**files, "aft_params.json": "{}\n"}, name="git-direct")
    at_start, at_end, direct = [], [], []
    for i in range(1, window + 1):
        at_start.append(_aft_trial_git(fresh, i))
        at_end.append(_aft_trial_git(long, trials + i))
        direct.append(_direct_trial_git(direct_project, i))
    early, late = median(at_start), median(at_end)
    return {"trials": trials, "early_s": early, "late_s": late, "growth": late / early, "direct_s": median(direct),
            "building_first_s": median(building[:window]), "building_last_s": median(building[-window:])}


def _record(i: int, rng: random.Random) -> dict[str, Any]:
    history = [{"epoch": e, "val_loss": rng.random(), "val_acc": rng.random()} for e in range(20)]
    return {"run_id": f"bench-t{i:04d}", "session": "bench", "number": i, "status": "ok",
            "params": {"lr": rng.random()}, "metric": "val_loss", "direction": "min",
            "value": history[-1]["val_loss"], "history": history,
            "findings": [{"code": "plateau", "sentence": "val_loss stopped improving."}],
            "command": ["python", "-u", "train.py"], "commit": f"{i:040x}"}


def _outputs_trial(outputs: Any, record: dict[str, Any]) -> float:
    outputs.run_dir(record["run_id"]).mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    outputs.write_result(record)
    for _ in range(6):  # the tuning loop reads the records about this often per trial
        outputs.results()
    return time.perf_counter() - began


def measure_outputs(trials: int, workdir: Path, window: int = WINDOW) -> dict[str, Any]:
    """The outputs files of a trial with `trials` earlier records, against a fresh folder, alternating."""
    from aft_tui.runs.outputs import Outputs

    rng = random.Random(1)
    long, fresh = Outputs(workdir / "outputs-long"), Outputs(workdir / "outputs-fresh")
    for i in range(1, trials + 1):
        _outputs_trial(long, _record(i, rng))
    at_start, at_end = [], []
    for i in range(1, window + 1):
        at_start.append(_outputs_trial(fresh, _record(i, rng)))
        at_end.append(_outputs_trial(long, _record(trials + i, rng)))
    size = (workdir / "outputs-long" / "results.json").stat().st_size
    return {"trials": trials, "early_s": median(at_start), "late_s": median(at_end), "results_bytes": size}


def measure(events: int = 100_000, trials: int = 1000, parts: tuple[str, ...] = ("log", "git", "outputs"),
            workdir: Path | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="aft-bench-log-", dir=workdir) as tmp:
        if "log" in parts:
            result["log"] = measure_log(events, Path(tmp))
        if "git" in parts:
            result["git"] = measure_git(trials, Path(tmp))
        if "outputs" in parts:
            result["outputs"] = measure_outputs(trials, Path(tmp))
    return result


def report(result: dict[str, Any], command: str) -> Report:
    r = Report("Benchmark 4: session log, replay and history", command)
    if "log" in result:
        log = result["log"]
        n = log["events"]
        r.add(f"append {n:,} events through SessionLog", log["append_s"], "s")
        r.add(f"append {n:,} JSON lines directly", log["direct_append_s"], "s")
        r.add("ratio append AFT / direct", log["append_s"] / log["direct_append_s"], "x")
        r.add(f"replay {n:,} events (read, rebuild, fold into the model)", log["replay_s"], "s",
              f"<= {REPLAY_TARGET_S:g} s", log["replay_s"] <= REPLAY_TARGET_S)
        r.add("  of which reading and rebuilding events", log["replay_read_s"], "s")
        r.add(f"parse {n:,} JSON lines directly", log["direct_read_s"], "s")
        r.add("ratio replay / direct parse", log["replay_s"] / log["direct_read_s"], "x")
        r.add("session log size", log["bytes"] / 2**20, "MiB")
    if "git" in result:
        git = result["git"]
        t = git["trials"]
        r.add(f"git per trial (commit, tag, note), new session", git["early_s"] * 1000, "ms")
        r.add(f"git per trial, session with {t:,} trials", git["late_s"] * 1000, "ms")
        r.add(f"growth after {t:,} trials", git["growth"], "x", "does not grow (< 1.5x)", git["growth"] < 1.5)
        r.add("same three git commands run directly", git["direct_s"] * 1000, "ms")
        r.add("ratio AFT git bookkeeping / direct git", git["early_s"] / git["direct_s"], "x")
    if "outputs" in result:
        outputs = result["outputs"]
        t = outputs["trials"]
        r.add("outputs/ per trial (write + reads), new folder", outputs["early_s"] * 1000, "ms")
        r.add(f"outputs/ per trial, folder with {t:,} trials", outputs["late_s"] * 1000, "ms")
        r.add(f"results.json with {t:,} trials", outputs["results_bytes"] / 2**20, "MiB")
    r.data = result
    return r


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--parts", default="log,git,outputs", help="comma-separated: log, git, outputs")
    args = p.parse_args(argv)
    parts = tuple(x.strip() for x in args.parts.split(",") if x.strip())
    result = measure(args.events, args.trials, parts)
    command = f"python -m benchmarks.session_log --events {args.events} --trials {args.trials}"
    if args.parts != "log,git,outputs":
        command += f" --parts {args.parts}"
    return finish(report(result, command), args.json)


if __name__ == "__main__":
    sys.exit(main())
