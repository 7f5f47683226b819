"""LLM refactors and repairs: SEARCH/REPLACE edits, "did you mean" reflections, checks."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from aft_tui.target.hooks import REPORT_HELPER
from tests.brain.llm_server import text

ORIGINAL = textwrap.dedent('''\
    """Train a toy model."""
    LR = 0.1
    EPOCHS = 3


    def train():
        for epoch in range(EPOCHS):
            acc = 0.5 + LR * epoch
            print(f"val_acc: {acc}")


    train()
    ''')

WRONG_SEARCH = textwrap.dedent('''\
    I will expose the constants as flags.

    train.py
    <<<<<<< SEARCH
    LR = 0.01
    EPOCHS = 3
    =======
    LR = _aft_args.lr
    >>>>>>> REPLACE
    ''')

GOOD_EDIT = textwrap.dedent('''\
    train.py
    <<<<<<< SEARCH
    LR = 0.1
    EPOCHS = 3
    =======
    import argparse
    _aft_parser = argparse.ArgumentParser()
    _aft_parser.add_argument("--lr", type=float, default=0.1)
    _aft_parser.add_argument("--epochs", type=int, default=3)
    _aft_args = _aft_parser.parse_args()
    LR = _aft_args.lr
    EPOCHS = _aft_args.epochs


    @@HELPER@@
    >>>>>>> REPLACE

    train.py
    <<<<<<< SEARCH
            print(f"val_acc: {acc}")
    =======
            print(f"val_acc: {acc}")
            _aft_report({"epoch": epoch, "val_acc": acc})
    >>>>>>> REPLACE

    Rationale: LR and EPOCHS become --lr and --epochs with the original defaults; metrics go to AFT_METRICS.
    ''').replace("@@HELPER@@\n", REPORT_HELPER)


async def test_refactor_needs_one_reflection_then_passes_the_behaviour_check(brain, server, tmp_path):
    server.script(text(WRONG_SEARCH), text(GOOD_EDIT))
    proposal = await brain.refactor(ORIGINAL, {"path": "train.py", "params": [
        {"name": "LR", "type": "float", "default": 0.1, "source": "constant"}]}, "expose lr and epochs")
    assert proposal is not None, brain.last_problem
    assert proposal.reflections == 1 and proposal.path == "train.py"
    assert "--- a/train.py" in proposal.diff and "+_aft_parser.add_argument(\"--lr\"" in proposal.diff
    assert proposal.rationale.startswith("LR and EPOCHS become --lr and --epochs")
    # The reflection quoted the closest real lines back to the model.
    reflection = server.requests[1]["body"]["messages"][-1]["content"]
    assert "Did you mean" in reflection and "LR = 0.1" in reflection
    # The refactored script runs with and without AFT_METRICS, and its defaults give the original output.
    script = tmp_path / "train.py"
    script.write_text(proposal.updated)
    before = tmp_path / "orig.py"
    before.write_text(ORIGINAL)
    run = lambda path, *args, env=None: subprocess.run([sys.executable, str(path), *args], capture_output=True,
                                                       text=True, timeout=30, env=env)
    assert run(script).stdout == run(before).stdout
    import os

    metrics = tmp_path / "m.jsonl"
    assert run(script, "--lr", "0.2", env={**os.environ, "AFT_METRICS": str(metrics)}).returncode == 0
    assert metrics.read_text().count("val_acc") == 3


async def test_a_refactor_that_changes_a_default_is_sent_back(brain, server):
    changed = GOOD_EDIT.replace('default=0.1)', 'default=0.05)')
    server.script(text(changed), text(GOOD_EDIT))
    proposal = await brain.refactor(ORIGINAL, {"path": "train.py"}, "")
    assert proposal is not None and proposal.reflections == 1
    reflection = server.requests[1]["body"]["messages"][-1]["content"]
    assert "The edit applied but" in reflection and "0.05" in reflection


async def test_refactor_gives_up_after_three_reflections(brain, server):
    server.script(*[text(WRONG_SEARCH)] * 4)
    proposal = await brain.refactor(ORIGINAL, {"path": "train.py"}, "")
    assert proposal is None
    assert len(server.requests) == 4  # the request and three reflections
    assert "not usable after 3 corrections" in brain.last_problem and "nothing was changed" in brain.last_problem
    assert brain.infos[-1] == brain.last_problem


async def test_edits_to_another_file_are_refused(brain, server):
    elsewhere = GOOD_EDIT.replace("train.py\n<<<<<<<", "../../outside.py\n<<<<<<<", 1)
    server.script(text(elsewhere), text(GOOD_EDIT))
    proposal = await brain.refactor(ORIGINAL, {"path": "train.py"}, "")
    assert proposal is not None and proposal.reflections == 1
    assert "Only train.py may be edited" in server.requests[1]["body"]["messages"][-1]["content"]


BROKEN = ORIGINAL.replace("LR = 0.1\nEPOCHS = 3\n", textwrap.dedent('''\
    import argparse
    _aft_parser = argparse.ArgumentParser()
    _aft_parser.add_argument("--lr", type=float, default=0.1)
    _aft_parser.add_argument("--epochs", type=int, default=3)
    _aft_args = _aft_parser.parse_args()
    LR = _aft_args.lr
    EPOCHS = _aft_args.epoch
    '''))

TRACEBACK = textwrap.dedent('''\
    Traceback (most recent call last):
      File "train.py", line 8, in <module>
        EPOCHS = _aft_args.epoch
    AttributeError: 'Namespace' object has no attribute 'epoch'
    ''')

REPAIR = textwrap.dedent('''\
    The flag's destination is `epochs`, not `epoch`.

    train.py
    <<<<<<< SEARCH
    EPOCHS = _aft_args.epoch
    =======
    EPOCHS = _aft_args.epochs
    >>>>>>> REPLACE

    Rationale: read the --epochs flag through its real destination name.
    ''')


async def test_repair_after_a_traceback(brain, server, tmp_path):
    diff = "--- a/train.py\n+++ b/train.py\n@@ -1,3 +1,8 @@\n-EPOCHS = 3\n+EPOCHS = _aft_args.epoch\n"
    server.script(text(REPAIR))
    proposal = await brain.repair(BROKEN, TRACEBACK, diff, "epoch 0 starting\n" + TRACEBACK)
    assert proposal is not None and proposal.reflections == 0
    assert "-EPOCHS = _aft_args.epoch\n+EPOCHS = _aft_args.epochs" in proposal.diff
    prompt = server.requests[0]["body"]["messages"][-1]["content"]
    assert "AttributeError: 'Namespace' object has no attribute 'epoch'" in prompt
    assert "+EPOCHS = _aft_args.epoch" in prompt and "End of its log" in prompt
    script = tmp_path / "train.py"
    script.write_text(proposal.updated)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "val_acc" in done.stdout


async def test_a_repair_that_does_not_parse_is_sent_back(brain, server):
    bad = REPAIR.replace("EPOCHS = _aft_args.epochs\n>>>>>>>", "EPOCHS = _aft_args.epochs(\n>>>>>>>")
    server.script(text(bad), text(REPAIR))
    proposal = await brain.repair(BROKEN, TRACEBACK, "", "")
    assert proposal is not None and proposal.reflections == 1
    assert "does not parse" in server.requests[1]["body"]["messages"][-1]["content"]
