"""Module-level UPPER_CASE constants that look like hyperparameters (`LR = 3e-4`)."""

from __future__ import annotations

from collections import Counter

import libcst as cst

from aft_tui.target.literals import compact, constant_expression_of
from aft_tui.target.names import (
    identifier,
    is_feature_switch,
    is_seed,
    looks_like_hyperparameter,
    looks_like_tunable_string,
)
from aft_tui.target.params import Param, literal_param
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]


def module_assignments(module: cst.Module) -> list[tuple[str, cst.BaseExpression | None, cst.SimpleStatementLine]]:
    """(name, value, statement) for each simple `NAME = value` / `NAME: T = value` at module level."""
    found = []
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    if isinstance(target.target, cst.Name):
                        found.append((target.target.value, small.value if len(small.targets) == 1 else None, stmt))
            elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                found.append((small.target.value, small.value, stmt))
            elif isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
                found.append((small.target.value, None, stmt))
    return found


def constant_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    params: list[Param] = []
    skipped: list[Skipped] = []
    assignments = module_assignments(script.module)
    counts = Counter(name for name, _, _ in assignments)
    for name, value, stmt in assignments:
        if not _is_upper(name):
            continue
        seed = is_seed(name)
        if not (seed or looks_like_hyperparameter(name)):
            continue
        loc = script.loc(stmt)
        if counts[name] > 1:
            if not any(s[0] == name for s in skipped):
                skipped.append((name, loc, f"{name} is assigned more than once at module level"))
            continue
        if value is None:
            skipped.append((name, loc, "assigned together with other names, not a single literal"))
            continue
        lit = constant_expression_of(value, script.module)
        if lit is None and isinstance(value, (cst.Name, cst.Attribute, cst.Subscript)) and not (
            isinstance(value, cst.Name) and value.value == "None"
        ):
            continue  # `LR = args.lr`, `EPOCHS = cfg["epochs"]`: set elsewhere, reported there
        if lit is None:
            kind = "a tuple or list" if isinstance(value, (cst.Tuple, cst.List)) else "a computed value"
            if isinstance(value, cst.Name) and value.value == "None":
                kind = "None"
            skipped.append((name, loc, f"{kind} `{compact(script.code(value), 60)}`, not a literal"))
            continue
        if lit.type == "str" and not looks_like_tunable_string(name, lit.value):
            continue
        params.append(
            literal_param(
                script, value, lit.type, lit.value, lit.code,
                name=identifier(name.lower()),
                typed_by=name,
                source="constant",
                location=loc,
                help=f"module constant {name}",
                prefix="const",
                tunable=not seed and not is_feature_switch(name, lit.type, lit.value),
                lead={"constant": name},
            )
        )
    return params, skipped


def _is_upper(name: str) -> bool:
    return name.isupper() and any(c.isalpha() for c in name) and not name.startswith("__")
