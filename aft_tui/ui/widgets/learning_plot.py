"""A line plot for the runs pane: learning curves, or best-so-far over trials.

Drawn with textual-plotext when it is installed (braille lines, axes, legend); otherwise each
series becomes a labelled text sparkline, which still shows the shape in any terminal.
"""

from __future__ import annotations

from typing import Any, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

try:  # optional: richer plots
    from textual_plotext import PlotextPlot
except ImportError:  # pragma: no cover - depends on the installation
    PlotextPlot = None

Series = tuple[str, Sequence[float], Sequence[float]]
_BARS = "▁▂▃▄▅▆▇█"


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

    def compose(self) -> ComposeResult:
        if PlotextPlot is not None:
            yield PlotextPlot(classes="plot")
        else:
            yield Static("", classes="plot plot-text")

    def plot(self, series: list[Series], empty: str = "nothing to plot yet") -> None:
        self.series = series
        if PlotextPlot is not None:
            widget = self.query_one(PlotextPlot)
            plt = widget.plt
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
