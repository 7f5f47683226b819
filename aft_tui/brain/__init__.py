"""Brains: the offline brain (always there) and the LLM brain (when a model is configured).

Importing this package is cheap; litellm is imported only when the LLM brain first talks
to a model.
"""

from __future__ import annotations

import os
from typing import Any

from aft_tui.brain.base import Brain, BrainError, EditProposal, ParamProposal

__all__ = ["Brain", "BrainError", "EditProposal", "ParamProposal", "get_brain"]


def get_brain(settings: Any) -> Brain:
    """The LLM brain when a model is configured (settings.model or AFT_MODEL), else the offline brain."""
    model = getattr(settings, "model", None) or os.environ.get("AFT_MODEL")
    if model:
        from aft_tui.brain.llm import LLMBrain

        return LLMBrain(model=model, api_base=getattr(settings, "api_base", None) or os.environ.get("AFT_API_BASE"),
                        small_model=getattr(settings, "small_model", None),
                        timeout=getattr(settings, "llm_timeout", None))
    from aft_tui.brain.offline import OfflineBrain

    return OfflineBrain()
