"""Where a script reports its metrics: prints and log calls (names and values), logging
libraries (names only) and a Trainer's compute_metrics (eval_* names).

Discovery lists the names so the person can pick the metric to optimise; the refactor hooks
the printed values so the script also writes them to AFT_METRICS. Which label and value make a
metric is `aft_tui.target.metric_labels`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from aft_tui.metric_names import label_or_none, normalise_name
from aft_tui.target.literals import dotted_name, keyword_arg, last_part, positional_args, string_value
from aft_tui.target.loops import is_epoch_loop, loop_var
from aft_tui.target.metric_labels import dict_pairs, is_metric, is_print_like, reported_values, shown_epoch
from aft_tui.target.script import Script

SAFE_CALLS = {"item", "len", "float", "int", "round", "abs", "mean", "sum", "min", "max", "sqrt", "exp", "log",
               "cpu", "detach", "numpy", "tolist", "std"}


@dataclass
class MetricPrint:
    """A print/log statement reporting metrics, with the values a hook can re-read safely."""

    statement: cst.SimpleStatementLine
    metrics: list[tuple[str, cst.BaseExpression]]
    epoch_var: str | None
    location: str
    epoch_shown: cst.BaseExpression | None = None  # how the print numbers the epoch (`epoch + 1`)


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
        if not is_print_like(call):
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
        if is_print_like(call):
            for label, _ in reported_values(call, script.module):
                add(label)
        elif method in ("log", "log_metric", "add_scalar") and len(args) > 1 and string_value(args[0].value):
            label = label_or_none(string_value(args[0].value) or "")  # self.log / mlflow / tensorboard
            if label and is_metric(label, args[1].value, script.module):
                add(label)
        elif method in ("log", "log_dict", "log_metrics") and args and isinstance(args[0].value, cst.Dict):
            for label, value in dict_pairs(args[0].value):
                if is_metric(label, value, script.module):
                    add(label)  # wandb.log({...}), self.log_dict({...}), mlflow.log_metrics({...})
        elif method == "log" and not args and call.args:
            for arg in call.args:  # a `log(Epoch=epoch, Loss=loss, Val=val_acc)` helper printing `Key: value`
                label = label_or_none(arg.keyword.value) if arg.keyword is not None else None
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
        return normalise_name(text) or None
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
