"""A line plot for the runs pane: learning curves, or best-so-far over trials.

Drawn with textual-plotext when it is installed (braille lines, axes, legend); otherwise each
series becomes a labelled text sparkline, which still shows the shape in any terminal.

Until there is something to plot, the plot is a line of text: plotext (its import and an empty
chart's drawing) is paid for on the first data, not by the first screen of every session.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from typing import Any, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

Series = tuple[str, Sequence[float], Sequence[float]]
_BARS = "▁▂▃▄▅▆▇█"


@lru_cache(maxsize=1)
def plotext_available() -> bool:
    """Whether textual-plotext is installed (optional: richer plots), without importing it."""
    return importlib.util.find_spec("textual_plotext") is not None


def text_sparkline(values: Sequence[float], width: int = 40) -> str:
    if not values:
        return ""
    if len(values) > width:  # keep the shape: sample evenly
        step = len(values) / width
        values = [values[int(i * step)] for i in range(width)]
    lo, hi = min(values), max(values)
    span = hi - lo or 1.0
    return "".join(_BARS[min(len(_BARS) - 1, int((v - lo) / span * (len(_BARS) - 1)))] for v in values)


class LearningPlot(Vertical):
    def __init__(self, title: str, xlabel: str = "", integer_x: bool = False, **kwargs: Any) -> None:
        super().__init__(classes="learning-plot", **kwargs)
        self.title = title
        self.xlabel = xlabel
        self.integer_x = integer_x  # x is a count (trial number): label whole numbers only
        self.series: list[Series] = []
        self._chart: Widget | None = None

    def compose(self) -> ComposeResult:
        yield Static("", classes="plot plot-text")

    @property
    def chart(self) -> Widget | None:
        """The plotext widget, once the plot has had data to draw (None before, or without plotext)."""
        return self._chart

    def plot(self, series: list[Series], empty: str = "nothing to plot yet") -> None:
        self.series = series
        drawable = any(xs and ys for _, xs, ys in series)
        if self._chart is None and drawable and self.is_attached and plotext_available():
            self._mount_chart()
        if self._chart is not None:
            self._draw_chart(series, empty)
            return
        text = Text(self.title + "\n", style="bold")
        if not any(ys for _, _, ys in series):
            text.append(empty, style="dim")
        for label, _, ys in series:
            if ys:
                text.append(f"{label:>6} ")
                text.append(text_sparkline(list(ys)), style="green")
                text.append(f" {ys[-1]:.4g}\n")
        self.query_one(".plot-text", Static).update(text)

    def _mount_chart(self) -> None:
        from textual_plotext import PlotextPlot

        self._chart = PlotextPlot(classes="plot")
        for placeholder in self.query(".plot-text"):
            placeholder.remove()
        self.mount(self._chart)

    def _draw_chart(self, series: list[Series], empty: str) -> None:
        widget = self._chart
        assert widget is not None
        plt = widget.plt  # type: ignore[attr-defined]
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        plt.xlabel(self.xlabel)
        drawn = False
        for label, xs, ys in series:
            if xs and ys:
                plt.plot(list(xs), list(ys), label=label, marker="braille")
                drawn = True
        if not drawn:
            plt.title(f"{self.title}: {empty}")
        elif self.integer_x:
            xs = sorted({int(x) for _, xv, _ in series for x in xv})
            step = max(1, len(xs) // 6)
            plt.xticks(xs[::step])
        widget.refresh()
