"""The conversation with the assistant: its brain, the model's spending, what it is told."""

from __future__ import annotations

from typing import Any

from aft_tui.engine import events as ev


class Conversation:
    """The engine's chat surface (mixed into Engine, which sets `settings`, `state`, `emit`,
    `runs` and `_message_ids`)."""

    @property
    def brain(self) -> Any:
        if getattr(self, "_brain", None) is None:
            from aft_tui.brain import get_brain

            self._brain = get_brain(self.settings)
            watch = getattr(self._brain, "watch_usage", None)
            if callable(watch):
                watch(self._count_llm_usage)
        return self._brain

    def set_model(self, model: str | None, api_base: str | None = None) -> None:
        """Switch the assistant's model (None: the offline brain); the next request uses it.

        The spending so far stays in the session's totals; the conversation with the old model
        is not carried over. The choice is saved with the session, so a resume keeps it.
        """
        self.settings.model = model or None
        if api_base is not None:
            self.settings.api_base = api_base or None
        self._brain = None
        # A resumed session talks to the model chosen last, not the one it started with.
        self.state.settings["model"] = self.settings.model
        self.state.settings["api_base"] = self.settings.api_base
        if self._log is not None:
            self.state.save(self.state_dir)

    @property
    def llm_usage(self) -> dict[str, Any]:
        """The session's model spending so far (kept in the session state, so it survives a resume)."""
        usage = self.state.notes.get("llm_usage")
        if not isinstance(usage, dict):
            usage = {"model": "", "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": None, "calls": 0}
        return usage

    def _count_llm_usage(self, model: str, prompt_tokens: int, completion_tokens: int, cost_usd: float | None) -> None:
        usage = dict(self.llm_usage)
        usage["model"] = model
        usage["prompt_tokens"] = int(usage.get("prompt_tokens") or 0) + int(prompt_tokens)
        usage["completion_tokens"] = int(usage.get("completion_tokens") or 0) + int(completion_tokens)
        if cost_usd:
            usage["cost_usd"] = float(usage.get("cost_usd") or 0.0) + float(cost_usd)
        usage["calls"] = int(usage.get("calls") or 0) + 1
        self.state.notes["llm_usage"] = usage
        self.state.save(self.state_dir)
        self.emit(ev.LLMUsage(**usage))

    def chat_context(self) -> dict[str, Any]:
        """What the assistant is told about the session: compact, never secrets."""
        results = self.runs()
        rows = [{k: r.get(k) for k in ("number", "status", "value", "params", "reason")} for r in results[-20:]]
        latest = next((r.get("findings") for r in reversed(results) if r.get("findings")), [])
        return {
            "target": self.state.target,
            "metric": self.state.metric or self.settings.metric,
            "direction": self.state.direction or self.settings.direction,
            "search_space": self.state.space,
            "runs": rows,
            "latest_findings": latest,
            "trials_budget": self.settings.trials,
            "branch": getattr(self._workspace, "branch", None),
        }

    async def chat(self, text: str) -> str:
        """Free text from the person: the brain answers (streamed) and may use engine tools."""
        self.emit(ev.UserMessage(text=text))
        message_id = f"m{next(self._message_ids)}"

        def on_chunk(chunk: str) -> None:
            self.emit(ev.AssistantMessage(text=chunk, message_id=message_id, final=False))

        reply = await self.brain.chat(text, self.chat_context(), on_chunk, self)
        self.emit(ev.AssistantMessage(text=reply, message_id=message_id, final=True))
        return reply
