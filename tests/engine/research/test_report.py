"""`aft research report`: the leaderboard, the counts, the gain, the kept changes as one diff, the
chart as a PNG and as terminal text, on real git repositories."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from aft_tui.engine.research.plot import PNG_NEEDS_MATPLOTLIB, Chart, Point, terminal_chart
from aft_tui.engine.research.report import build_report, terminal_text, write_report
from aft_tui.engine.research.store import ResearchState, ResearchStore
from aft_tui.errors import UserError
from tests.engine.research.session_shape import (CRASHED, DISCARDED, KEPT_1, KEPT_2, SETUP_LINE, SID, build_session,
                                                 git, write_project)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def project(git_project) -> Path:
    folder = git_project(commit=False)
    write_project(folder)
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "the person's project")
    return folder


def test_leaderboard_counts_gain_and_best_for_a_minimised_metric(project: Path):
    build_session(project, direction="min")
    report = build_report(project, None)
    assert report.session_id == SID
    assert [e.number for e in report.leaderboard] == [7, 8, 4, 3, 5, 1, 2]
    counts = {(r.kind, r.source): (r.kept, r.discarded, r.crashed) for r in report.counts}
    assert counts == {("baseline", "defaults"): (2, 0, 0), ("numeric", "tpe"): (1, 1, 0),
                      ("code", "catalogue"): (2, 1, 1)}
    assert report.best_value == 0.35 and report.best_experiment == 7 and report.best_params == {"lr": 0.05}
    assert report.gain_sentence() == ("Best val_loss: 0.35 (experiment #7), from the first baseline (#1): "
                                      "val_loss 0.5 -> 0.35 (0.15 better, 30%). That is 15 times the run-to-run noise.")
    assert report.noise_sentence() == "Run-to-run noise: 0.01 (standard deviation of 2 baseline runs)."
    assert report.totals_sentence() == "8 experiments: 5 kept (2 code changes), 2 discarded, 1 crashed."
    # The best-so-far line: the baseline mean, then only kept experiments move it.
    assert report.chart.best == [(1, 0.5), (2, 0.51), (3, 0.45), (4, 0.4), (5, 0.4), (6, 0.4), (7, 0.35), (8, 0.35)]
    assert [(p.number, p.kept) for p in report.chart.points] == [
        (1, True), (2, True), (3, True), (4, True), (5, False), (7, True), (8, False)]


def test_leaderboard_for_a_maximised_metric_puts_the_highest_first(project: Path):
    build_session(project, direction="max")
    report = build_report(project, SID)
    assert [e.number for e in report.leaderboard] == [2, 1, 5, 3, 4, 8, 7]
    assert report.gain_sentence().startswith("Best val_loss: 0.52 (experiment #2), from the first baseline (#1): "
                                              "val_loss 0.5 -> 0.52 (0.02 better, 4%)")


def test_with_nothing_beyond_the_noise_the_best_is_the_persons_own_configuration(project: Path):
    """The incumbent is the baseline runs' mean: set against the first run alone it read as a loss
    ("0.798 -> 0.7913, worse") and named one baseline run as the best experiment."""
    from dataclasses import replace

    shape = build_session(project, direction="max")
    state = replace(shape.state, best_value=0.505, best_experiment=None)
    ResearchStore(project / "outputs", SID).save(shape.experiments, state)
    report = build_report(project, None)
    assert report.best_experiment is None and report.best_value == 0.505
    assert report.gain_sentence() == ("Best val_loss: 0.505, your own configuration (the mean of its 2 baseline "
                                      "runs): no experiment has beaten it by more than the run-to-run noise yet.")
    assert "worse" not in report.text()


def test_kept_changes_are_one_diff_of_the_persons_files(project: Path):
    shape = build_session(project)
    report = build_report(project, None)
    assert report.origin_commit == shape.origin
    assert report.head_commit == shape.workspace.head()
    assert report.diff_files == ["model.py", "train.py"]
    added = [line[1:] + "\n" for line in report.diff.splitlines()
             if line.startswith("+") and not line.startswith("+++")]
    assert added == [KEPT_2, SETUP_LINE, KEPT_1]
    assert "aft_params.json" not in report.diff
    for gone in (DISCARDED, CRASHED, "extra.py", "notes.txt"):
        assert gone.strip() not in report.diff
    # The same diff git itself gives, once the trials' parameter file is left out.
    expected = git(project, "diff", "--no-color", shape.origin, report.head_commit, "--", ".",
                   ":(exclude)aft_params.json")
    assert report.diff.strip() == expected.strip()


def test_write_report_writes_markdown_and_a_real_png(project: Path):
    build_session(project)
    report = build_report(project, None)
    paths = write_report(report, report.folder)
    folder = project / "outputs" / "research" / SID
    assert paths == [folder / "report.md", folder / "progress.png"]
    assert (folder / "progress.png").read_bytes()[:8] == PNG_MAGIC
    text = (folder / "report.md").read_text()
    assert "![val_loss over experiments](progress.png)" in text
    assert "| 1 | 7 | code | Wider model | 0.35 | keep |" in text
    assert "| code | catalogue | 2 | 1 | 1 |" in text
    assert '"lr": 0.05' in text
    assert "```diff\ndiff --git a/model.py b/model.py" in text
    assert PNG_NEEDS_MATPLOTLIB not in text


def test_without_matplotlib_the_report_says_so_in_one_sentence(project: Path, monkeypatch: pytest.MonkeyPatch):
    build_session(project)
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # import matplotlib now raises ImportError
    report = build_report(project, None)
    paths = write_report(report, report.folder)
    assert [p.name for p in paths] == ["report.md"]
    assert not (report.folder / "progress.png").exists()
    assert PNG_NEEDS_MATPLOTLIB in (report.folder / "report.md").read_text()


def _visible(text: str) -> list[str]:
    return re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()


def test_terminal_chart_fills_the_width_it_is_given():
    chart = Chart("val_loss", [Point(1, 0.5, True), Point(2, 0.45, False), Point(3, 0.4, True)],
                  [(1, 0.5), (2, 0.5), (3, 0.4)])
    for width in (40, 80, 133):
        lines = _visible(terminal_chart(chart, width=width))
        assert max(len(line) for line in lines) == width
        assert any(line.startswith(" " * 5 + "┌") and line.endswith("┐") and len(line) == width for line in lines)
    colored = terminal_chart(chart, width=80, color=True)
    assert "\x1b[" in colored and "\x1b[" not in terminal_chart(chart, width=80)


def test_terminal_text_takes_the_terminal_width_by_default(project: Path, monkeypatch: pytest.MonkeyPatch):
    build_session(project)
    report = build_report(project, None)
    monkeypatch.setenv("COLUMNS", "72")
    text = terminal_text(report)
    chart_lines = [line for line in text.splitlines() if "┤" in line or "┌" in line]
    assert chart_lines and {len(line) for line in chart_lines} == {72}
    monkeypatch.delenv("COLUMNS")
    wide = report.text(width=120)
    assert {len(line) for line in wide.splitlines() if "┌" in line} == {120}
    assert "  1. #7          0.35  keep    code     " in text
    assert "Kept changes to 2 file(s): model.py, train.py." in text


def test_a_project_outside_git_reads_its_private_repository(tmp_path: Path):
    project = tmp_path / "plain"
    write_project(project)
    shape = build_session(project)
    assert shape.workspace.private
    report = build_report(project, None)
    assert report.diff_files == ["model.py", "train.py"]
    assert "aft_params.json" not in report.diff and KEPT_2.strip() in report.diff


def test_a_project_in_a_subdirectory_shows_paths_relative_to_it(git_project):
    repo = git_project(commit=False)
    (repo / "README.md").write_text("top\n")
    write_project(repo / "exp")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "repo with a project folder")
    build_session(repo / "exp")
    report = build_report(repo / "exp", None)
    assert report.diff_files == ["model.py", "train.py"]
    assert "diff --git a/train.py b/train.py" in report.diff and "exp/" not in report.diff


def test_no_research_session_is_refused_naming_the_fix(project: Path):
    with pytest.raises(UserError) as caught:
        build_report(project, None)
    assert caught.value.exit_code == 2
    assert str(caught.value) == f"No research session in {project}; start one with `aft research train.py`."


def test_an_unknown_session_is_refused_naming_the_known_ones(project: Path):
    build_session(project)
    with pytest.raises(UserError) as caught:
        build_report(project, "20990101-000000-000000")
    assert caught.value.exit_code == 2
    assert f"its research sessions are: {SID}" in str(caught.value)
    with pytest.raises(UserError):
        build_report(project, "../../etc")


def test_a_session_whose_branch_is_gone_still_reports_its_experiments(project: Path):
    shape = build_session(project)
    shape.workspace.remove_worktree()
    git(project, "branch", "-D", f"aft/{SID}")
    report = build_report(project, None)
    assert [e.number for e in report.leaderboard][:2] == [7, 8]
    assert report.diff == "" and "branch of research session" in report.diff_note
    write_report(report, report.folder)
    assert report.diff_note in (report.folder / "report.md").read_text()


def test_a_session_with_no_value_yet_plots_nothing(project: Path):
    from aft_tui.vcs.workspace import Workspace

    Workspace.create(project, SID)
    ResearchStore(project / "outputs", SID).save([], ResearchState(metric=None))
    report = build_report(project, None)
    assert report.leaderboard == [] and report.chart.empty
    assert "nothing to plot" in terminal_text(report, width=80)
    assert write_report(report, report.folder) == [report.folder / "report.md"]


def test_long_descriptions_fit_the_terminal_and_secrets_stay_out_of_report_md(project: Path, planted_key: str):
    build_session(project)
    store = ResearchStore(project / "outputs", SID)
    experiments = store.experiments()
    experiments[6].description = "Wider model " + "with many words " * 12 + f"and OPENAI_API_KEY={planted_key}"
    store.save(experiments, store.state())
    report = build_report(project, None)
    rows = [line for line in terminal_text(report, width=80).splitlines() if line.startswith("  1. #7")]
    assert len(rows) == 1 and len(rows[0]) == 80 and rows[0].endswith("…")
    write_report(report, report.folder)
    text = (report.folder / "report.md").read_text()
    assert "Wider model with many words" in text and planted_key not in text


def test_a_diff_holding_backticks_keeps_its_code_block_whole(project: Path):
    from aft_tui.engine.research.report import markdown

    build_session(project)
    report = build_report(project, None)
    report.diff += 'diff --git a/doc.py b/doc.py\n+"""Example:\n+```\n+run()\n+```\n+"""\n'
    text = markdown(report)
    assert "\n````diff\ndiff --git a/model.py" in text and text.rstrip().endswith('+"""\n````')
