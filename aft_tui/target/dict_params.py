"""Dict-literal parameter sets handed to a booster: `params = {"num_leaves": 31, ...}` passed to
`lgb.train(params, ...)`, `xgb.train`, `CatBoostRegressor(**params)` and the like.

Each numeric or boolean value of such a dict is one setting, named by its key. Keys that choose
the task rather than tune it (`objective`, `metric`, `boosting_type`) are strings and are left
alone; seeds, thread counts and verbosity are reported but not tuned. A dict that is changed
after it is written, or a key that is, is skipped: its literal is not what the run uses.
"""

from __future__ import annotations

import libcst as cst

from aft_tui.target.knobs import is_knob
from aft_tui.target.literals import constant_expression_of, dotted_name, last_part, positional_args, string_value
from aft_tui.target.names import identifier
from aft_tui.target.params import Param, literal_param
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]

_BOOSTER_ROOTS = frozenset({"lightgbm", "xgboost", "catboost"})
# Keys that are not settings of the fit whatever their value.
_NOT_KNOBS = frozenset({"verbose", "verbosity", "silent", "metric", "eval_metric", "objective", "num_class", "device", "device_type", "gpu_id", "gpu_platform_id", "gpu_device_id"})


def dict_params(script: Script, searched: set[cst.CSTNode] | None = None) -> tuple[list[Param], list[Skipped]]:
    """Settings in dict literals that reach a booster's training call or an estimator."""
    params: list[Param] = []
    skipped: list[Skipped] = []
    for dict_node, holder in _training_dicts(script):
        if searched and dict_node in searched:
            continue
        changed_keys, whole = _changes(script, holder)
        if whole:
            skipped.append((holder or "params", script.loc(dict_node), f"`{holder}` {whole}, so its literal is not what the run uses"))
            continue
        for element in dict_node.elements:
            if not isinstance(element, cst.DictElement):
                continue
            key = string_value(element.key)
            if key is None:
                continue
            lit = constant_expression_of(element.value, script.module)
            if lit is None or lit.type == "str":
                continue
            loc = script.loc(element.value)
            if key in changed_keys:
                skipped.append((key, loc, f"{holder}[{key!r}] is set again later, so the literal is not what the run uses"))
                continue
            plumbing = key in _NOT_KNOBS or not is_knob(key, lit.type, lit.value, kind="literal")
            params.append(
                literal_param(
                    script, element.value, lit.type, lit.value, lit.code,
                    name=identifier(key),
                    typed_by=key,
                    source="kwarg",
                    location=loc,
                    help=f"{key!r} of the {holder or 'parameter'} dict",
                    prefix=identifier(holder or "params"),
                    tunable=not plumbing,
                    lead={"dict": holder, "key": key},
                    tail={"origin": "dict_key"},
                )
            )
    return params, skipped


def _is_training_call(script: Script, call: cst.Call) -> bool:
    qualified = script.qualified(dotted_name(call.func)) or ""
    name = last_part(qualified)
    if qualified.split(".")[0] in _BOOSTER_ROOTS:
        return True
    return name.endswith(("Classifier", "Regressor", "Ranker")) or name == "set_params"


def _training_dicts(script: Script) -> list[tuple[cst.Dict, str | None]]:
    """(dict literal, name it is bound to) for each dict that a training call receives."""
    bound: dict[str, list[cst.Dict]] = {}
    for assign in script.find(cst.Assign):
        if isinstance(assign.value, cst.Dict) and len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name):
            bound.setdefault(assign.targets[0].target.value, []).append(assign.value)
    found: list[tuple[cst.Dict, str | None]] = []
    for call in script.find(cst.Call):
        if not _is_training_call(script, call):
            continue
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value not in ("params", "param"):
                continue
            if arg.keyword is None and not arg.star and arg is not (positional_args(call) or [None])[0]:
                continue
            value = arg.value
            if isinstance(value, cst.Dict):
                found.append((value, None))
            elif isinstance(value, cst.Name) and len(bound.get(value.value, [])) == 1:
                entry = (bound[value.value][0], value.value)
                if entry not in found:
                    found.append(entry)
    return found


def _changes(script: Script, holder: str | None) -> tuple[set[str], str | None]:
    """(keys assigned later, a reason the whole dict is unreliable or None)."""
    if holder is None:
        return set(), None
    keys: set[str] = set()
    for sub in script.find(cst.Subscript):
        if not (isinstance(sub.value, cst.Name) and sub.value.value == holder):
            continue
        parent = script.parent(sub)
        if isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.Del)):
            index = sub.slice[0].slice if sub.slice else None
            key = string_value(index.value) if isinstance(index, cst.Index) else None
            if key is None:
                return keys, "is changed with computed keys"
            keys.add(key)
    for attr in script.find(cst.Attribute):
        if isinstance(attr.value, cst.Name) and attr.value.value == holder and attr.attr.value in ("update", "pop", "setdefault", "clear"):
            return keys, f"is changed by .{attr.attr.value}()"
    return keys, None
