"""The script's own arguments (`aft tune train.py -- --data d.csv --lr 5e-4`): read and applied.

The arguments a person runs their script with are the baseline of a session: a value typed
there is what the script really trains with, so it is trial 1's value and the centre of the
range AFT searches, not the default written in the source. This module reads such an argument
list in the conventions scripts use (`--k v`, `--k=v`, `-k v`, hydra/OmegaConf `a.b=v`,
positionals) without knowing the script's parser, so discovery, the smoke run and every trial
agree on which token sets which parameter.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from aft_tui.target.params import Param

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
_NUMBER = re.compile(r"^-(\d|\.\d)")
_DOTLIST = re.compile(r"^\+{0,2}[A-Za-z_][\w.\-]*=")


@dataclass(frozen=True)
class ArgItem:
    """One setting in an argument list: the tokens [start, start + length) of it."""

    start: int
    length: int
    key: str | None  # normalised (no dashes in front, '-' read as '_'); None for a positional
    value: str | None  # None for a bare flag (`--cuda`)
    style: str  # "space" (`--k v`), "equals" (`--k=v`), "dotlist" (`a.b=v`), "bare", "positional"


def normalise_key(flag: str) -> str:
    """`--learning-rate`, `--learning_rate` and `learning_rate` name one setting: tyro spells flags
    in kebab-case and people type either."""
    return flag.lstrip("-").lstrip("+").replace("-", "_")


def _is_option(token: str) -> bool:
    return token.startswith("-") and token not in ("-", "--") and not _NUMBER.match(token)


def parse(args: Iterable[str], bare: Iterable[str] = ()) -> list[ArgItem]:
    """Split an argument list into settings. `bare` names flags that take no value (store_true),
    so `--cuda data.csv` keeps data.csv as a positional."""
    tokens = list(args)
    bare_keys = {normalise_key(b) for b in bare}
    items: list[ArgItem] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":  # what follows is positional, as argparse reads it
            items += [ArgItem(j, 1, None, tokens[j], "positional") for j in range(i + 1, len(tokens))]
            break
        if _is_option(token):
            if "=" in token:
                key, value = token.split("=", 1)
                items.append(ArgItem(i, 1, normalise_key(key), value, "equals"))
                i += 1
                continue
            key = normalise_key(token)
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if key not in bare_keys and nxt is not None and nxt != "--" and not _is_option(nxt):
                items.append(ArgItem(i, 2, key, nxt, "space"))
                i += 2
                continue
            items.append(ArgItem(i, 1, key, None, "bare"))
            i += 1
            continue
        if _DOTLIST.match(token):
            key, value = token.split("=", 1)
            items.append(ArgItem(i, 1, normalise_key(key), value, "dotlist"))
        else:
            items.append(ArgItem(i, 1, None, token, "positional"))
        i += 1
    return items


def _bare_keys(params: Iterable[Param]) -> set[str]:
    return {normalise_key(p.flag) for p in params
            if p.flag and p.type == "bool" and p.extra.get("action") in ("store_true", "store_false")}


def typed_value(param: Param, item: ArgItem) -> Any:
    """The value an argument gives `param`, in the param's type; None when it cannot be read."""
    if item.value is None:  # a bare flag
        if param.type != "bool":
            return None
        action = param.extra.get("action")
        return action != "store_false"
    text = item.value
    try:
        if param.type == "bool":
            low = text.strip().lower()
            if low in ("true", "1", "yes", "on"):
                return True
            if low in ("false", "0", "no", "off"):
                return False
            return None
        if param.type == "int":
            number = float(text)
            return int(number) if number.is_integer() else None
        if param.type == "float":
            return float(text)
    except ValueError:
        return None
    return text


def _keys_of(param: Param) -> set[str]:
    keys = {normalise_key(param.flag)} if param.flag else set()
    if param.flag and param.type == "bool" and param.extra.get("bool_style") == "pair":
        keys.add("no_" + normalise_key(param.flag))
    return keys


def find(items: list[ArgItem], param: Param) -> ArgItem | None:
    """The argument that sets `param` (the last one: later settings win in every parser)."""
    keys = _keys_of(param)
    found = [item for item in items if item.key in keys]
    return found[-1] if found else None


def apply_args(params: list[Param], args: list[str]) -> list[Param]:
    """Params with the values the arguments give them as defaults (`extra["from_args"]`), and
    their suggested ranges recomputed around those values (ranges the script itself set are kept)."""
    from aft_tui.target.ranges import suggest_range

    if not args:
        return params
    items = parse(args, _bare_keys(params))
    out: list[Param] = []
    for param in params:
        item = find(items, param) if param.flag else None
        value = typed_value(param, item) if item is not None else None
        if item is not None and param.flag and item.key == "no_" + normalise_key(param.flag):
            value = False  # the negative of a flag pair (`--no-cuda`)
        if value is None:
            out.append(param)
            continue
        out.append(_recentred(param, value, suggest_range))
    return out


def _recentred(param: Param, value: Any, suggest_range: Any) -> Param:
    blank = dataclasses.replace(param, low=None, high=None, log=None, choices=None)
    suggested_before = suggest_range(blank)
    keep_choices = bool(param.choices) and param.choices != suggested_before.choices
    keep_bounds = (param.low, param.high, param.log) != (suggested_before.low, suggested_before.high,
                                                          suggested_before.log)
    extra = {**param.extra, "from_args": True}
    if extra.pop("default_none", False) and not extra.get("tunable", True):
        # Left out only for want of a value (`max_iters = None`): the person's value gives it one.
        from aft_tui.target.knobs import is_knob

        extra["tunable"] = is_knob(extra.get("key") or param.name, param.type, value, kind="exposed")
    moved = dataclasses.replace(param, default=value, extra=extra,
                                low=None, high=None, log=None,
                                choices=param.choices if keep_choices else None)
    recentred = suggest_range(moved)
    if keep_bounds:
        recentred = dataclasses.replace(recentred, low=param.low, high=param.high, log=param.log)
    return recentred


def config_files(args: list[str], cwd: Path) -> list[tuple[Path, str, str]]:
    """Config files the arguments name (a positional or a flag's value that is an existing
    .yaml/.yml/.json file, relative to `cwd`): (path, the token as typed, the flag carrying it or "")."""
    out: list[tuple[Path, str, str]] = []
    for item in parse(args):
        text = item.value
        if not text or not text.lower().endswith(CONFIG_SUFFIXES):
            continue
        path = Path(text) if Path(text).is_absolute() else Path(cwd) / text
        if not path.is_file() or any(p == path for p, _, _ in out):
            continue
        flag = ""
        if item.style == "space":
            flag = args[item.start]
        elif item.style in ("equals", "dotlist"):
            flag = args[item.start].split("=", 1)[0]
        out.append((path, text, flag))
    return out


def discover_with_args(script: Path, args: list[str] | None, cwd: Path) -> Any:
    """Discovery of `script` as the person runs it: the config files the arguments name are read
    too (replacing the one a config flag defaults to when the arguments set that flag), and the
    values the arguments give are the parameters' defaults."""
    from aft_tui.target.config_files import resolve_config
    from aft_tui.target.discover import discover

    args = list(args or [])
    named = config_files(args, cwd)
    discovery = discover(script, config_paths=[path for path, _, _ in named] or None)
    if not args:
        return discovery
    by_path = {path.resolve(): (typed, flag) for path, typed, flag in named}
    replaced_defaults = set()
    for p in discovery.params:  # `--config other.yaml` replaces what --config defaults to
        if p.extra.get("config_flag") and p.flag and any(normalise_key(f) == normalise_key(p.flag)
                                                         for _, _, f in named if f):
            replaced_defaults.add(resolve_config(str(p.extra.get("config_file")), Path(script)).resolve())
    params = []
    for p in discovery.params:
        if p.source == "config_file":
            where = resolve_config(str(p.extra.get("config", "")), Path(script)).resolve()
            if where in by_path:
                typed, flag = by_path[where]
                p.extra.update(config_arg=typed, config_arg_flag=flag)
            elif where in replaced_defaults:
                continue
        params.append(p)
    discovery.params = apply_args(params, args)
    return discovery


def describe(args: list[str]) -> str:
    """The arguments as a person would type them after `--`."""
    import shlex

    return " ".join(shlex.quote(a) for a in args)
