"""Placing parallel trials on the machine: GPU slots, or CPU-only slots when no GPU exists."""

from __future__ import annotations

import os

from aft_tui.errors import UserError


def visible_gpu_count() -> int:
    """GPUs this process may use: CUDA_VISIBLE_DEVICES when set, else what NVML reports."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        ids = [x for x in env.split(",") if x.strip() and x.strip() != "-1"]
        return len(ids)
    try:
        from aft_tui.telemetry.nvml import read_gpus
    except ImportError:  # pragma: no cover
        return 0
    gpus = read_gpus()
    return len(gpus) if gpus else 0


def gpu_ids() -> list[int]:
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [int(x) for x in env.split(",") if x.strip().isdigit()]
    return list(range(visible_gpu_count()))


def assign_slots(parallel: int, gpus_per_trial: int, gpus: list[int]) -> list[list[int] | None]:
    """One entry per slot: the GPU ids it owns, or None for a CPU-only slot."""
    if parallel < 1:
        raise UserError("--parallel must be at least 1.")
    if not gpus:
        return [None] * parallel
    if gpus_per_trial < 1:
        raise UserError("--gpus-per-trial must be at least 1.")
    if gpus_per_trial > len(gpus):
        raise UserError(f"--gpus-per-trial {gpus_per_trial} asks for more GPUs than the {len(gpus)} visible; lower it.")
    usable = len(gpus) // gpus_per_trial
    if parallel > usable:
        raise UserError(
            f"--parallel {parallel} with {gpus_per_trial} GPU(s) per trial needs {parallel * gpus_per_trial} GPUs "
            f"but {len(gpus)} are visible; use --parallel {usable}."
        )
    return [gpus[i * gpus_per_trial:(i + 1) * gpus_per_trial] for i in range(parallel)]


def threads_per_trial(parallel: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, parallel))
