"""The Brain protocol: what the engine and the strategies may ask of an assistant.

Two brains implement it: the offline brain (rule-based, always available) and the LLM
brain (any litellm model). Callers never branch on which one they hold; a `None` answer
means "no opinion", and the rule-based code or the optimizer decides instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol

from aft_tui.errors import UserError
from aft_tui.tuning.proposer import ParamProposal  # a brain is the tuning layer's ParamProposer

if TYPE_CHECKING:  # pragma: no cover
    from aft_tui.tuning.space import SearchSpace

ChunkCallback = Callable[[str], None]


class BrainError(UserError):
    """The model could not be used (bad key, unknown model, unreachable server, ...).

    The message is one sentence with the fix, already free of secrets.
    """


@dataclass
class EditProposal:
    """A change to one file, proposed by the brain and not yet applied to disk."""

    path: str  # relative to the workspace root
    original: str
    updated: str
    diff: str
    rationale: str = ""
    reflections: int = 0  # how many "did you mean" round trips it took


class Brain(Protocol):
    name: str
    model: str | None  # the LLM's name; None for the offline brain
    last_problem: str | None  # why the last request got no proposal

    async def chat(self, text: str, context: dict[str, Any], on_chunk: ChunkCallback, engine: Any) -> str:
        """Answer the person; stream pieces of the answer to `on_chunk`; return the whole answer."""

    async def refactor(self, source: str, discovery: dict[str, Any], goal: str) -> EditProposal | None:
        """Propose an edit that makes the script tunable, or None to leave it to the rule-based refactor."""

    async def repair(self, source: str, traceback: str, diff: str, log_tail: str) -> EditProposal | None:
        """Propose a fix for a script that failed after `diff`, or None when there is no fix to offer."""

    async def propose_params(self, space: "SearchSpace", records: list[dict[str, Any]],
                             findings: list[dict[str, Any]], optimizer_choice: dict[str, Any] | None
                             ) -> ParamProposal | None:
        """Parameters for the next trial, or None to let the optimizer choose."""

    @property
    def usage(self) -> dict[str, Any]:
        """Tokens and cost spent in this session: prompt_tokens, completion_tokens, cost_usd."""
