"""Code experiments from a model in `aft research`, against the scripted server on 127.0.0.1: an
out-of-scope diff (another file) and a new dependency are refused before anything runs (huge and
broken diffs: tests/brain/test_llm_code_experiments.py); a good diff is shown, committed, run and judged like any experiment."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.brain.llm_server import text
from tests.engine.helpers import aft, script_project
from tests.llm_ui.conftest import MODEL

SCRIPT = '''\
import argparse

SCALE = 1.0

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()
for epoch in range(args.epochs):
    val_loss = SCALE * (args.lr - 0.2) ** 2 + 1.0 / (epoch + 2)
    print(f"epoch {epoch}: val_loss={val_loss:.6f}")
'''


def _answer(title: str, diff: str) -> str:
    return f"Title: {title}\nRationale: worth a try.\n```diff\n{diff}```\n"


GOOD = """--- a/train.py
+++ b/train.py
@@ -3,3 +3,3 @@
-SCALE = 1.0
+SCALE = 0.5
 
 parser = argparse.ArgumentParser()
"""
OTHER_FILE = """--- a/helper.py
+++ b/helper.py
@@ -1 +1 @@
-VALUE = 1
+VALUE = 2
"""
NEW_DEPENDENCY = """--- a/train.py
+++ b/train.py
@@ -1,2 +1,3 @@
 import argparse
+import lightning_fancy_scheduler
 
"""


def test_out_of_scope_model_edits_are_refused_before_anything_runs_and_a_good_one_is_kept(tmp_path: Path, server):
    project = script_project(tmp_path, SCRIPT)
    (project / "helper.py").write_text("VALUE = 1\n")
    subprocess.run(["git", "add", "helper.py"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-qm", "helper"], cwd=project, check=True)
    server.script(*(text(_answer(t, d)) for t, d in (("edit the helper", OTHER_FILE),
                                                       ("a fancy scheduler", NEW_DEPENDENCY),
                                                       ("halve the scale", GOOD))))
    done = aft(project, "research", "train.py", "--model", MODEL, "--api-base", server.url, "--strategy", "tpe",
               "--experiments", "9", "--yes", "--seed", "3", "--metric", "val_loss", timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    folder = next((project / "outputs" / "research").iterdir())
    experiments = json.loads((folder / "experiments.json").read_text())
    journal = (folder / "journal.md").read_text()
    assert "helper.py" in journal and "lightning_fancy_scheduler" in journal and "Refused an LLM code change" in journal
    llm = [e for e in experiments if e["kind"] == "code" and e["source"] == "llm"]
    assert [e["description"] for e in llm] == ["halve the scale"], experiments  # only the good diff ever ran
    assert llm[0]["status"] == "keep" and llm[0]["files"] == ["train.py"]
    log = subprocess.run(["git", "log", "--all", "--format=%H", "--", "helper.py"], cwd=project,
                         capture_output=True, text=True).stdout.split()
    assert len(log) == 1  # the project's own commit: no experiment ever touched helper.py
    branch_script = subprocess.run(["git", "show", f"{experiments[-1]['commit']}:train.py"], cwd=project,
                                   capture_output=True, text=True).stdout
    assert "SCALE = 0.5" in branch_script and "lightning_fancy_scheduler" not in branch_script


def _scale_to(value: str) -> str:
    return GOOD.replace("+SCALE = 0.5", f"+SCALE = {value}")


def test_a_crashing_change_goes_to_repair_at_most_twice_told_how_it_crashed(tmp_path: Path, server):
    project = script_project(tmp_path, SCRIPT)
    server.script(text(_answer("a broken idea", _scale_to("1.0 / 0"))),
                  text(_answer("still broken", _scale_to("undefined_scale"))),
                  text(_answer("the fix", _scale_to("0.25"))))
    done = aft(project, "research", "train.py", "--model", MODEL, "--api-base", server.url, "--strategy", "tpe",
               "--experiments", "7", "--yes", "--seed", "3", "--metric", "val_loss", timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    folder = next((project / "outputs" / "research").iterdir())
    code = [e for e in json.loads((folder / "experiments.json").read_text()) if e["kind"] == "code"]
    assert [(e["status"], e["repairs"]) for e in code] == [("crash", 0), ("crash", 1), ("keep", 2)], code
    assert "repair 1 of 2 comes next" in code[0]["reason"] and code[2]["description"].startswith("repair 2 of")
    prompts = [json.dumps(r["body"]) for r in server.requests]
    assert "ZeroDivisionError" in prompts[1] and "crashed" in prompts[1]  # the model is told how it crashed
    assert "undefined_scale" in prompts[2]
    assert all(e["revert_commit"] for e in code[:2]) and not code[2]["revert_commit"]


def test_after_a_restart_the_model_reads_the_journal_so_it_neither_repeats_nor_forgets(tmp_path: Path, server):
    # The script's defaults are already its best values, so numeric experiments stop paying off
    # and the bandit turns to the model after the restart.
    flat = SCRIPT.replace("default=0.05", "default=0.2").replace("1.0 / (epoch + 2)", "0.1")
    project = script_project(tmp_path, flat)
    server.script(text(_answer("halve the scale", GOOD)))
    first = aft(project, "research", "train.py", "--model", MODEL, "--api-base", server.url, "--strategy", "tpe",
                "--experiments", "5", "--yes", "--seed", "3", "--metric", "val_loss", timeout=300)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    folder = next((project / "outputs" / "research").iterdir())
    assert any(e["description"] == "halve the scale" for e in json.loads((folder / "experiments.json").read_text()))
    asked = len(server.requests)
    server.script(*(text("No experiment: the journal shows the scale was already halved.") for _ in range(3)))
    again = aft(project, "research", "--resume", folder.name, "--model", MODEL, "--api-base", server.url,
                "--experiments", "12", "--yes", timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    later = [json.dumps(r["body"]) for r in server.requests[asked:]]
    assert later, "the restarted session asked the model nothing"
    assert "halve the scale" in later[0] and "Restarted after 5 experiment(s)" in later[0]
