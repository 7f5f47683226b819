"""Code experiments from the model: asked with everything it needs, returned as a typed idea,
and checked before anything runs.

The model sees the objective, the time each experiment gets, the person's steering notes, the
research journal (so it neither repeats an experiment nor forgets what worked) and the files it
may change. Its answer is a title, a rationale and a unified diff; an answer without a diff
that parses is sent back once with the reason. The research loop then calls
`llm_code_experiment`, which also runs the patch check (`target/patch_scope.py`) against the
project, so a diff that is out of scope, broken, huge or brings a new dependency never runs.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aft_tui.brain.client import LLMClient, LLMError
from aft_tui.brain.prompts import CODE_EXPERIMENT_SYSTEM, clip
from aft_tui.target.patch_scope import MAX_CHANGED_LINES, PatchCheck, check_patch
from aft_tui.target.patches import PatchError, parse_patch

JOURNAL_CHARS = 12000  # the journal's end (its latest experiments) when it is longer
SHORT_JOURNAL_CHARS = 2000  # after the model refused the request as too long


@dataclass(frozen=True)
class CodeExperimentRequest:
    script: str  # relative path of the training script
    files: dict[str, str]  # editable files: relative path -> current text
    read_only: list[str]
    metric: str
    direction: str  # "min" | "max"
    journal: str  # the research journal so far (markdown)
    steer: list[str]  # the person's steering notes ("try larger models next")
    experiment_time: float | None  # seconds per experiment


@dataclass(frozen=True)
class CodeExperimentIdea:
    title: str
    rationale: str
    diff: str


class _Declined(str):
    """The model's own reason for proposing nothing."""


def experiment_messages(request: CodeExperimentRequest, journal_chars: int = JOURNAL_CHARS) -> list[dict[str, Any]]:
    """The system prompt and the one user message that hold everything the experiment needs."""
    better = "lower" if request.direction == "min" else "higher"
    parts = [f"Objective: {request.metric}, {better} is better.",
             f"Training script: {request.script}."]
    if request.experiment_time:
        parts.append(f"Each experiment runs for {_duration(request.experiment_time)}; the change must show its "
                     "effect within that time.")
    parts.append("Editable files: " + ", ".join(sorted(request.files)) + ".")
    if request.read_only:
        parts.append("Read-only files (never change them): " + ", ".join(sorted(request.read_only)) + ".")
    if request.steer:
        parts.append("The person's steering notes (follow them):\n" + "\n".join(f"- {n}" for n in request.steer))
    journal = request.journal.strip()
    parts.append("Research journal so far:\n" + (clip(journal, journal_chars) if journal
                                                  else "(empty: this is the first code experiment)"))
    for path, text in sorted(request.files.items()):
        fence = "python" if path.endswith(".py") else ""
        parts.append(f"Current {path}:\n```{fence}\n{text}{'' if text.endswith(chr(10)) else chr(10)}```")
    system = CODE_EXPERIMENT_SYSTEM.replace("{max_lines}", str(MAX_CHANGED_LINES))
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n\n".join(parts)}]


def read_idea(text: str) -> CodeExperimentIdea | str:
    """The idea in a reply; else the problem to send back, or `_Declined` with the model's reason."""
    diff = _diff_in(text)
    if not diff.strip():
        declined = re.search(r"^\W*No experiment\W*:?\s*(.*)$", text, re.IGNORECASE | re.MULTILINE)
        if declined:
            return _Declined(" ".join(declined.group(1).split()).rstrip(".") or "no reason given")
        return ("Your reply has no diff. Answer in the form described: Title:, Rationale:, then one ```diff block "
                "with a unified diff (--- a/<path>, +++ b/<path>, @@ hunks) against the files as shown; or the one "
                "line 'No experiment: <why>'.")
    try:
        parse_patch(diff)
    except PatchError as exc:
        return (f"The diff in your reply does not parse ({exc}). Send the whole answer again with a unified diff "
                "against the files as shown.")
    title = re.search(r"^\W*Title\W*:\s*(.+)$", text, re.IGNORECASE | re.MULTILINE)
    rationale = re.search(r"^\W*Rationale\W*:\s*(.+?)(?=^\s*```|^\W*Title\W*:|^--- |^diff --git |\Z)", text,
                          re.IGNORECASE | re.MULTILINE | re.DOTALL)
    return CodeExperimentIdea(title=" ".join(title.group(1).split()).strip("*`")[:120] if title else
                              "A code change from the model",
                              rationale=" ".join(rationale.group(1).split())[:1000] if rationale else "",
                              diff=diff)


def _diff_in(text: str) -> str:
    """The diff blocks of a reply joined, or the reply itself when it is a bare diff."""
    blocks = re.findall(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)^[ \t]*```", text, re.MULTILINE | re.DOTALL)
    diffs = [body for lang, body in blocks if lang.lower() in ("diff", "patch", "udiff")
             or re.search(r"^(--- |diff --git )", body, re.MULTILINE)]
    if diffs:
        return "".join(body if body.endswith("\n") else body + "\n" for body in diffs)
    return text if re.search(r"^--- .*\n\+\+\+ ", text, re.MULTILINE) else ""


async def ask_model(client: LLMClient, request: CodeExperimentRequest,
                    notice: Callable[[str], None]) -> CodeExperimentIdea | str:
    """The model's idea, or the one sentence saying why there is none (declined, no usable diff
    after one retry, or the request failed)."""
    messages = experiment_messages(request)
    try:
        try:
            reply = await client.complete(messages)
        except LLMError as exc:
            if exc.kind != "context":
                raise
            notice(f"The code-experiment request is too long for the model; retrying once with the last "
                   f"{SHORT_JOURNAL_CHARS} characters of the journal.")
            messages = experiment_messages(request, SHORT_JOURNAL_CHARS)
            reply = await client.complete(messages)
        outcome = read_idea(reply.text)
        if isinstance(outcome, str) and not isinstance(outcome, _Declined):
            messages = messages + [{"role": "assistant", "content": reply.text}, {"role": "user", "content": outcome}]
            outcome = read_idea((await client.complete(messages)).text)
    except LLMError as exc:
        return f"{exc.message} No code experiment from the model this time."
    if isinstance(outcome, _Declined):
        return f"The model proposed no code experiment: {outcome}."
    if isinstance(outcome, str):
        return f"The model's answer held no usable diff after one retry ({_first_sentence(outcome)})."
    return outcome


async def llm_code_experiment(brain: Any, request: CodeExperimentRequest, project_root: Path,
                              editable: Collection[str], read_only: Collection[str],
                              is_installed: Callable[[str], bool]) -> tuple[CodeExperimentIdea, PatchCheck] | str:
    """A checked idea ready to commit and run, or the one sentence saying why there is none."""
    ask = getattr(brain, "code_experiment", None)
    if ask is None:
        return (f"The {getattr(brain, 'name', 'current')} brain writes no code experiments; choose a model "
                "(--model) for them, or use the offline catalogue.")
    idea = await ask(request)
    if idea is None:
        return getattr(brain, "last_problem", None) or "The model proposed no code experiment."
    check = await asyncio.to_thread(check_patch, idea.diff, Path(project_root), editable=editable,
                                    read_only=read_only, is_installed=is_installed)
    if not check.ok:
        more = f" ({len(check.problems) - 1} more problem(s) besides)" if len(check.problems) > 1 else ""
        return (f"The model's code experiment '{idea.title}' was refused before running: "
                f"{check.problems[0].rstrip('.')}{more}.")
    return idea, check


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:g} seconds"


def _first_sentence(text: str) -> str:
    return text.split(". ", 1)[0].rstrip(".").replace("Your reply", "the reply").replace("your reply", "the reply")
