"""Where a script reports its metrics: prints and log calls (names and values), logging
libraries (names only) and a Trainer's compute_metrics (eval_* names).

Discovery lists the names so the person can pick the metric to optimise; the refactor hooks
the printed values so the script also writes them to AFT_METRICS.

A label before a printed value is a metric only when both hold (see `is_metric`):
- the value is a number-like expression, not text, a collection, a count (`len(...)`) or a test;
- the label holds a metric word (the vocabulary of `aft_tui.runs.metrics.looks_like_metric`: loss,
  acc, f1, ppl, score, rmse, return, cost, ...), or it is only a split or qualifier word (`Val`,
  `validation`, `final`) and the value's own name holds one (`Val: {val_acc}`).
So log messages (`Dataset loaded: {n}`, `label2id: {...}`, `Size of the training set: {n}`) are
never listed. Labels are named as the stdout parser names them (`label_name`), so the names
`aft inspect` lists are the names a run reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from aft_tui.target.literals import dotted_name, keyword_arg, last_part, positional_args, string_value
from aft_tui.target.loops import is_epoch_loop, loop_var
from aft_tui.runs.metrics import QUALIFIER_WORDS, label_name, looks_like_metric
from aft_tui.target.script import Script

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
_NOT_METRICS = {"epoch", "epochs", "step", "steps", "iter", "iters", "iteration", "batch", "lr", "learning_rate",
                "time", "elapsed", "eta", "took", "seconds", "secs", "s", "it", "of", "and", "rank", "seed", "device"}
SAFE_CALLS = {"item", "len", "float", "int", "round", "abs", "mean", "sum", "min", "max", "sqrt", "exp", "log",
               "cpu", "detach", "numpy", "tolist", "std"}
_LOG_METHODS = {"info", "debug", "warning", "warn", "log"}
_LOGGERS = {"logging", "logger", "log", "LOGGER", "LOG", "_logger", "_log"}


@dataclass
class MetricPrint:
    """A print/log statement reporting metrics, with the values a hook can re-read safely."""

    statement: cst.SimpleStatementLine
    metrics: list[tuple[str, cst.BaseExpression]]
    epoch_var: str | None
    location: str
    epoch_shown: cst.BaseExpression | None = None  # how the print numbers the epoch (`epoch + 1`)


def normalise(label: str) -> str | None:
    name = re.sub(r"[ \-]+", "_", label.strip()).lower().strip("_")
    if not name or name in _NOT_METRICS or set(name.split("_")) <= _NOT_METRICS:
        return None
    return name


def _label_before(text: str) -> str | None:
    """The label just before a value: `val_acc: `, `loss=`, or a bare metric word (`loss `)."""
    match = _LABEL_END.search(text)
    if match:
        return normalise(label_name(re.split(r"[ -]+", match.group(1))))
    match = _SPACED_END.search(text)
    if match:
        name = normalise(label_name(re.split(r"[ -]+", match.group(1))))
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
            pending = normalise(bare.group(1)) if bare else _label_before(text)
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
            found.extend(_dict_pairs(value))
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
            label = normalise(module.code_for_node(part.expression).replace(".", "_"))
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
            label = label or normalise(field)
        if value is not None and label:
            pairs.append((label, value))
    return pairs


def _dict_pairs(node: cst.Dict) -> list[tuple[str, cst.BaseExpression]]:
    pairs = []
    for el in node.elements:
        if isinstance(el, cst.DictElement):
            key = string_value(el.key)
            label = normalise(key) if key else None
            if label:
                pairs.append((label, el.value))
    return pairs


def _is_logging(name: str) -> bool:
    head, _, method = name.rpartition(".")
    return method in _LOG_METHODS and last_part(head) in _LOGGERS


def _is_print_like(call: cst.Call) -> bool:
    name = dotted_name(call.func) or ""
    return name in ("print", "tqdm.write", "console.print", "rich.print") or _is_logging(name)


def is_safe_to_repeat(node: cst.BaseExpression) -> bool:
    """True when evaluating `node` a second time cannot change the program (no user calls)."""
    if isinstance(node, (cst.Name, cst.Integer, cst.Float, cst.SimpleString)):
        return True
    if isinstance(node, cst.Attribute):
        return is_safe_to_repeat(node.value)
    if isinstance(node, cst.BinaryOperation):
        return is_safe_to_repeat(node.left) and is_safe_to_repeat(node.right)
    if isinstance(node, cst.UnaryOperation):
        return is_safe_to_repeat(node.expression)
    if isinstance(node, cst.Subscript):
        return is_safe_to_repeat(node.value) and all(
            isinstance(s.slice, cst.Index) and is_safe_to_repeat(s.slice.value) for s in node.slice
        )
    if isinstance(node, cst.Call):
        func = node.func
        if last_part(dotted_name(func)) not in SAFE_CALLS and not (
            isinstance(func, cst.Attribute) and func.attr.value in SAFE_CALLS
        ):
            return False
        if isinstance(func, cst.Attribute) and not is_safe_to_repeat(func.value):
            return False
        return all(not a.star and is_safe_to_repeat(a.value) for a in node.args)
    return False


def _mentions(expr: cst.BaseExpression, name: str | None) -> bool:
    """Whether `expr` reads the variable `name` (so it is the loop's epoch, not some other count)."""
    import libcst.matchers as m

    return bool(name) and bool(m.findall(expr, m.Name(value=name)))


def metric_prints(script: Script) -> list[MetricPrint]:
    """Metric-reporting prints a hook can follow: in the epoch loop body, or outside any loop."""
    found: list[MetricPrint] = []
    for call in script.find(cst.Call):
        if not _is_print_like(call):
            continue
        expr = script.parent(call)
        line = script.parent(expr) if isinstance(expr, cst.Expr) else None
        if not isinstance(line, cst.SimpleStatementLine) or not isinstance(
            script.parent(line), (cst.IndentedBlock, cst.Module)
        ):
            continue
        pairs = [(n, e) for n, e in reported_values(call, script.module) if is_safe_to_repeat(e)]
        if not pairs:
            continue
        loops = []
        for anc in script.ancestors(line):
            if isinstance(anc, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                break
            if isinstance(anc, (cst.For, cst.While)):
                loops.append(anc)
        epoch_var = None
        if loops:
            if len(loops) != 1 or not is_epoch_loop(loops[0], script.module):
                continue  # per-batch prints would flood the metrics file
            epoch_var = loop_var(loops[0])  # type: ignore[arg-type]
        seen: dict[str, cst.BaseExpression] = {}
        for name, expr in pairs:
            seen.setdefault(name, expr)
        shown = shown_epoch(call) if epoch_var else None
        if shown is not None and not (is_safe_to_repeat(shown) and _mentions(shown, epoch_var)):
            shown = None
        found.append(MetricPrint(line, list(seen.items()), epoch_var, script.loc(line), shown))
    return found


def metric_names(script: Script, framework: str) -> list[str]:
    names: list[str] = []

    def add(label: str | None) -> None:
        if label and label not in names:
            names.append(label)

    for call in script.find(cst.Call):
        name = dotted_name(call.func) or ""
        method = last_part(name)
        args = positional_args(call)
        if _is_print_like(call):
            for label, _ in reported_values(call, script.module):
                add(label)
        elif method in ("log", "log_metric", "add_scalar") and len(args) > 1 and string_value(args[0].value):
            label = normalise(string_value(args[0].value) or "")  # self.log / mlflow / tensorboard
            if label and is_metric(label, args[1].value, script.module):
                add(label)
        elif method in ("log", "log_dict", "log_metrics") and args and isinstance(args[0].value, cst.Dict):
            for label, value in _dict_pairs(args[0].value):
                if is_metric(label, value, script.module):
                    add(label)  # wandb.log({...}), self.log_dict({...}), mlflow.log_metrics({...})
        elif method == "log" and not args and call.args:
            for arg in call.args:  # a `log(Epoch=epoch, Loss=loss, Val=val_acc)` helper printing `Key: value`
                label = normalise(arg.keyword.value) if arg.keyword is not None else None
                if label and is_metric(label, arg.value, script.module):
                    add(label)
    if framework == "hf_trainer":
        add("eval_loss")
        for key in _compute_metrics_keys(script):
            add(f"eval_{key}")
    if framework == "keras":
        for name in keras_metric_names(script):
            add(name)
    return names


def keras_metric_names(script: Script) -> list[str]:
    """The names Keras prints after each epoch of `model.fit(...)`: `loss` and each name in
    `compile(metrics=[...])`, and with validation data (`validation_data=` or `validation_split=`)
    the same names prefixed `val_`. A metric given as an object or function is named by its class
    or function in snake case (`SparseCategoricalAccuracy()` -> sparse_categorical_accuracy), as
    Keras names it; `"acc"` stays `acc`, as Keras 3 prints it."""
    compiled: list[str] = []
    validated = False
    for call in script.find(cst.Call):
        method = last_part(dotted_name(call.func) or "")
        if method == "compile":
            kw = keyword_arg(call, "metrics")
            if kw is not None and isinstance(kw.value, (cst.List, cst.Tuple)):
                for el in kw.value.elements:
                    name = _keras_metric_name(el.value)
                    if name and name not in compiled:
                        compiled.append(name)
        elif method == "fit":
            for key in ("validation_data", "validation_split"):
                kw = keyword_arg(call, key)
                if kw is not None and not (isinstance(kw.value, cst.Name) and kw.value.value == "None"):
                    validated = True
    names = ["loss", *compiled]
    return names + [f"val_{n}" for n in names] if validated else names


def _keras_metric_name(node: cst.BaseExpression) -> str | None:
    text = string_value(node)
    if text is not None:
        return re.sub(r"[ \-]+", "_", text.strip()).lower() or None
    if isinstance(node, cst.Call):
        name_kw = keyword_arg(node, "name")
        if name_kw is not None and string_value(name_kw.value):
            return string_value(name_kw.value)
        node = node.func
    dotted = dotted_name(node)
    if not dotted:
        return None
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", last_part(dotted)).lower()


def _compute_metrics_keys(script: Script) -> list[str]:
    targets = {"compute_metrics"}
    for call in script.find(cst.Call):
        kw = keyword_arg(call, "compute_metrics")
        if kw is not None and isinstance(kw.value, cst.Name):
            targets.add(kw.value.value)
    keys: list[str] = []
    for func in script.find(cst.FunctionDef):
        if func.name.value not in targets:
            continue

        class _Returns(cst.CSTVisitor):
            def visit_Return(self, node: cst.Return) -> None:
                if isinstance(node.value, cst.Dict):
                    for el in node.value.elements:
                        if isinstance(el, cst.DictElement):
                            key = string_value(el.key)
                            if key and key not in keys:
                                keys.append(key)

        func.visit(_Returns())
    return keys
