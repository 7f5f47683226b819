"""How a trial's parameter values reach the script (the trial protocol's input side).

Flags for parameters the script exposes on its command line; for keys of a config file the
script reads, a per-trial copy of that config with the keys set, passed by its config flag.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, Sequence

from aft_tui.errors import UserError


class Carrier(Protocol):
    """How one parameter reaches the script: its flag, or its key in a config file."""

    name: str
    flag: str | None
    source: str
    presence_flag: bool
    extra: dict[str, Any]


class ParamLayout(Protocol):
    """The trial's parameters as this module needs them: the search space (`tuning/space.py`),
    which is built above the runs layer and handed down."""

    @property
    def fixed(self) -> dict[str, Any]: ...

    @property
    def dims(self) -> Sequence[Carrier]: ...

    @property
    def fixed_dims(self) -> Sequence[Carrier]: ...

    def get(self, name: str) -> Carrier | None: ...

    def fixed_only(self) -> "ParamLayout":
        """The fixed values alone, nothing tuned."""


def format_value(value: Any, bool_format: str = "lower") -> str:
    if isinstance(value, bool):
        if bool_format == "python":
            return "True" if value else "False"
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def render(flag: str, value: Any, extra: dict[str, Any] | None = None, presence: bool = False) -> list[str]:
    """The tokens that set one parameter, in the syntax the script's own convention takes.

    `extra["syntax"]`: "space" (default: `--lr 0.1`, argparse, click, typer, tyro, HfArgumentParser)
    or "equals" (one token `--lr=0.1`: exec'd configurators, minGPT config nodes, absl, fire; a
    flag without dashes gives a hydra/OmegaConf dotlist item `trainer.lr=0.1`).
    Booleans: `presence` (store_true/store_false: the flag alone or nothing, `extra["action"]`),
    `extra["bool_style"] == "pair"` (`--cuda` / `--no-cuda`, as tyro and click flag pairs), else
    the value is written out (`extra["bool_format"]` "python" gives True/False instead of true/false).
    """
    extra = extra or {}
    if isinstance(value, bool):
        if presence:
            action = extra.get("action", "store_true")
            on = value if action == "store_true" else not value
            return [flag] if on else []
        if extra.get("bool_style") == "pair":
            return [flag] if value else [_negated(flag)]
    text = format_value(value, extra.get("bool_format", "lower"))
    if extra.get("syntax") == "equals":
        return [f"{flag}={text}"]
    return [flag, text]


def _negated(flag: str) -> str:
    bare = flag.lstrip("-")
    dashes = flag[: len(flag) - len(bare)] or "--"
    sep = "_" if "_" in bare and "-" not in bare else "-"
    return f"{dashes}no{sep}{bare}"


def build_args(space: ParamLayout, values: dict[str, Any], run_dir: Path, base_dir: Path,
               script_args: list[str] | None = None) -> list[str]:
    """Command-line arguments for one trial; writes the per-trial config file when needed.

    With the person's own arguments (`aft tune train.py -- ...`), those are the command: each
    occurrence of a parameter AFT sets is replaced in place by AFT's rendering of its value (a
    flag is never passed twice, and a later duplicate cannot silently win), and the parameters
    the arguments do not mention are appended.
    """
    pieces: list[tuple[set[str], list[str]]] = []
    configs: list[tuple[str, str, list[str]]] = []  # (config flag, token as typed, tokens)
    config_updates: dict[tuple[str, str], dict[str, Any]] = {}
    config_typed: dict[tuple[str, str], str] = {}
    merged = dict(space.fixed)
    merged.update(values)
    for name, value in merged.items():
        dim = space.get(name)
        extra = dim.extra if dim else {}
        flag = dim.flag if dim else None
        if dim is not None and dim.source == "config_file" and not flag:
            key = (extra.get("config_path", ""), extra.get("config_flag", "--config"))
            config_updates.setdefault(key, {})[extra.get("key", name)] = value
            if extra.get("config_arg"):
                config_typed[key] = extra["config_arg"]
            continue
        if flag is None:
            continue
        tokens = render(flag, value, extra, presence=bool(dim is not None and dim.presence_flag))
        pieces.append((_flag_keys(flag, extra), tokens))
    for (config_path, config_flag), updates in config_updates.items():
        written = write_trial_config(base_dir / config_path, updates, run_dir)
        configs.append((config_flag, config_typed.get((config_path, config_flag), ""), [config_flag, str(written)]))
    if not script_args:
        return [t for _, tokens in pieces for t in tokens] + [t for _, _, tokens in configs for t in tokens]
    return _into_script_args(list(script_args), pieces, configs, _bare_flags(space))


def baseline_args(space: ParamLayout, script_args: list[str] | None) -> list[str]:
    """The person's arguments with the fixed values (`[search.X] fixed`) applied and nothing
    tuned: what the smoke run passes, and so what a smoke run kept as trial 1 ran."""
    return build_args(space.fixed_only(), {}, Path("."), Path("."), script_args or [])


def _flag_keys(flag: str, extra: dict[str, Any]) -> set[str]:
    from aft_tui.target.script_args import normalise_key

    keys = {normalise_key(flag)}
    if extra.get("bool_style") == "pair":
        keys.add("no_" + normalise_key(flag))
    return keys


def _bare_flags(space: ParamLayout) -> list[str]:
    return [d.flag for d in list(space.dims) + list(space.fixed_dims) if d.flag and d.presence_flag]


def _into_script_args(args: list[str], pieces: list[tuple[set[str], list[str]]],
                      configs: list[tuple[str, str, list[str]]], bare: list[str]) -> list[str]:
    from aft_tui.target.script_args import normalise_key, parse

    items = parse(args, bare)
    edits: dict[int, tuple[int, list[str]]] = {}  # token index -> (tokens replaced, new tokens)
    appended: list[str] = []

    def place(matches: list[Any], tokens: list[str]) -> None:
        if not matches:
            appended.extend(tokens)
            return
        first, *later = matches
        edits[first.start] = (first.length, tokens)
        for item in later:  # argparse would let the last one win: AFT's value must be the only one
            edits[item.start] = (item.length, [])

    for keys, tokens in pieces:
        place([item for item in items if item.key in keys and item.start not in edits], tokens)
    for config_flag, typed, tokens in configs:
        named = [item for item in items if typed and item.value == typed and item.start not in edits]
        if named:  # the config the person passed (positionally or by any flag) becomes the trial's copy
            item = named[-1]
            written = tokens[-1]
            if item.style == "space":
                new = [args[item.start], written]
            elif item.style in ("equals", "dotlist"):
                new = [args[item.start].split("=", 1)[0] + "=" + written]
            else:
                new = [written]
            edits[item.start] = (item.length, new)
            continue
        key = normalise_key(config_flag)
        place([item for item in items if item.key == key and item.start not in edits], tokens)
    out: list[str] = []
    i = 0
    end = args.index("--") if "--" in args else len(args)
    while i < len(args):
        if i == end:
            out.extend(appended)  # before a literal `--`, after which everything is positional
            appended = []
        if i in edits:
            length, tokens = edits[i]
            out.extend(tokens)
            i += length
            continue
        out.append(args[i])
        i += 1
    return out + appended


def write_trial_config(source: Path, updates: dict[str, Any], run_dir: Path) -> Path:
    """Copy the script's config with dotted keys (training.m2.learning_rate) replaced."""
    if not source.is_file():
        raise UserError(f"The config file {source} that the script reads is missing; restore it or point --config at it.")
    text = source.read_text(encoding="utf-8")
    is_json = source.suffix.lower() == ".json"
    if is_json:
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text) or {}
    for dotted, value in updates.items():
        node = data
        parts = dotted.split(".")
        for part in parts[:-1]:
            if not isinstance(node, dict) or part not in node:
                raise UserError(f"The config {source.name} has no key '{dotted}'; remove it from the search space.")
            node = node[part]
        node[parts[-1]] = value
    run_dir.mkdir(parents=True, exist_ok=True)
    dest = run_dir / source.name
    if is_json:
        dest.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    else:
        import yaml

        dest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return dest
