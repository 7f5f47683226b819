"""Lowercase module-level hyperparameters: `learning_rate = 6e-4`, `batch_size = 12`, and the
same style of plain assignments at the top of an `if __name__ == "__main__":` block, which
functions then read as globals.

A name counts only when it is bound once, to a literal (or literal arithmetic such as
`2**19`), and nothing rebinds or mutates it: a value that changes while the script runs is not
a setting, and a value computed from data (`vocab_size = len(chars)`) is not a literal at all.
Names that say "hyperparameter" qualify; so does a bare name handed to a layer constructor as a
size (`nn.Embedding(n_class, m)`), which is a model width whatever it is called.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from aft_tui.target.knobs import is_knob
from aft_tui.target.literals import compact, constant_expression_of, dotted_name, last_part
from aft_tui.target.names import identifier, looks_like_hyperparameter, looks_like_tunable_string
from aft_tui.target.params import Param, literal_param
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]

# Layer constructors whose bare-name arguments are sizes of the model.
_LAYERS = frozenset(
    """
    Embedding Linear Bilinear Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d LSTM GRU RNN
    LSTMCell GRUCell RNNCell TransformerEncoderLayer TransformerDecoderLayer MultiheadAttention
    Dense Conv1D Conv2D Conv3D GCNConv GATConv SAGEConv GINConv
    """.split()
)
_MUTATORS = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "add", "discard", "sort", "reverse"})


def main_block(module: cst.Module) -> cst.If | None:
    """The `if __name__ == "__main__":` statement at module level, if any."""
    for stmt in module.body:
        if isinstance(stmt, cst.If) and isinstance(stmt.test, cst.Comparison):
            code = cst.Module(body=[]).code_for_node(stmt.test).replace("'", '"').replace(" ", "")
            if code in ('__name__=="__main__"', '"__main__"==__name__'):
                return stmt
    return None


def _simple_assignments(statements: list[cst.BaseStatement]) -> list[tuple[str, cst.BaseExpression, cst.SimpleStatementLine]]:
    found = []
    for stmt in statements:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                found.append((small.targets[0].target.value, small.value, stmt))
            elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
                found.append((small.target.value, small.value, stmt))
    return found


def module_value_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    """Lowercase values at module level and under `if __name__ == "__main__":`."""
    module = script.module
    candidates = [(n, v, s, False) for n, v, s in _simple_assignments(list(module.body))]
    main = main_block(module)
    if main is not None and isinstance(main.body, cst.IndentedBlock):
        candidates += [(n, v, s, True) for n, v, s in _simple_assignments(list(main.body.body))]
    params: list[Param] = []
    skipped: list[Skipped] = []
    for name, value, stmt, in_main in candidates:
        upper = name.isupper()
        if (upper and not in_main) or name.startswith("_"):
            continue  # module-level UPPER constants are reported by constants.py
        lit = constant_expression_of(value, module)
        if lit is None:
            continue  # computed, a container or a reference: not a setting
        if lit.type == "str" and not looks_like_tunable_string(name, lit.value):
            continue
        plumbing = not is_knob(name, lit.type, lit.value, kind="literal")
        if not (plumbing or looks_like_hyperparameter(name) or _used_as_width(script, stmt, name)):
            continue
        if plumbing and lit.type == "str":
            continue
        loc = script.loc(stmt)
        changed = _changed_later(script, stmt, name)
        if changed:
            skipped.append((name, loc, f"{name} {changed}, so it is not a fixed setting"))
            continue
        where = "under if __name__ == \"__main__\"" if in_main else "at module level"
        tail: dict[str, Any] = {"origin": "module_value"}
        if not in_main:
            tail["constant"] = name  # reads can be redirected when the value is out of a parser's reach
        params.append(
            literal_param(
                script, value, lit.type, lit.value, lit.code,
                name=identifier(name) if not upper else identifier(name.lower()),
                typed_by=name,
                source="constant",
                location=loc,
                help=f"{name} = {compact(lit.code, 40)} ({where})",
                prefix="const",
                tunable=not plumbing,
                tail=tail,
            )
        )
    return params, skipped


def _assignment(script: Script, stmt: cst.SimpleStatementLine, name: str) -> Any:
    scope = script.scopes.get(stmt.body[0])
    if scope is None or name not in scope.assignments:
        return None, scope
    return scope.assignments[name], scope


def _changed_later(script: Script, stmt: cst.SimpleStatementLine, name: str) -> str | None:
    """Why `name` is not a fixed value (rebound, augmented, mutated), or None when it is fixed."""
    assignments, scope = _assignment(script, stmt, name)
    if assignments is None:
        return "cannot be followed through the script"
    if len(assignments) > 1:
        return "is assigned more than once"
    for assignment in assignments:
        for access in assignment.references:
            node = access.node
            parent = script.parent(node)
            if isinstance(parent, cst.AugAssign) and parent.target is node:
                return "is updated in place"
            if isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value in _MUTATORS:
                return "is mutated"
            if isinstance(parent, cst.Subscript) and parent.value is node and isinstance(script.parent(parent), (cst.AssignTarget, cst.AugAssign, cst.Del)):
                return "is changed item by item"
    return None


def _used_as_width(script: Script, stmt: cst.SimpleStatementLine, name: str) -> bool:
    """Is the value passed, as a bare name, to a layer constructor (`nn.Embedding(n_class, m)`)?"""
    assignments, _ = _assignment(script, stmt, name)
    for assignment in assignments or ():
        for access in assignment.references:
            arg = script.parent(access.node)
            if not isinstance(arg, cst.Arg) or arg.value is not access.node:
                continue
            call = script.parent(arg)
            if isinstance(call, cst.Call) and last_part(dotted_name(call.func)) in _LAYERS:
                return True
    return False
