"""`aft research report`: what a research session found, read back from its records and its branch.

Everything comes from what the session left on disk (outputs/research/<session>/ and the session
branch), so the report works during a session, after it, and after a crash, and never changes
either. The kept changes are one diff of the person's files from the original snapshot to the
session's head: the parameter files of the trials and AFT's own folders are left out, because
they are records of the search, not part of the result.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aft_tui.engine.research.locate import open_research, open_session_repo
from aft_tui.engine.research.plot import (PNG_NAME, PNG_NEEDS_MATPLOTLIB, Chart, Point, terminal_chart, terminal_width,
                                          write_png)
from aft_tui.engine.research.records import Experiment, Kind, Status
from aft_tui.engine.research.store import ResearchState
from aft_tui.errors import UserError
from aft_tui.fsutil import atomic_write_bytes
from aft_tui.redaction import redact

LEADERBOARD_SIZE = 10
REPORT_NAME = "report.md"


# -- reading the records -----------------------------------------------------------------------------

def maximizing(direction: str | None) -> bool:
    return str(direction or "").lower().startswith("max")


def better(a: float, b: float, maximize: bool) -> bool:
    return a > b if maximize else a < b


def _value(e: Experiment) -> float | None:
    return float(e.value) if isinstance(e.value, (int, float)) and math.isfinite(e.value) else None


def best_so_far(experiments: list[Experiment], maximize: bool) -> list[tuple[int, float | None]]:
    """(experiment number, the best trusted value after it): the better of the baseline runs' mean
    and the best kept experiment, the way the session's keep rule moves its best."""
    series: list[tuple[int, float | None]] = []
    baselines: list[float] = []
    kept: float | None = None
    for e in sorted(experiments, key=lambda x: x.number):
        value = _value(e)
        if value is not None and e.kind == Kind.BASELINE.value:
            baselines.append(value)
        elif value is not None and e.kept and (kept is None or better(value, kept, maximize)):
            kept = value
        candidates = [v for v in (sum(baselines) / len(baselines) if baselines else None, kept) if v is not None]
        best = (max if maximize else min)(candidates) if candidates else None
        series.append((e.number, best))
    return series


def reference_before(experiments: list[Experiment], number: int, maximize: bool) -> float | None:
    """The best trusted value just before experiment `number`: what its gain is measured against."""
    before: float | None = None
    for n, value in best_so_far(experiments, maximize):
        if n >= number:
            break
        before = value
    return before


def gain_of(value: float, reference: float, maximize: bool) -> float:
    """How much better `value` is than `reference` (negative when worse)."""
    return value - reference if maximize else reference - value


def fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def gain_words(value: float, reference: float, maximize: bool, metric: str) -> str:
    """'val_loss 0.512 -> 0.487 (0.025 better, 4.9%)': a change in words, the better way positive."""
    delta = gain_of(value, reference, maximize)
    pct = f", {abs(delta) / abs(reference) * 100:.3g}%" if reference else ""
    way = "better" if delta >= 0 else "worse"
    return f"{metric} {fmt(reference)} -> {fmt(value)} ({abs(delta):.3g} {way}{pct})"


# -- the report --------------------------------------------------------------------------------------

@dataclass
class CountRow:
    kind: str
    source: str
    kept: int = 0
    discarded: int = 0
    crashed: int = 0


@dataclass
class ResearchReport:
    """What a research session found."""

    session_id: str
    project: Path
    folder: Path                          # outputs/research/<session>
    metric: str
    direction: str                        # "max" or "min"
    experiments: list[Experiment]
    leaderboard: list[Experiment]         # the best experiments first, in the session's direction
    counts: list[CountRow]                # per kind and source, in the order they first ran
    noise: float | None
    baseline: Experiment | None           # the first baseline run with a value
    best_value: float | None
    best_experiment: int | None
    best_params: dict[str, Any]
    chart: Chart
    diff: str = ""                        # the kept changes: original -> session head, the person's files
    diff_files: list[str] = field(default_factory=list)
    diff_note: str = ""                   # why there is no diff, when there is none
    branch: str = ""
    origin_commit: str = ""
    head_commit: str = ""
    png: Path | None = None               # set by write_report when matplotlib drew it

    @property
    def maximize(self) -> bool:
        return maximizing(self.direction)

    def gain_sentence(self) -> str:
        if self.best_value is None:
            return f"No experiment has measured {self.metric} yet."
        if self.best_experiment is None:
            # The incumbent is still the person's configuration (the baseline runs' mean): set
            # against its own first run it would read as a loss.
            runs = self.baseline_runs()
            return (f"Best {self.metric}: {fmt(self.best_value)}, your own configuration"
                    + (f" (the mean of its {runs} baseline runs)" if runs > 1 else "")
                    + ": no experiment has beaten it by more than the run-to-run noise yet.")
        where = f"experiment #{self.best_experiment}"
        if self.baseline is None or _value(self.baseline) is None:
            return f"Best {self.metric}: {fmt(self.best_value)} ({where})."
        start = float(self.baseline.value)  # type: ignore[arg-type]
        sentence = (f"Best {self.metric}: {fmt(self.best_value)} ({where}), from the first baseline "
                    f"(#{self.baseline.number}): {gain_words(self.best_value, start, self.maximize, self.metric)}.")
        delta = gain_of(self.best_value, start, self.maximize)
        if self.noise:
            sentence += f" That is {delta / self.noise:.3g} times the run-to-run noise."
        return sentence

    def text(self, width: int | None = None, color: bool = False) -> str:
        """What `aft research report` prints (see `terminal_text`)."""
        return terminal_text(self, width=width, color=color)

    def noise_sentence(self) -> str:
        if self.noise is None:
            return "Run-to-run noise: not measured yet (it takes the baseline runs)."
        return f"Run-to-run noise: {self.noise:.3g} (standard deviation of {self.baseline_runs()} baseline runs)."

    def baseline_runs(self) -> int:
        """Baseline runs that measured a value: what the noise and the baseline mean are taken over."""
        return sum(1 for e in self.experiments if e.kind == Kind.BASELINE.value and _value(e) is not None)

    def totals_sentence(self) -> str:
        kept = sum(r.kept for r in self.counts)
        discarded = sum(r.discarded for r in self.counts)
        crashed = sum(r.crashed for r in self.counts)
        code = sum(r.kept for r in self.counts if r.kind == Kind.CODE.value)
        return (f"{len(self.experiments)} experiments: {kept} kept ({code} code changes), {discarded} discarded, "
                f"{crashed} crashed.")


def build_report(project: Path, session_id: str | None) -> ResearchReport:
    """Read a research session (the latest when `session_id` is None) into a report."""
    root, sid, store = open_research(project, session_id)
    experiments = sorted(store.experiments(), key=lambda e: e.number)
    state = store.state()
    maximize = maximizing(state.direction)
    metric = state.metric or "value"
    report = ResearchReport(
        session_id=sid, project=root, folder=store.folder, metric=metric, direction="max" if maximize else "min",
        experiments=experiments, leaderboard=leaderboard(experiments, maximize), counts=counts(experiments),
        noise=state.noise if isinstance(state.noise, (int, float)) and math.isfinite(state.noise) else None,
        baseline=next((e for e in experiments if e.kind == Kind.BASELINE.value and _value(e) is not None), None),
        best_value=None, best_experiment=None, best_params={}, chart=chart_of(experiments, metric, maximize),
        origin_commit=state.origin_commit)
    report.best_value, report.best_experiment, report.best_params = _best(experiments, state, maximize)
    _add_diff(report, root, state)
    return report


def leaderboard(experiments: list[Experiment], maximize: bool, size: int = LEADERBOARD_SIZE) -> list[Experiment]:
    measured = [e for e in experiments if _value(e) is not None]
    measured.sort(key=lambda e: (-(_value(e) or 0.0) if maximize else (_value(e) or 0.0), e.number))
    return measured[:size]


def counts(experiments: list[Experiment]) -> list[CountRow]:
    rows: dict[tuple[str, str], CountRow] = {}
    for e in experiments:
        row = rows.setdefault((e.kind, e.source), CountRow(e.kind, e.source))
        if e.status == Status.KEEP.value:
            row.kept += 1
        elif e.status == Status.CRASH.value:
            row.crashed += 1
        else:
            row.discarded += 1
    return list(rows.values())


def chart_of(experiments: list[Experiment], metric: str, maximize: bool) -> Chart:
    points = [Point(e.number, v, e.kept) for e in experiments if (v := _value(e)) is not None]
    best = [(n, v) for n, v in best_so_far(experiments, maximize) if v is not None]
    return Chart(metric=metric, points=points, best=best)


def _best(experiments: list[Experiment], state: ResearchState,
          maximize: bool) -> tuple[float | None, int | None, dict[str, Any]]:
    """The session's best (its own record, else the best kept experiment) and its parameters."""
    kept = [e for e in experiments if e.kept and _value(e) is not None]
    top = max(kept, key=lambda e: (_value(e) or 0.0) * (1 if maximize else -1), default=None)
    value = state.best_value if isinstance(state.best_value, (int, float)) else (_value(top) if top else None)
    if state.best_experiment is not None:
        number = state.best_experiment
    else:  # a recorded best with no experiment behind it is the baseline runs' mean, not one run
        number = None if isinstance(state.best_value, (int, float)) else (top.number if top else None)
    params = dict(state.best_params) if state.best_params else dict(top.params if top else {})
    return value, number, params


def _add_diff(report: ResearchReport, root: Path, state: ResearchState) -> None:
    try:
        repo = open_session_repo(root, report.session_id)
        report.branch = repo.branch
        report.head_commit = repo.head()
        origin = repo.commit(state.origin_commit or repo.snapshot, "the original snapshot")
    except UserError as exc:
        report.diff_note = str(exc)
        return
    report.origin_commit = origin
    report.diff = repo.diff(origin, report.head_commit)
    report.diff_files = diff_files(report.diff)
    if not report.diff.strip():
        report.diff_note = "No change to your files was kept: the session head matches the original."


def diff_files(diff: str) -> list[str]:
    files = []
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            files.append(line.rsplit(" b/", 1)[-1])
    return files


# -- writing it --------------------------------------------------------------------------------------

def write_report(report: ResearchReport, folder: Path | None = None) -> list[Path]:
    """report.md (and progress.png when matplotlib is installed) in `folder` (the session's research
    folder by default); returns the paths written."""
    folder = Path(folder) if folder is not None else report.folder
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    png = folder / PNG_NAME
    report.png = write_png(report.chart, png) if not report.chart.empty else None
    if report.png is not None:
        written.append(report.png)
    path = folder / REPORT_NAME
    atomic_write_bytes(path, redact(markdown(report)).encode("utf-8"))
    return [path, *written]


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def markdown(report: ResearchReport) -> str:
    """The report as Markdown: the result, the chart, the leaderboard, the counts, the best
    parameters and the kept changes as one diff."""
    way = "higher" if report.maximize else "lower"
    lines = [f"# Research report: session {report.session_id}", "",
             f"Objective: `{report.metric}` ({way} is better). Project: `{report.project}`."
             + (f" Branch: `{report.branch}`." if report.branch else ""), "",
             "## Result", "", f"- {report.gain_sentence()}", f"- {report.noise_sentence()}",
             f"- {report.totals_sentence()}", "", "## Progress", ""]
    if report.chart.empty:
        lines.append("No experiment has a value yet, so there is nothing to plot.")
    elif report.png is not None:
        lines.append(f"![{report.metric} over experiments]({report.png.name})")
    else:
        lines.append(PNG_NEEDS_MATPLOTLIB)
    lines += ["", "## Leaderboard", ""]
    if report.leaderboard:
        lines += [f"| Rank | # | Kind | Description | {_cell(report.metric)} | Status | Commit |",
                  "|---:|---:|---|---|---:|---|---|"]
        for rank, e in enumerate(report.leaderboard, 1):
            lines.append(f"| {rank} | {e.number} | {e.kind} | {_cell(e.description)} | {fmt(_value(e))} | "
                         f"{e.status} | `{e.commit[:10]}` |")
    else:
        lines.append("No experiment has a value yet.")
    lines += ["", "## Experiments by kind and source", "", "| Kind | Source | Kept | Discarded | Crashed |",
              "|---|---|---:|---:|---:|"]
    lines += [f"| {r.kind} | {_cell(r.source) or '—'} | {r.kept} | {r.discarded} | {r.crashed} |"
              for r in report.counts]
    lines += ["", "## Best parameters", ""]
    if report.best_params:
        lines += ["```json", json.dumps(report.best_params, indent=2, sort_keys=True, default=str), "```"]
    else:
        lines.append("None recorded yet.")
    lines += ["", "## Kept changes", ""]
    if report.diff.strip():
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", report.diff)), default=0))
        lines += [f"Your files from the original (`{report.origin_commit[:10]}`) to the session's head "
                  f"(`{report.head_commit[:10]}`), without AFT's parameter files; `aft research finalize` "
                  "puts them on a clean branch.", "", f"{fence}diff", report.diff.rstrip("\n"), fence]
    else:
        lines.append(report.diff_note or "No change to your files was kept.")
    return "\n".join(lines) + "\n"


def terminal_text(report: ResearchReport, width: int | None = None, color: bool = False) -> str:
    """The report for the terminal: the result, the chart sized to `width` (the terminal's width
    when None), the leaderboard and which files the kept changes touch."""
    columns = int(width or terminal_width())
    lines = [f"Research session {report.session_id}: {report.metric} "
             f"({'higher' if report.maximize else 'lower'} is better).",
             report.gain_sentence(), report.noise_sentence(), report.totals_sentence(), "",
             terminal_chart(report.chart, width=columns, color=color).rstrip("\n"), ""]
    if report.leaderboard:
        lines.append("Leaderboard:")
        for rank, e in enumerate(report.leaderboard, 1):
            row = (f"{rank:>3}. #{e.number:<4} {fmt(_value(e)):>10}  {e.status:<7} {e.kind:<8} "
                   f"{e.commit[:7]:<7}  {' '.join(e.description.split())}")
            lines.append(row if len(row) <= columns else row[:columns - 1] + "…")
        lines.append("")
    if report.diff_files:
        lines.append(f"Kept changes to {len(report.diff_files)} file(s): {', '.join(report.diff_files)}.")
    else:
        lines.append(report.diff_note or "No change to your files was kept.")
    return "\n".join(lines) + "\n"
