"""The code a refactor adds to a script, as source templates.

Everything added is named with an `_aft` prefix (functions, classes, variables), so a reader
sees at a glance what AFT wrote and the equivalence check can find and remove it again. The
added code uses only the standard library (plus the framework the script already imports): the
refactored script never imports AFT.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import libcst as cst

ARGS = "_aft_args"
PARSER = "_aft_parser"
REPORT = "_aft_report"
CALLBACK = "_AftMetricsCallback"
PREFIX = "_aft"

_BOOL_TYPE = 'lambda s: s.lower() in ("1", "true", "yes", "on")'
_TYPES = {"int": "int", "float": "float", "str": "str", "bool": _BOOL_TYPE}


@dataclass
class FlagSpec:
    dest: str
    flag: str
    type: str
    default_code: str  # the original literal, verbatim
    help: str
    type_code: str | None = None  # a converter other than the plain types, e.g. "Path"


def is_aft_name(name: str) -> bool:
    return name.lower().startswith(PREFIX)


def add_argument_code(parser_var: str, spec: FlagSpec) -> str:
    help_text = spec.help.replace("%", "%%")  # argparse %-formats help strings
    return (
        f"{parser_var}.add_argument({json.dumps(spec.flag)}, type={spec.type_code or _TYPES[spec.type]}, "
        f"default={spec.default_code}, help={json.dumps(help_text, ensure_ascii=False)})"
    )


# The help of a flag lifted from a value in the code ends by naming where the value was written:
# "'num_leaves' of the params dict at train.py:29", "LR (module constant at train.py:3)",
# "lr of Adam() at train.py:40 and 1 more place".
_LIFTED_HELP = re.compile(r" at \S+:\d+(?: and \d+ more places?)?\)?$")


def is_lifted_flag(help_text: str | None) -> bool:
    """Whether a flag is one a refactor added for a value it lifted from the code (on AFT's own
    parser or merged into the script's): the value was chosen as a knob where it was written, so
    the flag stays one whatever its name."""
    return bool(help_text) and _LIFTED_HELP.search(help_text.replace("%%", "%")) is not None


def parser_lines(specs: list[FlagSpec], pass_through: bool) -> list[str]:
    """A standalone parser: plain parse_args, or one that hands unknown flags to the script's CLI."""
    if pass_through:
        lines = [f"{PARSER} = argparse.ArgumentParser(add_help=False, allow_abbrev=False)"]
    else:
        lines = [
            f"{PARSER} = argparse.ArgumentParser(description="
            '"Hyperparameters exposed for tuning (defaults are the original values).")'
        ]
    lines += [add_argument_code(PARSER, spec) for spec in specs]
    if pass_through:
        lines += [f"{ARGS}, _aft_rest = {PARSER}.parse_known_args()", "sys.argv[1:] = _aft_rest"]
    else:
        lines.append(f"{ARGS} = {PARSER}.parse_args()")
    return lines


REPORT_HELPER = f'''def {REPORT}(record):
    """Append one JSON line of metrics to the file named by AFT_METRICS; do nothing when it is unset."""
    import json
    import os

    path = os.environ.get("AFT_METRICS")
    if not path:
        return
    row = {{}}
    for key, value in record.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        row[key] = int(number) if key in ("epoch", "step") and number.is_integer() else number
    if row:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\\n")
'''

HF_CALLBACK = f'''class {CALLBACK}(_AftTrainerCallback):
    """Reports every evaluation's metrics through {REPORT}."""

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        {REPORT}({{"step": state.global_step, "epoch": state.epoch, **(metrics or {{}})}})
'''

LIGHTNING_CALLBACK = f'''class {CALLBACK}(_AftLightningCallback):
    """Reports the logged metrics after every validation run through {REPORT}."""

    def on_validation_end(self, trainer, pl_module):
        if getattr(trainer, "sanity_checking", False):
            return
        {REPORT}({{"step": trainer.global_step, "epoch": trainer.current_epoch, **dict(trainer.callback_metrics)}})
'''


def callback_import(kind: str, lightning_root: str = "lightning") -> str:
    if kind == "hf_trainer":
        return "from transformers import TrainerCallback as _AftTrainerCallback"
    module = "lightning.pytorch.callbacks" if lightning_root == "lightning" else "pytorch_lightning.callbacks"
    return f"from {module} import Callback as _AftLightningCallback"


def fallback_expression(original: cst.BaseExpression, args_name: str, dest: str) -> cst.IfExp:
    """`(original if args.dest is None else args.dest)`: the flag, when given, replaces a computed path."""
    return cst.IfExp(
        test=cst.parse_expression(f"{args_name}.{dest} is None"),
        body=original,
        orelse=cst.parse_expression(f"{args_name}.{dest}"),
        lpar=[cst.LeftParen()],
        rpar=[cst.RightParen()],
    )


def loop_hook_code(pairs: list[tuple[str, str]], epoch_var: str | None) -> str:
    items = [f'"epoch": {epoch_var}'] if epoch_var else []
    items += [f"{json.dumps(name)}: {code}" for name, code in pairs]
    return f"{REPORT}({{{', '.join(items)}}})"


def statement(code: str, module: cst.Module, blank_lines: int = 0) -> cst.BaseStatement:
    stmt = cst.parse_statement(code, config=module.config_for_parsing)
    if blank_lines:
        stmt = stmt.with_changes(leading_lines=[cst.EmptyLine() for _ in range(blank_lines)])
    return stmt
