"""YAML/JSON config files a script reads, and the hyperparameter-like keys inside them.

A config-file script is tuned by writing a per-trial copy of its config and passing `--config`,
so discovery reports each key as a dotted name (`training.optimizer.lr`) with no flag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libcst as cst

from aft_tui.target.literals import dotted_name, keyword_arg, last_part, positional_args, string_value
from aft_tui.target.names import is_seed, looks_like_hyperparameter, prefers_float, words
from aft_tui.target.params import Param
from aft_tui.target.script import Script

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
_WRITERS = ("dump", "save", "write", "to_yaml", "to_json")

Skipped = tuple[str, str, str]


@dataclass
class ConfigSite:
    """A string literal naming a config file the script reads.

    `fallback` is set when the literal cannot simply become a flag value: in
    `Path(__file__).with_name("cfg.yaml")` only a bare file name is valid, so the refactor keeps
    that whole expression for the default and uses the flag's path only when one is given.
    """

    path: str
    node: cst.SimpleString
    location: str
    fallback: cst.Call | None = None


def config_sites(script: Script) -> list[ConfigSite]:
    """Config paths the script opens or builds: `open("c.yaml")`, `Path(__file__).parent / "c.yaml"`,
    `Path(__file__).with_name("c.yaml")`, `OmegaConf.load("c.yaml")`, `CONFIG = "c.yaml"`."""
    sites: list[ConfigSite] = []
    for literal in script.find(cst.SimpleString):
        value = string_value(literal)
        if value is None or not _plausible_config(value, script.path):
            continue
        if any(isinstance(a, cst.Call) and _method_name(a) == "add_argument" for a in script.ancestors(literal)):
            continue  # a flag's default: the flag itself is the config switch
        parent = script.parent(literal)
        fallback = None
        if isinstance(parent, cst.Arg):
            call = script.parent(parent)
            if not isinstance(call, cst.Call) or parent.keyword is not None or call.args[0] is not parent:
                continue
            name = _method_name(call)
            if not name or name == "add_argument" or any(w in name.lower() for w in _WRITERS):
                continue
            if name == "open" and _opens_for_writing(call):
                continue
            if name == "with_name":
                fallback = call
        elif isinstance(parent, cst.BinaryOperation):
            if not isinstance(parent.operator, cst.Divide) or parent.right is not literal:
                continue
        elif isinstance(parent, cst.Assign):
            targets = [t.target for t in parent.targets]
            if not all(isinstance(t, cst.Name) and {"config", "cfg", "conf"} & set(words(t.value)) for t in targets):
                continue
        else:
            continue
        sites.append(ConfigSite(value, literal, script.loc(literal), fallback))
    return sites


def _plausible_config(value: str, script_path: Path) -> bool:
    """YAML files are configs; a JSON file is one when it exists or is named like a config
    (`alpaca_train.json` or an output `digests.json` is data, not settings)."""
    lower = value.lower()
    if not lower.endswith(CONFIG_SUFFIXES) or "://" in value:
        return False
    if not lower.endswith(".json"):
        return True
    stem = Path(value).stem
    named = bool({"config", "cfg", "conf", "params", "hparams", "settings", "hyperparameters"} & set(words(stem)))
    return named or resolve_config(value, script_path).is_file()


def _method_name(call: cst.Call) -> str | None:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return last_part(dotted_name(func)) or None


def _opens_for_writing(call: cst.Call) -> bool:
    mode_arg = keyword_arg(call, "mode")
    args = positional_args(call)
    mode_node = mode_arg.value if mode_arg is not None else (args[1].value if len(args) > 1 else None)
    mode = string_value(mode_node) if mode_node is not None else "r"
    return mode is None or any(c in mode for c in "wax+")


def resolve_config(path: str, script_path: Path) -> Path:
    """Config paths in scripts are usually relative to the script's folder (where it is run)."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    return script_path.parent / candidate


def config_params(config_path: Path, shown_as: str) -> tuple[list[Param], list[Skipped]]:
    """Numeric/bool leaves under hyperparameter-like keys, named by their dotted key path."""
    if not config_path.is_file():
        return [], [(shown_as, shown_as, f"config file {shown_as} not found")]
    try:
        text = config_path.read_text(encoding="utf-8")
        data, lines = _load(text, config_path.suffix.lower())
    except Exception as exc:  # any parse problem is reported, not raised: the script may still be tuned
        return [], [(shown_as, shown_as, f"could not read config {shown_as}: {str(exc).splitlines()[0]}")]
    if not isinstance(data, dict):
        return [], [(shown_as, shown_as, f"config {shown_as} is not a mapping of keys")]
    params: list[Param] = []
    for key_path, value in _leaves(data, ()):
        leaf = key_path[-1]
        if isinstance(value, str) or value is None or not isinstance(value, (int, float, bool)):
            continue
        if not (looks_like_hyperparameter(leaf) or is_seed(leaf)):
            continue
        ptype = "bool" if isinstance(value, bool) else ("float" if isinstance(value, float) else "int")
        if ptype == "int" and prefers_float(leaf, value):
            ptype = "float"
        dotted = ".".join(key_path)
        line = lines.get(key_path)
        params.append(
            Param(
                name=dotted,
                type=ptype,  # type: ignore[arg-type]
                default=value,
                source="config_file",
                flag=None,
                location=f"{shown_as}:{line}" if line else shown_as,
                help=f"key {dotted} of {shown_as}",
                extra={"config": shown_as, "key_path": list(key_path), "tunable": not is_seed(leaf)},
            )
        )
    return params, []


def _leaves(data: dict[str, Any], prefix: tuple[str, ...]):
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, dict):
            yield from _leaves(value, path)
        else:
            yield path, value


def _load(text: str, suffix: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    import yaml  # PyYAML: a core dependency, imported here to keep start-up lean

    data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    lines: dict[tuple[str, ...], int] = {}
    try:
        _key_lines(yaml.compose(text), (), lines)
    except Exception:
        pass  # line numbers are a convenience; JSON that YAML 1.1 rejects still loads above
    return data, lines


def _key_lines(node: Any, prefix: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        key = (*prefix, str(key_node.value))
        out[key] = key_node.start_mark.line + 1
        _key_lines(value_node, key, out)

