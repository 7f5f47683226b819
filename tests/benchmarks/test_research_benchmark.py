"""The research-against-tuning benchmark's pure parts: who wins, reading what each mode wrote, the
table, the two commands. No long runs: the records are written by AFT's own writers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from aft_tui.engine.research.records import Experiment
from aft_tui.engine.research.store import ResearchState, ResearchStore
from aft_tui.fsutil import json_text
from benchmarks.research import (
    BUNDLED,
    ModeResult,
    Pair,
    ScriptResult,
    Target,
    collect_research,
    commands,
    hours_text,
    main,
    majority,
    make_copy,
    numeric_via,
    read_experiments,
    read_runs,
    render_markdown,
    render_table,
    summarise_research,
    summarise_tune,
    winner,
)


# -- who wins ---------------------------------------------------------------------------------------
def test_the_better_best_wins_by_the_direction():
    assert winner(0.91, 0.90, "max") == "research"
    assert winner(0.91, 0.90, "min") == "tune"
    assert winner(0.20, 0.25, "min") == "research"


def test_equal_within_one_billionth_is_a_tie_and_more_is_not():
    assert winner(0.5, 0.5 + 5e-10, "max") == "tie"
    assert winner(0.5, 0.5 + 5e-9, "max") == "tune"


def test_a_mode_without_an_ok_trial_loses_and_neither_is_no_result():
    assert winner(None, 0.3, "min") == "tune"
    assert winner(0.3, None, "max") == "research"
    assert winner(None, None, "max") == "none"


def test_majority_counts_wins_ties_count_for_neither():
    assert majority(["research", "tune", "research"]) == "research"
    assert majority(["tune", "tie", "tie"]) == "tune"
    assert majority(["research", "tune", "tie"]) == "tie"
    assert majority(["none", "none"]) == "none"
    assert majority([]) == "none"


# -- reading experiments.json --------------------------------------------------------------------------
def _experiment(number: int, kind: str, status: str, value: float | None, trial_status: str = "ok",
                recipe: str = "", description: str = "") -> Experiment:
    return Experiment(number=number, kind=kind, source="catalogue" if kind == "code" else "defaults",
                      description=description or f"experiment {number}", status=status, value=value,
                      trial_status=trial_status, recipe=recipe, code_commit="abc" if kind == "code" else "")


def test_research_is_read_back_from_the_files_research_writes(tmp_path: Path):
    experiments = [
        _experiment(1, "baseline", "keep", 0.80),
        _experiment(2, "baseline", "keep", 0.82),
        _experiment(3, "code", "keep", 0.90, recipe="adamw", description="Adam -> AdamW"),
        _experiment(4, "code", "discard", 0.95, recipe="grad_clip"),   # the best single run, discarded all the same
        _experiment(5, "numeric", "discard", 0.99, trial_status="timeout"),  # cut short: not an ok trial
        _experiment(6, "numeric", "crash", None, trial_status="failed"),
        _experiment(7, "confirm", "discard", 0.85),
    ]
    store = ResearchStore(tmp_path / "proj" / "outputs", "20260101-000000-abcdef")
    store.save(experiments, ResearchState(best_value=0.90, best_experiment=3))

    result = collect_research(tmp_path / "proj", "max", ModeResult("research"))

    assert (result.trials, result.ok, result.best, result.incumbent) == (7, 5, 0.95, 0.90)
    assert result.kinds == {"baseline": 2, "code": 2, "numeric": 2, "confirm": 1}
    assert result.code_tried == ["adamw", "grad_clip"]
    assert result.kept_code == ["adamw"]
    assert not result.error


def test_a_pair_is_scored_again_from_what_its_run_left(tmp_path: Path):
    import json

    from benchmarks.research import rescore_pair

    folder = tmp_path / "pair1"
    with pytest.raises(FileNotFoundError, match="no finished pair"):
        rescore_pair(BUNDLED[0], folder, 1, "python", "abc1234")
    store = ResearchStore(folder / "research" / "outputs", "20260101-000000-abcdef")
    store.save([_experiment(1, "baseline", "keep", 0.80), _experiment(2, "code", "keep", 0.90, recipe="adamw")],
               ResearchState(best_value=0.90))
    (folder / "numeric").mkdir()
    for mode in ("research", "pipeline"):
        (folder / f"{mode}.json").write_text(json.dumps({"argv": ["aft", mode], "rc": 0, "wall": 215.0}))
    pair = rescore_pair(BUNDLED[0], folder, 1, "python", "abc1234")
    assert (pair.research.best, pair.research.kept_code, pair.commit) == (0.90, ["adamw"], "abc1234")
    assert pair.tune.mode == "pipeline" and pair.tune.error == "no session recorded"  # nothing ran there
    assert pair.winner == "research"


def test_the_best_of_a_minimised_metric_is_the_smallest(tmp_path: Path):
    rows = [_experiment(1, "baseline", "keep", 2.0).to_dict(), _experiment(2, "code", "discard", 1.5).to_dict()]
    assert summarise_research(rows, "min", ModeResult("research")).best == 1.5


def test_a_missing_or_torn_experiments_file_reads_as_none(tmp_path: Path):
    assert read_experiments(tmp_path / "absent.json") == []
    torn = tmp_path / "experiments.json"
    torn.write_text('[{"number": 1, "kind": "base', encoding="utf-8")
    assert read_experiments(torn) == []
    torn.write_text('{"number": 1}', encoding="utf-8")
    assert read_experiments(torn) == []
    result = collect_research(tmp_path / "nothing", "max", ModeResult("research"))
    assert result.best is None and result.error == "no experiments.json written"


# -- reading `aft runs --json` --------------------------------------------------------------------------
def test_tune_trials_are_read_from_runs_json_as_aft_prints_it():
    text = json_text([
        {"number": 1, "status": "ok", "value": 0.84},
        {"number": 2, "status": "ok", "value": float("nan")},   # spelled "nan": no value
        {"number": 3, "status": "failed", "value": None},
        {"number": 4, "status": "ok", "value": 0.93},
        {"number": 5, "status": "timeout", "value": 0.97},       # cut short at the budget
    ])
    result = summarise_tune(read_runs(text), "max", ModeResult("tune"))
    assert (result.trials, result.ok, result.best) == (5, 2, 0.93)


def test_the_best_is_dated_from_the_first_trial_to_the_end_of_the_first_run_that_scored_it():
    text = json_text([
        {"number": 1, "status": "ok", "value": 0.84, "started_at": 1000.0, "finished_at": 1004.0},
        {"number": 2, "status": "ok", "value": 0.93, "started_at": 1004.5, "finished_at": 1010.0},
        {"number": 3, "status": "ok", "value": 0.93, "started_at": 1010.5, "finished_at": 1020.0},  # the same later
        {"number": 4, "status": "failed", "value": None, "started_at": 1020.5, "finished_at": 1021.0},
    ])
    assert summarise_tune(read_runs(text), "max", ModeResult("tune")).best_at == 10.0
    assert summarise_tune([], "max", ModeResult("tune")).best_at is None


def test_runs_output_that_is_not_a_list_of_trials_reads_as_none():
    assert read_runs("No trials yet.") == []
    assert read_runs('{"number": 1}') == []
    assert summarise_tune([], "min", ModeResult("tune")).best is None


# -- the table ---------------------------------------------------------------------------------------------
def _pair(repeat: int, research: float | None, tune: float | None, direction: str = "max") -> Pair:
    r = ModeResult("research", trials=6, ok=6, best=research, incumbent=research,
                   kinds={"baseline": 3, "numeric": 1, "code": 2}, code_tried=["adamw", "grad_clip"], kept_code=["adamw"])
    t = ModeResult("tune", trials=9, ok=9, best=tune)
    return Pair(repeat, r, t, winner(research, tune, direction))


def test_the_table_has_a_row_per_pair_with_both_bests_and_the_winner():
    pair = _pair(1, 0.95, 0.93)
    pair.commit = "abc1234"
    result = ScriptResult("mlp", "bundled", "val_acc", "max", [], pairs=[pair])
    table = render_table([result])
    row = next(line for line in table.splitlines() if line.startswith("| mlp |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == ["mlp", "max `val_acc`", "1 (abc1234)", "0.95 (0.95)", "6 (3 b, 1 n, 2 c, 0 conf)", "`adamw`, `grad_clip`",
                     "`adamw`", "tune", "0.93", "9", "– / –", "research"]
    pair.research.best_at, pair.tune.best_at = 35.2, 118.0
    assert "| 35 s / 118 s | research |" in render_table([result])
    assert "majority" not in table  # one pair per script: no majority table


def test_repeats_add_the_majority_table():
    result = ScriptResult("mlp", "bundled", "val_loss", "min", [],
                          pairs=[_pair(1, 0.2, 0.3, "min"), _pair(2, 0.4, 0.3, "min"), _pair(3, 0.1, 0.3, "min")])
    table = render_table([result])
    assert "| mlp | 2 | 1 | 0 | research |" in table


def test_a_mode_that_failed_says_why_in_its_cell():
    pair = _pair(1, None, 0.5)
    pair.research.error = "exit status 1: aft: something | broke"
    table = render_table([ScriptResult("gcn", "corpus", "Val", "max", ["--epochs", "5"], pairs=[pair])])
    assert "– (–) (exit status 1: aft: something \\| broke)" in table
    assert table.splitlines()[-1].endswith("| tune |")


def test_the_report_counts_scripts_by_majority_and_names_the_skipped():
    meta = {"command": "python -m benchmarks.research", "date": "today", "commit": "abc", "machine": "2 cores",
            "budget": 240.0, "repeats": 1, "not_applicable": ["llm_config_mlflow"]}
    results = [ScriptResult("a", "bundled", "m", "max", [], pairs=[_pair(1, 1.0, 0.5)]),
               ScriptResult("b", "bundled", "m", "max", [], pairs=[_pair(1, 0.5, 1.0)]),
               ScriptResult("c", "bundled", "m", "max", [], pairs=[_pair(1, 0.5, 0.5)])]
    text = render_markdown(results, meta)
    assert "Research ended better on 1 script(s), numeric tuning on 1, tied on 1 (by the best single trial)." in text
    assert "Not run, no catalogue recipe applies: `llm_config_mlflow`." in text


# -- the commands -----------------------------------------------------------------------------------------
def test_both_modes_get_the_same_budget_objective_and_script_arguments():
    target = Target("gcn", "corpus", Path("/x"), "examples/gcn.py", "Val", "max", ["--epochs", "100"], cwd="examples")
    argvs = commands(target, "tune", 240, "py", experiment_time="30s")
    research, tune = argvs["research"], argvs["tune"]
    assert research[:5] == ["py", "-m", "aft_tui", "research", "gcn.py"]
    assert research[research.index("--hours") + 1] == hours_text(240)
    assert float(hours_text(240)) * 3600 == pytest.approx(240, abs=1e-4)
    assert research[research.index("--experiment-time") + 1] == "30s"
    assert tune[3:5] == ["tune", "gcn.py"]
    assert tune[tune.index("--budget") + 1] == "240" and tune[tune.index("--trials") + 1] == "1000"
    for argv in (research, tune):
        assert argv[argv.index("--metric") + 1] == "Val" and argv[argv.index("--direction") + 1] == "max"
        assert "--yes" in argv and argv[-3:] == ["--", "--epochs", "100"]


def _param(name, flag=None, source="argparse", tunable=True):
    return {"name": name, "source": source, "flag": flag, "extra": {"tunable": tunable}}


def test_the_numeric_side_is_tune_only_when_every_tunable_parameter_is_a_flag():
    assert numeric_via([_param("lr", "--lr"), _param("seed", None, "constant", tunable=False)]) == "tune"
    assert numeric_via([_param("lr", "--lr"), _param("dropout", None, "kwarg")]) == "pipeline"
    # aft tune refuses a script whose settings live only in a config file: the refactor gives it --config
    assert numeric_via([_param("training.learning_rate", None, "config_file")]) == "pipeline"
    assert numeric_via([]) == "pipeline"


def test_a_bundled_copy_is_a_fresh_project_with_its_edits_committed(tmp_path: Path):
    two_stage = next(t for t in BUNDLED if t.name == "two_stage")
    project = make_copy(two_stage, tmp_path / "copy")
    assert "train_documents: 128" in (project / "config.yaml").read_text(encoding="utf-8")
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True).stdout
    assert status == ""
    assert "outputs/" in (project / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_an_edit_that_no_longer_matches_is_named(tmp_path: Path):
    two_stage = next(t for t in BUNDLED if t.name == "two_stage")
    stale = Target(**{**two_stage.__dict__, "edits": {"config.yaml": [("train_documents: 999", "x")]}})
    with pytest.raises(ValueError, match="no longer holds 'train_documents: 999'"):
        make_copy(stale, tmp_path / "copy")


@pytest.mark.parametrize("argv, words", [
    (["--budget", "0"], "--budget must be positive"),
    (["--only", "no_such_script"], "unknown script(s) no_such_script"),
    (["--corpus", "/nowhere"], "--corpus needs --spec"),
])
def test_bad_options_are_usage_errors(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert words in capsys.readouterr().err
