"""The parameters of a function or `__init__` that a convention turns into options.

typer, `tyro.cli(main)`, jsonargparse's `CLI(main)` and LightningCLI all expose a signature as
the command line; the parameter's annotation, default and docstring entry are the option's
type, default and help.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import libcst as cst

from aft_tui.target.conventions.annotations import annotation_type, coerce_default
from aft_tui.target.literals import literal_of, string_value
from aft_tui.target.script import Script


@dataclass
class SignatureParam:
    name: str
    type: str | None
    default: Any
    node: cst.Param
    help: str | None = None
    choices: list[Any] | None = None
    required: bool = False
    default_code: str | None = None


def signature_params(script: Script, func: cst.FunctionDef) -> list[SignatureParam]:
    """Named parameters of `func` (self, cls, *args and **kwargs excluded)."""
    docs = docstring_help(func)
    params = func.params
    out: list[SignatureParam] = []
    for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
        name = param.name.value
        if name in ("self", "cls"):
            continue
        annotation = param.annotation.annotation if param.annotation is not None else None
        ptype, choices = annotation_type(annotation, script.module)
        default_node = param.default
        lit = literal_of(default_node, script.module) if default_node is not None else None
        default_code = None
        if default_node is not None and lit is None and not (isinstance(default_node, cst.Name) and default_node.value == "None"):
            default_code = script.code(default_node)
        ptype = ptype or (lit.type if lit is not None else None)
        out.append(
            SignatureParam(
                name=name,
                type=ptype,
                default=coerce_default(ptype, lit.value if lit is not None else None),
                node=param,
                help=docs.get(name),
                choices=choices,
                required=default_node is None,
                default_code=default_code,
            )
        )
    return out


def docstring_help(func: cst.FunctionDef | cst.ClassDef) -> dict[str, str]:
    """Per-parameter help from a Google (`lr: ...`), Sphinx (`:param lr: ...`) or numpy docstring."""
    text = _docstring(func)
    if not text:
        return {}
    found: dict[str, str] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        match = re.match(r":param\s+(?:\w+\s+)?(\w+):\s*(.*)", stripped) or re.match(r"(\w+)\s*(?:\([^)]*\))?:\s*(\S.*)", stripped)
        if match:
            found.setdefault(match.group(1), match.group(2).strip())
            continue
        numpy = re.match(r"(\w+)\s*:\s*[\w\[\], |.]+$", stripped)
        if numpy and i + 1 < len(lines) and lines[i + 1].strip():
            found.setdefault(numpy.group(1), lines[i + 1].strip())
    return found


def _docstring(node: cst.FunctionDef | cst.ClassDef) -> str | None:
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else []
    if body and isinstance(body[0], cst.SimpleStatementLine) and body[0].body and isinstance(body[0].body[0], cst.Expr):
        return string_value(body[0].body[0].value)
    return None


def function_named(script: Script, name: str) -> cst.FunctionDef | None:
    return next((f for f in script.find(cst.FunctionDef) if f.name.value == name and script.enclosing_function(f) is None and not _in_class(script, f)), None)


def _in_class(script: Script, node: cst.CSTNode) -> bool:
    return any(isinstance(a, cst.ClassDef) for a in script.ancestors(node))


def init_of(cls: cst.ClassDef) -> cst.FunctionDef | None:
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else []
    return next((s for s in body if isinstance(s, cst.FunctionDef) and s.name.value == "__init__"), None)
