"""The fields of a dataclass defined in the script, with their help text.

tyro and HfArgumentParser both turn a dataclass into flags; the two differ only in how a field
becomes a flag, so the field itself (type, default, whether it is required, its help) is read
once here. Help comes from where people write it: `field(metadata={"help": ...})`, the string
literal under the field (tyro's convention) or a trailing comment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libcst as cst

from aft_tui.target.conventions.annotations import annotation_type, coerce_default
from aft_tui.target.literals import dotted_name, keyword_arg, last_part, literal_of, string_value
from aft_tui.target.script import Script


@dataclass
class DataclassField:
    name: str
    type: str | None
    default: Any
    statement: cst.SimpleStatementLine
    help: str | None = None
    choices: list[Any] | None = None
    required: bool = False
    # Source of a default that is not a literal (`os.path.basename(__file__)`), for the report.
    default_code: str | None = None
    # The annotation names another dataclass of the script: a nested group of flags.
    nested: str | None = None


def script_classes(script: Script) -> dict[str, cst.ClassDef]:
    return {cls.name.value: cls for cls in script.find(cst.ClassDef)}


def dataclass_fields(script: Script, cls: cst.ClassDef) -> list[DataclassField]:
    """Every annotated field of `cls` (ClassVar excluded), in declaration order."""
    body = list(cls.body.body) if isinstance(cls.body, cst.IndentedBlock) else []
    classes = script_classes(script)
    fields: list[DataclassField] = []
    for index, stmt in enumerate(body):
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            continue
        small = stmt.body[0]
        if not isinstance(small, cst.AnnAssign) or not isinstance(small.target, cst.Name):
            continue
        annotation = small.annotation.annotation
        if last_part(dotted_name(annotation.value if isinstance(annotation, cst.Subscript) else annotation)) == "ClassVar":
            continue
        found = _field(script, small, stmt, classes)
        found.help = found.help or _docstring_after(body, index) or _trailing_comment(stmt)
        fields.append(found)
    return fields


def _field(script: Script, small: cst.AnnAssign, stmt: cst.SimpleStatementLine, classes: dict[str, cst.ClassDef]) -> DataclassField:
    name = small.target.value  # type: ignore[union-attr]
    annotation = small.annotation.annotation
    ptype, choices = annotation_type(annotation, script.module)
    nested = annotation.value if isinstance(annotation, cst.Name) and annotation.value in classes else None
    value = small.value
    help_text = None
    required = value is None
    if isinstance(value, cst.Call) and last_part(dotted_name(value.func)) == "field":
        help_text = _metadata_help(value)
        default_arg = keyword_arg(value, "default")
        factory = keyword_arg(value, "default_factory")
        required = default_arg is None and factory is None
        value = default_arg.value if default_arg is not None else None
    lit = literal_of(value, script.module) if value is not None else None
    default = lit.value if lit is not None else None
    default_code = None
    if value is not None and lit is None and not (isinstance(value, cst.Name) and value.value == "None"):
        default_code = script.code(value)
    ptype = ptype or (lit.type if lit is not None else None)
    return DataclassField(name, ptype, coerce_default(ptype, default), stmt, help_text, choices, required, default_code, nested)


def _metadata_help(call: cst.Call) -> str | None:
    meta = keyword_arg(call, "metadata")
    if meta is None or not isinstance(meta.value, cst.Dict):
        return None
    for el in meta.value.elements:
        if isinstance(el, cst.DictElement) and string_value(el.key) == "help":
            return string_value(el.value)
    return None


def _docstring_after(body: list[cst.BaseStatement], index: int) -> str | None:
    if index + 1 >= len(body):
        return None
    nxt = body[index + 1]
    if isinstance(nxt, cst.SimpleStatementLine) and len(nxt.body) == 1 and isinstance(nxt.body[0], cst.Expr):
        text = string_value(nxt.body[0].value)
        if text is not None:
            return " ".join(text.split())
    return None


def _trailing_comment(stmt: cst.SimpleStatementLine) -> str | None:
    comment = stmt.trailing_whitespace.comment
    if comment is None:
        return None
    return comment.value.lstrip("#").strip() or None
