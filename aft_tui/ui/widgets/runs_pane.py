"""The runs pane: the trials table and plots of learning curves and best-so-far.

Keys post messages (rollback, compare, show logs) that the app gives to the command router;
marking trials only changes what is plotted.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable

from aft_tui.ui.session_view import SessionView, TrialRow, fmt_duration, fmt_params, fmt_value
from aft_tui.ui.screens.confirm import ConfirmScreen
from aft_tui.ui.terminal_text import inert
from aft_tui.ui.widgets.learning_plot import LearningPlot

_STATUS_STYLE = {"ok": "green", "running": "bold cyan", "failed": "red", "timeout": "red", "pruned": "yellow",
                 "cancelled": "dim"}
_COLUMNS = ("#", "status", "value", "time", "commit", "params")
_HEADINGS = {"params": "params (changes from trial 1)"}


class RunsPane(Vertical):
    BINDINGS = [
        Binding("m", "mark", "Mark for plot"),
        Binding("l", "logs", "Show log"),
        Binding("R", "rollback", "Roll back to trial"),
        Binding("c", "compare", "Compare"),
    ]

    class RollbackRequested(Message):
        def __init__(self, number: int) -> None:
            super().__init__()
            self.number = number

    class CompareRequested(Message):
        def __init__(self, a: int, b: int) -> None:
            super().__init__()
            self.a, self.b = a, b

    class LogsRequested(Message):
        def __init__(self, run_id: str) -> None:
            super().__init__()
            self.run_id = run_id

    def __init__(self, read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.read_only = read_only
        self.marked: list[str] = []
        self._versions: dict[str, int] = {}
        self._best = ""
        self._metric = ""
        self._view: SessionView | None = None
        self._stale = False

    def compose(self) -> ComposeResult:
        table: DataTable = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        for name in _COLUMNS:
            table.add_column(_HEADINGS.get(name, name), key=name)
        yield table
        with Horizontal(id="runs-plots"):
            yield LearningPlot("learning curves", "epoch", id="plot-curves")
            yield LearningPlot("best so far", "trial", integer_x=True, id="plot-best")

    @property
    def table(self) -> DataTable:
        return self.query_one("#runs-table", DataTable)

    # -- drawing ---------------------------------------------------------------------------------
    def reset(self) -> None:
        self.table.clear()
        self._versions.clear()
        self.marked.clear()
        self._best = ""

    def on_mount(self) -> None:
        self.set_interval(0.25, self._sync_if_stale)

    def mark_stale(self, view: SessionView) -> None:
        """Metrics can arrive every step: redraw at most a few times a second instead of per event."""
        self._view = view
        self._stale = True

    def _sync_if_stale(self) -> None:
        if self._stale and self._view is not None:
            self.sync(self._view)

    def sync(self, view: SessionView) -> None:
        self._view = view
        self._stale = False
        table = self.table
        if view.metric and view.metric != self._metric:
            self._metric = view.metric
            table.clear(columns=True)
            for name in _COLUMNS:
                table.add_column(view.metric if name == "value" else _HEADINGS.get(name, name), key=name)
            self._versions.clear()
        best_changed = view.best_run != self._best
        stale = {self._best, view.best_run} if best_changed else set()
        self._best = view.best_run
        for row in view.rows():
            if row.run_id not in self._versions:
                table.add_row(*self._cells(row), key=row.run_id)
            elif self._versions[row.run_id] != row.version or row.run_id in stale:
                for key, cell in zip(_COLUMNS, self._cells(row)):
                    table.update_cell(row.run_id, key, cell, update_width=True)
            self._versions[row.run_id] = row.version
        self.replot()

    def _cells(self, row: TrialRow) -> list[Any]:
        mark = "●" if row.run_id in self.marked else " "
        status = Text(row.status + (" ★" if row.run_id == self._best else ""), style=_STATUS_STYLE.get(row.status, ""))
        params = self._view.params_text(row) if self._view is not None else fmt_params(row.params)
        # Text, not str: DataTable reads a str cell as markup, and a recording's strings are plain text.
        return [f"{mark}{row.number}", status, fmt_value(row.value),
                fmt_duration(row.duration) if row.duration is not None else "…", Text(inert(row.commit[:8])),
                Text(inert(params))]

    def replot(self) -> None:
        view = self._view
        if view is None:
            return
        chosen = list(self.marked) or ([self.cursor_run] if self.cursor_run else [])
        curves = []
        for run_id in chosen:
            points = view.curve(run_id)
            row = view.trials.get(run_id)
            label = f"t{row.number}" if row else run_id
            shown = view.curve_metric(run_id)
            if shown != view.metric:
                label += f" {shown}"  # the objective is reported once per run; its per-epoch companion
            curves.append((label, [x for x, _ in points], [y for _, y in points]))
        self.query_one("#plot-curves", LearningPlot).plot(curves, "select a trial (m marks several)")
        best = view.best_so_far()
        self.query_one("#plot-best", LearningPlot).plot(
            [(view.metric or "best", [n for n, _ in best], [v for _, v in best])], "no finished trial yet")

    @property
    def cursor_run(self) -> str:
        table = self.table
        if table.row_count == 0:
            return ""
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:
            return ""
        return str(key.value or "")

    def _cursor_row(self) -> TrialRow | None:
        return self._view.trials.get(self.cursor_run) if self._view is not None else None

    # -- events and keys -------------------------------------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if not self.marked:
            self.replot()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.post_message(self.LogsRequested(str(event.row_key.value)))

    def action_mark(self) -> None:
        row = self._cursor_row()
        if row is None:
            return
        if row.run_id in self.marked:
            self.marked.remove(row.run_id)
        else:
            self.marked.append(row.run_id)
        self.table.update_cell(row.run_id, "#", f"{'●' if row.run_id in self.marked else ' '}{row.number}")
        self.replot()

    def action_logs(self) -> None:
        if self.cursor_run:
            self.post_message(self.LogsRequested(self.cursor_run))

    def action_rollback(self) -> None:
        row = self._cursor_row()
        if row is None:
            return
        number = row.number

        def answered(yes: bool | None) -> None:
            if yes:
                self.post_message(self.RollbackRequested(number))

        self.app.push_screen(ConfirmScreen(f"Roll the branch back to trial {number} ({fmt_params(row.params)})? "
                                           "A new commit restores its state; nothing is lost."), answered)

    def action_compare(self) -> None:
        view = self._view
        if view is None:
            return
        rows = [view.trials[r] for r in self.marked if r in view.trials]
        if len(rows) < 2:
            cursor = self._cursor_row()
            best = view.trials.get(view.best_run)
            rows = [r for r in (best, cursor) if r is not None]
        if len(rows) >= 2 and rows[0].number != rows[1].number:
            self.post_message(self.CompareRequested(rows[0].number, rows[1].number))
        else:
            self.app.notify("Mark two trials with m (or put the cursor on a trial other than the best) to compare.")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("rollback", "compare") and self.read_only:
            return False
        return True
