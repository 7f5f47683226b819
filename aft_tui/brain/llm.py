"""The LLM brain: chat with tools, refactors and repairs as SEARCH/REPLACE edits, and
parameter proposals as validated JSON, through any litellm model.

Everything a model says is checked before it matters: edits must apply (with up to three
"did you mean" corrections), refactors must pass the behaviour-preservation check, and
parameters must lie in the search space. Anything else is rejected with a sentence and the
rule-based code or the optimizer decides instead.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from aft_tui.brain.base import ChunkCallback, EditProposal, ParamProposal
from aft_tui.brain.client import LLMClient, LLMError
from aft_tui.brain.code_experiments import CodeExperimentIdea, CodeExperimentRequest, ask_model
from aft_tui.brain.prompts import (
    CHAT_SYSTEM,
    HYBRID_SYSTEM,
    PARAMS_SYSTEM,
    REFACTOR_SYSTEM,
    REPAIR_SYSTEM,
    clip,
    compact_context,
    context_message,
    record_rows,
    shrink,
)
from aft_tui.brain.proposals import ProposalRejected, parse_proposal, space_for_prompt
from aft_tui.brain.tools import TOOL_SPECS, run_tool
from aft_tui.redaction import redact

MAX_REFLECTIONS = 3
MAX_TOOL_ROUNDS = 6
HISTORY_TURNS = 6  # user/assistant messages remembered between chat calls


class LLMBrain:
    name = "llm"

    def __init__(self, model: str, api_base: str | None = None, small_model: str | None = None,
                 timeout: float | None = None, *, max_retries: int = 3, backoff_base: float = 1.0) -> None:
        self.model = model
        self.small_model = small_model
        self.client = LLMClient(model, api_base, timeout, max_retries=max_retries, backoff_base=backoff_base,
                                on_notice=self._info)
        self.on_info: Callable[[str], None] | None = None
        self.last_problem: str | None = None
        self.tool_log: list[dict[str, Any]] = []
        self._history: list[dict[str, str]] = []

    # -- shared ---------------------------------------------------------------------
    @property
    def usage(self) -> dict[str, Any]:
        return self.client.usage

    def watch_usage(self, callback: Callable[[str, int, int, float | None], None]) -> None:
        """Have `callback(model, prompt_tokens, completion_tokens, cost_usd)` told after every reply."""
        self.client.on_usage = callback

    def attach(self, engine: Any) -> None:
        """Send notices (retries, rejections) to the engine's event stream as Info sentences."""
        if engine is not None and hasattr(engine, "info_message"):
            self.on_info = engine.info_message

    def _info(self, text: str) -> None:
        if self.on_info is not None:
            self.on_info(redact(text))

    def _reject(self, text: str) -> None:
        self.last_problem = redact(text)
        self._info(self.last_problem)

    # -- chat ------------------------------------------------------------------------
    async def chat(self, text: str, context: dict[str, Any], on_chunk: ChunkCallback, engine: Any) -> str:
        self.attach(engine)
        try:
            reply = await self._converse(self._chat_messages(text, compact_context(context), True), on_chunk, engine)
        except LLMError as exc:
            if exc.kind != "context":
                return self._remember(text, exc.message, failed=True)
            self._info("The conversation is too long for the model; retrying once with a shorter context "
                       "(the last 3 runs, no analysis, no earlier messages).")
            try:
                reply = await self._converse(self._chat_messages(text, shrink(context), False), on_chunk, engine)
            except LLMError as again:
                return self._remember(text, again.message, failed=True)
        return self._remember(text, reply)

    def _chat_messages(self, text: str, context: dict[str, Any], with_history: bool) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": CHAT_SYSTEM + "\n\n" + context_message(context)}]
        if with_history:
            messages.extend(self._history[-HISTORY_TURNS:])
        messages.append({"role": "user", "content": text})
        return messages

    def _remember(self, text: str, reply: str, failed: bool = False) -> str:
        if not failed:
            self._history += [{"role": "user", "content": text}, {"role": "assistant", "content": reply}]
            self._history = self._history[-HISTORY_TURNS:]
        return reply

    async def _converse(self, messages: list[dict[str, Any]], on_chunk: ChunkCallback, engine: Any) -> str:
        parts: list[str] = []
        for _ in range(MAX_TOOL_ROUNDS):
            if parts:
                on_chunk("\n\n")
            reply = await self.client.complete(messages, tools=TOOL_SPECS if engine is not None else None,
                                               stream=True, on_chunk=on_chunk)
            if reply.text.strip():
                parts.append(reply.text.strip())
            if not reply.tool_calls:
                return "\n\n".join(parts)
            messages.append({"role": "assistant", "content": reply.text or None, "tool_calls": [
                {"id": call.id, "type": "function",
                 "function": {"name": call.name, "arguments": call.raw_arguments or json.dumps(call.arguments)}}
                for call in reply.tool_calls]})
            for call in reply.tool_calls:
                result = redact(await run_tool(engine, call.name, call.arguments))
                self.tool_log.append({"name": call.name, "arguments": call.arguments, "result": result})
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        parts.append(f"(Stopped after {MAX_TOOL_ROUNDS} rounds of tool calls; ask again to continue.)")
        return "\n\n".join(parts)

    # -- edits -------------------------------------------------------------------------
    async def refactor(self, source: str, discovery: dict[str, Any], goal: str) -> EditProposal | None:
        path = _script_name(discovery)
        params = [{k: p.get(k) for k in ("name", "type", "default", "source", "location", "flag")}
                  for p in (discovery.get("params") or []) if isinstance(p, dict)]
        user = (f"Goal: {goal or 'expose the tunable hyperparameters as flags and report the validation metrics'}\n"
                f"Parameters found by static analysis (JSON): {json.dumps(params, default=str)}\n"
                f"{_addition_rules()}\n\n"
                f"Current {path}:\n```python\n{source}```")
        messages = [{"role": "system", "content": REFACTOR_SYSTEM.replace("{path}", path)},
                    {"role": "user", "content": user}]
        from aft_tui.brain.verify import refactor_problems

        return await self._edit(messages, source, path, lambda updated: refactor_problems(source, updated))

    async def repair(self, source: str, traceback: str, diff: str, log_tail: str, path: str | None = None,
                     check: Callable[[str], list[str]] | None = None) -> EditProposal | None:
        path = path or _path_from_diff(diff) or "train.py"
        check = check or _syntax_problems

        def build(tb: int, df: int, log: int) -> list[dict[str, Any]]:
            parts = [f"The script {path} failed.", f"Traceback:\n{clip(traceback, tb)}"]
            if diff and df:
                parts.append(f"The diff that broke it:\n```diff\n{clip(diff, df)}```")
            if log_tail and log:
                parts.append(f"End of its log:\n{clip(log_tail, log)}")
            parts.append(f"Current {path}:\n```python\n{source}```")
            return [{"role": "system", "content": REPAIR_SYSTEM.replace("{path}", path)},
                    {"role": "user", "content": "\n\n".join(parts)}]

        try:
            return await self._edit(build(6000, 6000, 3000), source, path, check)
        except LLMError as exc:
            if exc.kind != "context":
                raise
            self._info("The repair request is too long for the model; retrying once with a shorter traceback "
                       "and diff and no log tail.")
            return await self._edit(build(1500, 1500, 0), source, path, check)

    async def _edit(self, messages: list[dict[str, Any]], source: str, path: str,
                    check: Callable[[str], list[str]]) -> EditProposal | None:
        """Ask, apply, and send failures back ("did you mean") at most MAX_REFLECTIONS times."""
        from aft_tui.target.edits import EditMatchError, apply_edits, parse_edit_blocks, unified_diff

        self.last_problem = None
        problem = ""
        for reflections in range(MAX_REFLECTIONS + 1):
            reply = await self.client.complete(messages)
            blocks = parse_edit_blocks(reply.text)
            wrong_file = _other_files(reply.text, path)
            updated = source
            if not blocks:
                problem = ("Your reply has no SEARCH/REPLACE blocks; answer with blocks in the exact format "
                           "described, quoting lines of the current file in SEARCH.")
            elif wrong_file:
                problem = (f"Only {path} may be edited here (the reply names {wrong_file}); "
                           f"send the blocks for {path} only.")
            else:
                try:
                    updated = apply_edits(source, blocks, path)
                except EditMatchError as exc:
                    problem = exc.message + "\nSend corrected SEARCH/REPLACE blocks (all of them again)."
                else:
                    issues = ["it changes nothing"] if updated == source else check(updated)
                    if not issues:
                        return EditProposal(path=path, original=source, updated=updated,
                                            diff=unified_diff(source, updated, path),
                                            rationale=_rationale(reply.text), reflections=reflections)
                    problem = ("The edit applied but " + "; ".join(issues) + ". Send corrected SEARCH/REPLACE "
                               "blocks against the current file shown earlier (all of them again).")
            if reflections < MAX_REFLECTIONS:
                messages = messages + [{"role": "assistant", "content": reply.text},
                                       {"role": "user", "content": problem}]
        self._reject(f"The model's edit of {path} was not usable after {MAX_REFLECTIONS} corrections "
                     f"({_first_sentence(problem)}); nothing was changed.")
        return None

    # -- hooks for the engine's refactor/repair workflow ------------------------------------
    async def repair_plan(self, engine: Any, discovery: Any, chosen: list[str], failed: Any) -> tuple[Any, str] | None:
        """Repair a refactor whose smoke run failed: the rule-based plan for `chosen` is rebuilt, the
        model fixes its source from the traceback, and the result must pass the same static check.
        Returns (plan, note) for the workflow to propose, smoke-run and commit, or None to bisect instead."""
        import asyncio
        import dataclasses

        from aft_tui.target.edits import unified_diff
        from aft_tui.target.equivalence import check_static
        from aft_tui.target.refactor import plan_refactor

        self.attach(engine)
        broken = await asyncio.to_thread(plan_refactor, engine.work_script, discovery, chosen,
                                         project_root=engine.work_root)
        path = str(engine.info.rel_script)
        tail = [redact(line) for line in (failed.outcome.tail or [])]
        traceback = _traceback_in(tail) or failed.outcome.reason or failed.summary

        def check(updated: str) -> list[str]:
            problems = _syntax_problems(updated)
            if problems:
                return problems
            return list(check_static(broken.original, updated, dataclasses.replace(broken, new_source=updated)).problems)

        try:
            proposal = await self.repair(broken.new_source, traceback, broken.diff, "\n".join(tail[-60:]), path, check)
        except LLMError as exc:
            self._info(f"{exc.message} The offline repair takes over.")
            return None
        if proposal is None:
            return None
        plan = dataclasses.replace(broken, new_source=proposal.updated,
                                   diff=unified_diff(broken.original, proposal.updated, path),
                                   rationale=f"{broken.rationale} Repaired by {self.model}: {proposal.rationale}")
        return plan, f"{self.model} repaired the refactor after {failed.summary}: {proposal.rationale}"

    async def refactor_plan(self, engine: Any, discovery: Any, goal: str = "") -> Any | None:
        """A model-written refactor as a plan the workflow can prove, propose, smoke-run and commit
        (for scripts the rule-based refactor cannot change); None when the model offers nothing usable."""
        from aft_tui.brain.verify import added_flags, derived_bindings
        from aft_tui.target.params import Param
        from aft_tui.target.refactor_plan import RefactorPlan

        self.attach(engine)
        from aft_tui.target.source_text import read_source

        source = read_source(engine.work_script)
        data = discovery.to_dict() if hasattr(discovery, "to_dict") else dict(discovery or {})
        data["path"] = str(engine.info.rel_script)
        try:
            proposal = await self.refactor(source, data, goal)
        except LLMError as exc:
            self._info(f"{exc.message} Only the rule-based refactor is available.")
            return None
        if proposal is None:
            return None
        flags = added_flags(source, proposal.updated)
        lifted = [Param(name=f.dest, type=f.type if f.type in ("int", "float", "bool", "str") else "str",
                        default=f.default, source="constant", flag=f.flag) for f in flags]
        return RefactorPlan(path=engine.work_script, original=source, new_source=proposal.updated, diff=proposal.diff,
                            rationale=f"Written by {self.model}: {proposal.rationale}", lifted=lifted,
                            reporting="model-written", parser_mode="new",
                            bindings=derived_bindings(source, proposal.updated))

    async def code_experiment(self, request: CodeExperimentRequest) -> CodeExperimentIdea | None:
        """One change to the script for the research loop; None (why in last_problem) when the model
        declines or sends no usable diff after one retry. The caller checks its scope before it runs."""
        self.last_problem = None
        outcome = await ask_model(self.client, request, self._info)
        if isinstance(outcome, str):
            self._reject(outcome)
            return None
        return outcome

    # -- parameters ----------------------------------------------------------------------
    async def propose_params(self, space: Any, records: list[dict[str, Any]], findings: list[dict[str, Any]],
                             optimizer_choice: dict[str, Any] | None) -> ParamProposal | None:
        hybrid = optimizer_choice is not None
        self.last_problem = None
        objective = next(({"metric": r.get("metric"), "direction": r.get("direction")} for r in reversed(records)
                          if r.get("metric")), {})

        def build(rows: int, with_findings: bool) -> list[dict[str, Any]]:
            payload: dict[str, Any] = {"objective": objective, "search_space": space_for_prompt(space),
                                       "history": record_rows(records, rows)}
            if with_findings and findings:
                payload["findings"] = [f.get("sentence", f) if isinstance(f, dict) else f for f in findings[:6]]
            if hybrid:
                payload["optimizer_proposal"] = optimizer_choice
            return [{"role": "system", "content": HYBRID_SYSTEM if hybrid else PARAMS_SYSTEM},
                    {"role": "user", "content": json.dumps(payload, default=str)}]

        who = "the optimizer's choice runs" if hybrid else "the optimizer chooses this trial instead"
        try:
            try:
                reply = await self.client.complete(build(30, True), json_mode=True, model=self.small_model)
            except LLMError as exc:
                if exc.kind != "context":
                    raise
                self._info("The proposal request is too long for the model; retrying once with the last 5 trials "
                           "and no analysis.")
                reply = await self.client.complete(build(5, False), json_mode=True, model=self.small_model)
        except LLMError as exc:
            self._reject(f"{exc.message} For now {who}.")
            return None
        try:
            parsed = parse_proposal(reply.text, space, allow_keep=hybrid)
        except ProposalRejected as exc:
            self._reject(f"The model's parameter proposal was rejected before running: {exc}; {who}.")
            return None
        return ParamProposal(parsed.params, parsed.rationale, keep_optimizer=parsed.keep_optimizer)


def _addition_rules() -> str:
    """The exact shapes of added code the behaviour check accepts (it removes them and compares the rest)."""
    try:
        from aft_tui.target.hooks import REPORT_HELPER
    except ImportError:  # pragma: no cover - the hooks ship with the refactor
        REPORT_HELPER = "def _aft_report(record):\n    ...\n"
    return ("Add code only in these shapes; a check removes exactly them and requires the rest to be the original:\n"
            "- `import argparse` (if the script lacks it)\n"
            '- `_aft_parser = argparse.ArgumentParser(description="...")`\n'
            '- `_aft_parser.add_argument("--lr", type=float, default=<the original literal>, help="...")` '
            "(only the keywords type, default and help)\n"
            "- `_aft_args = _aft_parser.parse_args()`\n"
            "- each original literal replaced by `_aft_args.<dest>` (a module constant becomes `LR = _aft_args.lr`)\n"
            "- for metrics, this helper copied verbatim:\n" + REPORT_HELPER +
            '  called on its own line after each evaluation as `_aft_report({"epoch": epoch, "val_loss": val_loss})` '
            "(string keys; plain names or attributes as values).")


def _script_name(discovery: dict[str, Any]) -> str:
    for key in ("rel_path", "script", "path"):
        value = discovery.get(key)
        if isinstance(value, str) and value:
            name = value.replace("\\", "/")
            return name.rsplit("/", 1)[-1] if name.startswith("/") else name
    return "train.py"


def _path_from_diff(diff: str) -> str | None:
    match = re.search(r"^\+\+\+ b/(\S+)", diff or "", re.MULTILINE)
    return match.group(1) if match else None


_FILENAME_LINE = re.compile(r"^\s*`{0,3}\s*(?P<name>[\w./\\-]+\.(?:py|ya?ml|json|toml|cfg))\s*`{0,3}\s*$")


def _other_files(text: str, path: str) -> str | None:
    """A different file named right before a SEARCH marker (edits are confined to one script)."""
    lines = text.splitlines()
    base = path.rsplit("/", 1)[-1]
    for i, line in enumerate(lines):
        if line.startswith("<<<<<<< SEARCH"):
            for prev in reversed(lines[max(0, i - 2):i]):
                if prev.strip().startswith("```"):
                    continue
                match = _FILENAME_LINE.match(prev)
                if match:
                    name = match.group("name").replace("\\", "/")
                    if name != path and name.rsplit("/", 1)[-1] != base:
                        return name
                break
    return None


def _syntax_problems(updated: str) -> list[str]:
    try:
        compile(updated, "<edited>", "exec")
    except SyntaxError as exc:
        return [f"the edited script does not parse (line {exc.lineno}: {exc.msg})"]
    return []


def _traceback_in(lines: list[str]) -> str:
    """The last Python traceback in a log tail (what a repair needs most)."""
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    return "\n".join(lines[starts[-1]:]) if starts else ""


def _rationale(text: str) -> str:
    match = re.search(r"Rationale:\s*(.+)", text, re.IGNORECASE | re.DOTALL)
    if match:
        return " ".join(match.group(1).split())[:1000]
    outside = re.sub(r"<{5,9} SEARCH.*?>{5,9} REPLACE[^\n]*", "", text, flags=re.DOTALL)
    outside = re.sub(r"```\w*", "", outside)
    return " ".join(outside.split())[:1000]


def _first_sentence(text: str) -> str:
    head = text.split("\n", 1)[0].strip()
    return head.rstrip(".")
