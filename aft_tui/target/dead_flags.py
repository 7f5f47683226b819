"""Flags that are parsed but decide nothing.

`parser.add_argument("--lr", default=0.005)` whose `args.lr` only reaches a logger (wandb's
config, a print) while the optimizer takes the literal `lr=0.005`: tuning `--lr` would change
the log and not the run. Such a flag is reported as not tunable, and the literal that really
decides is offered under the flag's name instead.

The rule outlives the refactor: once AFT has lifted that literal into a flag of its own
(`--optimizer_lr`, since `--lr` was taken), the flag that is only logged is still not tunable,
because the value that decides is now that other flag.
"""

from __future__ import annotations

import libcst as cst

from aft_tui.target.cli_structure import find_argparse
from aft_tui.target.literals import dotted_name, last_part
from aft_tui.target.params import Param
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]

# Calls that only record or show a value.
_LOG_CALLS = frozenset({"print", "log", "init_wandb", "info", "debug", "warning", "log_hyperparams", "add_text", "add_hparams", "log_params", "log_param", "write", "set_postfix", "set_description"})
_LOG_ROOTS = frozenset({"wandb", "mlflow", "logging", "logger", "log", "writer", "tensorboard", "neptune", "comet_ml"})
# A flag and a literal knob name the same setting.
_SYNONYMS = {"learning_rate": "lr", "lr": "lr"}


def dead_flags(script: Script, flags: list[Param], literals: list[Param]) -> list[tuple[Param, Param, str]]:
    """(flag, the literal that decides instead, reason) for each flag whose value is only logged."""
    info = find_argparse(script)
    if info is None or info.args_var is None:
        return []
    reads: dict[str, list[cst.Attribute]] = {}
    for attr in script.find(cst.Attribute):
        if isinstance(attr.value, cst.Name) and attr.value.value == info.args_var:
            reads.setdefault(attr.attr.value, []).append(attr)
    if _args_escape(script, info.args_var):
        return []  # vars(args) or args handed on: any flag may be read elsewhere
    found: list[tuple[Param, Param, str]] = []
    for flag in flags:
        dest = flag.extra.get("dest") or flag.name
        key = _SYNONYMS.get(dest, dest)
        literal = next((p for p in literals if _SYNONYMS.get(p.name, p.name) == key and p.extra.get("tunable", True)), None)
        decider = None if literal is not None else _deciding_flag(script, flag, key, flags)
        if (literal is None and decider is None) or not flag.extra.get("tunable", True):
            continue
        uses = reads.get(dest, [])
        if all(_only_logged(script, use) for use in uses):
            how = "only logged" if uses else "never read"
            if literal is not None:
                code = literal.extra.get("site", {}).get("code", literal.default)
                reason = (
                    f"{flag.flag or dest} is parsed but never used ({how}); the literal "
                    f"{literal.extra.get('keyword') or literal.name}={code} at {literal.location} decides"
                )
                found.append((flag, literal, reason))
            else:
                assert decider is not None
                reason = f"{flag.flag or dest} is parsed but never used ({how}); {decider.flag or decider.name} decides"
                found.append((flag, decider, reason))
    return found


def _deciding_flag(script: Script, flag: Param, key: str, flags: list[Param]) -> Param | None:
    """Another flag that names the same setting under a prefix (`--optimizer_lr` beside `--lr`,
    as AFT names a lifted literal when the script's own name is taken) and is read for more
    than logging."""
    for other in flags:
        if other is flag or not other.extra.get("tunable", True):
            continue
        dest = other.extra.get("dest") or other.name
        names = {key} | {name for name, same in _SYNONYMS.items() if same == key}
        if not any(dest.endswith("_" + name) and len(dest) > len(name) + 1 for name in names):
            continue
        reads = [a for a in script.find(cst.Attribute) if a.attr.value == dest and isinstance(a.value, cst.Name)]
        if any(not _only_logged(script, read) for read in reads):
            return other
    return None


def _only_logged(script: Script, node: cst.CSTNode) -> bool:
    for anc in script.ancestors(node):
        if isinstance(anc, cst.Call):
            qualified = script.qualified(dotted_name(anc.func)) or dotted_name(anc.func) or ""
            if last_part(qualified) in _LOG_CALLS or qualified.split(".")[0] in _LOG_ROOTS:
                return True
        if isinstance(anc, cst.BaseStatement):
            return False
    return False


def _args_escape(script: Script, args_var: str) -> bool:
    """Is the parsed namespace itself passed on (`vars(args)`, `train(args)`, `cfg = args`)?"""
    for name in script.find(cst.Name):
        if name.value != args_var:
            continue
        parent = script.parent(name)
        if isinstance(parent, cst.Attribute) and parent.value is name:
            continue
        if isinstance(parent, cst.AssignTarget):
            continue
        if isinstance(parent, cst.Arg) and _only_logged(script, name):
            continue
        if isinstance(parent, (cst.Arg, cst.Assign, cst.Return, cst.Element, cst.DictElement)):
            return True
    return False
