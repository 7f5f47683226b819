"""NVIDIA GPU readings through NVML (the `nvidia-ml-py` package, imported as `pynvml`).

NVML is the driver's own monitoring library, so reading it costs no subprocess and works the
same over SSH. It is also uneven: a query that one board answers, another refuses
("Not Supported": fans on SXM boards, power on some laptops, utilisation under MIG), and a
container may hide the driver entirely. So every query is made on its own and any refusal
becomes ``None`` for that one field; a machine without a driver gets ``None`` from
`read_gpus()` instead of an exception. NVML is initialised once, on first use, and shut down
at interpreter exit.
"""

from __future__ import annotations

import atexit
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from aft_tui.errors import UserError

GIB = 1024**3


@dataclass(frozen=True)
class GpuReading:
    """One GPU at one instant. Any field the board does not report is None."""

    index: int
    name: str | None = None
    uuid: str | None = None
    util_gpu: float | None = None  # % of time a kernel was running
    util_mem: float | None = None  # % of time device memory was read or written
    mem_used: int | None = None  # bytes
    mem_total: int | None = None  # bytes
    temperature: float | None = None  # degrees Celsius
    power_w: float | None = None
    power_limit_w: float | None = None
    fan: float | None = None  # % of maximum speed
    processes: tuple[tuple[int, int | None], ...] = field(default_factory=tuple)  # (pid, used bytes)

    @property
    def mem_fraction(self) -> float | None:
        if self.mem_used is None or not self.mem_total:
            return None
        return self.mem_used / self.mem_total

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["processes"] = [[pid, used] for pid, used in self.processes]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GpuReading":
        """Rebuild a reading from its JSON form; missing or null fields stay None."""
        if not isinstance(data, dict) or not isinstance(data.get("index"), int) or isinstance(data["index"], bool):
            raise UserError("A GPU reading needs an integer 'index': the recording is damaged or not a GPU trace.")
        procs = []
        for item in data.get("processes") or []:
            if isinstance(item, (list, tuple)) and item and isinstance(item[0], int):
                used = item[1] if len(item) > 1 and isinstance(item[1], int) else None
                procs.append((item[0], used))
        return cls(
            index=data["index"],
            name=_str_or_none(data.get("name")),
            uuid=_str_or_none(data.get("uuid")),
            util_gpu=_num_or_none(data.get("util_gpu")),
            util_mem=_num_or_none(data.get("util_mem")),
            mem_used=_int_or_none(data.get("mem_used")),
            mem_total=_int_or_none(data.get("mem_total")),
            temperature=_num_or_none(data.get("temperature")),
            power_w=_num_or_none(data.get("power_w")),
            power_limit_w=_num_or_none(data.get("power_limit_w")),
            fan=_num_or_none(data.get("fan")),
            processes=tuple(procs),
        )


def _num_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _str_or_none(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------- NVML session

_lock = threading.Lock()
_nvml: Any = None  # the pynvml module once initialised
_tried = False
_reason = ""


def _ensure() -> Any:
    """Initialise NVML once; None (with `unavailable_reason()` set) when it cannot be."""
    global _nvml, _tried, _reason
    with _lock:
        if _tried:
            return _nvml
        _tried = True
        try:
            import pynvml
        except ImportError:
            _reason = "the nvidia-ml-py package is not installed"
            return None
        try:
            pynvml.nvmlInit()
        except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, OSError...
            _reason = f"no NVIDIA driver is available ({exc})"
            return None
        _nvml = pynvml
        atexit.register(shutdown)
        return _nvml


def shutdown() -> None:
    """Release NVML; the next read initialises it again."""
    global _nvml, _tried
    with _lock:
        if _nvml is not None:
            try:
                _nvml.nvmlShutdown()
            except Exception:
                pass
        _nvml = None
        _tried = False


def unavailable_reason() -> str:
    """Why `read_gpus()` returns None, in words for the GPU pane ('' when GPUs are readable)."""
    _ensure()
    return _reason if _nvml is None else ""


def _safe(call: Callable[..., Any], *args: Any) -> Any:
    """One NVML query; any refusal (Not Supported, No Permission, GPU lost...) reads as None."""
    try:
        return call(*args)
    except Exception:
        return None


def read_gpus() -> list[GpuReading] | None:
    """Every visible NVIDIA GPU, or None when there is no driver or no GPU at all."""
    nv = _ensure()
    if nv is None:
        return None
    count = _safe(nv.nvmlDeviceGetCount)
    if not count:
        return None
    return [_read_one(nv, i) for i in range(count)]


def _read_one(nv: Any, index: int) -> GpuReading:
    handle = _safe(nv.nvmlDeviceGetHandleByIndex, index)
    if handle is None:
        return GpuReading(index=index)
    util = _safe(nv.nvmlDeviceGetUtilizationRates, handle)
    mem = _safe(nv.nvmlDeviceGetMemoryInfo, handle)
    power_mw = _safe(nv.nvmlDeviceGetPowerUsage, handle)
    limit_mw = _safe(nv.nvmlDeviceGetEnforcedPowerLimit, handle)
    processes: dict[int, int | None] = {}
    for query in (nv.nvmlDeviceGetComputeRunningProcesses, nv.nvmlDeviceGetGraphicsRunningProcesses):
        for proc in _safe(query, handle) or []:
            used = getattr(proc, "usedGpuMemory", None)
            pid = int(proc.pid)
            if pid not in processes or processes[pid] is None:
                processes[pid] = int(used) if used is not None else None
    return GpuReading(
        index=index,
        name=_str_or_none(_safe(nv.nvmlDeviceGetName, handle)),
        uuid=_str_or_none(_safe(nv.nvmlDeviceGetUUID, handle)),
        util_gpu=getattr(util, "gpu", None),
        util_mem=getattr(util, "memory", None),
        mem_used=_int_or_none(getattr(mem, "used", None)),
        mem_total=_int_or_none(getattr(mem, "total", None)),
        temperature=_safe(nv.nvmlDeviceGetTemperature, handle, nv.NVML_TEMPERATURE_GPU),
        power_w=power_mw / 1000 if isinstance(power_mw, (int, float)) else None,
        power_limit_w=limit_mw / 1000 if isinstance(limit_mw, (int, float)) else None,
        fan=_safe(nv.nvmlDeviceGetFanSpeed, handle),
        processes=tuple(sorted(processes.items())),
    )
