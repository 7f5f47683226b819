"""The real-code corpus: how AFT does on training scripts written by other people.

Our own fixtures are written to be discoverable. The corpus (shared/corpus next to the repository)
describes twelve public scripts in the conventions people really use (argparse with dead flags,
tyro, minGPT config nodes, TrlParser, literals in Keras and LightGBM calls) and, per script, what a
practitioner would tune, what they would not, the metric and its direction (`expected.toml`).
The scripts themselves are never in this repository: the person running the benchmark places and
prepares them (shared/corpus/README.md) and passes that folder.

    python -m benchmarks.corpus PREPARED_DIR [--spec SPEC_DIR] [--only NAME ...] [--trials 8]
                                [--skip-tune] [--out docs/corpus.md] [--json PATH] [--work DIR]
    python -m benchmarks.corpus PREPARED_DIR --work DIR --rescore ...   (score a finished run again)

Per target, each step in its own fresh copy of the prepared project (so no run sees another's
`.aft/` state), from the target's cwd, with its `env` and the offline Hugging Face variables:

1. Baseline: the script run directly with the owner's `run` arguments. Its output is what the
   junk-metric rule checks names against, and its spec metric is shown beside AFT's trial 1.
2. Discovery: `aft inspect SCRIPT --json -- RUN...`; without `--` pass-through in the CLI the
   same call without the run arguments (the table says which).
3. Tuning: `aft tune` when every tunable parameter discovery reports already has a flag (or is a
   config-file key), else `aft pipeline` (refactor first), both with `--yes --trials N --metric
   M --direction D --timeout T --outputs FRESH -- RUN...`, plus `--metric-window N` where the
   spec scores the mean of the last N reports (`mean_last_N`). T is 4x the longer of the spec's wall
   time and the baseline run's (on a busy shared machine a run takes longer than the spec says,
   and a trial killed for that says nothing about AFT); the whole command has a time limit too.
   Every trial's log is re-scored with the spec's `metric_pattern` and `metric_aggregate`, so the
   table shows AFT's objective and the spec's.

Scoring rules (written out because the numbers mean nothing without them):

- Name matching. Names are normalised: lower case, `-` becomes `_`. An expected name matches a
  discovered parameter when it equals the parameter's name, its flag without leading dashes, or
  one of its `extra` names (`constant`, `keyword`, `key`, `dotted`, `key_path` joined by dots).
  Dots are kept, so `trainer.learning_rate` matches a flag or key spelled that way and nothing
  else. Never a substring. A name listed under the spec's `[hard_coded]` only matches a
  parameter found in the code (a literal, constant or loop bound: no flag, or source constant,
  kwarg, training_args, lora_config or loop): a command-line flag of that name (pyg_gat's dead
  `--lr`) is not the knob.
- Recall: expected hyperparameters matched / expected. Precision: tunable parameters that match
  an expected hyperparameter / tunable parameters (`extra.tunable` defaults to true). Found, not
  tunable: expected hyperparameters whose every match is marked not tunable.
- Not-hyperparameters proposed: expected `not_hyperparameters` that match a tunable parameter.
- Junk metric: a metric name from `aft inspect` that is neither printed by the script nor a metric
  word. Printed: in the baseline output (ANSI codes removed, `\\r` as a line break) every number
  (or a bracket holding exactly one number, as `[120.]`) has as its key the words between it and
  the previous number on that line; a list element (a number right after `[`) has none. Every
  contiguous run of up to six of those words that neither starts nor ends with a filler word
  (the, of, is, ...) is a printed key, joined by `_`. A name is printed when its words, joined by
  `_`, are a printed key. Metric word: its last word is one of METRIC_WORDS (loss, acc, rmse,
  return, score, ...). A logger tag such as `charts/episodic_return` is also judged by its last
  `/` part. So `of_prediction_is` (from "The RMSE of prediction is: 0.44") is junk, `rmse` is not.
  Metrics AFT reads at run time (a trial's `metrics_reported`) are in the JSON, not judged.
- Searched: expected hyperparameters among the dimensions of the search space AFT recorded
  (outputs/metadata.json), matched the same way; for a hard-coded name a dimension set through one
  of the script's own flags does not count. A knob the refactor exposed under another name
  (pyg_gat's literal `lr` as `--optimizer_lr`) is not credited.
- Re-scoring: the spec pattern's first group over a log with ANSI codes removed; the last match,
  or the mean of the last N for `mean_last_N`.
- Tuned end to end: AFT exited 0, recorded every requested trial, and trial 1 is ok with a value.
  Best: AFT's best ok trial by its own objective. It beats the baseline when the spec metric of
  that trial is strictly better than trial 1's in the spec's direction.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = ROOT.parent / "shared" / "corpus"
OFFLINE = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
CODE_SOURCES = {"constant", "kwarg", "training_args", "lora_config", "loop"}
EXTRA_NAMES = ("constant", "keyword", "key", "dotted")
METRIC_WORDS = frozenset({
    "loss", "acc", "accuracy", "error", "err", "f1", "auc", "auroc", "rmse", "mse", "mae", "mape", "r2",
    "perplexity", "ppl", "bleu", "rouge", "reward", "return", "score", "precision", "recall", "iou", "dice",
    "nll", "wer", "cer", "logloss", "kl", "entropy",
})
FILLER_WORDS = frozenset({
    "the", "a", "an", "of", "is", "are", "was", "were", "be", "been", "to", "in", "on", "at", "for", "and",
    "or", "with", "by", "from", "as", "it", "this", "that",
})
RUN_LEFTOVERS = {".aft", "outputs", "__pycache__", "runs", "out", "wandb", "videos", "lightning_logs", "model.txt"}
"""Ignored paths a run of a target leaves in its folder: not copied into a fresh copy."""

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_NUM = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
_VALUE = re.compile(rf"\[\s*(?P<single>{_NUM})\s*\]|(?<![\w.])(?P<plain>{_NUM})")
_WORD = re.compile(r"[a-z][a-z0-9]*")


# -- the spec --------------------------------------------------------------------------------
@dataclass
class Spec:
    name: str
    script: str
    run: list[str]
    metric: str
    metric_pattern: str
    direction: str  # "maximize" | "minimize"
    hyperparameters: list[str]
    not_hyperparameters: list[str] = field(default_factory=list)
    hard_coded: list[str] = field(default_factory=list)
    cwd: str = "."
    env: dict[str, str] = field(default_factory=dict)
    metric_aggregate: str | None = None
    default_metric: float | None = None
    wall_s: float = 60.0
    convention: str = ""

    @property
    def aft_direction(self) -> str:
        return "max" if self.direction.startswith("max") else "min"

    @classmethod
    def load(cls, folder: Path) -> "Spec":
        with open(Path(folder) / "expected.toml", "rb") as fh:
            data = tomllib.load(fh)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "hard_coded"}
        return cls(**known, hard_coded=list(data.get("hard_coded", {})))


def spec_names(spec_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in Path(spec_dir).glob("*/expected.toml"))


# -- name matching and discovery scores --------------------------------------------------------
def normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def param_names(param: dict[str, Any]) -> set[str]:
    """Every name a discovered parameter answers to (see the module docstring)."""
    names = [param.get("name") or ""]
    if param.get("flag"):
        names.append(str(param["flag"]).lstrip("-"))
    extra = param.get("extra") or {}
    names += [extra[k] for k in EXTRA_NAMES if isinstance(extra.get(k), str)]
    if isinstance(extra.get("key_path"), list) and all(isinstance(k, str) for k in extra["key_path"]):
        names.append(".".join(extra["key_path"]))
    return {normalise(n) for n in names if n}


def from_code(param: dict[str, Any]) -> bool:
    return not param.get("flag") or param.get("source") in CODE_SOURCES


def tunable(param: dict[str, Any]) -> bool:
    return bool((param.get("extra") or {}).get("tunable", True))


def matching(expected: str, params: list[dict[str, Any]], hard_coded: bool = False) -> list[dict[str, Any]]:
    key = normalise(expected)
    return [p for p in params if key in param_names(p) and (from_code(p) or not hard_coded)]


@dataclass
class DiscoveryScore:
    expected: int
    found: list[str]
    missed: list[str]
    hard_expected: int
    hard_found: list[str]
    tunable: int
    tunable_expected: int  # tunable params that match an expected hyperparameter
    not_hp_proposed: list[str]
    other_tunable: list[str]  # tunable params matching neither list
    metrics: list[str]
    junk_metrics: list[str]
    found_not_tunable: list[str] = field(default_factory=list)  # found, but AFT would not tune it

    @property
    def recall(self) -> float | None:
        return len(self.found) / self.expected if self.expected else None

    @property
    def precision(self) -> float | None:
        return self.tunable_expected / self.tunable if self.tunable else None


def score_discovery(spec: Spec, inspect: dict[str, Any], printed: set[str]) -> DiscoveryScore:
    params = list(inspect.get("params") or [])
    hard = set(spec.hard_coded)
    found = [h for h in spec.hyperparameters if matching(h, params, h in hard)]
    proposed = [n for n in spec.not_hyperparameters if any(tunable(p) for p in matching(n, params))]
    tun = [p for p in params if tunable(p)]
    good = [p for p in tun if any(matching(h, [p], h in hard) for h in spec.hyperparameters)]
    other = [p["name"] for p in tun
             if not any(p is g for g in good) and not any(matching(n, [p]) for n in spec.not_hyperparameters)]
    metrics = [str(m) for m in inspect.get("metrics") or []]
    return DiscoveryScore(
        expected=len(spec.hyperparameters), found=found, missed=[h for h in spec.hyperparameters if h not in found],
        hard_expected=len(hard), hard_found=[h for h in found if h in hard], tunable=len(tun),
        tunable_expected=len(good), not_hp_proposed=proposed, other_tunable=other, metrics=metrics,
        junk_metrics=[m for m in metrics if is_junk_metric(m, printed)],
        found_not_tunable=[h for h in found if not any(tunable(p) for p in matching(h, params, h in hard))],
    )


def original_flags(inspect: dict[str, Any]) -> frozenset[str]:
    """The flags the script itself takes (before any refactor), normalised without dashes."""
    return frozenset(normalise(str(p["flag"]).lstrip("-")) for p in inspect.get("params") or []
                     if p.get("flag") and not from_code(p))


def searched(spec: Spec, dims: list[dict[str, Any]], flags: frozenset[str]) -> list[str]:
    """Expected hyperparameters among the dimensions AFT searched (matched as in discovery; for a hard-coded
    name, a dimension set through one of the script's own flags does not count)."""
    hard = set(spec.hard_coded)
    out = []
    for h in spec.hyperparameters:
        dims_h = matching(h, dims)
        if h in hard:
            dims_h = [d for d in dims_h if normalise(str(d.get("flag") or "").lstrip("-")) not in flags]
        if dims_h:
            out.append(h)
    return out


# -- the junk-metric rule --------------------------------------------------------------------
def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def printed_keys(output: str, max_words: int = 6) -> set[str]:
    """Every key the output prints a number under (see the module docstring)."""
    keys: set[str] = set()
    for line in re.split(r"[\r\n]+", ANSI.sub("", output)):
        previous = 0
        for match in _VALUE.finditer(line):
            before = line[previous:match.start()]
            previous = match.end()
            if match.group("plain") is not None and before.rstrip(" '\"").endswith("["):
                continue  # an element of a list, not a value under a key
            ws = words(before)
            for i in range(len(ws)):
                if ws[i] in FILLER_WORDS:
                    continue
                for j in range(i + 1, min(len(ws), i + max_words) + 1):
                    if ws[j - 1] not in FILLER_WORDS:
                        keys.add("_".join(ws[i:j]))
    return keys


def is_junk_metric(name: str, printed: set[str]) -> bool:
    for candidate in (name, name.rsplit("/", 1)[-1]):
        ws = words(candidate)
        if ws and ("_".join(ws) in printed or ws[-1] in METRIC_WORDS):
            return False
    return True


# -- re-scoring logs -------------------------------------------------------------------------
def aggregate(values: list[float], how: str | None) -> float | None:
    if not values:
        return None
    if how in (None, "", "last"):
        return values[-1]
    m = re.fullmatch(r"mean_last_(\d+)", how)
    if m:
        tail = values[-int(m.group(1)):]
        return sum(tail) / len(tail)
    if how in ("min", "max"):
        return min(values) if how == "min" else max(values)
    raise ValueError(f"unknown metric_aggregate {how!r}")


def score_text(text: str, pattern: str, how: str | None = None) -> float | None:
    values = []
    for m in re.finditer(pattern, ANSI.sub("", text)):
        try:
            values.append(float(m.group(1)))
        except (IndexError, ValueError):
            continue
    return aggregate(values, how)


def better(a: float | None, b: float | None, direction: str) -> bool | None:
    if a is None or b is None:
        return None
    return a > b if direction.startswith("max") else a < b


# -- processes -------------------------------------------------------------------------------
@dataclass
class Proc:
    argv: list[str]
    rc: int | None
    stdout: str
    stderr: str
    wall: float
    timed_out: bool = False

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float, log: Path) -> Proc:
    """Run `argv` in its own process group; past `timeout` it gets SIGINT, then SIGKILL."""
    out_path, err_path = log.with_suffix(".out"), log.with_suffix(".err")
    began = time.perf_counter()
    timed_out = False
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        except OSError as exc:
            return Proc(argv, None, "", f"could not start: {exc}", 0.0)
        _LIVE.add(proc)
        try:
            rc: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            rc = _stop(proc)
        finally:
            _LIVE.discard(proc)
    _reap(cwd)
    wall = time.perf_counter() - began
    log.with_suffix(".json").write_text(json.dumps({"argv": argv, "rc": rc, "wall": wall, "timed_out": timed_out}))
    return load_proc(log)


def load_proc(log: Path) -> Proc:
    """A finished step read back from its files (`log`.out, .err, .json)."""
    info = json.loads(log.with_suffix(".json").read_text(encoding="utf-8"))
    read = lambda p: p.read_text(encoding="utf-8", errors="replace") if p.is_file() else ""  # noqa: E731
    return Proc(info["argv"], info["rc"], read(log.with_suffix(".out")), read(log.with_suffix(".err")),
                float(info["wall"]), bool(info.get("timed_out")))


class Steps:
    """Runs each step, or with `replay` reads back the files an earlier run of the benchmark left in its
    scratch folder (to re-score it under changed rules without running anything)."""

    def __init__(self, replay: bool = False) -> None:
        self.replay = replay

    def __call__(self, argv: list[str], cwd: Path, env: dict[str, str], timeout: float, log: Path) -> Proc:
        return load_proc(log) if self.replay else run(argv, cwd, env, timeout, log)

    def copy(self, prepared: Path, dest: Path) -> Path:
        if self.replay:
            if not dest.is_dir():
                raise FileNotFoundError(f"nothing to re-score: {dest} is missing")
            return dest
        return fresh_copy(prepared, dest)


_LIVE: set[subprocess.Popen] = set()
"""Sessions running now (each in its own process group, so a signal to the benchmark misses them)."""


@contextlib.contextmanager
def children_stopped_on_signal() -> Iterator[None]:
    """While it holds, Ctrl-C or SIGTERM to the benchmark stops the sessions it started (SIGINT,
    as a person would, so they record their trials; SIGKILL after 30 s), then exits: none goes
    on alone. The previous handlers come back afterwards."""
    def handler(signum: int, frame: object) -> None:
        live = list(_LIVE)
        for proc in live:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        for proc in live:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        raise SystemExit(128 + signum)

    before = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, previous in before.items():
            signal.signal(sig, previous)


def _stop(proc: subprocess.Popen) -> int | None:
    for sig, grace in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
    return None


def _reap(folder: Path) -> None:
    """Kill processes left running inside `folder` (trials in their own sessions, after a kill)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return
    root = str(Path(folder).resolve())
    for proc in psutil.process_iter(["pid", "cwd"]):
        cwd = proc.info.get("cwd") or ""
        if proc.pid != os.getpid() and (cwd == root or cwd.startswith(root + os.sep)):
            try:
                proc.kill()
            except psutil.Error:
                pass


def fresh_copy(prepared: Path, dest: Path) -> Path:
    """The prepared project as a user has it: its commit, plus its ignored data, without run leftovers."""
    subprocess.run(["git", "clone", "-q", str(prepared), str(dest)], check=True, capture_output=True, timeout=120)
    listed = subprocess.run(["git", "ls-files", "--others", "--ignored", "--exclude-standard", "--directory"],
                            cwd=prepared, check=True, capture_output=True, text=True, timeout=60).stdout
    for rel in filter(None, listed.splitlines()):
        rel = rel.rstrip("/")
        if set(Path(rel).parts) & RUN_LEFTOVERS:
            continue
        src, dst = prepared / rel, dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir() and not src.is_symlink():
            shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst, follow_symlinks=False)
    return dest


def target_env(spec: Spec) -> dict[str, str]:
    env = dict(os.environ, **OFFLINE)
    env["COLUMNS"] = "400"  # AFT's messages one per line, not wrapped at 80 columns
    env.update(spec.env)
    return env


def aft_env(spec: Spec) -> dict[str, str]:
    """The target's env, with this checkout importable after the target's own PYTHONPATH."""
    env = target_env(spec)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [spec.env.get("PYTHONPATH"), str(ROOT)]))
    return env


def aft(*args: str) -> list[str]:
    return [sys.executable, "-m", "aft_tui", *args]


def no_passthrough(proc: Proc) -> bool:
    return proc.rc == 2 and "unrecognized arguments" in proc.stderr


def say(text: str) -> None:
    print(f"[corpus] {text}", file=sys.stderr, flush=True)


# -- one target ------------------------------------------------------------------------------
@dataclass
class Trial:
    number: int
    status: str
    value: float | None
    spec_value: float | None
    reason: str = ""
    reported: list[str] = field(default_factory=list)  # the metric names AFT read from the trial


@dataclass
class TuneResult:
    via: str
    passthrough: bool | None  # None: the target has no run arguments
    rc: int | None
    timed_out: bool
    wall: float
    end_to_end: bool
    reason: str
    trials: list[Trial] = field(default_factory=list)
    best: int | None = None
    space: list[str] = field(default_factory=list)  # the dimensions AFT searched
    searched: list[str] | None = None  # the expected hyperparameters among them (None: no search space recorded)

    def trial(self, number: int | None) -> Trial | None:
        return next((t for t in self.trials if t.number == number), None)

    @property
    def ok(self) -> int:
        return sum(t.status == "ok" for t in self.trials)

    @property
    def failed(self) -> int:
        return sum(t.status not in ("ok", "pruned") for t in self.trials)


@dataclass
class TargetResult:
    name: str
    convention: str
    direction: str
    metric: str
    default_metric: float | None
    baseline_value: float | None = None  # spec metric of the direct run
    baseline_rc: int | None = None
    baseline_wall: float | None = None
    trial_timeout: float | None = None  # the per-trial limit given to AFT
    inspect_passthrough: bool | None = None
    hyperparameters: list[str] = field(default_factory=list)  # the spec's
    inspect_error: str = ""
    discovery: DiscoveryScore | None = None
    tune: TuneResult | None = None
    error: str = ""

    def beats(self) -> bool | None:
        t = self.tune
        if t is None or t.best is None:
            return None
        first, best = t.trial(1), t.trial(t.best)
        if first is None or best is None:
            return None
        if best.number == 1:
            return False
        return better(best.spec_value, first.spec_value, self.direction)


def measure_target(spec: Spec, prepared: Path, work: Path, trials: int, skip_tune: bool, via: str,
                   timeout_factor: float, time_limit: float | None, steps: Steps | None = None) -> TargetResult:
    run = steps or Steps()
    res = TargetResult(spec.name, spec.convention, spec.direction, spec.metric, spec.default_metric,
                       hyperparameters=list(spec.hyperparameters))
    folder = work / spec.name
    if not run.replay:
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)

    say(f"{spec.name}: baseline run")
    base = run.copy(prepared, folder / "baseline")
    cwd = base / spec.cwd
    script = os.path.relpath(base / spec.script, cwd)
    proc = run([sys.executable, script, *spec.run], cwd, target_env(spec), max(120.0, 10 * spec.wall_s),
               folder / "baseline")
    printed = printed_keys(proc.output)
    res.baseline_rc, res.baseline_wall = proc.rc, round(proc.wall, 1)
    res.baseline_value = score_text(proc.output, spec.metric_pattern, spec.metric_aggregate)
    say(f"{spec.name}: baseline {fmt(res.baseline_value)} in {proc.wall:.0f} s (spec: {fmt(spec.default_metric)} "
        f"in {spec.wall_s:.0f} s)" + (f", exit status {proc.rc}" if proc.rc else ""))
    res.trial_timeout = trial_timeout = round(max(30.0, timeout_factor * max(spec.wall_s, proc.wall)))

    say(f"{spec.name}: aft inspect")
    proj = run.copy(prepared, folder / "project")
    cwd = proj / spec.cwd
    script = os.path.relpath(proj / spec.script, cwd)
    argv = aft("inspect", script, "--json") + (["--", *spec.run] if spec.run else [])
    proc = run(argv, cwd, aft_env(spec), 180, folder / "inspect")
    res.inspect_passthrough = bool(spec.run) or None
    if spec.run and no_passthrough(proc):
        res.inspect_passthrough = False
        proc = run(aft("inspect", script, "--json"), cwd, aft_env(spec), 180, folder / "inspect-noargs")
    inspect: dict[str, Any] = {}
    try:
        inspect = json.loads(proc.stdout)
        res.discovery = score_discovery(spec, inspect, printed)
    except ValueError:
        res.inspect_error = first_line(proc.stderr or proc.stdout) or f"exit status {proc.rc}"
    if skip_tune:
        return res

    command = via if via != "auto" else choose_command(inspect.get("params") or [])
    say(f"{spec.name}: aft {command} ({trials} trials, {trial_timeout:.0f} s per trial)")
    outputs = folder / "outputs"
    limit = time_limit or (600 + (trials + 2) * trial_timeout)
    res.tune = tune_target(spec, command, cwd, script, outputs, trials, trial_timeout, limit, folder,
                           original_flags(inspect), run)
    return res


def choose_command(params: list[dict[str, Any]]) -> str:
    """pipeline when some tunable parameter has no flag yet (a refactor must expose it), else tune."""
    hard = [p for p in params if tunable(p) and not p.get("flag") and p.get("source") != "config_file"]
    return "pipeline" if hard else "tune"


def tune_target(spec: Spec, command: str, cwd: Path, script: str, outputs: Path, trials: int, trial_timeout: float,
                limit: float, folder: Path, flags: frozenset[str] = frozenset(),
                steps: Steps | None = None) -> TuneResult:
    run = steps or Steps()
    options = [command, script, "--yes", "--trials", str(trials), "--metric", spec.metric, "--direction",
               spec.aft_direction, "--timeout", str(round(trial_timeout)), "--outputs", str(outputs)]
    if command == "pipeline":
        options += ["--smoke-timeout", str(round(trial_timeout))]
    window = re.fullmatch(r"mean_last_(\d+)", spec.metric_aggregate or "")
    if window:  # a practitioner who scores by the mean of the last N reports tells AFT so
        options += ["--metric-window", window.group(1)]
    passthrough: bool | None = True if spec.run else None
    proc = run(aft(*options) + (["--", *spec.run] if spec.run else []), cwd, aft_env(spec), limit, folder / command)
    if spec.run and no_passthrough(proc):
        passthrough = False
        if not run.replay:
            shutil.rmtree(outputs, ignore_errors=True)
        proc = run(aft(*options), cwd, aft_env(spec), limit, folder / f"{command}-noargs")
    return read_tuning(spec, command, passthrough, proc, outputs, trials, flags)


def read_tuning(spec: Spec, command: str, passthrough: bool | None, proc: Proc, outputs: Path, trials: int,
                flags: frozenset[str] = frozenset()) -> TuneResult:
    records = []
    try:
        records = [r for r in json.loads((outputs / "results.json").read_text(encoding="utf-8")) if isinstance(r, dict)]
    except (OSError, ValueError):
        pass
    rows = []
    for r in sorted(records, key=lambda r: r.get("number") or 0):
        log = Path(r.get("log") or outputs / str(r.get("run_id")) / f"{r.get('run_id')}.log")
        text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        value = r.get("value")
        rows.append(Trial(int(r.get("number") or 0), str(r.get("status") or "?"),
                          float(value) if isinstance(value, (int, float)) else None,
                          score_text(text, spec.metric_pattern, spec.metric_aggregate), str(r.get("reason") or ""),
                          [str(m) for m in r.get("metrics_reported") or []]))
    direction = next((r.get("direction") for r in records if r.get("direction")), spec.aft_direction)
    scored = [t for t in rows if t.status == "ok" and t.value is not None]
    best = None
    if scored:
        pick = max if direction == "max" else min
        best = pick(scored, key=lambda t: t.value).number  # type: ignore[arg-type, return-value]
    first = next((t for t in rows if t.number == 1), None)
    end_to_end = (proc.rc == 0 and not proc.timed_out and len(rows) >= trials and first is not None
                  and first.status == "ok" and first.value is not None)
    dims = None
    try:
        space = json.loads((outputs / "metadata.json").read_text(encoding="utf-8")).get("search_space") or {}
        dims = [d for d in space.get("dims") or [] if isinstance(d, dict)]
    except (OSError, ValueError, AttributeError):
        pass
    return TuneResult(command, passthrough, proc.rc, proc.timed_out, round(proc.wall, 1), end_to_end,
                      "" if end_to_end else stop_reason(proc, rows, limit_hit=proc.timed_out), rows, best,
                      [str(d.get("name")) for d in dims or []], None if dims is None else searched(spec, dims, flags))


def first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def stop_reason(proc: Proc, rows: list[Trial], limit_hit: bool = False) -> str:
    """The one line that says why a run stopped short: AFT's error, a failed trial's reason, or the last line."""
    if limit_hit:
        return f"killed by the benchmark's time limit after {proc.wall:.0f} s"
    said = [ln.strip() for ln in proc.output.splitlines() if ln.strip().startswith(("aft:", "Error:"))]
    if said:
        return said[0]
    failed = next((t for t in rows if t.status not in ("ok", "pruned") and t.reason), None)
    if failed:
        return f"trial {failed.number} {failed.status}: {failed.reason}"
    if not rows:
        lines = [ln.strip() for ln in proc.output.splitlines() if ln.strip()]
        return lines[-1] if lines else f"exit status {proc.rc}, no output"
    return f"exit status {proc.rc}; {len(rows)} trial(s) recorded"


# -- the report ------------------------------------------------------------------------------
def fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3g}"
    return f"{value:.4g}"


def fmt_s(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds:.0f} s"


def pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else f"{part}/0"


def cell(items: list[str], limit: int = 8) -> str:
    if not items:
        return "–"
    shown = ", ".join(f"`{i}`" for i in items[:limit])
    return shown + (f" (+{len(items) - limit})" if len(items) > limit else "")


def escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def spec_hps(r: TargetResult) -> list[str]:
    return r.hyperparameters


PASSED = {True: "yes", False: "no (no `--` in the CLI)", None: "none needed"}


def render_markdown(results: list[TargetResult], meta: dict[str, Any]) -> str:
    scores = [r.discovery for r in results if r.discovery]
    expected = sum(s.expected for s in scores)
    found = sum(len(s.found) for s in scores)
    hard_e, hard_f = sum(s.hard_expected for s in scores), sum(len(s.hard_found) for s in scores)
    proposed = [f"{r.name}.{n}" for r in results if r.discovery for n in r.discovery.not_hp_proposed]
    junk = [f"{r.name}: {m}" for r in results if r.discovery for m in r.discovery.junk_metrics]
    tuned = [r for r in results if r.tune]
    e2e = sum(r.tune.end_to_end for r in tuned)  # type: ignore[union-attr]
    beat = sum(bool(r.beats()) for r in tuned)
    no_inspect = [r.name for r in results if not r.discovery]
    lines = [
        "# AFT on the real-code corpus",
        "",
        f"Reproduce: `{meta['command']}` (PREPARED: the folder given to `shared/corpus/prepare.sh`).",
        "",
        f"Measured {meta['date']} at AFT commit {meta['commit']} on {meta['machine']}."
        + (f" The run took {meta['wall_s'] / 60:.0f} minutes." if meta.get("wall_s") else "")
        + (f" Scored again {meta['rescored']} from that run's logs (`--rescore`)." if meta.get("rescored") else ""),
        f"Scoring rules: the docstring of `benchmarks/corpus.py`. Trials per target: {meta['trials']}.",
        "",
        "## Summary",
        "",
        f"- Discovery recall: {pct(found, expected)} expected hyperparameters found "
        f"(hard-coded ones: {pct(hard_f, hard_e)})"
        + (f"; no discovery for {', '.join(no_inspect)}." if no_inspect else "."),
        f"- Not-hyperparameters proposed for tuning: {len(proposed)}{': ' + ', '.join(proposed) if proposed else ''}.",
        f"- Junk metrics reported by `aft inspect`: {len(junk)}.",
    ]
    if tuned:
        lines += [
            f"- Tuned end to end: {pct(e2e, len(tuned))} scripts.",
            f"- Best of {meta['trials']} trials beat the baseline (trial 1, the owner's arguments) by the spec's "
            f"metric: {pct(beat, len(tuned))} scripts.",
        ]
    else:
        lines.append("- Tuning: not run (--skip-tune).")
    lines += [
        "",
        "## Discovery",
        "",
        "Found, not tunable: expected hyperparameters found but marked not tunable. Other tunable: tunable "
        "parameters the spec lists neither as hyperparameters nor as not-hyperparameters.",
        "",
        "| target | run args passed | recall | precision | missed | found, not tunable | not-hyperparameters proposed "
        "| junk metrics | other tunable |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r.discovery
        passed = PASSED[r.inspect_passthrough]
        if s is None:
            lines.append(f"| {r.name} | {passed} | inspect failed: {escape(r.inspect_error or r.error)} | | | | | | |")
            continue
        prec = f"{s.tunable_expected}/{s.tunable}" if s.tunable else "–"
        lines.append(f"| {r.name} | {passed} | {len(s.found)}/{s.expected} | {prec} | {cell(s.missed)} | "
                     f"{cell(s.found_not_tunable)} | {cell(s.not_hp_proposed)} | {cell(s.junk_metrics)} | "
                     f"{cell(s.other_tunable)} |")
    if tuned:
        lines += [
            "",
            "## Tuning",
            "",
            "AFT: the objective AFT recorded. Spec: the spec's pattern and aggregate over the same trial's log. "
            "Direct: the spec metric of one direct run with the owner's arguments (unseeded scripts vary), and its "
            "wall time. Limit: AFT's per-trial time limit. Searched: expected hyperparameters among the dimensions "
            "AFT searched.",
            "",
            "| target | direction | via | run args passed | status | direct | limit | searched | trial 1 AFT / spec "
            "| best AFT / spec (trial) | beats trial 1 | ok / failed | wall |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in tuned:
            t = r.tune
            assert t is not None
            first, best = t.trial(1), t.trial(t.best)
            status = "end to end" if t.end_to_end else "stopped"
            lines.append(
                f"| {r.name} | {r.direction[:3]} `{escape(r.metric)}` | {t.via} | {PASSED[t.passthrough]} | "
                f"{status} | {fmt(r.baseline_value)} in {fmt_s(r.baseline_wall)} | {fmt_s(r.trial_timeout)} | "
                f"{'–' if t.searched is None else f'{len(t.searched)}/{len(spec_hps(r))}'} | "
                f"{fmt(first.value if first else None)} / "
                f"{fmt(first.spec_value if first else None)} | "
                f"{fmt(best.value if best else None)} / {fmt(best.spec_value if best else None)} "
                f"({best.number if best else '–'}) | {({True: 'yes', False: 'no', None: '–'})[r.beats()]} | "
                f"{t.ok} / {t.failed} of {len(t.trials)} | {t.wall:.0f} s |")
        unsearched = [(r.name, [h for h in spec_hps(r) if h not in r.tune.searched])  # type: ignore[union-attr]
                      for r in tuned if r.tune and r.tune.searched is not None]
        unsearched = [(n, hs) for n, hs in unsearched if hs]
        if unsearched:
            lines += ["", "Expected hyperparameters AFT did not search:", ""]
            lines += [f"- {n}: {cell(hs, limit=20)}" for n, hs in unsearched]
        stopped = [r for r in tuned if r.tune and not r.tune.end_to_end]
        if stopped:
            lines += ["", "Where runs stopped (AFT's own words where it gave any):", ""]
            lines += [f"- {r.name} (`aft {r.tune.via}`): {escape(r.tune.reason)}" for r in stopped if r.tune]
    errors = [r for r in results if r.error]
    if errors:
        lines += ["", "Benchmark errors:", ""] + [f"- {r.name}: {escape(r.error)}" for r in errors]
    return "\n".join(lines) + "\n"


def to_json(results: list[TargetResult], meta: dict[str, Any]) -> dict[str, Any]:
    out = []
    for r in results:
        d = asdict(r)
        d["beats"] = r.beats()
        if r.discovery:
            d["discovery"].update(recall=r.discovery.recall, precision=r.discovery.precision)
        out.append(d)
    return {"meta": meta, "targets": out}


# -- main ------------------------------------------------------------------------------------
def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "aft_tui"], cwd=ROOT,
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' (with uncommitted changes to aft_tui)' if dirty else ''}"


def reproduce_command(args: argparse.Namespace) -> str:
    parts = ["python -m benchmarks.corpus", "PREPARED"]
    if args.spec:
        parts += ["--spec", "SPEC"]
    if args.only:
        parts += ["--only", *args.only]
    parts += ["--trials", str(args.trials)]
    if args.skip_tune:
        parts.append("--skip-tune")
    if args.via != "auto":
        parts += ["--via", args.via]
    if args.timeout_factor != 4.0:
        parts += ["--timeout-factor", str(args.timeout_factor)]
    if args.out:
        parts += ["--out", shlex.quote(args.out)]
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    with children_stopped_on_signal():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    from benchmarks.common import describe_machine, machine

    p = argparse.ArgumentParser(prog="python -m benchmarks.corpus", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("prepared", help="the OUT_DIR given to shared/corpus/prepare.sh")
    p.add_argument("--spec", help=f"the corpus folder with <name>/expected.toml (default: {DEFAULT_SPEC.name} "
                                   "in shared/ next to the repository)")
    p.add_argument("--only", nargs="+", action="extend", metavar="NAME", help="only these targets")
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--skip-tune", action="store_true", help="baseline run and discovery only")
    p.add_argument("--via", choices=("auto", "tune", "pipeline"), default="auto",
                   help="auto: pipeline when a tunable parameter has no flag, else tune")
    p.add_argument("--timeout-factor", type=float, default=4.0,
                   help="per-trial limit as a multiple of the longer of wall_s and the baseline run")
    p.add_argument("--time-limit", type=float, help="limit for each tune/pipeline command in seconds "
                                                     "(default 600 + (trials + 2) x the per-trial limit)")
    p.add_argument("--out", default=None, help="Markdown report (default docs/corpus.md in the repository)")
    p.add_argument("--json", help="also write every measurement as JSON here")
    p.add_argument("--work", help="scratch folder for the fresh copies and logs (default: a new temporary folder)")
    p.add_argument("--rescore", action="store_true",
                   help="run nothing: score again what an earlier run left in --work (same targets and options)")
    args = p.parse_args(argv)
    if args.rescore and not args.work:
        p.error("--rescore needs --work, the scratch folder of the run to score again")

    spec_dir = Path(args.spec) if args.spec else DEFAULT_SPEC
    if not (spec_dir / "README.md").is_file() and not spec_names(spec_dir):
        p.error(f"no corpus at {spec_dir}: pass --spec SPEC_DIR")
    prepared = Path(args.prepared).resolve()
    names = spec_names(spec_dir)
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            p.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(names)}")
        names = [n for n in names if n in args.only]
    work = Path(args.work).resolve() if args.work else Path(tempfile.mkdtemp(prefix="aft-corpus-"))
    work.mkdir(parents=True, exist_ok=True)
    out = Path(args.out) if args.out else ROOT / "docs" / "corpus.md"
    say(f"{len(names)} target(s); scratch folder {work}")

    began = time.perf_counter()
    now = lambda: _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")  # noqa: E731
    run_file = work / "run.json"  # what was measured, where and when; a re-score reports the same
    if args.rescore:
        meta = json.loads(run_file.read_text(encoding="utf-8")) if run_file.is_file() else {
            "command": reproduce_command(args), "date": "unknown", "machine": "unknown", "commit": "unknown",
            "trials": args.trials}
        meta["rescored"] = now()
    else:
        meta = {"command": reproduce_command(args), "date": now(), "machine": describe_machine(machine()),
                "commit": _commit(), "trials": args.trials}  # the code measured is the code at the start
        run_file.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    results: list[TargetResult] = []
    for name in names:
        spec = Spec.load(spec_dir / name)
        try:
            if not (prepared / name / ".git").is_dir():
                raise RuntimeError(f"{prepared / name} is not a prepared target (run prepare.sh)")
            result = measure_target(spec, prepared / name, work, args.trials, args.skip_tune, args.via,
                                    args.timeout_factor, args.time_limit, Steps(replay=args.rescore))
        except Exception as exc:  # one target failing must not stop the others
            result = TargetResult(spec.name, spec.convention, spec.direction, spec.metric, spec.default_metric,
                                  error=f"{type(exc).__name__}: {exc}")
        results.append(result)
        say(summary_line(result))

    if not args.rescore:
        meta["wall_s"] = round(time.perf_counter() - began)
        run_file.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(results, meta), encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(results, meta), indent=2, default=str) + "\n", encoding="utf-8")
    say(f"wrote {out} in {time.perf_counter() - began:.0f} s; logs and copies in {work}")
    return 0


def summary_line(r: TargetResult) -> str:
    if r.error:
        return f"{r.name}: error: {r.error}"
    s = r.discovery
    disc = (f"found {len(s.found)}/{s.expected}, junk metrics {len(s.junk_metrics)}" if s
            else f"inspect failed: {r.inspect_error}")
    if r.tune is None:
        return f"{r.name}: {disc}"
    t = r.tune
    state = "end to end" if t.end_to_end else f"stopped: {t.reason}"
    return f"{r.name}: {disc}; {t.via} {state}; {t.ok} ok / {t.failed} failed in {t.wall:.0f} s"


if __name__ == "__main__":
    sys.exit(main())
