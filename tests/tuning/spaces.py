"""Search spaces and pretend trial records for the strategies' unit tests."""

from __future__ import annotations

from typing import Any

from aft_tui.tuning.space import Dimension, SearchSpace


def space() -> SearchSpace:
    return SearchSpace([
        Dimension("lr", "float", 0.01, "--lr", low=1e-4, high=1e-1, log=True),
        Dimension("epochs", "int", 10, "--epochs", low=2, high=40),
        Dimension("optimizer", "categorical", "adam", "--optimizer", choices=["adam", "sgd", "rmsprop"]),
    ])


STILL_IMPROVING = {"code": "still_improving", "sentence": "Validation accuracy was still rising at the last epoch.",
                   "severity": "info", "suggestion": {"epochs": "increase"}, "evidence": {"noise": 0.002}}
UNSTABLE = {"code": "diverged", "sentence": "Training is unstable; lower the learning rate.", "severity": "warning",
            "suggestion": {"learning_rate": "decrease"}, "evidence": {}}


def record(number: int, params: dict[str, Any], value: float | None, status: str = "ok",
           findings: list[dict[str, Any]] | None = None, choice: Any = None, reason: str = "",
           started_at: float = 0.0) -> dict[str, Any]:
    return {"number": number, "params": dict(params), "value": value, "status": status, "metric": "val_acc",
            "direction": "max", "findings": findings or [], "reason": reason, "started_at": started_at,
            "finished_at": started_at + 1, "strategy": choice.source if choice is not None else "defaults",
            "strategy_info": dict(choice.extra) if choice is not None else {},
            "rationale": choice.rationale if choice is not None else "the defaults"}
