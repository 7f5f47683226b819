"""GPU and system telemetry: live NVML where present, recorded traces everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from aft_tui.errors import UserError
from aft_tui.telemetry import nvml
from aft_tui.telemetry.nvml import GIB, GpuReading, read_gpus
from aft_tui.telemetry.recording import RecordedSource, load_recording, record, write_recording
from aft_tui.telemetry.sampler import GPU_METRICS, Sampler
from aft_tui.telemetry.system import ProcessTreeMeter, read_system

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "nvml_2gpu.jsonl"
ROOT = Path(__file__).resolve().parents[2]
TRIAL_A, TRIAL_B = 48211, 48377  # pids in the fixture: GPU 0 from frame 4, GPU 1 from frame 30 to 74
HAS_GPU = read_gpus() is not None


# ---------------------------------------------------------------- NVML


@pytest.mark.skipif(HAS_GPU, reason="this machine has an NVIDIA GPU")
def test_no_driver_reads_as_none_with_a_reason() -> None:
    assert read_gpus() is None
    assert read_gpus() is None  # the failed initialisation is remembered, not retried per tick
    reason = nvml.unavailable_reason()
    assert reason.startswith("no NVIDIA driver is available") or "not installed" in reason
    snap = Sampler(source=None).sample_once()
    assert snap.gpus is None and not snap.gpu_available
    assert snap.gpu_status == reason
    assert snap.gpu_history == {} and snap.error is None


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason="needs an NVIDIA GPU")
def test_live_gpus_read_with_plausible_values() -> None:
    gpus = read_gpus()
    assert gpus
    for g in gpus:
        assert g.name and g.mem_total and g.mem_total > GIB
        assert g.mem_used is None or 0 <= g.mem_used <= g.mem_total
        assert g.util_gpu is None or 0 <= g.util_gpu <= 100
        assert GpuReading.from_dict(json.loads(json.dumps(g.to_dict()))) == g


def test_nvml_is_imported_lazily() -> None:
    code = (
        "import sys\n"
        "import aft_tui.telemetry.sampler, aft_tui.telemetry.recording, aft_tui.telemetry.nvml\n"
        "assert 'pynvml' not in sys.modules\n"
        "assert not {'torch', 'numpy', 'optuna'} & set(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_refused_queries_become_none() -> None:
    import pynvml

    def not_supported() -> int:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    with pytest.raises(pynvml.NVMLError_NotSupported):
        not_supported()
    assert nvml._safe(not_supported) is None
    assert nvml._safe(lambda x: x * 2, 21) == 42


# ---------------------------------------------------------------- recordings


def test_fixture_looks_like_two_h100s() -> None:
    frames = load_recording(FIXTURE)
    assert len(frames) == 90
    times = [t for t, _ in frames]
    assert all(0.9 < b - a < 1.1 for a, b in zip(times, times[1:]))
    for _, gpus in frames:
        assert [g.index for g in gpus] == [0, 1]
        for g in gpus:
            assert g.name == "NVIDIA H100 80GB HBM3"
            assert g.mem_total == 81559 * 1024**2
            assert g.fan is None  # SXM boards do not report a fan
            assert g.power_limit_w == 700.0
    busy = [g.util_gpu for _, gpus in frames[20:] for g in gpus[:1]]
    assert min(busy) < 50 < 95 < max(busy)  # steady load with evaluation dips


def test_recorded_nulls_stay_none() -> None:
    frames = load_recording(FIXTURE)
    gpu1 = frames[50][1][1]
    assert gpu1.util_gpu is None and gpu1.util_mem is None
    assert gpu1.processes == ((TRIAL_B, None),)
    assert frames[51][1][1].power_w is None
    assert gpu1.mem_used is not None and gpu1.mem_fraction is not None


def test_playback_in_order_then_loops(tmp_path: Path) -> None:
    src = RecordedSource(FIXTURE)
    frames = load_recording(FIXTURE)
    played = [src.read() for _ in range(92)]
    assert played[0] == frames[0][1] and played[89] == frames[89][1]
    assert played[90] == frames[0][1] and src.position == 2
    once = RecordedSource(FIXTURE, loop=False)
    for _ in range(95):
        last = once.read()
    assert once.finished and last == frames[-1][1]


def test_playback_of_a_moment_without_gpus(tmp_path: Path) -> None:
    path = tmp_path / "gap.jsonl"
    reading = GpuReading(index=0, name="NVIDIA A100-SXM4-40GB", mem_total=40 * GIB)
    write_recording(path, [(1.0, [reading]), (2.0, None), (3.0, [reading])])
    src = RecordedSource(path)
    assert [src.read(), src.read(), src.read()] == [[reading], None, [reading]]


def test_damaged_recordings_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        RecordedSource(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t": 1, "gpus": []}\n{"t": 2, "gpus": [\n')
    with pytest.raises(UserError, match="Line 2 of bad.jsonl is not valid JSON"):
        RecordedSource(bad)
    bad.write_text('{"t": 1, "gpus": [{"name": "x"}]}\n')
    with pytest.raises(UserError, match="Line 1 of bad.jsonl: A GPU reading needs an integer 'index'"):
        RecordedSource(bad)
    bad.write_text('{"format": "aft-gpu-recording"}\n')
    with pytest.raises(UserError, match="holds no frames"):
        RecordedSource(bad)


def test_record_writes_what_the_source_reads(tmp_path: Path) -> None:
    out = tmp_path / "rec" / "trace.jsonl"
    started = time.monotonic()
    n = record(out, seconds=0.3, interval=0.1, source=RecordedSource(FIXTURE))
    assert n == 3
    assert time.monotonic() - started >= 0.19  # paced at the interval
    header = json.loads(out.read_text().splitlines()[0])
    assert header["format"] == "aft-gpu-recording" and header["interval"] == 0.1
    assert [g for _, g in load_recording(out)] == [g for _, g in load_recording(FIXTURE)[:3]]
    assert sorted(p.name for p in out.parent.iterdir()) == ["trace.jsonl"]  # no temp file left


@pytest.mark.skipif(HAS_GPU, reason="this machine has an NVIDIA GPU")
def test_record_without_gpu_says_why(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="No NVIDIA GPU can be read here"):
        record(tmp_path / "x.jsonl", seconds=1)
    assert not list(tmp_path.iterdir())
    with pytest.raises(UserError, match="positive duration"):
        record(tmp_path / "x.jsonl", seconds=0)


# ---------------------------------------------------------------- sampler


def test_ring_buffers_are_bounded() -> None:
    sampler = Sampler(interval=1.0, history=10, source=RecordedSource(FIXTURE))
    for _ in range(25):
        snap = sampler.sample_once()
    assert snap.samples == 25
    assert len(snap.times) == 10 and len(snap.cpu_history) == 10 and len(snap.ram_history) == 10
    assert set(snap.gpu_history) == {0, 1}
    for metrics in snap.gpu_history.values():
        assert set(metrics) == set(GPU_METRICS)
        assert all(len(values) == 10 for values in metrics.values())
    frames = load_recording(FIXTURE)
    assert snap.gpus == tuple(frames[24][1])
    assert snap.gpu_history[0]["mem_used"] == tuple(f[1][0].mem_used for f in frames[15:25])
    assert snap.gpu_history[0]["fan"] == (None,) * 10


def test_nulls_flow_into_histories_without_breaking_anything() -> None:
    sampler = Sampler(history=60, source=RecordedSource(FIXTURE), system=False)
    for _ in range(53):
        snap = sampler.sample_once()
    util1 = snap.gpu_history[1]["util_gpu"]
    assert util1[-3:-1] == (None, None) and util1[-1] is not None
    assert snap.gpu_history[1]["power_w"][-2] is None
    assert snap.system is None and snap.cpu_history == ()


def test_trials_are_mapped_to_their_gpus() -> None:
    sampler = Sampler(source=RecordedSource(FIXTURE), system=False)
    sampler.register_trial("run-a", TRIAL_A)
    sampler.register_trial("run-b", TRIAL_B)
    for _ in range(10):
        snap = sampler.sample_once()
    assert snap.gpu_trials == {0: ("run-a",)}
    assert snap.trials["run-a"].gpus == (0,) and snap.trials["run-a"].gpu_mem > 30 * GIB
    assert snap.trials["run-b"].gpus == () and snap.trials["run-b"].gpu_mem is None
    for _ in range(30):
        snap = sampler.sample_once()
    assert snap.gpu_trials == {0: ("run-a",), 1: ("run-b",)}
    assert 15 * GIB < snap.trials["run-b"].gpu_mem < 25 * GIB
    sampler.unregister_trial("run-a")
    snap = sampler.sample_once()
    assert set(snap.trials) == {"run-b"} and snap.gpu_trials == {1: ("run-b",)}
    with pytest.raises(UserError, match="positive process id"):
        sampler.register_trial("run-c", 0)


def test_gpu_process_that_is_a_child_of_the_trial(tmp_path: Path) -> None:
    """A launcher (like torchrun) whose worker holds the GPU: the worker's pid maps to the trial."""
    script = "import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); print(c.pid, flush=True); time.sleep(30)"
    launcher = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(launcher.stdout.readline())
        trace = tmp_path / "child.jsonl"
        gpu = GpuReading(index=3, name="NVIDIA H100 80GB HBM3", processes=((worker, 2 * GIB), (999_999_999, GIB)))
        write_recording(trace, [(0.0, [gpu])])
        sampler = Sampler(source=RecordedSource(trace))
        sampler.register_trial("run-7", launcher.pid)
        sampler.sample_once()
        snap = sampler.sample_once()
        usage = snap.trials["run-7"]
        assert usage.alive and usage.processes == 2
        assert usage.gpus == (3,) and usage.gpu_mem == 2 * GIB  # the other user's process is not counted
        assert snap.gpu_trials == {3: ("run-7",)}
        assert usage.rss > 1024**2
    finally:
        for p in psutil.Process(launcher.pid).children(recursive=True):
            p.kill()
        launcher.kill()
        launcher.wait()
    snap = sampler.sample_once()
    assert not snap.trials["run-7"].alive and snap.trials["run-7"].gpus == ()


def test_background_thread_samples_and_stops() -> None:
    sampler = Sampler(interval=0.05, history=5, source=RecordedSource(FIXTURE))
    with sampler:
        assert sampler.running
        deadline = time.monotonic() + 5
        while sampler.snapshot().samples < 8 and time.monotonic() < deadline:
            snap = sampler.snapshot()  # safe from this thread while sampling runs
            assert len(snap.times) <= 5
            time.sleep(0.01)
    assert not sampler.running
    snap = sampler.snapshot()
    assert snap.samples >= 8 and len(snap.times) == 5
    time.sleep(0.15)
    assert sampler.snapshot().samples == snap.samples  # stopped means stopped


def test_a_failing_source_is_reported_not_raised() -> None:
    class Broken:
        def read(self) -> list[GpuReading] | None:
            raise RuntimeError("GPU is lost")

    snap = Sampler(source=Broken(), system=False).sample_once()
    assert snap.gpus is None and snap.error == "GPU reading failed: GPU is lost"


def test_bad_sampler_settings() -> None:
    with pytest.raises(UserError, match="interval must be a positive"):
        Sampler(interval=0)
    with pytest.raises(UserError, match="at least 1 sample"):
        Sampler(history=0)


@pytest.mark.parametrize("source", ["live", "recorded"])
def test_sampler_cpu_cost(source: str) -> None:
    """At 0.1 s the thread must stay under 5% of a core, i.e. under 0.5% at the default 1 s."""
    src = None if source == "live" else RecordedSource(FIXTURE)
    sampler = Sampler(interval=0.1, source=src)
    sampler.register_trial("me", os.getpid())  # a real process tree to measure every tick
    sampler.start()
    time.sleep(3.0)
    sampler.stop()
    samples = sampler.snapshot().samples
    fraction = sampler.cpu_seconds / 3.0
    print(f"\nsampler ({source}): {samples} samples, {fraction:.2%} of a core at 0.1 s "
          f"=> ~{fraction / 10:.3%} at 1 s")
    assert samples >= 20
    assert fraction < 0.05


# ---------------------------------------------------------------- system


def test_system_reading() -> None:
    read_system()
    time.sleep(0.05)
    r = read_system()
    assert len(r.cpu_per_core) == psutil.cpu_count()
    assert 0 <= r.cpu_percent <= 100
    assert 0 < r.ram_used < r.ram_total


def test_process_tree_meter_measures_a_busy_child() -> None:
    busy = subprocess.Popen([sys.executable, "-c", "import time\nt=time.time()\nwhile time.time()-t<5: pass"])
    try:
        meter = ProcessTreeMeter()
        meter.measure([busy.pid])
        time.sleep(0.5)
        usage = meter.measure([busy.pid, 999_999_999])
        assert usage[busy.pid].alive and usage[busy.pid].cpu_percent > 10  # a spinning loop, even on a loaded machine
        assert usage[busy.pid].rss > 1024**2
        assert not usage[999_999_999].alive and usage[999_999_999].pids == (999_999_999,)
    finally:
        busy.kill()
        busy.wait()
    assert not meter.measure([busy.pid])[busy.pid].alive
