"""The slash-command router shared by the Textual app and the plain REPL.

Views hand it the line the person typed and render the `CommandResult` it returns; every
decision (what a command means, whether it may run now, which proposal "approve" refers
to) is made here, so the TUI and the REPL behave the same. Free text goes to the
assistant through `Engine.chat`. No UI toolkit is imported. The commands themselves
(names, usage, parsing) are in `slash_commands.py`.

`view` is the views' folded event state (a `SessionView`, or any object with `latest_proposal()`,
`records()`, `status_fields()`); replay passes no engine, and then only the read-only commands work.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TYPE_CHECKING

from aft_tui.errors import UserError
from aft_tui.formatting import fmt_params, fmt_value
from aft_tui.slash_commands import (BY_NAME, COMMANDS, CommandSpec, ParsedCommand, help_text, is_research_control,
                                     is_research_report, parse)
from aft_tui.ui import research_commands

if TYPE_CHECKING:
    from aft_tui.engine.engine import Engine


@dataclass
class CommandResult:
    """What a view renders. `text` is always a readable fallback (markdown-safe plain text)."""

    kind: str  # text | error | runs | status | compare | diff | help | theme | quit | chat | done | decided
    text: str = ""
    data: Any = None

    @property
    def ok(self) -> bool:
        return self.kind != "error"


class CommandRouter:
    def __init__(self, engine: Engine | None, view: Any | None = None, themes: Sequence[str] = (),
                 save_setting: Callable[[str, Any], None] | None = None,
                 editor: Callable[[str, str], str] | None = None) -> None:
        self.engine = engine
        self.view = view
        self.themes = list(themes)
        self.active: str | None = None  # the workflow step running now
        if save_setting is None:
            from aft_tui.settings import save_user_setting as save_setting
        self._save_setting = save_setting
        # editor(text, file_name) -> edited text; views supply one that owns the terminal meanwhile.
        self.editor = editor

    @property
    def read_only(self) -> bool:
        return self.engine is None

    # -- completion ---------------------------------------------------------------------
    def complete(self, text: str) -> list[str]:
        """Whole-line candidates for what has been typed so far (empty for free text)."""
        if not text.startswith("/"):
            return []
        head, space, tail = text[1:].partition(" ")
        if not space:
            names = [s.name for s in COMMANDS] + [a for s in COMMANDS for a in s.aliases]
            usable = [n for n in names if n.startswith(head.lower()) and (not self.read_only or BY_NAME[n].read_only)]
            return [f"/{n}" for n in sorted(usable, key=lambda n: (n != head, len(n), n))]
        spec = BY_NAME.get(head.lower())
        if spec is None:
            return []
        words = tail.split(" ")
        current = words[-1]
        prefix = text[: len(text) - len(current)]
        return [prefix + c for c in self._argument_candidates(spec, words[:-1]) if c.startswith(current) and c != current]

    def _argument_candidates(self, spec: CommandSpec, before: list[str]) -> list[str]:
        if spec.name == "theme":
            return list(self.themes)
        if spec.name in ("compare", "rollback"):
            return [str(r.get("number")) for r in self._records()]
        if spec.name in ("approve", "reject", "edit") and not before:
            return [p.proposal_id for p in self._pending()]
        if spec.options:
            return list(spec.options)
        return []

    # -- running ---------------------------------------------------------------------------
    async def run(self, line: str) -> CommandResult:
        """Run one line typed by the person; never raises for bad input (returns an error result)."""
        line = line.strip()
        if not line:
            return CommandResult("text", "")
        try:
            if not line.startswith("/"):
                return await self._chat(line)
            parsed = parse(line)
            if self.read_only and not parsed.spec.read_only:
                return CommandResult("error", f"/{parsed.spec.name} is not available in a replay: it only shows "
                                              "what was recorded; open the project with `aft chat` to act on it.")
            handler = getattr(self, f"_cmd_{parsed.spec.name}")
            if is_research_control(parsed):
                return CommandResult(*research_commands.control(self.engine, parsed.args))
            if is_research_report(parsed):
                return CommandResult(*await asyncio.to_thread(research_commands.report, self.engine))
            if parsed.spec.workflow:
                return await self._workflow(parsed, handler)
            return await handler(parsed)
        except UserError as exc:
            return CommandResult("error", exc.chat_message)

    async def _workflow(self, parsed: ParsedCommand, handler: Callable) -> CommandResult:
        if self.active is not None:
            return CommandResult("error", f"/{self.active} is still running; wait for it to finish or type /stop.")
        self.active = parsed.spec.name
        if hasattr(self.engine, "stop_requested"):
            self.engine.stop_requested = False
        try:
            return await handler(parsed)
        finally:
            self.active = None

    def is_workflow(self, line: str) -> bool:
        """Whether the line starts a long step (views run those in the background)."""
        if not line.strip().startswith("/"):
            return True  # the assistant may take a while too
        try:
            parsed = parse(line)
            return parsed.spec.workflow and not is_research_control(parsed) and not is_research_report(parsed)
        except UserError:
            return False

    # -- free text ---------------------------------------------------------------------------
    async def _chat(self, text: str) -> CommandResult:
        if self.read_only:
            return CommandResult("error", "This is a replay: it shows what was recorded and cannot answer; "
                                          "open the project with `aft chat` to talk to the assistant.")
        if research_commands.running(self.engine):  # while research runs, words to it steer it
            return CommandResult(*research_commands.control(self.engine, ["steer", text]))
        try:
            reply = await self.engine.chat(text)
        except ImportError:
            return CommandResult("error", "The assistant is not available in this installation; "
                                          "slash commands still work (type /help).")
        return CommandResult("chat", reply)

    # -- workflow steps ------------------------------------------------------------------------
    async def _step(self, name: str, *args: Any) -> CommandResult:
        step = getattr(self.engine, name, None)
        if step is None:
            return CommandResult("error", f"This version of AFT has no /{name} step yet; use /tune on a script "
                                          "that already takes its hyperparameters as flags.")
        result = await step(*args)
        if result is False or (name == "pipeline" and result is None):
            return CommandResult("error", f"/{name} stopped before it finished; the messages above say why.", result)
        return CommandResult("done", _summarise(name, result), result)

    async def _cmd_pipeline(self, parsed: ParsedCommand) -> CommandResult:
        trials = _trials(parsed)
        return await (self._step("pipeline", trials) if trials is not None else self._step("pipeline"))

    async def _cmd_refactor(self, parsed: ParsedCommand) -> CommandResult:
        return await self._step("refactor")

    async def _cmd_repair(self, parsed: ParsedCommand) -> CommandResult:
        return await self._step("repair")

    async def _cmd_tune(self, parsed: ParsedCommand) -> CommandResult:
        summary = await self.engine.tune(_trials(parsed))
        return CommandResult("done", _summarise("tune", summary), summary)

    async def _cmd_research(self, parsed: ParsedCommand) -> CommandResult:
        return CommandResult(*await research_commands.start(self.engine, parsed))

    async def _cmd_stop(self, parsed: ParsedCommand) -> CommandResult:
        if self.active is None:
            return CommandResult("text", "Nothing is running.")
        self.engine.request_stop()
        return CommandResult("text", f"Stopping /{self.active}: running trials are cancelled and recorded; "
                                     "/tune resumes where it stopped.")

    # -- proposals ---------------------------------------------------------------------------
    def _pending(self) -> list[Any]:
        if self.view is not None:
            return list(self.view.pending())
        return []

    def _pending_id(self, requested: str | None) -> str:
        pending = list(self.engine.pending_proposals) if self.engine is not None else []
        if requested:
            if requested not in pending:
                known = ", ".join(pending) or "none"
                raise UserError(f"There is no pending proposal '{requested}' (pending: {known}).")
            return requested
        if not pending:
            raise UserError("There is no proposal waiting for a decision.")
        return pending[0]

    def decide(self, proposal_id: str | None, approved: bool, feedback: str = "",
               edited_diff: str | None = None) -> CommandResult:
        """Approve or reject (the views' keys land here too)."""
        try:
            if self.engine is None:
                raise UserError("A replay cannot approve or reject: it only shows what was decided.")
            pid = self._pending_id(proposal_id)
            self.engine.decide(pid, approved, feedback.strip(), edited_diff)
        except UserError as exc:
            return CommandResult("error", exc.message)
        verdict = "Approved" if approved else "Rejected"
        edited = " after your edit" if edited_diff is not None else ""
        return CommandResult("decided", f"{verdict} {pid}{edited}.", pid)

    def edit(self, proposal_id: str | None = None) -> CommandResult:
        """Open the pending proposal's diff in the editor; a changed diff is approved as edited."""
        try:
            if self.engine is None:
                raise UserError("A replay cannot edit proposals: it only shows what was decided.")
            pid = self._pending_id(proposal_id)
            state = self.view.proposals.get(pid) if self.view is not None else None
            if state is None:
                raise UserError(f"The diff of {pid} is not known to this view; approve or reject it instead.")
            from aft_tui.ui.proposal_text import editable

            if not editable(state.proposal):
                what = state.proposal.proposal_kind or "this proposal"
                raise UserError(f"{pid} is a {what} with no file edit to change; approve it, or reject it with a "
                                "reason (/reject REASON) and say what you want instead.")
            editor = self.editor
            if editor is None:
                from aft_tui.ui.editor import edit_text as editor
            original = state.proposal.diff
            edited = editor(original, f"{pid}.diff")
        except UserError as exc:
            return CommandResult("error", exc.message)
        if edited == original:
            return CommandResult("text", f"The diff was not changed; {pid} still waits for a decision.")
        return self.decide(pid, True, "edited by the user", edited_diff=edited)

    async def _cmd_edit(self, parsed: ParsedCommand) -> CommandResult:
        return self.edit(parsed.args[0] if parsed.args else None)

    async def _cmd_approve(self, parsed: ParsedCommand) -> CommandResult:
        return self.decide(parsed.args[0] if parsed.args else None, True)

    async def _cmd_reject(self, parsed: ParsedCommand) -> CommandResult:
        args = list(parsed.args)
        pending = list(self.engine.pending_proposals)
        pid = args.pop(0) if args and args[0] in pending else None
        return self.decide(pid, False, " ".join(args))

    # -- views of the session ----------------------------------------------------------------------
    def _records(self) -> list[dict[str, Any]]:
        if self.engine is not None:
            try:
                return self.engine.runs()
            except Exception:  # an unreadable results file must not break completion
                return []
        return self.view.records() if self.view is not None else []

    async def _cmd_runs(self, parsed: ParsedCommand) -> CommandResult:
        records = self._records()
        if not records:
            return CommandResult("runs", "No trials yet; type /tune to start.", [])
        lines = []
        for r in sorted(records, key=lambda r: r.get("number", 0)):
            params = fmt_params((r.get("params") or {}))
            lines.append(f"  {r.get('number')}: {r.get('status')}  {r.get('metric') or 'value'}={fmt_value(r.get('value'))}"
                         f"  {params}  {fmt_value(r.get('duration'))}s  {(r.get('commit') or '')[:10]}")
        script_args = next((r.get("script_args") for r in records if r.get("script_args")), None)
        if script_args:
            from aft_tui.target.script_args import describe

            lines.insert(0, f"  script arguments: {describe(script_args)}")
        return CommandResult("runs", "Trials:\n" + "\n".join(lines), records)

    async def _cmd_status(self, parsed: ParsedCommand) -> CommandResult:
        fields_ = dict(self.view.status_fields()) if self.view is not None else {}
        if self.engine is not None:
            fields_.setdefault("session", self.engine.session_id)
            fields_["target"] = self.engine.state.target
            fields_["assistant"] = self.engine.settings.model or "offline (built-in)"
            if self.active:
                fields_["running"] = f"/{self.active}"
        text = "\n".join(f"  {k}: {v}" for k, v in fields_.items())
        return CommandResult("status", "Status:\n" + text, fields_)

    async def _cmd_compare(self, parsed: ParsedCommand) -> CommandResult:
        if len(parsed.args) != 2:
            raise UserError("/compare needs two trials, e.g. /compare 1 3.")
        import asyncio

        comparison = await asyncio.to_thread(self.engine.compare, parsed.args[0], parsed.args[1])
        return CommandResult("compare", comparison.render_text(), comparison)

    async def _cmd_rollback(self, parsed: ParsedCommand) -> CommandResult:
        if len(parsed.args) != 1:
            raise UserError("/rollback needs one trial, e.g. /rollback 2.")
        if self.active is not None:
            raise UserError(f"/{self.active} is running; /stop it before rolling back.")
        sha = await self.engine.rollback(parsed.args[0])
        return CommandResult("text", f"The branch now holds trial {parsed.args[0]}'s state in new commit {sha[:10]} "
                                     "(history kept).", sha)

    async def _cmd_diff(self, parsed: ParsedCommand) -> CommandResult:
        state = self.view.latest_proposal() if self.view is not None else None
        if state is None:
            return CommandResult("text", "No proposal yet in this session.")
        from aft_tui.ui.proposal_text import what_will_run

        p = state.proposal
        body = "\n\n".join(part for part in (what_will_run(p), p.diff) if part)
        text = f"Proposal {p.proposal_id} ({p.proposal_kind}, {state.verdict}): {p.title}\n{p.rationale}\n\n{body}"
        return CommandResult("diff", text, state)

    async def _cmd_theme(self, parsed: ParsedCommand) -> CommandResult:
        if not parsed.args:
            return CommandResult("text", f"Themes: {', '.join(self.themes) or 'none found'}; e.g. /theme light.")
        name = parsed.args[0]
        if self.themes and name not in self.themes:
            raise UserError(f"No theme '{name}'; available themes: {', '.join(self.themes)}.")
        self._save_setting("theme", name)
        return CommandResult("theme", f"Theme set to {name} (remembered).", name)

    async def _cmd_model(self, parsed: ParsedCommand) -> CommandResult:
        from aft_tui.ui.usage import usage_line, used

        settings = self.engine.settings
        api_base = parsed.options.get("api-base")
        if not parsed.args and api_base is None:
            if settings.model:
                where = f" at {settings.api_base}" if settings.api_base else ""
                current = f"{settings.model}{where}"
            else:
                current = ("none: the offline assistant answers (set one with /model NAME, e.g. /model "
                           "openai/gpt-4o-mini, with the provider's key in the environment)")
            spent = getattr(self.engine, "llm_usage", None)
            tail = f" {usage_line(spent)} so far in this session." if used(spent) else ""
            return CommandResult("text", f"Assistant model: {current}.{tail}", settings.model)
        if len(parsed.args) > 1:
            raise UserError("/model takes one model name, e.g. /model openai/gpt-4o-mini or /model offline.")
        name = parsed.args[0] if parsed.args else settings.model
        if not name:
            raise UserError("Name the model to use at that address, e.g. /model openai/my-model --api-base "
                            "http://localhost:8000/v1.")
        model = None if name in ("offline", "none") else name
        set_model = getattr(self.engine, "set_model", None)
        if callable(set_model):
            set_model(model, api_base)
        else:
            settings.model = model
            if api_base is not None:
                settings.api_base = api_base or None
            self.engine._brain = None  # the next message builds the brain for the new model
        self._save_setting("model", model or "")
        if api_base is not None:
            self._save_setting("api_base", api_base)
        if model is None:
            return CommandResult("text", "The assistant is now the offline one (remembered); every command still "
                                         "works.", None)
        where = f" at {settings.api_base}" if settings.api_base else ""
        return CommandResult("text", f"The assistant now uses {model}{where} (remembered); the next message goes "
                                     f"to it. Keys are read from the environment only.", model)

    async def _cmd_help(self, parsed: ParsedCommand) -> CommandResult:
        return CommandResult("help", help_text(), list(COMMANDS))

    async def _cmd_quit(self, parsed: ParsedCommand) -> CommandResult:
        if self.active is not None and self.engine is not None:
            self.engine.request_stop()
        return CommandResult("quit", "Bye.")


def _trials(parsed: ParsedCommand) -> int | None:
    raw = parsed.options.get("trials") or (parsed.args[0] if parsed.args else None)
    if raw is None:
        return None
    try:
        trials = int(raw)
    except ValueError:
        raise UserError(f"--trials needs a whole number (got '{raw}'), e.g. /{parsed.spec.name} --trials 4.") from None
    if trials < 1:
        raise UserError(f"--trials must be at least 1, e.g. /{parsed.spec.name} --trials 4.")
    return trials


def _summarise(step: str, result: Any) -> str:
    if not isinstance(result, dict):
        return f"/{step} finished."
    best = result.get("best")
    if isinstance(best, dict) and best.get("value") is not None:
        params = fmt_params((best.get("params") or {}))
        return (f"/{step} finished: {result.get('trials', '?')} trial(s), best {result.get('metric')}="
                f"{fmt_value(best['value'])} (trial {best.get('number')}): {params}. Reason: {result.get('end_reason', '')}.")
    if "trials" in result:
        return f"/{step} finished: {result.get('trials')} trial(s), none succeeded ({result.get('end_reason', '')})."
    return f"/{step} finished."
