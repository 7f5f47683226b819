"""Trials read the metrics a script writes to its own result files, and find the objective under
the spelling the person typed; both through real script runs."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from pathlib import Path

from aft_tui.engine.trial import TrialRun, TrialSpec
from aft_tui.runs.result_files import output_dir_from_command, read_result_files, search_dirs


def _spec(tmp_path: Path, body: str, *args: str) -> TrialSpec:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(body))
    run_dir = tmp_path / "runs" / "t001"
    return TrialSpec(run_id="t001", number=1, params={}, command=[sys.executable, "-u", str(script), *args],
                     cwd=tmp_path, run_dir=run_dir, log_path=run_dir / "log.txt", metrics_path=run_dir / "metrics.jsonl")


# A Trainer-like script that prints nothing parseable and leaves its numbers in output_dir.
QUIET_TRAINER = """
    import json, os, sys
    out = next(a.split("=", 1)[1] if "=" in a else sys.argv[i + 1]
               for i, a in enumerate(sys.argv) if a.startswith("--output_dir"))
    os.makedirs(os.path.join(out, "checkpoint-20"), exist_ok=True)
    history = [
        {"loss": "2.5", "grad_norm": 1.5, "learning_rate": 1e-3, "epoch": 0.5, "step": 10},
        {"eval_loss": 2.25, "eval_runtime": 0.4, "eval_samples_per_second": 50.0, "epoch": 1.0, "step": 20},
        {"eval_loss": 2.0, "eval_runtime": 0.4, "epoch": 2.0, "step": 40},
    ]
    with open(os.path.join(out, "checkpoint-20", "trainer_state.json"), "w") as fh:
        json.dump({"global_step": 20, "log_history": history[:2]}, fh)
    with open(os.path.join(out, "trainer_state.json"), "w") as fh:
        json.dump({"global_step": 40, "log_history": history}, fh)
    with open(os.path.join(out, "all_results.json"), "w") as fh:
        json.dump({"epoch": 2.0, "eval_loss": 1.9, "train_loss": 2.4, "train_runtime": 3.0}, fh)
    print("training done")
"""


async def test_a_quiet_trainer_is_judged_from_its_result_files(tmp_path: Path) -> None:
    spec = _spec(tmp_path, QUIET_TRAINER, "--output_dir", "results")
    outcome = await TrialRun(spec, lambda event: None, "eval_loss", "min").run()
    assert outcome.status == "ok", outcome.reason
    assert [row.get("eval_loss") for row in outcome.history] == [None, 2.25, 2.0, 1.9]
    assert outcome.history[1]["step"] == 20 and outcome.history[-1]["epoch"] == 2.0
    assert outcome.value == 1.9 and outcome.best == 1.9
    assert "results" in outcome.sources and "eval_runtime" in outcome.metric_names


async def test_without_a_metric_the_result_file_names_are_reported(tmp_path: Path) -> None:
    spec = _spec(tmp_path, QUIET_TRAINER, "--output_dir=results")
    outcome = await TrialRun(spec, lambda event: None, None, None).run()
    assert outcome.status == "ok", outcome.reason
    assert {"eval_loss", "train_loss"} <= set(outcome.metric_names)


def test_stale_result_files_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "eval_results.json").write_text(json.dumps({"eval_loss": 0.1}))
    old = time.time() - 3600
    os.utime(tmp_path / "eval_results.json", (old, old))
    assert read_result_files([tmp_path], since=time.time()) == []
    (tmp_path / "eval_results.json").write_text(json.dumps({"eval_loss": "0.2", "eval_runtime": 1.0}))
    [record] = read_result_files([tmp_path], since=time.time() - 1)
    assert record.values == {"eval_loss": 0.2, "eval_runtime": 1.0} and record.source == "results"


def test_broken_result_files_give_no_metrics(tmp_path: Path) -> None:
    (tmp_path / "trainer_state.json").write_text('{"log_history": [{"eval_loss": 1.0}')
    (tmp_path / "all_results.json").write_text("[1, 2]")
    assert read_result_files([tmp_path], since=0) == []


def test_where_result_files_are_looked_for(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / ".git").mkdir()
    assert output_dir_from_command(["python", "t.py", "--output-dir", "a"]) == "a"
    assert output_dir_from_command(["python", "t.py", "output_dir=b"]) == "b"
    assert output_dir_from_command(["python", "t.py", "--lr", "0.1"]) is None
    dirs = search_dirs(tmp_path / "run", tmp_path, ["python", "t.py", "--output_dir", "/abs/x"])
    assert dirs[:3] == [(tmp_path / "run").resolve(), Path("/abs/x").resolve(), tmp_path.resolve()]
    assert (tmp_path / "out").resolve() in dirs and (tmp_path / ".git").resolve() not in dirs


PRINTS_IN_PROSE = """
    for i in range(3):
        print(f"[{i}] training: loss 0.{9 - i}")
    print("The RMSE of prediction is: 0.445")
    print("| End of training | test loss 6.42 | test ppl 613.59")
"""


async def test_the_objective_is_found_under_its_printed_spelling(tmp_path: Path) -> None:
    for requested, value in (("RMSE", 0.445), ("test ppl", 613.59)):
        spec = _spec(tmp_path, PRINTS_IN_PROSE)
        outcome = await TrialRun(spec, lambda event: None, requested, "min").run()
        assert outcome.status == "ok", outcome.reason
        assert outcome.value == value
        assert requested in outcome.metric_names


async def test_an_ambiguous_spelling_is_not_guessed(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "print('train_acc: 0.9, val_acc: 0.8')\n")
    outcome = await TrialRun(spec, lambda event: None, "acc", "max").run()
    assert outcome.status == "failed" and "never reported 'acc'" in outcome.reason
