"""Recognising the code a refactor is allowed to add.

The equivalence check removes added code before comparing with the original; this module makes
sure that what it removes really is one of the few harmless shapes AFT writes (the parser, the
flag declarations, the metrics hook and its helpers), so a refactor cannot hide a behaviour
change behind an `_aft` name.
"""

from __future__ import annotations

import ast
from functools import lru_cache

from aft_tui.target import hooks
from aft_tui.target.literals import ast_dotted_name
from aft_tui.target.metric_sites import SAFE_CALLS

_CALLBACK_IMPORTS = {
    ("transformers", "TrainerCallback", "_AftTrainerCallback"),
    ("lightning.pytorch.callbacks", "Callback", "_AftLightningCallback"),
    ("pytorch_lightning.callbacks", "Callback", "_AftLightningCallback"),
}



def is_allowed_statement(code: str) -> bool:
    """True when every statement in `code` (one simple line) is a shape AFT adds."""
    try:
        tree = ast.parse(code.strip())
    except SyntaxError:
        return False
    return bool(tree.body) and all(_allowed(stmt) for stmt in tree.body)


def is_allowed_definition(code: str) -> bool:
    """True when `code` is exactly one of AFT's helper definitions (indentation aside)."""
    try:
        dumped = ast.dump(ast.parse(code.strip()))
    except SyntaxError:
        return False
    return dumped in _templates()


def is_add_argument_statement(code: str) -> bool:
    try:
        tree = ast.parse(code.strip())
    except SyntaxError:
        return False
    return len(tree.body) == 1 and _is_add_argument(tree.body[0])


@lru_cache(maxsize=1)
def _templates() -> frozenset[str]:
    return frozenset(
        ast.dump(ast.parse(code)) for code in (hooks.REPORT_HELPER, hooks.HF_CALLBACK, hooks.LIGHTNING_CALLBACK)
    )


@lru_cache(maxsize=1)
def _bool_type() -> str:
    return ast.dump(ast.parse(hooks._BOOL_TYPE, mode="eval").body)


def _allowed(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.ImportFrom):
        return len(stmt.names) == 1 and (stmt.module, stmt.names[0].name, stmt.names[0].asname) in _CALLBACK_IMPORTS
    if isinstance(stmt, ast.Expr):
        return _is_add_argument(stmt) or _is_report(stmt.value)
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
        return False
    target, value = stmt.targets[0], stmt.value
    if _is_name(target, hooks.PARSER):
        return (
            isinstance(value, ast.Call)
            and ast_dotted_name(value.func) == "argparse.ArgumentParser"
            and not value.args
            and all(isinstance(k.value, ast.Constant) for k in value.keywords)
        )
    if _is_name(target, hooks.ARGS):
        return _is_call_of(value, f"{hooks.PARSER}.parse_args")
    if isinstance(target, ast.Tuple) and [_name(e) for e in target.elts] == [hooks.ARGS, "_aft_rest"]:
        return _is_call_of(value, f"{hooks.PARSER}.parse_known_args")
    if isinstance(target, ast.Subscript) and ast_dotted_name(target.value) == "sys.argv":
        s = target.slice
        return (
            isinstance(s, ast.Slice)
            and isinstance(s.lower, ast.Constant)
            and s.lower.value == 1
            and s.upper is None
            and s.step is None
            and _is_name(value, "_aft_rest")
        )
    return False


def _is_add_argument(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Call):
        return False
    call = stmt.value
    if not isinstance(call.func, ast.Attribute) or call.func.attr != "add_argument":
        return False
    if not call.args or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args):
        return False
    for kw in call.keywords:
        if kw.arg == "type":
            converter = ast_dotted_name(kw.value) or ""
            is_path = converter == "Path" or (converter.endswith(".Path") and converter.count(".") == 1)
            if not (converter in ("int", "float", "str") or is_path or ast.dump(kw.value) == _bool_type()):
                return False
        elif kw.arg in ("default", "help"):
            if not _is_literal(kw.value):
                return False
        else:
            return False
    return True


def _is_report(node: ast.expr) -> bool:
    if not (isinstance(node, ast.Call) and _is_name(node.func, hooks.REPORT) and len(node.args) == 1 and not node.keywords):
        return False
    record = node.args[0]
    if not isinstance(record, ast.Dict):
        return False
    return all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in record.keys) and all(
        _repeatable(v) for v in record.values
    )


def _repeatable(node: ast.expr) -> bool:
    """Re-evaluating the value must not run user code (names, arithmetic, `.item()`...)."""
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    if isinstance(node, ast.Attribute):
        return _repeatable(node.value)
    if isinstance(node, ast.BinOp):
        return _repeatable(node.left) and _repeatable(node.right)
    if isinstance(node, ast.UnaryOp):
        return _repeatable(node.operand)
    if isinstance(node, ast.Subscript):
        return _repeatable(node.value) and _repeatable(node.slice)
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else _name(func)
        if name not in SAFE_CALLS:
            return False
        if isinstance(func, ast.Attribute) and not _repeatable(func.value):
            return False
        return all(_repeatable(a) for a in node.args) and all(k.arg and _repeatable(k.value) for k in node.keywords)
    return False


def _is_literal(node: ast.expr) -> bool:
    """A constant, or arithmetic on number constants (`2**19`, `1e-3 / 4`): a lifted constant
    expression keeps its spelling as the flag's default."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _is_number(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_number(node.left) and _is_number(node.right)
    return False


def _is_number(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _is_number(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_number(node.left) and _is_number(node.right)
    return False


def _is_call_of(node: ast.expr, dotted: str) -> bool:
    return isinstance(node, ast.Call) and ast_dotted_name(node.func) == dotted and not node.args and not node.keywords


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else None
