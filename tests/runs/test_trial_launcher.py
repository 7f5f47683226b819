"""The trial launcher against real subprocesses: streaming, environment, stopping, metrics."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from aft_tui.runs.launch_request import LaunchRequest, LaunchResult, build_environment
from aft_tui.runs.launcher import TrialProcess
from aft_tui.runs.metrics import MetricRecord

pytestmark = pytest.mark.skipif(os.name == "nt", reason="process groups and signals are POSIX here")


@dataclass
class Trial:
    process: TrialProcess
    request: LaunchRequest
    batches: list[list[str]] = field(default_factory=list)
    metrics: list[MetricRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [line for batch in self.batches for line in batch]

    @property
    def log(self) -> str:
        return self.request.log_path.read_text(encoding="utf-8")


def make_trial(tmp_path: Path, source: str, *, args: list[str] | None = None, **options) -> Trial:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(source))
    run_dir = tmp_path / "outputs" / "run-1"
    options.setdefault("grace_int", 0.5)
    options.setdefault("grace_term", 0.5)
    request = LaunchRequest(
        command=options.pop("command", [sys.executable, "-u", str(script), *(args or [])]),
        cwd=tmp_path,
        run_dir=run_dir,
        log_path=run_dir / "run-1.log",
        metrics_path=run_dir / "metrics.jsonl",
        **options,
    )
    trial = Trial(process=None, request=request)  # type: ignore[arg-type]
    trial.process = TrialProcess(request, trial.batches.append, trial.metrics.extend, trial.warnings.append)
    return trial


async def run(tmp_path: Path, source: str, **options) -> tuple[Trial, LaunchResult]:
    trial = make_trial(tmp_path, source, **options)
    result = await trial.process.run()
    return trial, result


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# ---------------------------------------------------------------- output


async def test_stdout_and_stderr_keep_their_order(tmp_path):
    trial, result = await run(
        tmp_path,
        """
        import sys
        for i in range(3):
            print(f"out {i}")
            print(f"err {i}", file=sys.stderr)
        print("no newline at the end", end="")
        """,
    )
    expected = ["out 0", "err 0", "out 1", "err 1", "out 2", "err 2", "no newline at the end"]
    assert result.status == "exited" and result.returncode == 0 and result.error == ""
    assert trial.lines == expected
    assert trial.log == "\n".join(expected) + "\n"
    assert result.tail == expected


async def test_lines_arrive_in_batches(tmp_path):
    trial, result = await run(
        tmp_path,
        """
        import sys
        sys.stdout.write("".join(f"line {i}\\n" for i in range(2000)))
        """,
    )
    assert len(trial.lines) == 2000 and trial.lines[-1] == "line 1999"
    assert len(trial.batches) <= 5
    assert len(result.tail) == 60 and result.tail[-1] == "line 1999"


async def test_carriage_return_progress_bars(tmp_path):
    trial, _ = await run(
        tmp_path,
        """
        import sys, time
        for pct in (10, 50, 100):
            sys.stdout.write(f"\\r{pct:3d}%|{'#' * (pct // 10)}|")
            time.sleep(0.05)
        sys.stdout.write("\\n")
        # a bar redrawn 100,000 times before its newline stays one short line
        for i in range(100_000):
            sys.stdout.write(f"\\rstep {i}")
        sys.stdout.write("\\r\\n")
        print("windows line\\r")
        print("done")
        """,
    )
    assert trial.lines == ["100%|##########|", "step 99999", "windows line", "done"]
    assert "10%" not in trial.log
    assert trial.process.output.pending == b""


async def test_long_line_is_flushed_in_pieces(tmp_path):
    trial, _ = await run(
        tmp_path,
        """
        import sys, time
        sys.stdout.write("é" * 100_000)  # 200,000 bytes, no newline
        sys.stdout.flush()
        time.sleep(0.3)
        print("after")
        """,
    )
    pieces = trial.lines
    assert "".join(pieces) == "é" * 100_000 + "after"  # no character split across pieces
    assert pieces[-1].endswith("after")  # the line's remainder, completed by its newline
    assert all(len(p.encode()) <= 64 * 1024 for p in pieces)
    assert len(pieces) == 4


async def test_a_secret_across_the_cut_of_a_long_line_is_still_redacted(tmp_path):
    """A line too long to hold is cut into pieces and each piece is redacted on its own: the cut
    goes before the token, never through it."""
    secret = "planted-Secret-value-0123456789"
    trial, _ = await run(
        tmp_path,
        f"""
        import os, sys, time
        sys.stdout.write(("w" * 9 + " ") * 6552 + "p" * 6 + os.environ["MY_SERVICE_API_KEY"] + " tail")  # the key spans byte 65,536
        sys.stdout.flush()
        time.sleep(0.3)
        print(" end")
        """,
        env={"MY_SERVICE_API_KEY": secret},
    )
    assert secret not in trial.log and "[redacted]" in trial.log
    assert not any(secret[:12] in piece or secret[-12:] in piece for piece in trial.lines)
    assert trial.log.count("\n") == 1  # one line in the log file, as printed


# ---------------------------------------------------------------- environment


ENV_DUMP = """
import json, os
keys = ["AFT_RUN_DIR", "AFT_METRICS", "PYTHONUNBUFFERED", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MY_FLAG"]
print(json.dumps({k: os.environ.get(k) for k in keys}))
import os; print("cwd=" + os.getcwd())
"""


async def test_trial_protocol_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    trial, _ = await run(tmp_path, ENV_DUMP, gpus=[0, 2], env={"MY_FLAG": "yes"})
    env = json.loads(trial.lines[0])
    run_dir = tmp_path / "outputs" / "run-1"
    assert run_dir.is_dir()
    assert env == {
        "AFT_RUN_DIR": str(run_dir),
        "AFT_METRICS": str(run_dir / "metrics.jsonl"),
        "PYTHONUNBUFFERED": "1",
        "CUDA_VISIBLE_DEVICES": "0,2",
        "OMP_NUM_THREADS": "1",
        "MY_FLAG": "yes",
    }
    assert trial.lines[1] == f"cwd={tmp_path}"


async def test_user_settings_for_gpus_and_threads_are_respected(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    trial, _ = await run(tmp_path, ENV_DUMP)
    env = json.loads(trial.lines[0])
    assert env["CUDA_VISIBLE_DEVICES"] == "3"  # gpus=None leaves the user's choice alone
    assert env["OMP_NUM_THREADS"] == "4"


def test_environment_rules():
    def req(**kw) -> LaunchRequest:
        return LaunchRequest(["x"], Path("."), Path("r"), Path("r/l.log"), Path("r/m.jsonl"), **kw)

    base = {"PATH": "/bin", "CUDA_VISIBLE_DEVICES": "5"}
    env = build_environment(req(), base)
    assert env["OMP_NUM_THREADS"] == "1" and env["CUDA_VISIBLE_DEVICES"] == "5" and env["PATH"] == "/bin"
    assert build_environment(req(gpus=[]), base)["CUDA_VISIBLE_DEVICES"] == ""  # no GPU at all
    assert build_environment(req(omp_threads=3), base)["OMP_NUM_THREADS"] == "3"
    assert "OMP_NUM_THREADS" not in build_environment(req(omp_threads=None), base)
    assert build_environment(req(env={"OMP_NUM_THREADS": "8"}), base)["OMP_NUM_THREADS"] == "8"
    assert build_environment(req(), {"OMP_NUM_THREADS": "2"})["OMP_NUM_THREADS"] == "2"
    assert build_environment(req(env={"PYTHONUNBUFFERED": "0"}), base)["PYTHONUNBUFFERED"] == "1"
    assert "PYTHONUNBUFFERED" not in build_environment(req(unbuffered=False), dict(base, PYTHONUNBUFFERED="1"))
    assert Path(build_environment(req(), base)["AFT_RUN_DIR"]).is_absolute()


# ---------------------------------------------------------------- stopping


async def test_timeout_stops_a_hanging_script(tmp_path):
    started = time.monotonic()
    trial, result = await run(
        tmp_path,
        """
        import time
        print("training", flush=True)
        time.sleep(60)
        """,
        timeout=0.5,
    )
    assert result.status == "timeout"
    assert result.returncode is not None and result.returncode != 0
    assert time.monotonic() - started < 10
    assert trial.lines == ["training"] or trial.lines[0] == "training"


STUBBORN = """
import os, signal, subprocess, sys, time
def note(signum, frame):
    print(f"ignoring {signal.Signals(signum).name}", flush=True)
signal.signal(signal.SIGINT, note)
signal.signal(signal.SIGTERM, note)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "signal.signal(signal.SIGTERM, signal.SIG_IGN); open('child-ready', 'w').close(); time.sleep(60)"])
while not os.path.exists("child-ready"):
    time.sleep(0.01)
with open("pids.txt", "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


async def test_cancel_escalates_and_kills_the_whole_group(tmp_path):
    trial = make_trial(tmp_path, STUBBORN, grace_int=0.3, grace_term=0.3)
    task = asyncio.ensure_future(trial.process.run())
    await wait_for(lambda: "ready" in trial.lines)
    script_pid, grandchild_pid = map(int, (tmp_path / "pids.txt").read_text().split())
    started = time.monotonic()
    await trial.process.cancel()
    assert gone(script_pid)
    result = await task
    assert result.status == "cancelled"
    assert result.returncode == -9
    assert trial.lines[-2:] == ["ignoring SIGINT", "ignoring SIGTERM"]
    await wait_for(lambda: gone(grandchild_pid), timeout=5)
    assert time.monotonic() - started < 5


async def test_pruned_script_that_honours_sigint_stops_at_once(tmp_path):
    trial = make_trial(
        tmp_path,
        """
        import time
        try:
            print("epoch 1", flush=True)
            time.sleep(60)
        except KeyboardInterrupt:
            print("interrupted, saving", flush=True)
            raise SystemExit(130)
        """,
        grace_int=10,
        grace_term=10,
    )
    task = asyncio.ensure_future(trial.process.run())
    await wait_for(lambda: "epoch 1" in trial.lines)
    started = time.monotonic()
    await trial.process.cancel("pruned")
    await trial.process.cancel("cancelled")  # the first reason stands
    result = await task
    assert result.status == "pruned" and result.returncode == 130
    assert trial.lines[-1] == "interrupted, saving"
    assert time.monotonic() - started < 5


async def test_cancel_before_start_runs_nothing(tmp_path):
    trial = make_trial(tmp_path, "open('ran', 'w').close()\n")
    await trial.process.cancel()
    result = await trial.process.run()
    assert result.status == "cancelled" and result.returncode is None
    assert not (tmp_path / "ran").exists()


async def test_cancel_while_starting_waits_for_the_process(tmp_path):
    trial = make_trial(tmp_path, STUBBORN, grace_int=0.2, grace_term=0.2)
    task = asyncio.ensure_future(trial.process.run())
    await asyncio.sleep(0)  # run() is now starting the process
    await trial.process.cancel()
    assert trial.process.pid is not None and gone(trial.process.pid)
    result = await task
    assert result.status == "cancelled"
    with pytest.raises(RuntimeError):
        await trial.process.run()


async def test_cancelling_the_run_task_kills_the_script(tmp_path):
    trial = make_trial(tmp_path, STUBBORN)
    task = asyncio.ensure_future(trial.process.run())
    await wait_for(lambda: "ready" in trial.lines)
    script_pid, _ = map(int, (tmp_path / "pids.txt").read_text().split())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_for(lambda: gone(script_pid), timeout=5)


async def test_failing_view_callback_stops_the_trial(tmp_path):
    trial = make_trial(tmp_path, STUBBORN)

    def broken(lines: list[str]) -> None:
        if "ready" in lines:
            raise RuntimeError("view crashed")

    trial.process.on_lines = broken
    with pytest.raises(RuntimeError, match="view crashed"):
        await trial.process.run()
    script_pid, _ = map(int, (tmp_path / "pids.txt").read_text().split())
    await wait_for(lambda: gone(script_pid), timeout=5)


async def test_leftover_grandchild_holding_the_pipe_does_not_hang(tmp_path):
    started = time.monotonic()
    trial, result = await run(
        tmp_path,
        """
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open("child.pid", "w").write(str(child.pid))
        print("leaving a worker behind")
        """,
    )
    assert result.status == "exited" and result.returncode == 0
    assert trial.lines == ["leaving a worker behind"]
    assert time.monotonic() - started < 8
    pid = int((tmp_path / "child.pid").read_text())
    await wait_for(lambda: gone(pid), timeout=5)


async def test_missing_interpreter_is_start_failed(tmp_path):
    missing = str(tmp_path / "venv" / "bin" / "python")
    trial, result = await run(tmp_path, "print(1)\n", command=[missing, "-u", "train.py"])
    assert result.status == "start_failed" and result.returncode is None
    assert missing in result.error and "not found" in result.error
    assert result.error in trial.log


async def test_missing_working_directory_is_start_failed(tmp_path):
    trial = make_trial(tmp_path, "print(1)\n")
    trial.request.cwd = tmp_path / "gone"
    result = await trial.process.run()
    assert result.status == "start_failed" and "does not exist" in result.error


async def test_unusable_run_folder_is_start_failed(tmp_path):
    trial = make_trial(tmp_path, "print(1)\n")
    (tmp_path / "outputs").write_text("a file where the outputs folder should be")
    result = await trial.process.run()
    assert result.status == "start_failed" and "check that the outputs folder is writable" in result.error


# ---------------------------------------------------------------- metrics


async def test_metrics_file_is_tailed_live_and_bad_lines_warned_once(tmp_path):
    run_dir = tmp_path / "outputs" / "run-1"
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.jsonl").write_text('{"epoch": 0, "val_loss": 9.9}\n')  # an older run's history

    def on_file_metric() -> bool:
        return any(r.source == "file" for r in trial.metrics)

    trial = make_trial(
        tmp_path,
        """
        import json, os, time
        path = os.environ["AFT_METRICS"]
        def emit(text):
            with open(path, "a") as f:
                f.write(text)
        emit(json.dumps({"epoch": 1, "step": 10, "val_loss": 0.5}) + "\\n")
        deadline = time.time() + 5
        while not os.path.exists("go"):  # the launcher must read the line while we run
            if time.time() > deadline:
                raise SystemExit(3)
            time.sleep(0.02)
        emit("{not json\\n")
        emit("[1, 2]\\n\\n")
        emit(json.dumps({"epoch": 2, "val_loss": 0.25}) + "\\n")
        time.sleep(0.5)
        print("epoch 2 | train_loss: 0.3")
        emit('{"epoch": 3, "val_loss": 0.125}')  # last line without a newline
        """,
    )
    task = asyncio.ensure_future(trial.process.run())
    await wait_for(on_file_metric)
    (tmp_path / "go").touch()
    result = await task
    assert result.returncode == 0

    file_records = [r for r in trial.metrics if r.source == "file"]
    assert [(r.epoch, r.values) for r in file_records] == [
        (1.0, {"val_loss": 0.5}),
        (2.0, {"val_loss": 0.25}),
        (3.0, {"val_loss": 0.125}),
    ]
    assert file_records[0].step == 10
    stdout_records = [r for r in trial.metrics if r.source == "stdout"]
    assert [(r.epoch, r.values) for r in stdout_records] == [(2.0, {"train_loss": 0.3})]

    assert len(trial.warnings) == 2
    assert trial.warnings[0].startswith(str(run_dir / "metrics.jsonl") + " line 3 is not valid JSON: ")
    assert trial.warnings[0].endswith("; that line was skipped.")
    assert "line 4 is a JSON list, not an object" in trial.warnings[1]


async def test_stdout_metrics_are_parsed(tmp_path):
    trial, _ = await run(
        tmp_path,
        """
        print("Downloading data")
        print("{'eval_loss': 0.51, 'eval_accuracy': 0.83, 'epoch': 1.0}")
        print("Epoch 2: loss: 0.4 - accuracy: 0.9")
        """,
    )
    assert [(r.epoch, r.values, r.source) for r in trial.metrics] == [
        (1.0, {"eval_loss": 0.51, "eval_accuracy": 0.83}, "stdout"),
        (2.0, {"loss": 0.4, "accuracy": 0.9}, "stdout"),
    ]


# ---------------------------------------------------------------- throughput

SPAM = """
import sys
for i in range(int(sys.argv[1])):
    print(f"iteration {i} of the data loader warm-up, nothing to parse here")
"""


async def test_throughput_close_to_writing_a_file(tmp_path):
    """200,000 lines through the launcher take less than twice as long as straight to a file."""
    n = "200000"
    script = tmp_path / "spam.py"
    script.write_text(SPAM)
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")

    def direct() -> float:
        started = time.monotonic()
        with open(tmp_path / "direct.log", "wb") as out:
            subprocess.run([sys.executable, "-u", str(script), n], stdout=out, env=env, check=True)
        return time.monotonic() - started

    async def launched(i: int) -> float:
        counted = [0]
        request = LaunchRequest(
            [sys.executable, "-u", str(script), n],
            tmp_path,
            tmp_path / f"r{i}",
            tmp_path / f"r{i}" / "r.log",
            tmp_path / f"r{i}" / "metrics.jsonl",
        )
        process = TrialProcess(request, lambda lines: counted.__setitem__(0, counted[0] + len(lines)), lambda r: None)
        started = time.monotonic()
        result = await process.run()
        elapsed = time.monotonic() - started
        assert result.returncode == 0 and counted[0] == int(n)
        return elapsed

    baseline = min(direct() for _ in range(2))
    through_launcher = min([await launched(0), await launched(1)])
    print(f"direct {baseline:.2f}s, through the launcher {through_launcher:.2f}s")
    assert through_launcher < 2 * baseline, (through_launcher, baseline)
