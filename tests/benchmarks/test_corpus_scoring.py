"""The corpus benchmark's scoring rules, on tiny fixtures of our own (no corpus code, no runs)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from benchmarks.corpus import (
    Proc,
    Spec,
    TargetResult,
    Trial,
    TuneResult,
    aggregate,
    choose_command,
    is_junk_metric,
    matching,
    no_passthrough,
    param_names,
    printed_keys,
    read_tuning,
    render_markdown,
    reproduce_command,
    score_discovery,
    score_text,
    stop_reason,
)


def param(name, source="argparse", flag=None, tunable=True, **extra):
    return {"name": name, "source": source, "flag": flag, "extra": {"tunable": tunable, **extra}}


def spec(**kw) -> Spec:
    base = dict(name="toy", script="train.py", run=["--steps", "3"], metric="val_loss",
                metric_pattern=r"val_loss: ([0-9.]+)", direction="minimize",
                hyperparameters=["learning_rate", "batch_size", "dropout", "trainer.betas"],
                not_hyperparameters=["seed", "output_dir"], hard_coded=["dropout"])
    base.update(kw)
    return Spec(**base)  # type: ignore[arg-type]


# -- name matching ---------------------------------------------------------------------------
def test_names_a_parameter_answers_to_are_normalised():
    p = param("lr_main", flag="--Learning-Rate", constant="LR", keyword="lr", key_path=["optim", "lr"])
    assert param_names(p) == {"lr_main", "learning_rate", "lr", "optim.lr"}


def test_matching_is_exact_never_a_substring():
    params = [param("learning_rate_warmup", flag="--learning-rate-warmup"), param("max_lr")]
    assert matching("learning_rate", params) == []
    assert matching("lr", params) == []
    assert matching("LEARNING-RATE-WARMUP", params) == params[:1]


def test_dotted_names_match_only_a_dotted_flag_or_key():
    dotted = param("trainer_betas", flag="--trainer.betas")
    flat = param("trainer_betas", flag="--trainer_betas")
    keyed = param("betas", source="config_file", key_path=["trainer", "betas"])
    assert matching("trainer.betas", [dotted, flat, keyed]) == [dotted, keyed]
    assert matching("betas", [dotted]) == []


def test_a_hard_coded_name_needs_a_parameter_from_the_code():
    dead_flag = param("dropout", flag="--dropout")
    literal = param("model_p", source="kwarg", keyword="dropout")
    assert matching("dropout", [dead_flag], hard_coded=True) == []
    assert matching("dropout", [dead_flag, literal], hard_coded=True) == [literal]
    assert matching("dropout", [dead_flag]) == [dead_flag]


# -- recall, precision, proposed not-hyperparameters ------------------------------------------
def test_discovery_scores():
    inspect = {
        "params": [
            param("learning_rate", flag="--learning-rate"),
            param("dropout", flag="--dropout"),  # a flag, but the spec says the knob is a literal
            param("bs", source="kwarg", keyword="batch_size"),
            param("seed", flag="--seed"),  # proposed for tuning: counted
            param("output_dir", flag="--output-dir", tunable=False),  # reported, not proposed
            param("warmup", source="constant", constant="WARMUP"),  # neither list
        ],
        "metrics": ["val_loss"],
    }
    score = score_discovery(spec(), inspect, printed=set())
    assert score.found == ["learning_rate", "batch_size"]
    assert score.missed == ["dropout", "trainer.betas"]
    assert score.recall == 0.5
    assert score.hard_expected == 1 and score.hard_found == []
    assert (score.tunable_expected, score.tunable) == (2, 5)
    assert score.precision == 0.4
    assert score.not_hp_proposed == ["seed"]
    assert score.other_tunable == ["dropout", "warmup"]
    assert score.found_not_tunable == []
    frozen = score_discovery(spec(), {"params": [param("learning_rate", flag="--lr", tunable=False)]}, printed=set())
    assert frozen.found == frozen.found_not_tunable == ["learning_rate"] and frozen.not_hp_proposed == []


def test_searched_dimensions():
    from benchmarks.corpus import original_flags, searched

    inspect = {"params": [param("dropout", flag="--dropout", tunable=False),
                          param("p", source="kwarg", keyword="dropout"),
                          param("bs", source="kwarg", keyword="batch_size")]}
    flags = original_flags(inspect)
    assert flags == {"dropout"}
    # After a refactor every dimension is a flag; the script's own --dropout is not the hard-coded dropout.
    dims = [{"name": "dropout", "flag": "--dropout"}, {"name": "batch_size", "flag": "--batch-size"},
            {"name": "trainer_betas", "flag": "--trainer.betas"}]
    assert searched(spec(), dims, flags) == ["batch_size", "trainer.betas"]
    assert searched(spec(), dims + [{"name": "dropout2", "flag": "--dropout2", "extra": {"keyword": "dropout"}}],
                    flags) == ["batch_size", "dropout", "trainer.betas"]


def test_discovery_of_nothing_has_no_precision():
    score = score_discovery(spec(), {"params": [], "metrics": []}, printed=set())
    assert score.recall == 0 and score.precision is None and score.found == []


# -- the junk-metric rule --------------------------------------------------------------------
OUTPUT = (
    "Loading the corpus: done\n"
    "\x1b[1mstep 40\x1b[0m - loss: 0.71 - val_loss: 0.6582\n"
    "global_step=900, episodic_return=[120.]\n"
    "weights: [0.1, 0.2, 0.3]\n"
    "Mean error of the held out fold is: 0.25\r{'eval_loss': '6.19', 'epoch': '1.0'}\n"
)


def test_printed_keys():
    keys = printed_keys(OUTPUT)
    for key in ("loss", "val_loss", "val", "step", "global_step", "episodic_return", "eval_loss", "epoch",
                "mean_error", "error_of_the_held_out_fold", "held_out_fold"):
        assert key in keys, key
    assert "weights" not in keys  # list elements have no key
    assert "of_the_held_out_fold_is" not in keys  # starts and ends with filler words
    assert "loading_the_corpus" not in keys  # no number follows it


@pytest.mark.parametrize("name, junk", [
    ("val_loss", False),  # printed
    ("episodic_return", False),
    ("held_out_fold", False),  # printed under that key, even if it is not a good name
    ("charts/episodic_return", False),  # a logger tag, judged by its last part
    ("test_accuracy", False),  # not printed here, but a metric word
    ("losses/td_loss", False),
    ("losses/approx_kl", False),
    ("of_the_held_out_fold_is", True),  # a fragment of the sentence
    ("loading_the_corpus", True),
    ("label2id", True),
    ("weights", True),
    ("", True),
])
def test_junk_metric_rule(name, junk):
    assert is_junk_metric(name, printed_keys(OUTPUT)) is junk


# -- re-scoring logs -------------------------------------------------------------------------
def test_aggregates():
    assert aggregate([], None) is None
    assert aggregate([1.0, 2.0], None) == 2.0
    assert aggregate([1.0, 2.0, 4.0], "mean_last_2") == 3.0
    assert aggregate([3.0], "mean_last_10") == 3.0
    assert aggregate([3.0, 1.0], "min") == 1.0
    with pytest.raises(ValueError):
        aggregate([1.0], "median")


def test_score_text_last_match_and_mean_of_last_n():
    log = "".join(f"global_step={i * 10}, episodic_return=[{v}.]\n" for i, v in enumerate(range(1, 13)))
    pattern = r"episodic_return=\[([0-9.]+)\]"
    assert score_text(log, pattern) == 12.0
    assert score_text(log, pattern, "mean_last_10") == pytest.approx(sum(range(3, 13)) / 10)
    assert score_text("no metric here\n", pattern) is None


def test_score_text_reads_through_ansi_codes_and_skips_unparsable_groups():
    log = "- val_loss: \x1b[0m0.5\n{'eval_loss': '.'}\n{'eval_loss': '0.25'}\n"
    assert score_text(log, r"val_loss: ([0-9.]+)") == 0.5
    assert score_text(log, r"'eval_loss': '?([0-9.]+)") == 0.25


# -- commands and tuning results -------------------------------------------------------------
def test_pipeline_only_when_a_tunable_parameter_has_no_flag():
    flags = [param("lr", flag="--lr"), param("cfg_lr", source="config_file")]
    assert choose_command(flags) == "tune"
    assert choose_command(flags + [param("seed_const", source="constant", tunable=False)]) == "tune"
    assert choose_command(flags + [param("wd", source="kwarg")]) == "pipeline"
    assert choose_command([]) == "tune"


def test_missing_passthrough_is_recognised():
    assert no_passthrough(Proc([], 2, "", "aft: error: unrecognized arguments: -- --lr 1", 0.1))
    assert not no_passthrough(Proc([], 1, "", "aft: unrecognized arguments in your script", 0.1))


def _write_results(outputs: Path, trials: list[tuple[int, str, float | None, str]]) -> None:
    import json

    records = []
    for number, status, value, log in trials:
        run_id = f"s-t{number:03d}"
        (outputs / run_id).mkdir(parents=True)
        (outputs / run_id / f"{run_id}.log").write_text(log)
        records.append({"number": number, "run_id": run_id, "status": status, "value": value,
                        "direction": "min", "reason": "" if status == "ok" else "it crashed"})
    (outputs / "results.json").write_text(json.dumps(records))


def test_read_tuning_rescores_every_trial_and_finds_the_best(tmp_path: Path):
    _write_results(tmp_path, [(1, "ok", 0.5, "val_loss: 0.9\nval_loss: 0.5\n"),
                              (2, "failed", None, "Traceback\n"),
                              (3, "ok", 0.3, "val_loss: 0.3\n")])
    (tmp_path / "metadata.json").write_text('{"search_space": {"dims": [{"name": "lr", "flag": "--learning-rate"}]}}')
    t = read_tuning(spec(), "tune", True, Proc([], 0, "", "", 12.0), tmp_path, trials=3)
    assert t.space == ["lr"] and t.searched == ["learning_rate"]
    assert [(x.number, x.status, x.value, x.spec_value) for x in t.trials] == [
        (1, "ok", 0.5, 0.5), (2, "failed", None, None), (3, "ok", 0.3, 0.3)]
    assert t.best == 3 and t.end_to_end and (t.ok, t.failed) == (2, 1) and t.reason == ""


def test_read_tuning_short_run_reports_why(tmp_path: Path):
    _write_results(tmp_path, [(1, "failed", None, "boom\n")])
    out = "Started\nError: Trial 1 failed, so AFT stopped.\n"
    t = read_tuning(spec(), "pipeline", None, Proc([], 1, out, "", 3.0), tmp_path, trials=3)
    assert not t.end_to_end and t.best is None and t.searched is None
    assert t.reason == "Error: Trial 1 failed, so AFT stopped."
    assert stop_reason(Proc([], 1, "", "", 3.0), t.trials) == "trial 1 failed: it crashed"
    assert stop_reason(Proc([], 1, "a\nlast words\n", "", 3.0), []) == "last words"
    assert "time limit" in stop_reason(Proc([], None, "", "", 99.0), [], limit_hit=True)


def test_beats_compares_the_spec_metric_of_the_best_trial_with_trial_1():
    r = TargetResult("toy", "", "minimize", "val_loss", None)
    r.tune = TuneResult("tune", True, 0, False, 1.0, True, "",
                        [Trial(1, "ok", 0.5, 0.5), Trial(2, "ok", 0.4, 0.45)], best=2)
    assert r.beats() is True
    r.tune.trials[1] = Trial(2, "ok", 0.4, 0.55)  # AFT's objective better, the spec's metric worse
    assert r.beats() is False
    r.tune.best = 1
    assert r.beats() is False
    r.tune.best = None
    assert r.beats() is None


# -- the Markdown report ---------------------------------------------------------------------
def test_markdown_report():
    s = spec()
    good = TargetResult("toy", "argparse", "minimize", "val_loss", 0.5, baseline_value=0.52, baseline_wall=10.2,
                        trial_timeout=41, inspect_passthrough=True, hyperparameters=s.hyperparameters)
    good.discovery = score_discovery(s, {"params": [param("learning_rate", flag="--learning-rate"),
                                                    param("seed", flag="--seed")],
                                         "metrics": ["val_loss", "dataset_loaded"]}, printed={"val_loss"})
    good.tune = TuneResult("tune", True, 0, False, 42.0, True, "",
                           [Trial(1, "ok", 0.5, 0.5), Trial(2, "ok", 0.4, 0.4)], best=2, space=["learning_rate"],
                           searched=["learning_rate"])
    bad = TargetResult("broken", "constants", "maximize", "Val | acc", 0.8, inspect_passthrough=None)
    bad.discovery = score_discovery(spec(hyperparameters=["lr"], hard_coded=[]), {"params": [], "metrics": []},
                                    printed=set())
    bad.tune = TuneResult("pipeline", None, 1, False, 7.0, False, "Error: the script never reported Val",
                          [Trial(1, "failed", None, 0.79)])
    err = TargetResult("missing", "", "minimize", "loss", None, error="RuntimeError: not prepared")
    meta = {"command": "python -m benchmarks.corpus PREPARED --trials 2", "date": "2026-01-01 00:00 UTC",
            "commit": "abc1234", "machine": "2 cores", "trials": 2}
    text = render_markdown([good, bad, err], meta)
    assert "Reproduce: `python -m benchmarks.corpus PREPARED --trials 2`" in text
    assert "2 cores" in text and "2026-01-01" in text
    assert "- Discovery recall: 1/5 (20%) expected hyperparameters found (hard-coded ones: 0/1 (0%)); " \
           "no discovery for missing." in text
    assert "- Not-hyperparameters proposed for tuning: 1: toy.seed." in text
    assert "- Junk metrics reported by `aft inspect`: 1." in text
    assert "- Tuned end to end: 1/2 (50%) scripts." in text
    assert "metric: 1/2 (50%) scripts." in text
    assert ("| toy | yes | 1/4 | 1/2 | `batch_size`, `dropout`, `trainer.betas` | – | `seed` | `dataset_loaded` "
            "| – |") in text
    assert ("| toy | min `val_loss` | tune | yes | end to end | 0.52 in 10 s | 41 s | 1/4 | 0.5 / 0.5 | 0.4 / 0.4 (2) "
            "| yes | 2 / 0 of 2 | 42 s |") in text \
        in text
    assert "`Val \\| acc`" in text  # a pipe in a cell does not break the table
    assert "- broken (`aft pipeline`): Error: the script never reported Val" in text
    assert "- missing: RuntimeError: not prepared" in text
    assert "- toy: `batch_size`, `dropout`, `trainer.betas`" in text  # not searched


def test_markdown_report_without_tuning():
    r = TargetResult("toy", "", "minimize", "val_loss", None, inspect_passthrough=False, inspect_error="")
    r.discovery = score_discovery(spec(), {"params": [], "metrics": []}, printed=set())
    text = render_markdown([r], {"command": "c", "date": "d", "commit": "x", "machine": "m", "trials": 8})
    assert "- Tuning: not run (--skip-tune)." in text and "## Tuning" not in text
    assert "no (no `--` in the CLI)" in text


def test_reproduce_command_names_no_machine_paths():
    args = argparse.Namespace(spec="/somewhere/corpus", only=["a", "b"], trials=3, skip_tune=True, via="auto",
                              timeout_factor=4.0, out="docs/corpus.md")
    assert reproduce_command(args) == ("python -m benchmarks.corpus PREPARED --spec SPEC --only a b --trials 3 "
                                       "--skip-tune --out docs/corpus.md")


# -- the spec and fresh copies ---------------------------------------------------------------
def test_spec_loads_from_expected_toml(tmp_path: Path):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "expected.toml").write_text(
        'name = "toy"\nscript = "train.py"\nrun = []\nmetric = "acc"\nmetric_pattern = "acc=([0-9.]+)"\n'
        'direction = "maximize"\nhyperparameters = ["lr"]\nenv = { PYTHONPATH = "." }\nwall_s = 2.0\n'
        'probe = { lr = { "0.1" = 0.5 } }\n\n[hard_coded]\nlr = "Adam(lr=0.1)"\n')
    from benchmarks.corpus import spec_names

    loaded = Spec.load(tmp_path / "toy")
    assert spec_names(tmp_path) == ["toy"]
    assert (loaded.hard_coded, loaded.env, loaded.aft_direction) == (["lr"], {"PYTHONPATH": "."}, "max")
    assert loaded.cwd == "."


def test_fresh_copy_keeps_ignored_data_and_drops_run_leftovers(tmp_path: Path):
    import subprocess

    from benchmarks.corpus import fresh_copy

    src = tmp_path / "src"
    (src / "data").mkdir(parents=True)
    (src / "runs").mkdir()
    (src / ".aft").mkdir()
    (src / "train.py").write_text("print(1)\n")
    (src / ".gitignore").write_text("data/\nruns/\n.aft/\n")
    (src / "data" / "x.csv").write_text("1\n")
    (src / "runs" / "events").write_text("old\n")
    (src / ".aft" / "state").write_text("old\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "one"]):
        subprocess.run(["git", *args], cwd=src, check=True, capture_output=True)
    dest = fresh_copy(src, tmp_path / "copy")
    assert (dest / "train.py").is_file() and (dest / "data" / "x.csv").read_text() == "1\n"
    assert not (dest / "runs").exists() and not (dest / ".aft").exists()


def test_a_step_run_and_read_back(tmp_path: Path):
    import sys

    from benchmarks.corpus import Steps, run

    proc = run([sys.executable, "-c", "import sys; print('val_loss: 0.5'); sys.exit(3)"], tmp_path, {}, 60,
               tmp_path / "step")
    assert (proc.rc, proc.stdout.strip(), proc.timed_out) == (3, "val_loss: 0.5", False)
    again = Steps(replay=True)(["ignored"], tmp_path, {}, 60, tmp_path / "step")
    assert (again.rc, again.stdout, again.wall) == (proc.rc, proc.stdout, proc.wall)
    slow = run([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path, {}, 0.5, tmp_path / "slow")
    assert slow.timed_out and slow.rc is not None and slow.wall < 20
