"""Each mode's final pick run again: the real commands of `aft research` and `aft tune` on a tiny
script, then their picks through AFT's own trial runner, with fresh seeds passed by the script's
own flag."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from benchmarks.research import Pair, ModeResult, ScriptResult, remeasured, render_markdown, summarise_tune
from benchmarks.research_reeval import (SEED_OFFSET, Remeasured, moved_command, numeric_pick, remeasure, research_pick,
                                        standard_errors, with_flag)
from tests.engine.helpers import aft, aft_env, script_project

# The score depends on the seed only, so what each re-run scored tells which seed it was given.
SCRIPT = '''\
import argparse

p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.01)
p.add_argument("--seed", type=int, default=7)
a = p.parse_args()
for epoch in range(2):
    print(f"epoch {epoch} val_acc: {0.5 + a.seed / 10000:.4f}")
'''


def _env() -> dict[str, str]:
    return aft_env(HF_HUB_OFFLINE="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                   GIT_COMMITTER_EMAIL="t@t")


def _aft(project: Path, *args: str) -> subprocess.CompletedProcess:
    done = aft(project, *args, timeout=300, env=_env())
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def test_both_picks_run_again_with_the_same_fresh_seeds_and_are_read_as_the_modes_read_them(tmp_path: Path):
    research = script_project(tmp_path, SCRIPT, "research")
    numeric = script_project(tmp_path, SCRIPT, "numeric")
    _aft(research, "research", "train.py", "--yes", "--experiments", "3", "--metric", "val_acc", "--direction", "max")
    _aft(numeric, "tune", "train.py", "--yes", "--trials", "2", "--metric", "val_acc", "--direction", "max")
    runs = json.loads(_aft(numeric, "runs", "--json").stdout)
    tuned = summarise_tune(runs, "max", ModeResult("tune"))

    picks = [research_pick(research), numeric_pick(numeric, "tune", tuned.best_run, tuned.best_number)]
    assert picks[0].what == "baseline"                 # seed-only scores: nothing beats the noise
    assert picks[1].run_id == tuned.best_run and picks[1].what == f"trial {tuned.best_number}"
    found = remeasure(picks, 2, tmp_path / "reeval", "val_acc", "max", _env(), ".", [])

    fresh = [7 + SEED_OFFSET + 1, 7 + SEED_OFFSET + 2]
    for m in found:
        assert m.seeds == fresh, m
        assert m.values == [0.5 + s / 10000 for s in fresh], m
        assert not m.error
    assert (tmp_path / "reeval" / "research-1" / "log.txt").read_text(encoding="utf-8").count("val_acc") == 2

    pair = remeasured(Pair(1, ModeResult("research", best=0.5007), tuned), found, "max")
    assert pair.reeval_winner == "tie"                 # the same seeds, the same scores
    assert pair.reeval_se == 0.0                       # no difference, whatever the spread


def test_a_flag_is_replaced_where_given_and_added_where_not():
    assert with_flag(["py", "t.py", "--seed", "1", "--lr", "2"], "--seed", "9") == ["py", "t.py", "--seed", "9", "--lr", "2"]
    assert with_flag(["py", "t.py", "--seed=1"], "--seed", "9") == ["py", "t.py", "--seed=9"]
    assert with_flag(["py", "t.py"], "--seed", "9") == ["py", "t.py", "--seed", "9"]


def test_paths_into_the_trials_folder_move_with_the_files_they_name(tmp_path: Path):
    old, new = tmp_path / "outputs" / "t001", tmp_path / "again"
    old.mkdir(parents=True)
    new.mkdir()
    (old / "config.yaml").write_text("lr: 0.1\n", encoding="utf-8")
    command = ["py", "t.py", "--config", str(old / "config.yaml"), f"--output_dir={old}/out", "--x", "1"]
    moved = moved_command(command, old, new)
    assert moved == ["py", "t.py", "--config", str(new / "config.yaml"), f"--output_dir={new}/out", "--x", "1"]
    assert (new / "config.yaml").read_text(encoding="utf-8") == "lr: 0.1\n"


def test_the_difference_is_weighed_in_standard_errors_and_reported():
    a = Remeasured("baseline", "r1", 0.80, [0.80, 0.82, 0.84])
    b = Remeasured("trial 9", "t9", 0.85, [0.78, 0.79, 0.80])
    assert round(standard_errors(a, b), 2) == round(0.03 / ((0.0004 / 3 + 0.0001 / 3) ** 0.5), 2)
    pair = remeasured(Pair(1, ModeResult("research", best=0.84), ModeResult("tune", best=0.85)), [a, b], "max")
    assert pair.reeval_winner == "research"
    s = ScriptResult("demo", "bundled", "val_acc", "max", [], pairs=[pair])
    pair.winner = "tune"
    text = render_markdown([s], {"command": "c", "date": "d", "commit": "x", "machine": "m", "budget": 1,
                                 "repeats": 1})
    assert "numeric tuning on 1, tied on 0 (by the best single trial)" in text
    assert "By the final picks run again: research better on 1, numeric tuning on 0, tied on 0." in text
    assert "| demo | 1 | baseline (0.8) | 0.82 ± 0.02 (3 of 3) | trial 9 (0.85) | 0.79 ± 0.01 (3 of 3) | 2.3 | research |" \
        in text


def test_the_re_runs_of_a_pair_are_read_back_when_it_is_scored_again(tmp_path: Path):
    from dataclasses import asdict

    from benchmarks.research import earlier_reeval

    assert earlier_reeval(tmp_path) is None
    made = [Remeasured("baseline", "r1", 0.8, [0.8, 0.81], [1001, 1002]), Remeasured("trial 3", "t3", 0.9, [0.7, None])]
    (tmp_path / "reeval").mkdir()
    (tmp_path / "reeval" / "reeval.json").write_text(json.dumps([asdict(m) for m in made]), encoding="utf-8")
    again = earlier_reeval(tmp_path)
    assert again == made and again[1].finite == [0.7]
    (tmp_path / "reeval" / "reeval.json").write_text("[{\"what\": 1}]", encoding="utf-8")
    assert earlier_reeval(tmp_path) is None          # torn or partial: made again


def test_repeated_pairs_add_the_majority_by_re_runs():
    def pair(repeat: int, a: list[float], b: list[float]) -> Pair:
        made = [Remeasured("baseline", "r", None, a), Remeasured("trial 2", "t", None, b)]
        return remeasured(Pair(repeat, ModeResult("research"), ModeResult("tune"), winner="tie"), made, "min")

    s = ScriptResult("demo", "corpus", "val_loss", "min", [],
                     pairs=[pair(1, [0.64, 0.65], [0.66, 0.67]), pair(2, [0.64], [0.63]), pair(3, [0.6], [0.7])])
    text = render_markdown([s], {"command": "c", "date": "d", "commit": "x", "machine": "m", "budget": 1, "repeats": 3})
    assert "| demo | 2 | 1 | 0 | research |" in text
    assert s.reeval_majority == "research"
