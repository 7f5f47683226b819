"""Recognising the epoch loop: `for epoch in range(10)` and its tqdm/trange spellings.

Discovery lifts a literal bound as "epochs"; the metrics hook needs the loop variable so each
reported line carries its epoch.
"""

from __future__ import annotations

import re

import libcst as cst

from aft_tui.target.literals import dotted_name, last_part, positional_args

_EPOCH_VAR = re.compile(r"^(ep|e|epoch\w*|\w*_epoch|\w*epochs?_idx)$", re.IGNORECASE)
_WRAPPERS = {"tqdm", "enumerate", "trange", "track", "progress"}


def range_call(iter_node: cst.BaseExpression) -> cst.Call | None:
    """The range()/trange() call a for-loop iterates over, looking through tqdm(...) wrappers."""
    node = iter_node
    for _ in range(3):
        if not isinstance(node, cst.Call):
            return None
        name = last_part(dotted_name(node.func))
        if name in ("range", "trange"):
            return node
        if name in _WRAPPERS:
            args = positional_args(node)
            if not args:
                return None
            node = args[0].value
            continue
        return None
    return None


def loop_var(loop: cst.For) -> str | None:
    target = loop.target
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, cst.Tuple) and target.elements:  # for i, epoch in enumerate(...)
        last = target.elements[-1].value
        if isinstance(last, cst.Name):
            return last.value
    return None


def is_epoch_loop(loop: cst.BaseCompoundStatement, module: cst.Module) -> bool:
    if not isinstance(loop, cst.For):
        return False
    var = loop_var(loop)
    if var and _EPOCH_VAR.match(var):
        return True
    # `for e in range(EPOCHS)` / `for i in range(args.num_epochs)`: judge by the bound.
    code = module.code_for_node(loop.iter).lower()
    return "epoch" in code and var is not None


def literal_epoch_bound(loop: cst.For) -> cst.BaseExpression | None:
    """The literal N of `range(N)` / `range(0, N)` in an epoch loop, else None."""
    call = range_call(loop.iter)
    if call is None:
        return None
    args = positional_args(call)
    if len(args) == 1:
        return args[0].value
    if len(args) == 2 and isinstance(args[0].value, cst.Integer) and args[0].value.value == "0":
        return args[1].value
    return None
