"""Research mode against numeric tuning: `aft research` and `aft tune` with the same wall-clock budget.

Does changing the code (the offline catalogue of recipe edits, kept only when they beat the noise)
end better than tuning the numbers alone, in the same time? Per script, each run in its own fresh
git project (one copy per mode, so neither sees the other's `.aft/` state):

    aft research SCRIPT --yes --hours B/3600 --metric M --direction D [--experiment-time T] -- ARGS
    aft tune     SCRIPT --yes --budget B --trials 1000 --metric M --direction D -- ARGS

The two modes of one script run side by side (two processes at once, each trial with
OMP_NUM_THREADS=1), so both see the same machine load. A script whose settings are not all flags
yet (a literal, a constant, a config-file key) is tuned with `aft pipeline` instead of `aft tune`
(the same refactor research starts with, then numeric tuning; `--numeric` chooses), so the
numeric side is not handicapped by having nothing to tune.

    python -m benchmarks.research [--only NAME ...] [--budget 240] [--repeats 1] [--out FILE.json]
                                  [--work DIR] [--corpus PREPARED --spec SPEC_DIR] [--python PY]
                                  [--experiment-time T] [--numeric auto|tune|pipeline] [--no-bundled]

Scripts: the bundled examples (cookbook/targets/) and, with --corpus, the corpus targets
(shared/corpus/README.md: the prepared folder and its spec), kept only where the catalogue has a
recipe for them (`aft_tui.target.recipes.catalogue.applicable(source, gpu=False)` non-empty).
A corpus target runs with its spec's `run` arguments, `env`, `cwd`, metric and direction.

Scoring rules:

- Best: the best objective value of one trial that ended ok, by the script's direction, in both
  modes (research: every experiment, whatever its verdict; tune: every trial `aft runs --json`
  lists). The same rule on both sides: one measured run each. Research's own incumbent (the
  baseline mean, or the value of the last change it kept beyond the noise) is shown beside it.
- Winner of a pair: the mode with the better best; equal within 1e-9 is a tie; a mode with no
  ok trial loses to one with any; neither: no result.
- With --repeats N, each pair is reported, and the majority: the mode that won more pairs
  (ties count for neither; equal counts: tie).
- Final picks run again (--reeval N, default 3; research_reeval.py): the best single trial
  favours the mode that drew more trials on a noisy score and cannot separate two modes at a
  ceiling, so each mode's final pick (numeric tuning's best trial; research's incumbent) also
  runs N more times, with the same fresh seeds on both sides, and the better mean wins by the
  same rule; the difference is given in standard errors, so a win inside the noise reads as one.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from benchmarks.research_reeval import Remeasured, numeric_pick, remeasure, research_pick, standard_errors
from benchmarks.corpus import (OFFLINE, Proc, Spec, _commit, children_stopped_on_signal, escape, fmt, fresh_copy,
                               load_proc, run, spec_names)

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "cookbook" / "targets"
TIE_TOLERANCE = 1e-9
_IDENTITY = {"GIT_AUTHOR_NAME": "AFT benchmark", "GIT_AUTHOR_EMAIL": "bench@aft.local",
             "GIT_COMMITTER_NAME": "AFT benchmark", "GIT_COMMITTER_EMAIL": "bench@aft.local"}


# -- the scripts --------------------------------------------------------------------------------
@dataclass
class Target:
    name: str
    kind: str                     # "bundled" | "corpus"
    source: Path                  # a file or folder to copy (bundled), or the prepared project (corpus)
    script: str                   # relative to the project root
    metric: str
    direction: str                # "max" | "min"
    args: list[str] = field(default_factory=list)
    cwd: str = "."
    env: dict[str, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)   # bundled: more files copied beside the script
    edits: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # bundled: file -> (old, new) before the commit


BUNDLED = [
    # name, file or folder under cookbook/targets, script in the project, metric, direction, args
    Target("mlp_classifier", "bundled", TARGETS / "mlp_classifier.py", "mlp_classifier.py", "val_acc", "max"),
    Target("target", "bundled", TARGETS / "target.py", "target.py", "val_accuracy", "max"),
    Target("cnn_kwargs", "bundled", TARGETS / "cnn_kwargs.py", "cnn_kwargs.py", "val_acc", "max"),
    Target("yaml_regressor", "bundled", TARGETS / "yaml_regressor.py", "yaml_regressor.py", "val_mse", "min",
           extra=["yaml_regressor.yaml"]),
    Target("convo_classifier", "bundled", TARGETS / "convo_classifier", "train_classifier.py", "eval_accuracy", "max"),
    Target("convo_unified", "bundled", TARGETS / "convo_classifier", "train_unified.py", "eval_loss", "min"),
    Target("lora_sft", "bundled", TARGETS / "lora_sft", "train.py", "eval_loss", "min"),
    Target("llm_config_mlflow", "bundled", TARGETS / "llm_config_mlflow", "train.py", "eval_loss", "min"),
    Target("two_stage", "bundled", TARGETS / "two_stage", "train.py", "m2_eval_loss", "min",
           edits={"config.yaml": [("train_documents: 320", "train_documents: 128"),
                                  ("domain_documents: 320", "domain_documents: 128")]}),
]
"""The bundled examples at their own defaults (two_stage on 128 instead of 320 articles, its
config being its only input): each trial takes a few seconds to half a minute on a 2-core CPU."""


def corpus_targets(prepared: Path, spec_dir: Path) -> list[Target]:
    out = []
    for name in spec_names(spec_dir):
        spec = Spec.load(spec_dir / name)
        out.append(Target(name, "corpus", prepared / name, spec.script, spec.metric, spec.aft_direction,
                          list(spec.run), spec.cwd, dict(spec.env)))
    return out


def recipes_for(target: Target) -> list[str]:
    """The catalogue recipes that apply to the script as it is (its ids); empty: research has no code
    change to try offline, so the comparison would be numeric against numeric."""
    from aft_tui.target.recipes.catalogue import applicable

    path = target.source / target.script if target.source.is_dir() else target.source
    source = path.read_text(encoding="utf-8")
    return [edit.recipe for edit in applicable(source, gpu=False)]


# -- fresh projects -----------------------------------------------------------------------------
def make_copy(target: Target, dest: Path) -> Path:
    """A fresh git project holding the script as a user has it, one commit, outputs/ ignored."""
    if target.kind == "corpus":
        return fresh_copy(target.source, dest)
    dest.mkdir(parents=True)
    if target.source.is_dir():
        ignore = shutil.ignore_patterns("outputs", "data", "__pycache__", "mlruns*", ".aft")
        shutil.copytree(target.source, dest, dirs_exist_ok=True, ignore=ignore)
    else:
        shutil.copy2(target.source, dest / target.source.name)
        for rel in target.extra:
            shutil.copy2(target.source.parent / rel, dest / rel)
    for rel, changes in target.edits.items():
        text = (dest / rel).read_text(encoding="utf-8")
        for old, new in changes:
            if old not in text:
                raise ValueError(f"{rel} of {target.name} no longer holds {old!r}; update the benchmark's edit")
            text = text.replace(old, new)
        (dest / rel).write_text(text, encoding="utf-8")
    ignore_file = dest / ".gitignore"
    kept = ignore_file.read_text(encoding="utf-8") if ignore_file.is_file() else ""
    ignore_file.write_text(kept + ("" if not kept or kept.endswith("\n") else "\n") + "outputs/\n", encoding="utf-8")
    env = dict(os.environ, **_IDENTITY)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "initial"]):
        subprocess.run(["git", *args], cwd=dest, env=env, check=True, capture_output=True, timeout=60)
    return dest


def target_env(target: Target) -> dict[str, str]:
    """Offline, one BLAS thread, this checkout importable after the target's own PYTHONPATH."""
    env = dict(os.environ, **OFFLINE, **_IDENTITY)
    env["COLUMNS"] = "400"
    env.update(target.env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [target.env.get("PYTHONPATH"), str(ROOT)]))
    return env


# -- reading what each mode left --------------------------------------------------------------------
def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def best_of(values: Iterable[float | None], direction: str) -> float | None:
    finite = [v for v in values if v is not None]
    if not finite:
        return None
    return max(finite) if direction == "max" else min(finite)


@dataclass
class ModeResult:
    mode: str                            # "research" | "tune" | "pipeline"
    argv: list[str] = field(default_factory=list)
    rc: int | None = None
    wall: float = 0.0
    timed_out: bool = False
    trials: int = 0                      # trials (tune) or experiments (research) recorded
    ok: int = 0                          # of them, ended ok with a value
    best: float | None = None
    incumbent: float | None = None       # research: the value it kept as best (baseline mean or a kept change)
    kinds: dict[str, int] = field(default_factory=dict)   # research: experiments per kind
    code_tried: list[str] = field(default_factory=list)   # research: code experiments run
    kept_code: list[str] = field(default_factory=list)    # research: code changes kept
    best_at: float | None = None         # seconds from its first trial's start to the end of the first with the best
    best_run: str = ""                   # tune: the run id of its best trial (its pick)
    best_number: int | None = None
    reeval: Remeasured | None = None     # its final pick run again (research_reeval.py)
    error: str = ""


def read_experiments(path: Path) -> list[dict[str, Any]]:
    """experiments.json as research writes it: a list of experiment records (a torn or missing file: none)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []


def summarise_research(experiments: list[dict[str, Any]], direction: str, result: ModeResult,
                       state: dict[str, Any] | None = None) -> ModeResult:
    ok = [e for e in experiments if e.get("trial_status") == "ok" and _number(e.get("value")) is not None]
    result.trials, result.ok = len(experiments), len(ok)
    result.best = best_of((_number(e.get("value")) for e in ok), direction)
    result.best_at = reached_at(experiments, ok, result.best)
    result.incumbent = _number((state or {}).get("best_value"))
    kinds: dict[str, int] = {}
    for e in experiments:
        kinds[str(e.get("kind"))] = kinds.get(str(e.get("kind")), 0) + 1
    result.kinds = kinds
    code = [e for e in experiments if e.get("kind") == "code"]
    result.code_tried = [_change_name(e) for e in code]
    result.kept_code = [_change_name(e) for e in code if e.get("status") == "keep"]
    return result


def _change_name(e: dict[str, Any]) -> str:
    return str(e.get("recipe") or e.get("description") or f"#{e.get('number')}")


def read_runs(text: str) -> list[dict[str, Any]]:
    """`aft runs --json`: a list of trial records (anything else: none)."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def summarise_tune(runs: list[dict[str, Any]], direction: str, result: ModeResult) -> ModeResult:
    ok = [r for r in runs if r.get("status") == "ok" and _number(r.get("value")) is not None]
    result.trials, result.ok = len(runs), len(ok)
    result.best = best_of((_number(r.get("value")) for r in ok), direction)
    result.best_at = reached_at(runs, ok, result.best)
    first = min((r for r in ok if abs((_number(r.get("value")) or 0.0) - (result.best or 0.0)) <= TIE_TOLERANCE),
                key=lambda r: _number(r.get("finished_at")) or math.inf, default=None)
    if first is not None:
        result.best_run, result.best_number = str(first.get("run_id") or ""), first.get("number")
    return result


def reached_at(records: list[dict[str, Any]], ok: list[dict[str, Any]], best: float | None) -> float | None:
    """When a mode first had its best: seconds from the start of its first trial to the end of the
    first trial that scored it. Both modes count from their own first trial, so the set-up before
    it (the shared refactor) is left out of both. At a tie, the earlier one was ahead for every
    budget in between."""
    starts = [_number(r.get("started_at")) for r in records]
    first = min((s for s in starts if s is not None), default=None)
    ends = [_number(r.get("finished_at")) for r in ok if best is not None
            and abs((_number(r.get("value")) or 0.0) - best) <= TIE_TOLERANCE]
    done = min((e for e in ends if e is not None), default=None)
    return round(done - first, 1) if first is not None and done is not None else None


def session_ids(project: Path) -> list[str]:
    """The project's AFT sessions, oldest first."""
    folder = project / ".aft" / "sessions"
    return [p.stem for p in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)] if folder.is_dir() else []


def collect_research(project: Path, direction: str, result: ModeResult) -> ModeResult:
    found = sorted(project.glob("**/research/*/experiments.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        result.error = result.error or "no experiments.json written"
        return result
    state_path = found[-1].parent / "state.json"
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    return summarise_research(read_experiments(found[-1]), direction, result, state if isinstance(state, dict) else {})


def collect_tune(project: Path, direction: str, result: ModeResult, python: str, env: dict[str, str]) -> ModeResult:
    ids = session_ids(project)
    if not ids:
        result.error = result.error or "no session recorded"
        return result
    done = subprocess.run([python, "-m", "aft_tui", "runs", "--json", "--session", ids[-1]], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        result.error = result.error or f"aft runs --json failed: {done.stderr.strip()[-300:]}"
    return summarise_tune(read_runs(done.stdout), direction, result)


# -- who wins -----------------------------------------------------------------------------------
def winner(research: float | None, tune: float | None, direction: str, tolerance: float = TIE_TOLERANCE) -> str:
    """'research', 'tune', 'tie', or 'none' (neither mode has an ok trial)."""
    if research is None and tune is None:
        return "none"
    if research is None:
        return "tune"
    if tune is None:
        return "research"
    if abs(research - tune) <= tolerance:
        return "tie"
    better = research > tune if direction == "max" else research < tune
    return "research" if better else "tune"


def reeval_winner(research: Remeasured | None, tune: Remeasured | None, direction: str) -> str:
    """The winner by the means of the picks' re-runs, by the same rule as `winner`."""
    return winner(research.mean if research else None, tune.mean if tune else None, direction)


def majority(winners: list[str]) -> str:
    research, tune = winners.count("research"), winners.count("tune")
    if research == tune:
        return "tie" if winners and any(w != "none" for w in winners) else "none"
    return "research" if research > tune else "tune"


# -- one pair -------------------------------------------------------------------------------------
@dataclass
class Pair:
    repeat: int
    research: ModeResult
    tune: ModeResult
    winner: str = ""
    commit: str = ""     # the AFT code the pair ran (it is read when the pair starts)
    reeval_winner: str = ""              # by the means of the final picks' re-runs ("" when not measured)
    reeval_se: float | None = None       # their difference in standard errors
    reeval_error: str = ""


@dataclass
class ScriptResult:
    name: str
    kind: str
    metric: str
    direction: str
    args: list[str]
    recipes: list[str] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    error: str = ""

    @property
    def majority(self) -> str:
        return majority([p.winner for p in self.pairs])

    @property
    def reeval_majority(self) -> str:
        return majority([p.reeval_winner for p in self.pairs if p.reeval_winner])


def hours_text(budget: float) -> str:
    return f"{budget / 3600:.9g}"


def commands(target: Target, numeric: str, budget: float, python: str,
             experiment_time: str | None = None) -> dict[str, list[str]]:
    """Both commands, with the same budget, objective and script arguments."""
    script = os.path.relpath(target.script, target.cwd)
    common = ["--yes", "--metric", target.metric, "--direction", target.direction]
    tail = ["--", *target.args] if target.args else []
    research = [python, "-m", "aft_tui", "research", script, *common, "--hours", hours_text(budget)]
    if experiment_time:
        research += ["--experiment-time", experiment_time]
    tune = [python, "-m", "aft_tui", numeric, script, *common, "--budget", f"{budget:g}", "--trials", "1000"]
    return {"research": research + tail, numeric: tune + tail}


def numeric_via(params: list[dict[str, Any]]) -> str:
    """tune when every tunable parameter the script has is already a command-line flag; else
    pipeline, whose refactor exposes the rest first (research starts with the same refactor).
    A config-file key counts as not exposed: `aft tune` needs flags."""
    tunable = [p for p in params if (p.get("extra") or {}).get("tunable", True)]
    return "tune" if tunable and all(p.get("flag") for p in tunable) else "pipeline"


def numeric_command(target: Target, project: Path, python: str, env: dict[str, str], log: Path) -> str:
    argv = [python, "-m", "aft_tui", "inspect", os.path.relpath(target.script, target.cwd), "--json"]
    proc = run(argv + (["--", *target.args] if target.args else []), project / target.cwd, env, 300, log)
    try:
        return numeric_via(json.loads(proc.stdout).get("params") or [])
    except (ValueError, AttributeError):
        return "pipeline"


def reevaluate(target: Target, folder: Path, pair: Pair, runs: int) -> Pair:
    """Both final picks run `runs` times again, side by side (research_reeval.py); the pair gets
    the winner by their means as well."""
    try:
        picks = [research_pick(folder / "research"),
                 numeric_pick(folder / "numeric", pair.tune.mode, pair.tune.best_run, pair.tune.best_number)]
        found = remeasure(picks, runs, folder / "reeval", target.metric, target.direction, target_env(target),
                          target.cwd, target.args)
    except (OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
        pair.reeval_error = f"{type(exc).__name__}: {exc}"
        return pair
    (folder / "reeval" / "reeval.json").write_text(json.dumps([asdict(m) for m in found], indent=2) + "\n",
                                                   encoding="utf-8")
    return remeasured(pair, found, target.direction)


def remeasured(pair: Pair, found: list[Remeasured], direction: str) -> Pair:
    pair.research.reeval, pair.tune.reeval = found
    pair.reeval_winner = reeval_winner(*found, direction)
    pair.reeval_se = standard_errors(*found)
    return pair


def earlier_reeval(folder: Path) -> list[Remeasured] | None:
    """The re-runs an earlier run of the benchmark made of this pair's picks (None: none made)."""
    try:
        data = json.loads((folder / "reeval" / "reeval.json").read_text(encoding="utf-8"))
        return [Remeasured(**d) for d in data] if isinstance(data, list) and len(data) == 2 else None
    except (OSError, ValueError, TypeError):
        return None


def run_pair(target: Target, folder: Path, repeat: int, budget: float, python: str, numeric: str,
             experiment_time: str | None) -> Pair:
    folder.mkdir(parents=True, exist_ok=True)
    commit = _commit()
    env = target_env(target)
    projects = {"research": make_copy(target, folder / "research"), "numeric": make_copy(target, folder / "numeric")}
    if numeric == "auto":
        numeric = numeric_command(target, projects["numeric"], python, env, folder / "inspect")
    argvs = commands(target, numeric, budget, python, experiment_time)
    limit = budget + 600  # set-up (refactor, smoke run) happens before the budget starts counting
    jobs = {"research": (argvs["research"], projects["research"]), numeric: (argvs[numeric], projects["numeric"])}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {mode: pool.submit(run, argv, project / target.cwd, env, limit, folder / mode)
                   for mode, (argv, project) in jobs.items()}
        procs = {mode: f.result() for mode, f in futures.items()}
    return score_pair(target, folder, repeat, python, procs, commit)


def rescore_pair(target: Target, folder: Path, repeat: int, python: str, commit: str) -> Pair:
    """A pair scored again from what its run left in `folder` (the projects and the logs)."""
    numeric = next((m for m in ("tune", "pipeline") if (folder / f"{m}.json").is_file()), None)
    if numeric is None or not (folder / "research.json").is_file():
        raise FileNotFoundError(f"{folder} holds no finished pair to score again")
    procs = {mode: load_proc(folder / mode) for mode in ("research", numeric)}
    return score_pair(target, folder, repeat, python, procs, commit)


def score_pair(target: Target, folder: Path, repeat: int, python: str, procs: dict[str, Proc], commit: str) -> Pair:
    env = target_env(target)
    projects = {"research": folder / "research", "numeric": folder / "numeric"}
    numeric = next(mode for mode in procs if mode != "research")
    research = _mode_result("research", procs["research"])
    collect_research(projects["research"], target.direction, research)
    tune = _mode_result(numeric, procs[numeric])
    collect_tune(projects["numeric"], target.direction, tune, python, env)
    return Pair(repeat, research, tune, winner(research.best, tune.best, target.direction), commit)


def _mode_result(mode: str, proc: Proc) -> ModeResult:
    error = ""
    if proc.timed_out:
        error = f"killed by the benchmark's time limit after {proc.wall:.0f} s"
    elif proc.rc not in (0, None):
        said = [ln.strip() for ln in proc.output.splitlines() if ln.strip().startswith(("aft:", "Error:", "Traceback"))]
        error = f"exit status {proc.rc}" + (f": {said[0]}" if said else "")
    return ModeResult(mode, proc.argv, proc.rc, round(proc.wall, 1), proc.timed_out, error=error)


# -- the report -----------------------------------------------------------------------------------
def _names(items: list[str]) -> str:
    return ", ".join(f"`{escape(i)}`" for i in items) if items else "–"


def _kinds(r: ModeResult) -> str:
    k = r.kinds
    return f"{r.trials} ({k.get('baseline', 0)} b, {k.get('numeric', 0)} n, {k.get('code', 0)} c, {k.get('confirm', 0)} conf)"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} s"


def _err(r: ModeResult | Remeasured) -> str:
    return f" ({escape(r.error)})" if r.error else ""


def render_table(results: list[ScriptResult]) -> str:
    """One row per pair: each mode's best, its trials, research's code changes, the winner."""
    lines = ["| script | metric | pair (AFT commit) | research best (incumbent) | experiments (baseline, numeric, code, confirm) "
             "| code changes tried | kept | numeric via | numeric best | trials | best reached at, research / numeric | winner |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in results:
        if s.error and not s.pairs:
            lines.append(f"| {s.name} | {s.direction} `{escape(s.metric)}` | – | {escape(s.error)} | | | | | | | | |")
            continue
        for p in s.pairs:
            r, t = p.research, p.tune
            lines.append(
                f"| {s.name} | {s.direction} `{escape(s.metric)}` | {p.repeat}{f' ({escape(p.commit)})' if p.commit else ''} | {fmt(r.best)} ({fmt(r.incumbent)}){_err(r)} "
                f"| {_kinds(r)} | {_names(r.code_tried)} | {_names(r.kept_code)} | {t.mode} | {fmt(t.best)}{_err(t)} "
                f"| {t.trials} | {_seconds(r.best_at)} / {_seconds(t.best_at)} | {p.winner} |")
    if any(len(s.pairs) > 1 for s in results):
        lines += ["", "| script | research won | numeric won | ties | majority |", "|---|---|---|---|---|"]
        for s in results:
            w = [p.winner for p in s.pairs]
            lines.append(f"| {s.name} | {w.count('research')} | {w.count('tune')} | {w.count('tie')} | {s.majority} |")
    return "\n".join(lines) + "\n"


def _remeasured(m: Remeasured | None) -> str:
    if m is None or m.mean is None:
        return "–"
    spread = f" ± {fmt(m.stdev)}" if m.stdev is not None else ""
    return f"{fmt(m.mean)}{spread} ({len(m.finite)} of {len(m.values)})"


def render_reeval(results: list[ScriptResult]) -> str:
    """One row per pair whose final picks were run again: what each mode ends with, re-measured."""
    rows = [(s, p) for s in results for p in s.pairs if p.reeval_winner or p.reeval_error]
    if not rows:
        return ""
    lines = ["| script | pair | research pick (its value) | re-runs, mean ± sd | numeric pick (its value) "
             "| re-runs, mean ± sd | difference in standard errors | winner by re-runs |",
             "|---|---|---|---|---|---|---|---|"]
    for s, p in rows:
        r, t = p.research.reeval, p.tune.reeval
        if r is None or t is None:
            lines.append(f"| {s.name} | {p.repeat} | {escape(p.reeval_error)} | | | | | |")
            continue
        se = "–" if p.reeval_se is None else f"{p.reeval_se:.1f}"
        lines.append(f"| {s.name} | {p.repeat} | {escape(r.what)} ({fmt(r.measured)}) | {_remeasured(r)}"
                     f"{_err(r)} | {escape(t.what)} ({fmt(t.measured)}) | {_remeasured(t)}{_err(t)} | {se} "
                     f"| {p.reeval_winner} |")
    if any(len(s.pairs) > 1 for s, _ in rows):
        lines += ["", "| script | research won | numeric won | ties | majority by re-runs |", "|---|---|---|---|---|"]
        for s in [s for s in results if any(p.reeval_winner for p in s.pairs)]:
            w = [p.reeval_winner for p in s.pairs if p.reeval_winner]
            lines.append(f"| {s.name} | {w.count('research')} | {w.count('tune')} | {w.count('tie')} "
                         f"| {s.reeval_majority} |")
    return "\n".join(lines) + "\n"


def render_markdown(results: list[ScriptResult], meta: dict[str, Any]) -> str:
    won = [s.majority for s in results if s.pairs]
    again = [s.reeval_majority for s in results if any(p.reeval_winner for p in s.pairs)]
    head = [
        "# Research mode against numeric tuning, same budget",
        "",
        f"Reproduce: `{meta['command']}`",
        "",
        f"Measured {meta['date']} at AFT commit {meta['commit']} on {meta['machine']}; budget {meta['budget']:g} s per "
        f"mode, {meta['repeats']} pair(s) per script, both modes of a pair side by side.",
        "",
        f"Research ended better on {won.count('research')} script(s), numeric tuning on {won.count('tune')}, "
        f"tied on {won.count('tie')}" + (f", no result on {won.count('none')}" if "none" in won else "")
        + " (by the best single trial).",
        "",
    ]
    if again:
        head += [f"By the final picks run again: research better on {again.count('research')}, numeric tuning on "
                 f"{again.count('tune')}, tied on {again.count('tie')}.", ""]
    skipped = meta.get("not_applicable") or []
    tail = ["", f"Not run, no catalogue recipe applies: {_names(skipped)}."] if skipped else []
    reeval = render_reeval(results)
    return ("\n".join(head) + "\n" + render_table(results) + ("\n" + reeval if reeval else "")
            + ("\n".join(tail) + "\n" if tail else ""))


def to_json(results: list[ScriptResult], meta: dict[str, Any]) -> dict[str, Any]:
    scripts = []
    for s in results:
        d = asdict(s)
        d["majority"] = s.majority
        d["reeval_majority"] = s.reeval_majority
        scripts.append(d)
    return {"meta": meta, "scripts": scripts}


# -- main ---------------------------------------------------------------------------------------------
def say(text: str) -> None:
    print(f"[research] {text}", file=sys.stderr, flush=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def reproduce_command(args: argparse.Namespace) -> str:
    parts = ["python -m benchmarks.research"]
    if args.corpus:
        parts += ["--corpus", "PREPARED", "--spec", "SPEC"]
    if args.only:
        parts += ["--only", *args.only]
    if args.no_bundled:
        parts.append("--no-bundled")
    parts += ["--budget", f"{args.budget:g}", "--repeats", str(args.repeats), "--reeval", str(args.reeval)]
    if args.experiment_time:
        parts += ["--experiment-time", args.experiment_time]
    if args.numeric != "auto":
        parts += ["--numeric", args.numeric]
    return " ".join(parts)


def choose_targets(args: argparse.Namespace, p: argparse.ArgumentParser) -> list[Target]:
    targets = [] if args.no_bundled else list(BUNDLED)
    if args.corpus:
        spec_dir = Path(args.spec) if args.spec else None
        if spec_dir is None or not spec_names(spec_dir):
            p.error("--corpus needs --spec SPEC_DIR, the folder holding <name>/expected.toml")
        targets += corpus_targets(Path(args.corpus).resolve(), spec_dir)
    if args.only:
        unknown = sorted(set(args.only) - {t.name for t in targets})
        if unknown:
            p.error(f"unknown script(s) {', '.join(unknown)}; known: {', '.join(t.name for t in targets)}")
        targets = [t for t in targets if t.name in args.only]
    return targets


def main(argv: list[str] | None = None) -> int:
    with children_stopped_on_signal():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    from benchmarks.common import describe_machine, machine

    p = argparse.ArgumentParser(prog="python -m benchmarks.research", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", action="extend", metavar="NAME", help="only these scripts")
    p.add_argument("--budget", type=float, default=240.0, help="wall-clock budget of each mode in seconds")
    p.add_argument("--repeats", type=int, default=1, help="pairs per script")
    p.add_argument("--out", help="JSON report (a Markdown table goes next to it, .md)")
    p.add_argument("--work", help="scratch folder for the fresh projects and logs (default: a new temporary one)")
    p.add_argument("--corpus", help="the prepared corpus folder (shared/corpus/README.md)")
    p.add_argument("--spec", help="the corpus spec folder with <name>/expected.toml")
    p.add_argument("--no-bundled", action="store_true", help="leave out the bundled examples")
    p.add_argument("--python", default=sys.executable, help="interpreter that runs aft and the trials")
    p.add_argument("--experiment-time", help="passed to aft research (default: each experiment runs to its end)")
    p.add_argument("--rescore", metavar="REPORT_JSON",
                   help="run nothing: score again the pairs an earlier run (its --out JSON) left in --work")
    p.add_argument("--reeval", type=int, metavar="N",
                   help="run each mode's final pick N more times, with fresh seeds, and judge by the means too "
                        "(default 3; 0: not; with --rescore the default keeps the re-runs the scored run made)")
    p.add_argument("--numeric", choices=("auto", "tune", "pipeline"), default="auto",
                   help="the numeric mode: auto is tune when every tunable parameter is a flag already, else pipeline")
    args = p.parse_args(argv)
    if args.reeval is None:
        args.reeval = 0 if args.rescore else 3
    if args.budget <= 0 or args.repeats < 1 or args.reeval < 0:
        p.error("--budget must be positive, --repeats at least 1 and --reeval at least 0")
    targets = choose_targets(args, p)
    try:
        import aft_tui.target.recipes.catalogue  # noqa: F401
    except ImportError as exc:
        p.error(f"the recipe catalogue cannot be imported ({exc}); research has no offline code changes to compare")
    previous: dict[str, Any] = {}
    if args.rescore:
        if not args.work:
            p.error("--rescore needs --work, the scratch folder of the run to score again")
        try:
            previous = json.loads(Path(args.rescore).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            p.error(f"cannot read {args.rescore} ({exc}); pass the JSON report (--out) of the run to score again")
    work = Path(args.work).resolve() if args.work else Path(tempfile.mkdtemp(prefix="aft-research-"))
    work.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    meta = {"command": reproduce_command(args), "date": now, "commit": _commit(), "budget": args.budget,
            "repeats": args.repeats, "machine": f"{describe_machine(machine())}, {cpu_model()}, no GPU",
            "not_applicable": []}
    if previous:  # what was measured, where and when: the run's, not this re-reading's
        meta = {**meta, **{k: v for k, v in (previous.get("meta") or {}).items() if k != "not_applicable"}}
    commits = {(s.get("name"), pr.get("repeat")): pr.get("commit", "")
               for s in previous.get("scripts") or [] for pr in s.get("pairs") or []}
    repeats = max((r for _, r in commits if isinstance(r, int)), default=0) if previous else args.repeats
    began = time.perf_counter()
    results: list[ScriptResult] = []
    for target in targets:
        result = ScriptResult(target.name, target.kind, target.metric, target.direction, list(target.args))
        try:
            result.recipes = recipes_for(target)
        except (OSError, SyntaxError, UnicodeDecodeError) as exc:
            result.error = f"could not read the script: {exc}"
        if not result.recipes:
            if result.error:
                results.append(result)
            else:
                meta["not_applicable"].append(target.name)
            say(f"{target.name}: skipped, {result.error or 'no catalogue recipe applies'}")
            continue
        for repeat in range(1, repeats + 1):
            folder = work / target.name / f"pair{repeat}"
            if previous:
                if (target.name, repeat) not in commits:
                    continue  # not part of the run being scored again
            elif folder.exists():
                shutil.rmtree(folder)
            say(f"{target.name}: pair {repeat} ({args.budget:g} s each; recipes {', '.join(result.recipes)})")
            try:
                if previous:
                    pair = rescore_pair(target, folder, repeat, args.python, commits[(target.name, repeat)])
                else:
                    pair = run_pair(target, folder, repeat, args.budget, args.python, args.numeric,
                                    args.experiment_time)
                found = earlier_reeval(folder) if previous else None
                if found is not None and all(len(m.values) >= args.reeval for m in found):
                    remeasured(pair, found, target.direction)  # re-runs made before, as many as asked
                elif args.reeval:
                    say(f"{target.name}: both final picks, {args.reeval} run(s) each")
                    reevaluate(target, folder, pair, args.reeval)
            except Exception as exc:  # one script failing must not stop the others
                result.error = f"{type(exc).__name__}: {exc}"
                say(f"{target.name}: {result.error}")
                continue
            result.pairs.append(pair)
            say(f"{target.name}: research {fmt(pair.research.best)} in {pair.research.trials} experiment(s), "
                f"{pair.tune.mode} {fmt(pair.tune.best)} in {pair.tune.trials} trial(s): {pair.winner}"
                + (f"; picks re-run: {_remeasured(pair.research.reeval)} against {_remeasured(pair.tune.reeval)}: "
                   f"{pair.reeval_winner}" if pair.reeval_winner else "")
                + (f"; picks not re-run: {pair.reeval_error}" if pair.reeval_error else ""))
        results.append(result)
    if not previous:
        meta["wall_s"] = round(time.perf_counter() - began)
    table = render_markdown(results, meta)
    print(table)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(to_json(results, meta), indent=2, default=str) + "\n", encoding="utf-8")
        out.with_suffix(".md").write_text(table, encoding="utf-8")
        say(f"wrote {out} and {out.with_suffix('.md')}")
    say(f"done in {meta['wall_s']} s; projects and logs in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
