"""Recorded GPU traces: write real NVML readings to JSON lines, and play them back.

A recording lets the GPU pane be developed, tested and demonstrated on a machine with no
NVIDIA driver: `RecordedSource` stands in for the live NVML source in the sampler. The
format is one JSON object per line: a header line (``{"format": "aft-gpu-recording", ...}``)
then one frame per sample, ``{"t": <unix time>, "gpus": [<GpuReading.to_dict()>, ...]}``,
where ``"gpus": null`` is a moment when no GPU could be read. Fields a board did not report
are ``null`` and stay None on playback.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from typing import IO, Iterable, Protocol

from aft_tui.errors import UserError
from aft_tui.fsutil import temp_beside
from aft_tui.telemetry import nvml
from aft_tui.telemetry.nvml import GpuReading

FORMAT = "aft-gpu-recording"
VERSION = 1

Frame = tuple[float, "list[GpuReading] | None"]


class GpuSource(Protocol):
    """Anything the sampler can ask for the current GPU readings."""

    def read(self) -> list[GpuReading] | None: ...


class NvmlSource:
    """The live GPUs of this machine."""

    def read(self) -> list[GpuReading] | None:
        return nvml.read_gpus()

    @property
    def status(self) -> str:
        return nvml.unavailable_reason()


class RecordedSource:
    """Plays a recording back one frame per `read()`, looping at the end unless `loop=False`
    (then the last frame repeats, as a GPU stays as it was last seen)."""

    def __init__(self, path: str | os.PathLike[str], loop: bool = True) -> None:
        self.path = Path(path)
        self.loop = loop
        self.frames = load_recording(self.path)
        if not self.frames:
            raise UserError(f"The GPU recording {self.path} holds no frames: record a trace with at least one sample.")
        self._next = 0
        self.status = ""

    @property
    def finished(self) -> bool:
        return not self.loop and self._next >= len(self.frames)

    @property
    def position(self) -> int:
        """Index of the next frame `read()` returns."""
        return self._next % len(self.frames)

    def read(self) -> list[GpuReading] | None:
        if self._next >= len(self.frames):
            if not self.loop:
                return self.frames[-1][1]
            self._next = 0
        _, gpus = self.frames[self._next]
        self._next += 1
        return None if gpus is None else list(gpus)


def load_recording(path: str | os.PathLike[str]) -> list[Frame]:
    """All frames of a recording, checked line by line."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"The GPU recording {p} does not exist: check the path or record one with record().")
    frames: list[Frame] = []
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"Line {lineno} of {p.name} is not valid JSON ({exc.msg}): the recording is damaged.")
            if not isinstance(data, dict):
                raise UserError(f"Line {lineno} of {p.name} is not a JSON object: the recording is damaged.")
            if "gpus" not in data:
                continue  # header or a future kind of line
            gpus = data["gpus"]
            if gpus is not None and not isinstance(gpus, list):
                raise UserError(f"Line {lineno} of {p.name} has 'gpus' that is not a list: the recording is damaged.")
            try:
                readings = None if gpus is None else [GpuReading.from_dict(g) for g in gpus]
            except UserError as exc:
                raise UserError(f"Line {lineno} of {p.name}: {exc.message}") from None
            t = data.get("t")
            frames.append((float(t) if isinstance(t, (int, float)) else float(len(frames)), readings))
    return frames


def _header(interval: float, started: float) -> str:
    return json.dumps({"format": FORMAT, "version": VERSION, "interval": interval, "started": round(started, 3)})


def _frame_line(t: float, gpus: Iterable[GpuReading] | None) -> str:
    payload = None if gpus is None else [g.to_dict() for g in gpus]
    return json.dumps({"t": round(t, 3), "gpus": payload}, separators=(",", ":"))


def _open_temp(path: Path) -> tuple[IO[str], str]:
    fh, tmp = temp_beside(path)
    return io.TextIOWrapper(fh, encoding="utf-8"), tmp


def write_recording(path: str | os.PathLike[str], frames: Iterable[Frame], interval: float = 1.0) -> None:
    """Write frames (from a generator, a test, another recording) as one recording, atomically."""
    target = Path(path)
    frames = list(frames)
    fh, tmp = _open_temp(target)
    try:
        with fh:
            fh.write(_header(interval, frames[0][0] if frames else time.time()) + "\n")
            for t, gpus in frames:
                fh.write(_frame_line(t, gpus) + "\n")
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def record(
    path: str | os.PathLike[str],
    seconds: float,
    interval: float = 1.0,
    source: GpuSource | None = None,
) -> int:
    """Record `seconds` of readings, one frame per `interval`; returns the number of frames.

    Lines are flushed as they are taken, and the file appears under its name when recording
    ends, also when it is interrupted (Ctrl-C keeps what was recorded so far).
    """
    if interval <= 0 or seconds <= 0:
        raise UserError("Recording needs a positive duration and interval, e.g. record(path, 60, 1.0).")
    live = source is None
    src: GpuSource = NvmlSource() if source is None else source
    first = src.read()
    if first is None and live:
        raise UserError(
            f"No NVIDIA GPU can be read here ({nvml.unavailable_reason()}): record on the machine with the GPUs."
        )
    target = Path(path)
    frames = max(1, int(round(seconds / interval)))
    fh, tmp = _open_temp(target)
    written = 0
    try:
        with fh:
            fh.write(_header(interval, time.time()) + "\n")
            start = time.monotonic()
            gpus = first
            while True:
                fh.write(_frame_line(time.time(), gpus) + "\n")
                fh.flush()
                written += 1
                if written >= frames:
                    break
                delay = start + written * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                gpus = src.read()
    finally:
        if written:
            os.replace(tmp, target)
        else:
            os.unlink(tmp)
    return written
