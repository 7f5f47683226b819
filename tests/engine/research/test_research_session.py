"""`aft research` end to end: the real CLI, a real git project, real trials of a small PyTorch script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.engine.helpers import aft, aft_env, script_project, tree_fingerprint
from tests.engine.research.fixture_script import SCRIPT

pytest.importorskip("torch")


def _git(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True)


def _folder(project: Path) -> Path:
    folders = sorted((project / "outputs" / "research").iterdir())
    assert len(folders) == 1
    return folders[0]


def _experiments(project: Path) -> list[dict]:
    return json.loads((_folder(project) / "experiments.json").read_text())


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return script_project(tmp_path, SCRIPT)


def test_research_runs_unattended_and_keeps_every_experiment_reachable(project: Path):
    before = tree_fingerprint(project)
    notes = project.parent / "notes.jsonl"
    done = aft(project, "research", "train.py", "--experiments", "6", "--yes", "--seed", "1",
               "--metric", "val_loss", "--notify", f"cat >> {notes}; echo >> {notes}", timeout=400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Research mode for 6 experiments: numeric and code experiments" in " ".join(done.stdout.split())
    folder = _folder(project)
    experiments = _experiments(project)
    assert len(experiments) == 6
    assert [e["number"] for e in experiments] == list(range(1, 7))
    kinds = {e["kind"] for e in experiments}
    assert "baseline" in kinds and "code" in kinds, kinds
    # results.tsv: a header and one line per experiment, in the columns research scripts use
    rows = (folder / "results.tsv").read_text().splitlines()
    assert rows[0].split("\t") == ["commit", "val_loss", "memory_gb", "status", "description"]
    assert len(rows) == 7 and all(r.split("\t")[3] in ("keep", "discard", "crash") for r in rows[1:])
    # peak memory of each run, in GB (trial 1 is the smoke run that proved the refactor: not measured again)
    memory = [float(r.split("\t")[2]) for r in rows[2:]]
    assert all(0.02 < m < 8 for m in memory), memory
    journal = (folder / "journal.md").read_text()
    assert "# Research journal" in journal and journal.count("## Experiment") == 6
    log = project / ".aft" / "sessions" / f"{folder.name}.jsonl"
    progress = [json.loads(line) for line in log.read_text().splitlines() if '"tune_progress"' in line]
    assert progress and {p["total"] for p in progress} == {6}  # --experiments, not the default --trials
    branch = next(line.split()[-1] for line in _git(project, "branch", "--list", "aft*").stdout.splitlines())
    head = _git(project, "rev-parse", branch).stdout.strip()
    # a change runs again at another learning rate before it is discarded: its runs share one commit
    kept_changes = {e["code_commit"] for e in experiments if e["kind"] == "code" and e["status"] == "keep"}
    for e in experiments:
        for sha in (e["commit"], e["code_commit"], e["revert_commit"]):
            if sha:  # every experiment's commit is in the branch's history: inspectable, revivable
                assert _git(project, "merge-base", "--is-ancestor", sha, head).returncode == 0, (e, sha)
        if e["kind"] == "code" and e["code_commit"] not in kept_changes:
            assert e["revert_commit"], e  # nothing not kept is left applied, even at the session's end
            restored = _git(project, "show", f"{e['revert_commit']}:train.py").stdout
            original = _git(project, "show", f"{e['code_commit']}^:train.py").stdout
            assert restored == original
        if e["kind"] == "code" and e["code_commit"] in kept_changes:
            assert not e["revert_commit"]
    assert (folder / "report.md").exists() and (folder / "progress.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    events = [json.loads(line) for line in notes.read_text().splitlines() if line.strip()]
    assert events[-1]["event"] == "end" and events[-1]["experiments"] == 6
    assert ("new_best" in {e["event"] for e in events}) == any(e["kind"] != "baseline" and e["status"] == "keep"
                                                                 for e in experiments)
    report = aft(project, "research", "report")
    assert report.returncode == 0, report.stderr
    assert "report.md" in report.stdout and "val_loss" in report.stdout
    final = aft(project, "research", "finalize")
    kept_code = kept_changes
    assert final.returncode == 0, final.stdout + final.stderr
    state = json.loads((folder / "state.json").read_text())
    commits = _git(project, "rev-list", f"{state['origin_commit']}..{branch}-final").stdout.split()
    assert len(commits) == 1 + len(kept_code)  # AFT's set-up (the metric report), then each kept change
    assert tree_fingerprint(project) == before  # the person's working copy and branch are untouched


def test_a_restarted_session_continues_from_its_journal(project: Path):
    first = aft(project, "research", "train.py", "--experiments", "4", "--yes", "--seed", "2", "--metric", "val_loss",
                timeout=300)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    session = _folder(project).name
    before = _experiments(project)
    again = aft(project, "research", "--resume", session, "--experiments", "7", "--yes", timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "Continuing research from its journal" in again.stdout
    after = _experiments(project)
    assert after[:4] == before and [e["number"] for e in after] == list(range(1, 8))
    assert not any(e["kind"] == "baseline" for e in after[4:])  # the noise is remembered, not measured again
    changes = {(e["recipe"], e["code_commit"]) for e in after if e["recipe"]}
    recipes = [recipe for recipe, _ in changes]
    assert all(recipes.count(r) <= 2 for r in recipes), changes  # an idea comes back once at most, in a new context
    assert "Restarted after 4 experiment(s)" in (_folder(project) / "journal.md").read_text()


def test_bad_research_options_create_nothing(project: Path):
    for args, words in ((["--experiment-time", "soon"], "--experiment-time takes a positive duration"),
                        (["--hours", "0"], "--hours must be a positive"),
                        (["--editable", "../elsewhere.py"], "outside the project"),
                        (["--read-only", "train.py"], "cannot also be --read-only"),
                        (["--patience", "3"], "--patience belongs to `aft tune`"),
                        (["--trials", "0"], "--trials must be at least 1")):
        done = aft(project, "research", "train.py", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr
        assert not (project / ".aft" / "sessions").exists() or not list((project / ".aft" / "sessions").iterdir())


PLAIN = '''\
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.05)
args = parser.parse_args()
print(f"val_loss={(args.lr - 0.2) ** 2 + 0.1:.6f}")
'''


def test_research_stops_at_the_target_value_and_runs_one_experiment_at_a_time(tmp_path: Path):
    project = script_project(tmp_path, PLAIN)
    done = aft(project, "research", "train.py", "--yes", "--metric", "val_loss", "--target-value", "0.2",
               "--parallel", "2", "--experiments", "20")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    said = " ".join(done.stdout.split())
    assert "--parallel 2 does not apply" in said and "target value 0.2 reached" in said
    experiments = _experiments(project)
    assert len(experiments) < 20 and min(e["value"] for e in experiments if e["value"] is not None) <= 0.2
