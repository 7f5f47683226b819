"""The metrics a print or log call reports: the label before each value, read from f-strings,
`%` and `.format` templates, dicts and separate arguments, and whether that label and value make
a metric.

A label before a printed value is a metric only when both hold (see `is_metric`):
- the value is a number-like expression, not text, a collection, a count (`len(...)`) or a test;
- the label holds a metric word (the vocabulary of `aft_tui.metric_names.looks_like_metric`: loss,
  acc, f1, ppl, score, rmse, return, cost, ...), or it is only a split or qualifier word (`Val`,
  `validation`, `final`) and the value's own name holds one (`Val: {val_acc}`).
So log messages (`Dataset loaded: {n}`, `label2id: {...}`, `Size of the training set: {n}`) are
never listed. Labels are named as the stdout parser names them (`label_name`), so the names
`aft inspect` lists are the names a run reports.
"""

from __future__ import annotations

import re

import libcst as cst

from aft_tui.metric_names import QUALIFIER_WORDS, label_name, label_or_none, looks_like_metric
from aft_tui.target.literals import dotted_name, keyword_arg, last_part, positional_args, string_value

_WORD = r"[A-Za-z][A-Za-z0-9_/]*"
# Up to eight words before the separator: label_name picks the name among them
# (`The RMSE of prediction is:` -> rmse_of_prediction).
_LABEL_END = re.compile(rf"({_WORD}(?:[ -]{_WORD}){{0,7}})\s*[:=]\s*$")
_SPACED_END = re.compile(rf"({_WORD}(?:[ -]{_WORD}){{0,2}})\s+$")
# Calls whose result is text, a collection, a count or a type: never a metric value.
_NOT_NUMBER_CALLS = {"len", "str", "repr", "list", "dict", "tuple", "set", "type", "sorted", "range", "enumerate",
                     "zip", "format", "vars", "id", "hex", "getattr", "isinstance"}
_BARE_LABEL = re.compile(rf"^\s*({_WORD}(?:[ -]{_WORD}){{0,2}})\s*[:=]?\s*$")
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
_BRACES = re.compile(r"\{[^{}]*\}")
_FRACTION_GLUE = re.compile(r"\s*(?:/|=)\s*")
_LOG_METHODS = {"info", "debug", "warning", "warn", "log"}
_LOGGERS = {"logging", "logger", "log", "LOGGER", "LOG", "_logger", "_log"}


def _label_before(text: str) -> str | None:
    """The label just before a value: `val_acc: `, `loss=`, or a bare metric word (`loss `)."""
    match = _LABEL_END.search(text)
    if match:
        return label_or_none(label_name(re.split(r"[ -]+", match.group(1))))
    match = _SPACED_END.search(text)
    if match:
        name = label_or_none(label_name(re.split(r"[ -]+", match.group(1))))
        if name and looks_like_metric(name.split("_")[-1]):
            return name
    return None


def is_metric(name: str, value: cst.BaseExpression, module: cst.Module) -> bool:
    """Whether `name` printed next to `value` reports a metric (the rule in the module docstring)."""
    if not _number_like(value):
        return False
    if looks_like_metric(name):
        return True
    words = set(re.split(r"[^a-z0-9]+", name.lower())) - {""}
    return bool(words) and words <= QUALIFIER_WORDS and looks_like_metric(module.code_for_node(value))


def _number_like(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString, cst.List, cst.Tuple,
                         cst.Set, cst.Dict, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp, cst.Lambda,
                         cst.Comparison, cst.BooleanOperation, cst.Ellipsis)):
        return False
    if isinstance(node, cst.Name) and node.value in ("None", "True", "False"):
        return False
    if isinstance(node, cst.Call):
        return last_part(dotted_name(node.func)) not in _NOT_NUMBER_CALLS
    return True


def reported_values(call: cst.Call, module: cst.Module) -> list[tuple[str, cst.BaseExpression]]:
    """(name, expression) pairs a print or log call reports, from its labels and placeholders;
    only metrics (`is_metric`), never the fragments of a log message."""
    return [(label, value) for label, value in _labelled_values(call, module) if is_metric(label, value, module)]


def _labelled_values(call: cst.Call, module: cst.Module) -> list[tuple[str, cst.BaseExpression]]:
    name = dotted_name(call.func) or ""
    args = positional_args(call)
    if not args:
        return []
    if _is_logging(name):
        fmt = string_value(args[0].value)
        if fmt is not None and len(args) > 1:
            return _percent_pairs(fmt, [a.value for a in args[1:]])
    found: list[tuple[str, cst.BaseExpression]] = []
    pending: str | None = None
    for arg in args:
        value = arg.value
        parts = _string_parts(value)
        if parts is not None and any(not isinstance(part, str) for part in parts):
            # An f-string, or implicitly concatenated pieces of which one is an f-string
            # (a print split over lines: f"loss: {a} " f"- val_loss: {b}").
            pairs, pending = _fstring_pairs(parts, module)
            found.extend(pairs)
            continue
        text = string_value(value)
        if text is not None:
            bare = _BARE_LABEL.match(text)
            pending = label_or_none(bare.group(1)) if bare else _label_before(text)
            continue
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Modulo):
            fmt = string_value(value.left)
            if fmt is not None:
                right = value.right
                values = [el.value for el in right.elements] if isinstance(right, cst.Tuple) else [right]
                found.extend(_percent_pairs(fmt, values))
                pending = None
                continue
        if isinstance(value, cst.Call) and last_part(dotted_name(value.func)) == "format" and isinstance(value.func, cst.Attribute):
            fmt = string_value(value.func.value)
            if fmt is not None:
                found.extend(_format_pairs(fmt, value))
                pending = None
                continue
        if isinstance(value, cst.Dict):
            found.extend(dict_pairs(value))
            pending = None
            continue
        if pending:
            found.append((pending, value))
        pending = None
    return found


def _string_parts(node: cst.BaseExpression) -> list[str | cst.FormattedStringExpression] | None:
    """A string literal as its text pieces and f-string expressions, in order (None: not a string)."""
    if isinstance(node, cst.ConcatenatedString):
        left, right = _string_parts(node.left), _string_parts(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, cst.FormattedString):
        return [part.value if isinstance(part, cst.FormattedStringText) else part for part in node.parts]
    text = string_value(node)
    return None if text is None else [text]


_EPOCH_LABEL = re.compile(r"(?i)\bepoch\s*[:=#]?\s*$")


def shown_epoch(call: cst.Call) -> cst.BaseExpression | None:
    """The expression a print shows as the epoch (`f"Epoch {epoch + 1}/{EPOCHS}"`), if any."""
    for arg in positional_args(call):
        text = ""
        for part in _string_parts(arg.value) or []:
            if isinstance(part, str):
                text += part
                continue
            if _EPOCH_LABEL.search(text):
                return part.expression
            text = ""
    return None


def _fstring_pairs(parts: list[str | cst.FormattedStringExpression],
                   module: cst.Module) -> tuple[list[tuple[str, cst.BaseExpression]], str | None]:
    pairs: list[tuple[str, cst.BaseExpression]] = []
    text = ""
    for part in parts:
        if isinstance(part, str):
            text += part
            continue
        if part.equal is not None:  # f"{val_loss=}"
            label = label_or_none(module.code_for_node(part.expression).replace(".", "_"))
        else:
            label = _label_before(text)
        if label:
            pairs.append((label, part.expression))
        text = ""
    return pairs, _label_before(text) if text else None


def _percent_pairs(fmt: str, values: list[cst.BaseExpression]) -> list[tuple[str, cst.BaseExpression]]:
    pairs = []
    last = 0
    index = 0
    fraction: str | None = None  # the label of a count fraction being read (`score: %d/%d`)
    for match in _PERCENT.finditer(fmt):
        if match.group(0) == "%%":
            continue
        between = fmt[last : match.start()]
        last = match.end()
        if fraction and _FRACTION_GLUE.fullmatch(between):
            if between.strip() == "=":  # `score: %d/%d = %.2f%%`: the percentage is the score
                pairs = [(n, v) for n, v in pairs if n != fraction]
                if index < len(values):
                    pairs.append((fraction, values[index]))
                fraction = None
            index += 1
            continue
        label = _label_before(between)
        fraction = label if label and fmt[last:].lstrip().startswith("/") else None
        if index < len(values) and label:
            pairs.append((label, values[index]))
        index += 1
    return pairs


def _format_pairs(fmt: str, call: cst.Call) -> list[tuple[str, cst.BaseExpression]]:
    pairs = []
    last = 0
    positional = [a.value for a in positional_args(call)]
    index = 0
    for match in _BRACES.finditer(fmt):
        field = match.group(0)[1:-1].split(":")[0].split("!")[0]
        label = _label_before(fmt[last : match.start()])
        last = match.end()
        value: cst.BaseExpression | None = None
        if field == "":
            value = positional[index] if index < len(positional) else None
            index += 1
        elif field.isdigit():
            value = positional[int(field)] if int(field) < len(positional) else None
        else:
            kw = keyword_arg(call, field)
            value = kw.value if kw is not None else None
            label = label or label_or_none(field)
        if value is not None and label:
            pairs.append((label, value))
    return pairs


def dict_pairs(node: cst.Dict) -> list[tuple[str, cst.BaseExpression]]:
    """(label, value) of each string-keyed entry of a dict literal (`wandb.log({...})`)."""
    pairs = []
    for el in node.elements:
        if isinstance(el, cst.DictElement):
            key = string_value(el.key)
            label = label_or_none(key) if key else None
            if label:
                pairs.append((label, el.value))
    return pairs


def _is_logging(name: str) -> bool:
    head, _, method = name.rpartition(".")
    return method in _LOG_METHODS and last_part(head) in _LOGGERS


def is_print_like(call: cst.Call) -> bool:
    """A print, tqdm/rich write or logging call: the calls a script reports its metrics through."""
    name = dotted_name(call.func) or ""
    return name in ("print", "tqdm.write", "console.print", "rich.print") or _is_logging(name)
