"""Benchmark 2: output passthrough.

A script prints N lines (default 1,000,000) as fast as it can. It runs directly with its
output going to a file, and as one trial under AFT: through the headless engine, and with
the Textual app attached headlessly (`App.run_test`). Each AFT run happens in its own
process, so its peak RSS is AFT's alone; running the engine at N/10 lines as well shows
whether memory stays flat as output grows.

AFT runs a trial's Python unbuffered (`-u`, PYTHONUNBUFFERED=1) so its output and printed
metrics reach the views as they happen; "direct, unbuffered" is that same script run
directly the same way, which separates the cost of unbuffered writes from AFT's own. The
`-buffered` runs use `--buffered-output` (no `-u`: Python block-buffers the trial's output, as
in the direct run). The `-flush` runs measure a proposed alternative: block-buffered output
flushed every 0.1 s by a thread in the trial (benchmarks/live_flush/sitecustomize.py).

The passthrough time under AFT runs from the trial's start to the last line being in its log
(the launcher's own measure of the trial, up to the end of its output) or, with the app, to
the last line being folded into the app's session view. The session time adds the trial's commit
and bookkeeping (benchmark 1). Discovery and Optuna are imported before the clock starts:
they are start-up costs, measured by the start-up benchmark.

    python -m benchmarks.passthrough [--lines 1000000] [--repeats 3] [--no-tui] [--json out.json]
"""

from __future__ import annotations

import asyncio
import json
import os
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Report, child_env, finish, make_project, median, parser, python

TARGET_RATIO = 1.10

SCRIPT = """\
import argparse
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
args = parser.parse_args()
write = sys.stdout.write
for i in range(int(os.environ.get("BENCH_LINES", "1000000"))):
    write(f"step {i} of a chatty training loop, nothing to parse on this line\\n")
print(f"val_loss: {args.lr}")
"""


def _direct(project: Path, lines: int, unbuffered: bool = False) -> dict[str, float]:
    env = child_env(BENCH_LINES=str(lines))
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    else:
        env.pop("PYTHONUNBUFFERED", None)
    log = project.parent / "direct.log"
    with open(log, "wb") as out:
        began = time.perf_counter()
        subprocess.run([python(), "train.py"], cwd=project, stdout=out, stderr=subprocess.STDOUT, env=env, check=True)
        wall = time.perf_counter() - began
    log.unlink()
    return {"wall": wall}


def _child(mode: str, project: Path, lines: int) -> dict[str, Any]:
    """Run one AFT measurement in a fresh process and read back its figures."""
    out = subprocess.run(
        [python(), "-m", "benchmarks.passthrough", "--child", mode, "--project", str(project), "--lines", str(lines)],
        capture_output=True, text=True, env=child_env(BENCH_LINES=str(lines)), timeout=900,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the {mode} run failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _settings(buffered: bool = False) -> Any:
    from aft_tui.settings import Settings

    settings = Settings()
    settings.update({"metric": "val_loss", "direction": "min", "trials": 1, "yes": True, "python": python(),
                     "pruner": "none", "buffered_output": buffered}, "the benchmark")
    return settings


def _warm_imports() -> None:
    import aft_tui.target.discover  # noqa: F401
    import optuna  # noqa: F401


def _log_lines(engine: Any) -> int:
    run_id = engine.runs()[-1]["run_id"]
    with open(engine.outputs.log_path(run_id), "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


async def _engine_run(project: Path, lines: int, buffered: bool = False) -> dict[str, Any]:
    from aft_tui.engine.engine import Engine

    _warm_imports()
    engine = Engine.open(project / "train.py", _settings(buffered), project=project, cwd=project)
    events = 0
    trial_s = 0.0

    def count(event: Any) -> None:
        nonlocal events, trial_s
        events += 1
        if event.kind == "trial_finished":
            trial_s = event.duration

    engine.subscribe(count)
    await engine.start()
    began = time.perf_counter()
    summary = await engine.tune(1)
    session = time.perf_counter() - began
    engine.close("finished")
    return {"wall": trial_s, "session": session, "events": events, "status": summary["statuses"],
            "logged": _log_lines(engine)}


async def _tui_run(project: Path, lines: int, buffered: bool = False) -> dict[str, Any]:
    from aft_tui.engine.engine import Engine
    from aft_tui.ui.app import AftApp

    _warm_imports()
    engine = Engine.open(project / "train.py", _settings(buffered), project=project, cwd=project)
    started = asyncio.Event()
    trial_started = 0.0

    def watch(event: Any) -> None:
        nonlocal trial_started
        if event.kind == "session_started":
            started.set()
        elif event.kind == "trial_started":
            trial_started = time.perf_counter()

    engine.subscribe(watch)
    app = AftApp(engine)
    async with app.run_test(size=(160, 48)) as pilot:
        await asyncio.wait_for(started.wait(), 120)
        await pilot.pause()
        began = time.perf_counter()
        summary = await engine.tune(1)
        run_id = engine.runs()[-1]["run_id"]
        # Done when the app has folded every line the trial printed.
        while app.view.log_lines_seen.get(run_id, 0) < lines + 1:
            await asyncio.sleep(0.005)
        await pilot.pause()
        done = time.perf_counter()
        seen = app.view.log_lines_seen.get(run_id, 0)
    engine.close("finished")
    return {"wall": done - trial_started, "session": done - began, "status": summary["statuses"],
            "logged": _log_lines(engine), "app_lines": seen}


def _use_flush_prototype() -> None:
    """Trials without `-u`/PYTHONUNBUFFERED, with the periodic flusher on their PYTHONPATH."""
    from aft_tui.runs import interpreter, launcher

    environment, command = launcher.build_environment, interpreter.Interpreter.command
    flush_dir = str(Path(__file__).resolve().parent / "live_flush")

    def buffered_environment(request: Any, base: Any = None) -> dict[str, str]:
        env = environment(request, base)
        env.pop("PYTHONUNBUFFERED", None)
        env["PYTHONPATH"] = flush_dir + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    def buffered_command(self: Any, script: Any, args: list[str]) -> list[str]:
        return [arg for arg in command(self, script, args) if arg != "-u"]

    launcher.build_environment = buffered_environment
    interpreter.Interpreter.command = buffered_command  # type: ignore[method-assign]


def _child_main(mode: str, project: Path, lines: int) -> None:
    if mode.endswith("-flush"):
        _use_flush_prototype()
    runner = _tui_run if mode.startswith("tui") else _engine_run
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    result = asyncio.run(runner(project, lines, buffered=mode.endswith("-buffered")))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = (usage.ru_utime - cpu_before.ru_utime) + (usage.ru_stime - cpu_before.ru_stime)
    result["peak_rss_mib"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    print(json.dumps(result))


def measure(lines: int = 1_000_000, repeats: int = 3, tui: bool = True, prototype: bool = False,
            workdir: Path | None = None) -> dict[str, Any]:
    modes = ["engine", *(["tui"] if tui else []), "engine-buffered", *(["tui-buffered"] if tui else []),
             *(["engine-flush"] if prototype else []), *(["tui-flush"] if tui and prototype else [])]
    samples: dict[str, list[dict[str, Any]]] = {m: [] for m in ["direct", "direct_unbuffered", *modes]}
    with tempfile.TemporaryDirectory(prefix="aft-bench-passthrough-", dir=workdir) as tmp:
        _direct(make_project(Path(tmp), {"train.py": SCRIPT}, name="warm"), 1000)
        for i in range(repeats):
            # Interleaved, so a change in the machine's load reaches every side.
            samples["direct"].append(_direct(make_project(Path(tmp), {"train.py": SCRIPT}, name=f"d{i}"), lines))
            samples["direct_unbuffered"].append(
                _direct(make_project(Path(tmp), {"train.py": SCRIPT}, name=f"u{i}"), lines, unbuffered=True))
            for mode in modes:
                project = make_project(Path(tmp), {"train.py": SCRIPT}, name=f"{mode}{i}")
                samples[mode].append(_child(mode, project, lines))
        small = _child("engine", make_project(Path(tmp), {"train.py": SCRIPT}, name="small"), max(lines // 10, 1))
    for mode in modes:
        for sample in samples[mode]:
            if sample["logged"] != lines + 1:
                raise RuntimeError(f"the {mode} run logged {sample['logged']} lines instead of {lines + 1}")
    result: dict[str, Any] = {"lines": lines, "repeats": repeats, "samples": samples, "small": small}
    for key, values in samples.items():
        result[f"{key}_wall"] = median(s["wall"] for s in values)
    for mode in modes:
        result[f"{mode}_ratio"] = result[f"{mode}_wall"] / result["direct_wall"]
        result[f"{mode}_ratio_unbuffered"] = result[f"{mode}_wall"] / result["direct_unbuffered_wall"]
        result[f"{mode}_peak_rss_mib"] = max(s["peak_rss_mib"] for s in samples[mode])
        result[f"{mode}_cpu_s"] = median(s["cpu_s"] for s in samples[mode])
        result[f"{mode}_session"] = median(s["session"] for s in samples[mode])
    result["engine_small_peak_rss_mib"] = small["peak_rss_mib"]
    return result


def report(result: dict[str, Any], command: str) -> Report:
    n = result["lines"]
    r = Report(f"Benchmark 2: output passthrough ({n:,} lines, median of {result['repeats']})", command)
    r.add("direct, output to a file", result["direct_wall"], "s")
    r.add("direct, unbuffered, output to a file", result["direct_unbuffered_wall"], "s")
    for mode, label in (("engine", "headless engine"), ("tui", "Textual app attached (run_test)"),
                        ("engine-buffered", "headless engine, --buffered-output"),
                        ("tui-buffered", "Textual app attached, --buffered-output"),
                        ("engine-flush", "headless engine, proposed buffered output"),
                        ("tui-flush", "Textual app attached, proposed buffered output")):
        if f"{mode}_wall" not in result:
            continue
        ratio = result[f"{mode}_ratio"]
        r.add(f"AFT, {label}: the trial, start to last line", result[f"{mode}_wall"], "s")
        r.add(f"ratio AFT {label} / direct", ratio, "x", f"<= {TARGET_RATIO:.2f}x", ratio <= TARGET_RATIO)
        r.add(f"ratio AFT {label} / direct unbuffered", result[f"{mode}_ratio_unbuffered"], "x")
        r.add(f"AFT, {label}: whole session call (commit, results)", result[f"{mode}_session"], "s")
        r.add(f"AFT process CPU, {label}", result[f"{mode}_cpu_s"], "s")
        r.add(f"AFT peak RSS, {label}", result[f"{mode}_peak_rss_mib"], "MiB")
    small, big = result["engine_small_peak_rss_mib"], result["engine_peak_rss_mib"]
    r.add(f"AFT peak RSS, headless engine, {max(n // 10, 1):,} lines", small, "MiB")
    r.add("peak RSS growth for 10x the output", big - small, "MiB", "flat (< 20 MiB)", big - small < 20)
    r.data = result
    return r


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-tui", action="store_true", help="leave out the run with the Textual app attached")
    p.add_argument("--prototype", action="store_true",
                   help="also run the proposed periodic-flush output (a thread in the trial)")
    p.add_argument("--child", choices=("engine", "tui", "engine-buffered", "tui-buffered", "engine-flush", "tui-flush"),
                   help=argparse_hidden())
    p.add_argument("--project", help=argparse_hidden())
    args = p.parse_args(argv)
    if args.child:
        _child_main(args.child, Path(args.project), args.lines)
        return 0
    result = measure(args.lines, args.repeats, tui=not args.no_tui, prototype=args.prototype)
    flags = (f"--lines {args.lines} --repeats {args.repeats}" + (" --no-tui" if args.no_tui else "")
             + (" --prototype" if args.prototype else ""))
    return finish(report(result, f"python -m benchmarks.passthrough {flags}"), args.json)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    sys.exit(main())
