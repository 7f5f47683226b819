"""A trial that prints one enormous line: the session log keeps a bounded part of it, and every
view (plain replay, the log pane, the log tail) takes time linear in its length."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

from rich.console import Console

from aft_tui.engine import events as ev
from aft_tui.engine.session_log import SessionLog
from aft_tui.ui.app import AftApp
from aft_tui.ui.logtail import tail_lines
from aft_tui.ui.plain import print_transcript
from aft_tui.ui.replay import load_events
from tests.engine.helpers import aft

RUN = "20260101-000000-abc-t001"
KEPT = 4000  # characters of a line the session log and the views keep


def _recording(path: Path, line: str) -> Path:
    with SessionLog(path) as log:
        log.append(ev.SessionStarted(session_id="s", target="train.py", branch="aft/s"))
        log.append(ev.TrialStarted(run_id=RUN, number=1, params={"lr": 0.1}))
        log.append(ev.TrialLog(run_id=RUN, lines=["before", line, "after"]))
        log.append(ev.TrialFinished(run_id=RUN, number=1, status="ok", value=0.5, duration=1.0))
    return path


def test_replaying_an_old_log_with_a_two_megabyte_line_takes_linear_time(tmp_path: Path):
    # Written as AFT wrote it before lines were capped: the line is in the session log whole.
    path = _recording(tmp_path / "old.jsonl", "z" * 2_000_000)
    out = io.StringIO()
    began = time.perf_counter()
    print_transcript(load_events(path), console=Console(file=out, width=80, color_system=None))
    elapsed = time.perf_counter() - began
    text = out.getvalue()
    # Rich wrapped the line into 80-column rows with one copy of the rest per row: about a second
    # for 2 MB, and four times that for each doubling.
    assert elapsed < 0.6, f"{elapsed:.2f} s"
    assert "| before" in text and "| after" in text and "Trial 1 ok" in text
    assert "1,996,000 more characters cut; the whole line is in" in text and f"outputs/{RUN}/{RUN}.log" in text
    assert text.count("z") == KEPT


SCRIPT = '''\
import argparse
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.01)
a = p.parse_args()
print("first line", flush=True)
print("y" * 3_000_000, flush=True)
print(f"val_loss: {abs(a.lr - 0.05) + 0.1:.4f}", flush=True)
'''


def test_the_session_log_keeps_a_bounded_part_of_a_huge_line(git_project, tmp_path: Path):
    src = tmp_path / "train.py"
    src.write_text(SCRIPT)
    project = git_project(src)
    done = aft(project, "tune", "train.py", "--trials", "1", "--metric", "val_loss", "--direction", "min", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    (log,) = (project / ".aft" / "sessions").glob("*.jsonl")
    assert log.stat().st_size < 150_000  # the 3 MB line was copied into it whole
    kept = [line for e in map(json.loads, log.read_text().splitlines()) if e["kind"] == "trial_log"
            for line in e["lines"]]
    assert "first line" in kept
    run = next(e["run_id"] for e in map(json.loads, log.read_text().splitlines()) if e["kind"] == "trial_started")
    assert all(len(line) < KEPT + 200 for line in kept)
    assert any(f"more characters cut; the whole line is in outputs/{run}/{run}.log" in line for line in kept)
    # Nothing of the line is lost: the trial's own log has every character.
    run_log = (project / "outputs" / run / f"{run}.log").read_text()
    assert run_log.count("y") == 3_000_000
    assert "y" * 3_000_000 in run_log.splitlines()  # as printed: one line, not 64 KiB pieces
    replay = aft(project, "replay", "--plain", str(log))
    assert replay.returncode == 0 and "Trial 1 ok" in replay.stdout, replay.stderr


def test_the_log_tail_of_a_log_ending_in_a_huge_line_shows_its_end_quickly(tmp_path: Path):
    path = tmp_path / "t.log"
    path.write_text("a\nb\n" + "x" * 12_000_000 + "END\n")
    began = time.perf_counter()
    lines, truncated = tail_lines(path, 2000)
    elapsed = time.perf_counter() - began
    assert truncated and len(lines) == 1 and lines[0].startswith("… x") and lines[0].endswith("END")
    assert elapsed < 0.25, f"{elapsed:.2f} s"  # each block was prepended to all read so far
    path.write_text("".join(f"line {i}\n" for i in range(10)))
    assert tail_lines(path, 3) == (["line 7", "line 8", "line 9"], True)
    assert tail_lines(path, 30) == ([f"line {i}" for i in range(10)], False)


async def test_the_log_pane_draws_a_huge_line_cut_and_quickly():
    app = AftApp(save_setting=lambda k, v: None)
    async with app.run_test(size=(120, 40)) as pilot:
        app.logs.show_run(RUN, ["before"], status="running")
        app.logs.feed(RUN, ["w" * 1_000_000, "after"])
        app.logs.flush()
        await pilot.pause()
        shown = app.logs.view.lines
        assert shown[0] == "before" and shown[-1] == "after"
        assert shown[1].startswith("w" * KEPT) and len(shown[1]) < KEPT + 200
        assert f"996,000 more characters cut; the whole line is in outputs/{RUN}/{RUN}.log" in shown[1]
        began = time.perf_counter()
        for _ in range(20):
            app.logs.view._render_line(1, 0, 120)
        assert time.perf_counter() - began < 0.5  # each frame drew the whole megabyte


def test_the_first_lines_of_a_run_log_are_read_without_holding_a_huge_line(tmp_path: Path):
    """When the smoke run becomes trial 1 its log's first lines are shown again; a 3 MB line is
    read in bounded pieces and shown cut like any other."""
    from aft_tui.engine.tuner.one_trial import first_lines as _first_lines

    log = tmp_path / "run.log"
    log.write_text("first\n" + "y" * 3_000_000 + "\nval_loss: 0.1\n")
    lines = _first_lines(log, 10, width=1000)
    assert lines == ["first", "y" * 1000, "val_loss: 0.1"]
    assert _first_lines(log, 2, width=1000) == ["first", "y" * 1000]
