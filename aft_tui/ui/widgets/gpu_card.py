"""One GPU in the GPU pane: its numbers, the trials on it, and sparklines of utilisation and memory."""

from __future__ import annotations

from typing import Any, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline, Static

GIB = 1024**3


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def _gib(value: int | None) -> str:
    return "—" if value is None else f"{value / GIB:.1f}"


def _series(values: Sequence[Any]) -> list[float]:
    """Sparkline data: missing samples drawn as 0 so the line keeps its time axis."""
    return [float(v) if isinstance(v, (int, float)) else 0.0 for v in values] or [0.0]


class GpuCard(Vertical):
    def __init__(self, index: int, **kwargs: Any) -> None:
        super().__init__(classes="gpu-card", **kwargs)
        self.index = index
        self._latest: tuple[Any, dict[str, Sequence[Any]], list[str]] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", classes="gpu-title")
        yield Static("", classes="gpu-numbers")
        with Horizontal(classes="gpu-sparks"):
            yield Label("util", classes="spark-label")
            yield Sparkline([0.0], classes="gpu-util")
            yield Label("mem", classes="spark-label")
            yield Sparkline([0.0], classes="gpu-mem")

    def on_mount(self) -> None:
        if self._latest is not None:
            self._draw(*self._latest)

    def show(self, reading: Any, history: dict[str, Sequence[Any]], trials: Sequence[str]) -> None:
        """Keep the latest reading; draw it now, or as soon as the card is mounted."""
        self._latest = (reading, history, list(trials))
        if self.is_mounted:
            self._draw(*self._latest)

    def _draw(self, reading: Any, history: dict[str, Sequence[Any]], trials: Sequence[str]) -> None:
        title = Text()
        title.append(f"GPU {reading.index}", style="bold")
        title.append(f" {reading.name or ''}")
        title.append("  " + (", ".join(t.rsplit("-", 1)[-1] for t in trials) if trials else "idle"),
                     style="bold green" if trials else "dim")
        self.query_one(".gpu-title", Static).update(title)
        mem = f"{_gib(reading.mem_used)}/{_gib(reading.mem_total)} GiB"
        temp = "—" if reading.temperature is None else f"{reading.temperature:.0f}°C"
        power = "—" if reading.power_w is None else f"{reading.power_w:.0f}"
        if reading.power_limit_w is not None and reading.power_w is not None:
            power += f"/{reading.power_limit_w:.0f}"
        self.query_one(".gpu-numbers", Static).update(
            f"util {_pct(reading.util_gpu)}  mem {mem}  {temp}  {power} W")
        self.query_one(".gpu-util", Sparkline).data = _series(history.get("util_gpu", ()))
        self.query_one(".gpu-mem", Sparkline).data = _series(history.get("mem_used", ()))
