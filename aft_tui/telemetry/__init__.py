"""GPU and system telemetry for the GPU pane: NVML and psutil readings, sampled in the background.

Nothing heavy is imported here: `pynvml` is loaded on the first GPU read.
"""
