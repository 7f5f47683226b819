"""Generate fixtures/nvml_2gpu.jsonl: a 90-second, two-GPU trace shaped like a real recording.

It is synthetic (deterministic, seeded) but follows what an 8x-H100 node reports through NVML
for two trials: board name and memory total as the driver reports them for an
H100 80GB HBM3, a ~4 MiB idle footprint, a CUDA context plus model and optimizer state growing
over a few seconds, utilisation near 100% with dips at evaluation, power tracking utilisation
under a 700 W limit, temperature approaching its load level with a ~15 s time constant, and no
fan reading (SXM boards answer "Not Supported"). Two frames on GPU 1 carry nulls, as a transient
NVML failure does. It is written with the same writer as `record()`.

    python tests/telemetry/make_fixture.py
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from aft_tui.telemetry.nvml import GpuReading
from aft_tui.telemetry.recording import write_recording

MIB = 1024**2
GIB = 1024**3
H100_TOTAL = 81559 * MIB  # 85520809984 bytes, as NVML reports for an H100 80GB HBM3
IDLE_USED = 4 * MIB
T0 = 1718003600.0
FRAMES = 90

# (gpu index, uuid, trial pid, first frame, last frame, steady memory, steady utilisation)
PLAN = [
    (0, "GPU-3f1c2a9e-7b4d-4e21-9a6f-0c8d5b2e1f47", 48211, 4, FRAMES, int(37.6 * GIB), 98),
    (1, "GPU-b27e90d4-15ac-4f3b-8e62-9d4a7c30e5b1", 48377, 30, 75, int(21.3 * GIB), 86),
]
NULL_FRAMES = {50, 51}  # GPU 1: a transient NVML failure on utilisation, power and process memory


def gpu_frame(rng: random.Random, frame: int, plan: tuple, state: dict) -> GpuReading:
    index, uuid, pid, start, end, steady_mem, steady_util = plan
    running = start <= frame < end
    if running:
        age = frame - start
        mem = IDLE_USED + int(520 * MIB * min(1, age + 1)) + int(steady_mem * min(1.0, max(0, age - 1) / 5))
        evaluating = age > 8 and age % 20 in (0, 1)
        util = 0 if age < 2 else (rng.randint(35, 48) if evaluating else min(100, steady_util + rng.randint(-3, 2)))
        util_mem = 0 if age < 2 else int(util * rng.uniform(0.38, 0.46))
        processes = ((pid, mem - IDLE_USED),)
    else:
        mem, util, util_mem, processes = IDLE_USED, 0, 0, ()
    target_temp = 31 + 0.33 * util
    state["temp"] += (target_temp - state["temp"]) * (1 - math.exp(-1 / 15))
    power = 71.5 + 5.6 * util + rng.uniform(-6, 6) if util else 69 + rng.uniform(0, 4)
    power = min(power, 700.0)
    reading = GpuReading(
        index=index,
        name="NVIDIA H100 80GB HBM3",
        uuid=uuid,
        util_gpu=util,
        util_mem=util_mem,
        mem_used=mem,
        mem_total=H100_TOTAL,
        temperature=round(state["temp"]),
        power_w=round(power, 3),
        power_limit_w=700.0,
        fan=None,
        processes=processes,
    )
    if index == 1 and frame in NULL_FRAMES:
        data = reading.to_dict()
        data.update(util_gpu=None, util_mem=None)
        if frame == 51:
            data["power_w"] = None
        data["processes"] = [[p, None] for p, _ in processes]
        reading = GpuReading.from_dict(data)
    return reading


def main() -> None:
    rng = random.Random(20240610)
    states = [{"temp": 30.0}, {"temp": 32.0}]
    frames = []
    for frame in range(FRAMES):
        gpus = [gpu_frame(rng, frame, plan, states[i]) for i, plan in enumerate(PLAN)]
        frames.append((T0 + frame + rng.uniform(0, 0.004), gpus))
    out = Path(__file__).resolve().parent / "fixtures" / "nvml_2gpu.jsonl"
    write_recording(out, frames, interval=1.0)
    print(f"wrote {out} ({len(frames)} frames)")


if __name__ == "__main__":
    main()
