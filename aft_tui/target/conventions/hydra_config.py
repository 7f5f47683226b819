"""Hydra and OmegaConf command lines: keys of the composed config set as a dotlist (`trainer.lr=3e-4`).

`@hydra.main(config_path="conf", config_name="config")` composes its config from a primary
YAML and the option files its `defaults` list picks from config groups; `OmegaConf.from_cli()`
merged over `OmegaConf.load(...)` or `OmegaConf.create({...})` takes the same dotlist. Either way
every leaf of the config is set by `key=value` with no dashes, so the keys are read here and the
files are never rewritten. A group choice (`optimizer=sgd`) is reported with its options.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator

import libcst as cst

from aft_tui.target.config_files import _load as load_with_lines
from aft_tui.target.config_files import resolve_config
from aft_tui.target.conventions.values import line_comment, value_of
from aft_tui.target.knobs import is_knob
from aft_tui.target.literals import call_argument, dotted_name, positional_args, string_value
from aft_tui.target.params import Param
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]
_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)$")  # 3e-4: a float to OmegaConf, a string to YAML 1.1


class _Code:
    """A value written as code (`os.environ["LR"]`, `(0.9, 0.95)`): reported, never set."""

    def __init__(self, code: str) -> None:
        self.code = code


class _Leaf:
    """A config value with the file line it came from (for location and help)."""

    def __init__(self, value: Any, where: str, line: int | None, help_text: str | None) -> None:
        self.value, self.where, self.line, self.help = value, where, line, help_text


def hydra_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    """Keys of the config a `@hydra.main` function or an `OmegaConf.from_cli()` merge receives."""
    params: list[Param] = []
    skipped: list[Skipped] = []
    for func in script.find(cst.FunctionDef):
        for deco in func.decorators:
            call = deco.decorator
            if isinstance(call, cst.Call) and script.qualified(dotted_name(call.func)) == "hydra.main":
                _hydra_main(script, call, params, skipped)
    if any(script.qualified(dotted_name(c.func)) == "omegaconf.OmegaConf.from_cli" for c in script.find(cst.Call)):
        _from_cli(script, params, skipped)
    return _first_of_each(params), skipped


def _hydra_main(script: Script, call: cst.Call, params: list[Param], skipped: list[Skipped]) -> None:
    path_node = call_argument(call, "config_path", 0)
    name_node = call_argument(call, "config_name", 1)
    config_path = string_value(path_node) if path_node is not None else None
    config_name = string_value(name_node) if name_node is not None else None
    if config_name is None:
        skipped.append(("config_name", script.loc(call), "@hydra.main names no config file (a structured config is not read)"))
        return
    folder = script.path.parent / (config_path or ".")
    primary = folder / (config_name if config_name.endswith((".yaml", ".yml")) else f"{config_name}.yaml")
    tree, groups = _compose(script, folder, primary, skipped)
    if tree is None:
        return
    tree.pop("hydra", None)  # Hydra's own settings, not the app's
    for key, leaf in _leaves(tree, ()):
        _add(script, key, leaf, params, skipped)
    for group, (choice, options, where) in groups.items():
        params.append(
            Param(
                name=group,
                type="str",
                default=choice,
                source="hydra",
                flag=group,
                choices=options,
                location=where,
                help=f"config group {group}: picks {group}/<option>.yaml",
                # Switching a group swaps the keys under it, so other overrides may stop applying.
                extra={"syntax": "equals", "tunable": False, "config_group": True},
            )
        )


def _from_cli(script: Script, params: list[Param], skipped: list[Skipped]) -> None:
    for call in script.find(cst.Call):
        name = script.qualified(dotted_name(call.func))
        args = positional_args(call)
        if name == "omegaconf.OmegaConf.load" and args:
            shown = string_value(args[0].value)
            if shown is None:
                continue
            data = _read(resolve_config(shown, script.path), shown, skipped)
            if data is not None:
                for key, leaf in _leaves(data, ()):
                    _add(script, key, leaf, params, skipped)
        elif name == "omegaconf.OmegaConf.create" and args and isinstance(args[0].value, cst.Dict):
            for key, leaf in _dict_leaves(script, args[0].value, ()):
                _add(script, key, leaf, params, skipped)


def _compose(script: Script, folder: Path, primary: Path, skipped: list[Skipped]) -> tuple[dict | None, dict[str, tuple[str, list[str], str]]]:
    """The primary config with the group options of its defaults list merged in Hydra's order
    (defaults first, the primary's own keys where `_self_` stands, at the end by default)."""
    own = _read(primary, _shown(primary, script), skipped)
    if own is None:
        return None, {}
    listed = own.pop("defaults", None)
    defaults = listed.value if isinstance(listed, _Leaf) and isinstance(listed.value, list) else []
    if not any(item == "_self_" for item in defaults):
        defaults = [*defaults, "_self_"]
    merged: dict = {}
    groups: dict[str, tuple[str, list[str], str]] = {}
    for item in defaults:
        if item == "_self_":
            _merge(merged, own)
            continue
        if not isinstance(item, dict) or len(item) != 1:
            continue
        ((group, choice),) = item.items()
        group = str(group).removeprefix("override ").strip()
        group, _, package = group.partition("@")
        if not isinstance(choice, str) or group.startswith(("/", "hydra/")):
            continue  # Hydra's own settings (logging, output folders) are not the app's
        option = folder / group / f"{choice}.yaml"
        option_shown = _shown(option, script)
        data = _read(option, option_shown, skipped)
        if data is None:
            continue
        target = package or _package_header(option) or group.replace("/", ".")
        node = merged
        for part in [p for p in target.split(".") if p and target != "_global_"]:
            node = node.setdefault(part, {})
        _merge(node, data)
        options = sorted(p.stem for p in (folder / group).glob("*.yaml"))
        groups[group.replace("/", ".")] = (choice, options, option_shown)
    return merged, groups


def _read(path: Path, shown: str, skipped: list[Skipped]) -> dict | None:
    """A YAML mapping whose scalars carry their line and trailing comment."""
    if not path.is_file():
        skipped.append((shown, shown, f"config file {shown} not found"))
        return None
    try:
        text = path.read_text(encoding="utf-8")
        data, lines = load_with_lines(text, path.suffix.lower())
    except Exception as exc:  # a broken config is reported; the rest of discovery goes on
        skipped.append((shown, shown, f"could not read config {shown}: {str(exc).splitlines()[0]}"))
        return None
    if not isinstance(data, dict):
        skipped.append((shown, shown, f"config {shown} is not a mapping of keys"))
        return None
    source_lines = text.splitlines()

    def wrap(node: Any, prefix: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            return {str(k): wrap(v, (*prefix, str(k))) for k, v in node.items()}
        if isinstance(node, str) and _FLOAT.match(node):
            node = float(node)
        line = lines.get(prefix)
        comment = line_comment(source_lines[line - 1]) if line and line <= len(source_lines) else None
        return _Leaf(node, shown, line, comment)

    return wrap(data, ())


def _package_header(path: Path) -> str | None:
    """`# @package _global_` (or a dotted package) at the top of a group option file."""
    for line in path.read_text(encoding="utf-8").splitlines()[:5]:
        match = re.match(r"#\s*@package\s+(\S+)", line.strip())
        if match:
            return match.group(1)
    return None


def _merge(into: dict, data: dict) -> None:
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _leaves(tree: dict, prefix: tuple[str, ...]) -> Iterator[tuple[str, _Leaf]]:
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*prefix, key))
        elif isinstance(value, _Leaf):
            yield ".".join((*prefix, key)), value


def _dict_leaves(script: Script, node: cst.Dict, prefix: tuple[str, ...]) -> Iterator[tuple[str, _Leaf]]:
    """Leaves of a literal dict handed to `OmegaConf.create`; a computed value stays code."""
    for element in node.elements:
        if not isinstance(element, cst.DictElement):
            continue
        key = string_value(element.key)
        if key is None:
            continue
        if isinstance(element.value, cst.Dict):
            yield from _dict_leaves(script, element.value, (*prefix, key))
            continue
        value = value_of(element.value, script.module)
        scalar = value.value if value is not None and value.type != "tuple" else _Code(script.code(element.value))
        help_text = line_comment(script.text.splitlines()[script.line(element) - 1])
        yield ".".join((*prefix, key)), _Leaf(scalar, script.name, script.line(element), help_text)


def _add(script: Script, key: str, leaf: _Leaf, params: list[Param], skipped: list[Skipped]) -> None:
    value = leaf.value
    where = f"{leaf.where}:{leaf.line}" if leaf.line else leaf.where
    if isinstance(value, (list, dict)):
        skipped.append((key, where, "a list value, not a single setting"))
        return
    if isinstance(value, str) and ("${" in value or value == "???"):
        why = "a mandatory value (???)" if value == "???" else f"interpolated from another key ({value})"
        skipped.append((key, where, why))
        return
    if isinstance(value, _Code):
        skipped.append((key, where, f"`{value.code}` is not a literal"))
        return
    if value is not None and not isinstance(value, (bool, int, float, str)):
        skipped.append((key, where, f"a {type(value).__name__} value, not a single setting"))
        return
    ptype = "str" if value is None else type(value).__name__
    extra: dict[str, Any] = {"syntax": "equals", "key": key, "tunable": is_knob(key, ptype, value, kind="exposed")}
    if leaf.where != script.name:
        extra["config"] = leaf.where  # the file it came from, as config-file discovery names it
    if value is None:
        extra["default_none"] = True
    params.append(
        Param(
            name=key,
            type=ptype,  # type: ignore[arg-type]
            default=value,
            source="hydra",
            flag=key,
            location=where,
            help=leaf.help,
            extra=extra,
        )
    )


def _shown(path: Path, script: Script) -> str:
    return os.path.relpath(path, script.path.parent)


def _first_of_each(params: list[Param]) -> list[Param]:
    """A key read from two places (load and create) is one setting; the first sighting wins."""
    seen: set[str] = set()
    out = []
    for param in params:
        if param.name not in seen:
            seen.add(param.name)
            out.append(param)
    return out
