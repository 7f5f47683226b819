"""One sentence for a failed run: what broke and what to do about it.

A person watching eight trials fail with the same `ModuleNotFoundError` learns nothing from the
eighth; they need one line that names the package and the command that installs it into the
interpreter AFT used. The same sentence serves the tuning loop (which stops early on it), the
smoke run and the repair loop (which must not "repair" a refactor when the cause is the
environment), so the rules live here, apart from the code that runs scripts.

Each rule reads the tail of the run's output (stdout and stderr merged, as the launcher keeps
it). The `kind` names the rule; `detail` is the part that identifies the failure regardless of
the parameter values, so "three trials failed the same way" can be told apart from three
different failures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aft_tui.redaction import redact, refresh_from_environment
from aft_tui.runs.packages import pip_command, pypi_name

ENVIRONMENTAL = frozenset({"missing_module", "missing_file", "oom", "arguments", "offline_model", "killed"})
"""Failures caused by what surrounds the script, not by the code AFT changed or the values it chose."""

_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")
_PIP_HINT = re.compile(r"pip install\s+(['\"]?)([A-Za-z0-9_.\-\[\]<>=!~,]+)\1")
_IMPORT_ERROR = re.compile(r"^\s*ImportError:")
_MISSING_FILE = (
    re.compile(r"No such file or directory: '([^']+)'"),
    re.compile(r'No such file or directory: "([^"]+)"'),
    re.compile(r"FileNotFoundError: (?:File|file) (\S+) does not exist"),
    re.compile(r"FileNotFoundError: \[Errno 2\] No such file or directory: (\S+)"),
)
_OOM = re.compile(r"CUDA out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED|MPS backend out of memory|"
                  r"HIP out of memory|RESOURCE_EXHAUSTED: Out of memory")
_ARGS_REQUIRED = re.compile(r"error: the following arguments are required: (.+)$")
_ARGS_UNRECOGNIZED = re.compile(r"error: unrecognized arguments: (.+)$")
_ARGS_INVALID = re.compile(r"error: argument (\S+): (.+)$")
_HF_MODEL = (
    re.compile(r"OSError: (?:We couldn't connect to '[^']*' to load this file, couldn't find it in the cached files and "
               r"it looks like )?(\S+?),? is not (?:a local folder and is not )?a valid model identifier"),
    re.compile(r"Incorrect path_or_model_id: '([^']+)'"),
    re.compile(r"Repo id must be in the form 'repo_name' or 'namespace/repo_name': '([^']+)'"),
    re.compile(r"Can't load (?:the )?(?:tokenizer|config|model|configuration)[^']* for '([^']+)'"),
)
_HF_OFFLINE = re.compile(r"Repo id must be in the form|is not a local folder and is not a valid model identifier|"
                         r"OfflineModeIsEnabled|LocalEntryNotFoundError|outgoing traffic has been disabled|"
                         r"couldn't connect to 'https://huggingface\.co'|Cannot find the requested files in the "
                         r"(?:local|disk) cache|HF_HUB_OFFLINE", re.I)
_ERROR_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit)\b.*|Killed\b.*|"
                         r"CUDA out of memory.*|Segmentation fault.*)$")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_BATCH = re.compile(r"batch", re.I)
_SIGNALS = {9: "SIGKILL, often the system running out of memory", 15: "SIGTERM", 11: "SIGSEGV, a crash in native code",
            6: "SIGABRT", 1: "SIGHUP"}
_FROM_OUTSIDE = frozenset({1, 9, 15})
"""Signals that end a script from outside it (a shutdown, a job limit, the out-of-memory killer, a
`kill`): no change to the code causes them. (AFT's own stops are cancellations, never failures.)"""


@dataclass(frozen=True)
class Diagnosis:
    """What broke (`kind`, `detail`) and the one sentence that says it with the fix."""

    kind: str
    sentence: str
    detail: str = ""

    def __post_init__(self) -> None:
        # Both parts quote the script's output, which may hold a token; both reach results.json,
        # the session log and the Optuna journal.
        object.__setattr__(self, "sentence", redact(self.sentence))
        object.__setattr__(self, "detail", redact(self.detail))

    @property
    def environmental(self) -> bool:
        return self.kind in ENVIRONMENTAL

    @property
    def key(self) -> str:
        """Same key, same failure: numbers and addresses are blanked, so parameter values,
        allocation sizes and process ids do not make one failure look like several."""
        return f"{self.kind}:{_HEX.sub('#', _NUMBER.sub('#', self.detail))}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "sentence": self.sentence, "detail": self.detail}


@dataclass(frozen=True)
class RunContext:
    """Where and how the run happened, for sentences that name folders and commands.

    `cwd` is the folder the run started in (inside the session worktree); `person_cwd` is the
    folder of the person's own project it corresponds to. `interpreter` is the
    `aft_tui.runs.interpreter.Interpreter` the run used.
    """

    cwd: Path | None = None
    person_cwd: Path | None = None
    interpreter: Any = None
    script: str = "train.py"
    log_path: Path | None = None
    command: str = "tune"


def diagnose(returncode: int | None, tail: list[str], context: RunContext | None = None, *,
             params: dict[str, Any] | None = None, metric: str | None = None,
             metrics_seen: list[str] | None = None, reason: str = "") -> Diagnosis:
    """The diagnosis of a failed run.

    `reason` is the short reason the trial was recorded with; it decides the cases the output
    cannot show (a metric that never appeared, a value that became NaN).
    """
    context = context or RunContext()
    params = params or {}
    refresh_from_environment()  # once per failed run: a variable set since start is a secret too
    lines = [line.rstrip() for line in tail]
    text = "\n".join(lines)
    for rule in (_missing_module, _offline_model, _missing_file, _out_of_memory, _arguments):
        found = rule(lines, text, context, params)
        if found is not None:
            return found
    if returncode in (0, None) and metric is not None and "never reported" in reason:
        return _metric_missing(metric, metrics_seen or [], context)
    if returncode in (0, None) and "reported no metric" in reason:
        return Diagnosis("no_metric",
            f"The script ran to the end but reported no metric AFT could read (no AFT_METRICS lines and no "
            f"'name: value' prints); print the validation metric (e.g. print(f'val_loss: {{val_loss}}')) "
            f"or run `aft pipeline {context.script}` to add reporting.", "no metric")
    if "diverged" in reason:
        where = f" with {_fmt(params)}" if params else ""
        return Diagnosis("diverged", f"{reason[0].upper()}{reason[1:]}{where}{_log(context)}.",
                         reason)
    return _crash(returncode, lines, context, reason)


def diagnose_outcome(outcome: Any, context: RunContext | None = None, *, params: dict[str, Any] | None = None,
                     metric: str | None = None) -> Diagnosis:
    """`diagnose` for a trial outcome (anything with returncode, tail, reason and metric_names)."""
    return diagnose(getattr(outcome, "returncode", None), list(getattr(outcome, "tail", []) or []), context,
                    params=params, metric=metric, metrics_seen=list(getattr(outcome, "metric_names", []) or []),
                    reason=str(getattr(outcome, "reason", "") or ""))


# -- the rules ------------------------------------------------------------------------------------
def _missing_module(lines: list[str], text: str, context: RunContext, params: dict[str, Any]) -> Diagnosis | None:
    found = _MISSING_MODULE.findall(text)
    if found:
        module = found[-1]
        package = pypi_name(_imported_as(module, lines))
    else:
        line = next((l for l in reversed(lines) if _IMPORT_ERROR.match(l) and _PIP_HINT.search(l)), None)
        if line is None:
            return None
        hint = _PIP_HINT.search(line)
        assert hint is not None
        module, package = hint.group(2), hint.group(2)
    local = _project_package(module, context)
    if local is not None:
        return local
    named = f"'{module}'" + (f" (PyPI package {package})" if package != module else "")
    return Diagnosis("missing_module",
        f"The script imports {named}, which is not installed in the Python AFT ran it with; install it with "
        f"`{pip_command(context.interpreter, package)}`, or point AFT at the environment that has it with "
        f"--venv/--conda/--python.", module)


def _project_package(module: str, context: RunContext) -> Diagnosis | None:
    """A missing module that is the project's own package (minGPT's `mingpt/` beside `projects/`):
    Python looks for it in the script's folder, not the project's root, so pip would install the
    wrong thing (or nothing). The fix is the path, the way the project's README runs it."""
    if context.cwd is None:
        return None
    top = module.split(".")[0]
    root = Path(context.cwd)
    folder = (root / context.script).parent
    # The folders above the script up to the run's folder; beside the script Python does look, so a
    # package there that still fails to import is another problem.
    above = [d for d in folder.parents if d == root or root in d.parents]
    holder = next((d for d in above if (d / top / "__init__.py").is_file() or (d / f"{top}.py").is_file()), None)
    if holder is None:
        return None
    rel = holder.relative_to(root)
    where = (context.person_cwd or root) / rel
    path = "." if str(rel) == "." else str(rel)
    return Diagnosis("missing_module",
        f"The script imports '{top}', the project's own package in {where / top}, but Python looks for it in the "
        f"script's folder ({Path(context.script).parent}); start AFT with that folder on the path "
        f"(`PYTHONPATH={path} aft {context.command} {context.script}` from {context.person_cwd or root}) or install "
        f"the project into the environment the script runs with (`pip install -e .`).", top)


def _offline_model(lines: list[str], text: str, context: RunContext, params: dict[str, Any]) -> Diagnosis | None:
    if not _HF_OFFLINE.search(text):
        return None
    model = ""
    for pattern in _HF_MODEL:
        hits = pattern.findall(text)
        if hits:
            model = hits[-1].strip("'\"")
            break
    what = f"the model '{model}'" if model else "a model or dataset from the Hugging Face hub"
    return Diagnosis("offline_model",
        f"The script could not load {what}: it is not in a local folder or the local cache, and the hub cannot be "
        f"reached (offline); download it while online (e.g. `huggingface-cli download {model or 'NAME'}`) or pass a "
        f"local path to it after `--` (`aft {context.command} {context.script} -- --model_name_or_path "
        f"/path/to/model`).", model or "hub")


def _missing_file(lines: list[str], text: str, context: RunContext, params: dict[str, Any]) -> Diagnosis | None:
    raw = ""
    for line in reversed(lines):
        for pattern in _MISSING_FILE:
            match = pattern.search(line)
            if match:
                raw = match.group(1).strip("'\"")
                break
        if raw:
            break
    if not raw:
        return None
    path = Path(raw)
    fix = f"pass its path after `--` (`aft {context.command} {context.script} -- --data /path/to/{path.name}`)"
    where = ""
    if not path.is_absolute() and context.cwd is not None:
        resolved = _normpath(context.cwd / path)
        where = f": the trial ran in {context.cwd}"
        if context.person_cwd is not None:
            mine = _normpath(context.person_cwd / path)
            where += f", the session's copy of {context.person_cwd}, where that is {resolved}"
            if Path(mine).exists():
                where += (f"; {mine} exists but is not reachable from the copy (ignored top-level folders of the "
                          f"project are linked into it, files outside the project are not)")
                fix = f"move the data into the project or {fix}"
            else:
                where += (f", and {mine} does not exist either; data must be reachable from there (ignored top-level "
                          f"folders of the project are linked into the copy, files outside the project are not)")
                fix = f"put it at {mine} or {fix}"
        else:
            where += f", where that is {resolved}"
    return Diagnosis("missing_file", f"The script could not find '{raw}'{where}; {fix}.", raw)


def _out_of_memory(lines: list[str], text: str, context: RunContext, params: dict[str, Any]) -> Diagnosis | None:
    if not _OOM.search(text):
        return None
    batch = next((name for name in params if _BATCH.search(name)), None)
    if batch is not None:
        fix = (f"use a smaller batch: {batch} was {params[batch]!r} in this trial; lower its upper bound in "
               f"[search.{batch}] of aft.toml (or its default)")
    else:
        fix = "use a smaller batch or model (AFT tunes no batch-size parameter here), or free the GPU"
    return Diagnosis("oom", f"The trial ran out of GPU memory; {fix}{_log(context)}.", "out of memory")


def _arguments(lines: list[str], text: str, context: RunContext, params: dict[str, Any]) -> Diagnosis | None:
    for line in reversed(lines):
        match = _ARGS_REQUIRED.search(line)
        if match:
            names = [n.strip() for n in match.group(1).split(",") if n.strip()]
            given = " ".join(f"{n} VALUE" if n.startswith("-") else "VALUE" for n in names)
            return Diagnosis("arguments",
                f"The script requires {', '.join(names)}, which AFT does not pass by itself; give "
                f"{'them' if len(names) > 1 else 'it'} after `--`: `aft {context.command} {context.script} -- "
                f"{given}`.", "required " + " ".join(names))
        match = _ARGS_UNRECOGNIZED.search(line)
        if match:
            return Diagnosis("arguments",
                f"The script does not accept the arguments {match.group(1).strip()}; pass only flags it defines "
                f"after `--`, and remove any parameter it does not take from [search] in aft.toml.",
                "unrecognized " + match.group(1).strip())
        match = _ARGS_INVALID.search(line)
        if match and "usage:" in text:
            return Diagnosis("arguments",
                f"The script rejected its argument {match.group(1)}: {match.group(2).strip()}; check the value "
                f"passed after `--` or the range in [search] of aft.toml.", f"invalid {match.group(1)}")
    return None


def _metric_missing(metric: str, seen: list[str], context: RunContext) -> Diagnosis:
    if seen:
        shown = ", ".join(seen[:12]) + (f" and {len(seen) - 12} more" if len(seen) > 12 else "")
        what = f"it reported {shown}; pass `--metric NAME` with one of those"
    else:
        what = ("it reported no metric at all; print it (e.g. print(f'" + metric + ": {value}')) or pass "
                "`--metric NAME` with what it does report")
    return Diagnosis("metric_missing",
        f"The script ran to the end but never reported {metric}: {what}.", metric)


def _crash(returncode: int | None, lines: list[str], context: RunContext, reason: str) -> Diagnosis:
    last = next((l.strip() for l in reversed(lines) if _ERROR_LINE.match(l)
                 and not l.strip().startswith("Traceback")), "")
    if last:
        code = f" (exit code {returncode})" if returncode not in (None, 0, 1) else ""
        return Diagnosis("crash", f"The script failed with `{last[:300]}`{code}{_log(context)}.", last[:300])
    if isinstance(returncode, int) and -returncode in _FROM_OUTSIDE:
        return Diagnosis("killed", f"The script was killed by signal {-returncode} ({_SIGNALS[-returncode]}) from outside "
                                   f"it{_log(context)}; run again once whatever stopped it is out of the way.",
                         f"signal {-returncode}")
    if isinstance(returncode, int) and returncode < 0:
        name = _SIGNALS.get(-returncode, "")
        return Diagnosis("crash", f"The script was killed by signal {-returncode}"
                                         f"{f' ({name})' if name else ''}{_log(context)}.", f"signal {-returncode}")
    if returncode not in (None, 0):
        return Diagnosis("crash", f"The script exited with code {returncode} without an error message"
                                         f"{_log(context)}.", f"exit {returncode}")
    said = reason or "the run failed"
    return Diagnosis("crash", f"{said[0].upper()}{said[1:]}{_log(context)}.", said)


# -- helpers ------------------------------------------------------------------------------------------
def _imported_as(module: str, lines: list[str]) -> str:
    """The full dotted name the traceback's import line asked for: a missing namespace such as
    'google' only says which package is missing once read with what follows it (google.protobuf)."""
    pattern = re.compile(r"^\s*(?:import|from)\s+(" + re.escape(module) + r"(?:\.\w+)+)")
    for line in reversed(lines):
        match = pattern.match(line)
        if match:
            return match.group(1)
    return module


def _normpath(path: Path) -> str:
    import os

    return os.path.normpath(str(path))


def _log(context: RunContext) -> str:
    return f"; the full log is {context.log_path}" if context.log_path else ""


def _fmt(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|Warning)\b")
_LOG_BYTES_READ = 4 * 1024 * 1024


def traceback_tail(log_path: Path, tail: list[str], keep_after: int = 10) -> list[str]:
    """The tail a failure is diagnosed from, with the traceback put back when the log's last lines
    lost it: an exception whose message dumps a large tensor or config pushes its own first line
    out of the kept tail, and the failure would read as "exited with code 1" with no cause.
    The last traceback in the log (up to its exception line) comes first, then the last lines."""
    if any(_EXCEPTION_LINE.match(line) for line in tail):
        return tail
    try:
        with open(log_path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - _LOG_BYTES_READ))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return tail
    start = next((i for i in range(len(lines) - 1, -1, -1)
                  if lines[i].startswith("Traceback (most recent call last)")), None)
    if start is None:
        return tail
    block: list[str] = []
    for line in lines[start:]:
        block.append(line)
        if _EXCEPTION_LINE.match(line):
            break
    else:
        return tail
    return block + ["..."] + tail[-keep_after:]
