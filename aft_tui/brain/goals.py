"""Goals said in plain words ("maximise accuracy", "try 20 trials") turned into settings.

Both brains use this: the offline brain to act on simple goals without a model, the LLM
brain as a cheap first pass. Only changes that are safe mid-session are applied; the rest
come back as a sentence saying how to do it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aft_tui.metric_names import lower_is_better, name_for_words
from aft_tui.tuning.base import ALL_STRATEGIES

_MAX = r"(?:maximi[sz]e|maximum|increase|raise|improve|higher|boost|optimi[sz]e)"
_MIN = r"(?:minimi[sz]e|minimum|decrease|reduce|lower|lessen|cut)"
_DIRECTION_RE = re.compile(rf"\b(?P<verb>{_MAX}|{_MIN})\b(?:\s+(?:the|my|our))?\s+(?P<metric>[A-Za-z_][\w\- ]{{0,40}}?)"
                           r"(?=$|[.,;!?]| and | with | in | using | within | for | to | on | by | over )",
                           re.IGNORECASE)
_TRIALS_RE = re.compile(r"(?<![\w.])(?P<n>[-+−]?\d{1,5})\s+(?:more\s+)?(?:trials?|runs?|experiments?|tries)\b", re.IGNORECASE)
_STRATEGY_RE = re.compile(rf"\b(?P<name>{'|'.join(ALL_STRATEGIES)})\b(?:\s+(?:strategy|search|sampler|optimi[sz]er))?",
                          re.IGNORECASE)
_STRATEGY_CUE = re.compile(r"\b(?:strategy|search|sampler|optimi[sz]er|use|switch|with)\b", re.IGNORECASE)
_BUDGET_RE = re.compile(r"\b(?:within|in|budget(?:\s+of)?|for)\s+(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>h|hours?|m|min|mins|minutes?|s|sec|secs|seconds?)\b",
                        re.IGNORECASE)
_TARGET_RE = re.compile(r"\b(?:stop\s+(?:at|when\s+\w+\s+(?:reaches|hits|is))|target(?:\s+of)?|reach(?:es)?)\s+(?P<v>-?\d+(?:\.\d+)?%?)",
                        re.IGNORECASE)


@dataclass
class GoalUpdate:
    """What a sentence asked for: settings safe to apply now, and sentences for the person."""

    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    understood: bool = False


def parse_goal(text: str, known_metrics: list[str] | None = None) -> GoalUpdate:
    """Pick out objective, trial count, strategy, time budget and target from free text."""
    update = GoalUpdate()
    match = _DIRECTION_RE.search(text)
    if match:
        words = re.sub(r"\b(?:the|my|our|model'?s?)\b", " ", match.group("metric"), flags=re.IGNORECASE)
        words = re.sub(r"\s+(?:please|now|more|further|a bit)$", "", words.strip(), flags=re.IGNORECASE).strip()
        if words and not re.fullmatch(r"(?:it|this|that|things|results?|performance|score)", words, re.IGNORECASE):
            verb = match.group("verb").lower()
            name = name_for_words(words, known_metrics)
            if re.match(_MAX, verb, re.IGNORECASE) and not verb.startswith("optimi"):
                direction = "max"
            elif re.match(_MIN, verb, re.IGNORECASE):
                direction = "min"
            else:  # "optimise val_loss": the metric's nature decides
                direction = "min" if lower_is_better(name) else "max"
            update.settings["metric"], update.settings["direction"] = name, direction
    match = _TRIALS_RE.search(text)
    if match:
        count = int(match.group("n").replace("−", "-"))
        if count > 0:
            update.settings["trials"] = count
        else:  # "-3 trials" is not 3 trials: say so rather than guess
            update.notes.append(f"A trial count must be 1 or more (got {match.group('n')}); say e.g. \"try 20 trials\".")
    for match in _STRATEGY_RE.finditer(text):
        name = match.group("name").lower()
        # "grid" or "random" alone are ordinary words; require a cue such as "use" or "search".
        if match.group(0).lower() != name or _STRATEGY_CUE.search(text):
            update.settings["strategy"] = name
            break
    match = _BUDGET_RE.search(text)
    if match:
        unit = match.group("unit").lower()
        factor = 3600 if unit.startswith("h") else 60 if unit.startswith("m") else 1
        update.settings["budget"] = float(match.group("n")) * factor
    match = _TARGET_RE.search(text)
    if match:
        raw = match.group("v")
        update.settings["target"] = float(raw.rstrip("%")) / (100 if raw.endswith("%") else 1)
    update.understood = bool(update.settings or update.notes)
    return update


def apply_goal(update: GoalUpdate, engine: Any) -> GoalUpdate:
    """Apply what is safe to the engine's settings; explain what is not."""
    if engine is None or not update.settings:
        return update
    applied: dict[str, Any] = {}
    state = getattr(engine, "state", None)
    current_metric = getattr(state, "metric", None)
    target = getattr(state, "target", "train.py")
    wanted = dict(update.settings)
    metric, direction = wanted.pop("metric", None), wanted.pop("direction", None)
    if metric is not None:
        if current_metric and (current_metric != metric or getattr(state, "direction", None) != direction):
            update.notes.append(
                f"This session already optimises {current_metric} ({'higher' if state.direction == 'max' else 'lower'} is better); "
                f"to optimise {metric} instead, start a new session: `aft tune {target} --metric {metric} --direction {direction}`.")
        else:
            applied.update(metric=metric, direction=direction)
    if "strategy" in wanted and _tuning_now(engine):
        update.notes.append(f"A tuning run is in progress; the {wanted.pop('strategy')} strategy will apply to the next `/tune`.")
    applied.update(wanted)
    if applied:
        engine.change_settings(applied, "the conversation")
        update.notes.insert(0, "Set " + ", ".join(_describe(k, v) for k, v in applied.items()) + ".")
    update.settings = applied
    return update


def _tuning_now(engine: Any) -> bool:
    in_flight = getattr(engine, "trials_in_flight", None)
    return callable(in_flight) and in_flight() > 0


def _describe(key: str, value: Any) -> str:
    if key == "direction":
        return f"direction={'max (higher is better)' if value == 'max' else 'min (lower is better)'}"
    if key == "budget":
        return f"budget={value:g} s"
    return f"{key}={value}"
