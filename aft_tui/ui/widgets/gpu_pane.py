"""The GPU & system pane: per-GPU cards, CPU and RAM with short histories.

It polls a telemetry sampler's `snapshot()` (a cheap copy; the sampling itself runs in the
sampler's own thread) and says plainly when there is no NVIDIA GPU or no sampler at all
(a replay shows none: recordings do not carry this machine's load).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, Sparkline, Static

from aft_tui.ui.widgets.gpu_card import GIB, GpuCard


class GpuPane(VerticalScroll):
    def __init__(self, sampler: Any = None, note: str = "", poll_s: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sampler = sampler
        self.note = note
        self.poll_s = poll_s
        self.assignments: dict[int, list[str]] = {}  # GPU index -> run ids, from the engine's events
        self._cards: dict[int, GpuCard] = {}
        self._poll_timer: Any = None

    def compose(self) -> ComposeResult:
        yield Static("", id="gpu-state")
        yield Vertical(id="gpu-cards")
        with Vertical(id="sys-box"):
            yield Static("", id="sys-numbers")
            with Horizontal(classes="gpu-sparks"):
                yield Label("cpu", classes="spark-label")
                yield Sparkline([0.0], id="cpu-spark")
                yield Label("ram", classes="spark-label")
                yield Sparkline([0.0], id="ram-spark")

    def on_mount(self) -> None:
        self.poll()
        if self.sampler is not None:
            self._poll_timer = self.set_interval(self.poll_s, self.poll)

    def attach(self, sampler: Any, note: str = "") -> None:
        """Start showing `sampler` (telemetry that started after the pane), or `note` when there is none."""
        self.sampler = sampler
        if note:
            self.note = note
        if sampler is not None and self._poll_timer is None:
            self._poll_timer = self.set_interval(self.poll_s, self.poll)
        self.poll()

    def poll(self) -> None:
        if self.sampler is None:
            self._show_none(self.note or "Telemetry is off.")
            return
        self.show(self.sampler.snapshot())

    def _show_none(self, why: str) -> None:
        self.query_one("#gpu-state", Static).update(Text(why, style="dim"))
        self.query_one("#sys-box").display = False

    def show(self, snap: Any) -> None:
        state = self.query_one("#gpu-state", Static)
        if snap.samples == 0:
            state.update(Text("Waiting for the first reading…", style="dim"))
        elif snap.gpus is None:
            state.update(Text(f"No NVIDIA GPU: {snap.gpu_status or 'none found'}. Trials run on the CPU.",
                              style="bold yellow"))
        elif snap.error:
            state.update(Text(snap.error, style="red"))
        else:
            state.update("")
        state.display = bool(snap.samples == 0 or snap.gpus is None or snap.error)
        readings = {g.index: g for g in (snap.gpus or ())}
        cards = self.query_one("#gpu-cards", Vertical)
        for index in sorted(readings.keys() - self._cards.keys()):
            card = GpuCard(index)
            self._cards[index] = card
            cards.mount(card)
        for index, card in list(self._cards.items()):
            reading = readings.get(index)
            if reading is None:
                continue
            trials = list(snap.gpu_trials.get(index, ())) or self.assignments.get(index, [])
            card.show(reading, snap.gpu_history.get(index, {}), trials)
        box = self.query_one("#sys-box")
        box.display = snap.system is not None
        if snap.system is not None:
            sysr = snap.system
            self.query_one("#sys-numbers", Static).update(
                f"CPU {sysr.cpu_percent:.0f}% of {len(sysr.cpu_per_core)} cores   "
                f"RAM {sysr.ram_used / GIB:.1f}/{sysr.ram_total / GIB:.1f} GiB")
            self.query_one("#cpu-spark", Sparkline).data = list(snap.cpu_history) or [0.0]
            self.query_one("#ram-spark", Sparkline).data = [float(v) for v in snap.ram_history] or [0.0]
