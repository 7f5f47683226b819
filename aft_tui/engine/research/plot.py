"""The research progress chart: the metric of every experiment, the kept ones marked, and the
best so far as a step line, drawn for the terminal (plotext) and as a PNG (matplotlib).

plotext comes with AFT (through textual-plotext); matplotlib is optional, so the PNG is skipped
with one sentence when it is missing. Both are imported only when a chart is drawn: `import
aft_tui` stays light. The PNG is drawn on a bare `Figure` with the Agg canvas, never through
pyplot, so drawing it never changes the backend of a process that already uses matplotlib.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

from aft_tui.fsutil import atomic_write_bytes

PNG_NAME = "progress.png"
PNG_NEEDS_MATPLOTLIB = ("The progress chart as a PNG needs matplotlib, which is not installed "
                        "(`pip install matplotlib` adds it).")
DEFAULT_WIDTH = 80
DEFAULT_HEIGHT = 20


@dataclass(frozen=True)
class Point:
    """One experiment on the chart."""

    number: int
    value: float
    kept: bool


@dataclass(frozen=True)
class Chart:
    """What the chart shows: the points, the best-so-far steps (experiment number, best after it)."""

    metric: str
    points: list[Point]
    best: list[tuple[int, float]]

    @property
    def empty(self) -> bool:
        return not self.points and not self.best


def step_line(best: list[tuple[int, float]]) -> tuple[list[float], list[float]]:
    """The best-so-far series as the corners of a step line (it moves only when the best does)."""
    xs: list[float] = []
    ys: list[float] = []
    for number, value in best:
        if ys and value != ys[-1]:
            xs.append(number)
            ys.append(ys[-1])
        xs.append(number)
        ys.append(value)
    return xs, ys


def terminal_width() -> int:
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns or DEFAULT_WIDTH


def terminal_chart(chart: Chart, width: int | None = None, height: int = DEFAULT_HEIGHT, color: bool = False) -> str:
    """The chart as text `width` columns wide (the terminal's width when None); no escape codes
    unless `color`."""
    if chart.empty:
        return "No experiment has a value yet, so there is nothing to plot."
    import plotext as plt

    columns = max(20, int(width or terminal_width()))
    plt.clear_figure()
    plt.limit_size(False, False)
    plt.plot_size(columns, max(8, int(height)))
    plt.theme("clear")
    if chart.best:
        xs, ys = step_line(chart.best)
        plt.plot(xs, ys, marker="braille", color="green", label="best so far")
    other = [p for p in chart.points if not p.kept]
    kept = [p for p in chart.points if p.kept]
    if other:
        plt.scatter([p.number for p in other], [p.value for p in other], marker="•", color="gray",
                    label="discarded")
    if kept:
        plt.scatter([p.number for p in kept], [p.value for p in kept], marker="◆", color="green", label="kept")
    numbers = sorted({p.number for p in chart.points} | {n for n, _ in chart.best})
    plt.xticks(_ticks(numbers, columns))
    plt.xlabel("experiment")
    plt.title(f"{chart.metric} over experiments")
    text = plt.build()
    plt.clear_figure()
    return text if color else plt.uncolorize(text)


def _ticks(numbers: list[int], columns: int) -> list[int]:
    """At most one tick per eight columns, so the labels never run into each other."""
    room = max(2, columns // 8)
    if len(numbers) <= room:
        return numbers
    step = -(-len(numbers) // room)
    return numbers[::step]


def write_png(chart: Chart, path: Path) -> Path | None:
    """Draw the chart into `path`; None (nothing written) when matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(9, 4.8), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    other = [p for p in chart.points if not p.kept]
    kept = [p for p in chart.points if p.kept]
    if other:
        axes.scatter([p.number for p in other], [p.value for p in other], s=22, color="#9a9a9a", label="discarded",
                     zorder=2)
    if kept:
        axes.scatter([p.number for p in kept], [p.value for p in kept], s=46, color="#2a9d3f", marker="D",
                     label="kept", zorder=3)
    if chart.best:
        axes.step([n for n, _ in chart.best], [v for _, v in chart.best], where="post", color="#2a9d3f",
                  linewidth=1.6, label="best so far", zorder=1)
    axes.set_xlabel("experiment")
    axes.set_ylabel(chart.metric)
    axes.set_title(f"{chart.metric} over experiments")
    axes.grid(True, alpha=0.3)
    axes.xaxis.get_major_locator().set_params(integer=True)
    if chart.points or chart.best:
        axes.legend(loc="best", frameon=False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())
    return path
