"""What the `llm` and `hybrid` strategies ask of a model: parameters for the next trial.

The tuning layer knows no model. The brain implements `ParamProposer`, and the engine hands
the strategy its brain (see `engine/strategy.py`), so tuning never imports the brain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from aft_tui.tuning.space import SearchSpace


@dataclass
class ParamProposal:
    """Parameters for the next trial and why; `keep_optimizer` means "run the optimizer's choice"."""

    params: dict[str, Any]
    rationale: str = ""
    keep_optimizer: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class ParamProposer(Protocol):
    # The model's name for rationales ("proposed by openai/gpt-4o-mini"); None when there is
    # no model, and then every answer is None and the strategy says once that it needs one.
    model: str | None
    # Why the last call gave no proposal (a rejected reply, no model), for the trial's rationale.
    last_problem: str | None

    async def propose_params(self, space: SearchSpace, records: list[dict[str, Any]],
                             findings: list[dict[str, Any]], optimizer_choice: dict[str, Any] | None
                             ) -> ParamProposal | None:
        """Parameters for the next trial, or None to let the optimizer choose."""
