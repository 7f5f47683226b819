"""How a trial's parameter values reach the script (the trial protocol's input side).

Flags for parameters the script exposes on its command line; for keys of a config file the
script reads, a per-trial copy of that config with the keys set, passed by its config flag.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aft_tui.errors import UserError
from aft_tui.tuning.space import SearchSpace


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


def build_args(space: SearchSpace, values: dict[str, Any], run_dir: Path, base_dir: Path) -> list[str]:
    """Command-line arguments for one trial; writes the per-trial config file when needed."""
    args: list[str] = []
    config_updates: dict[tuple[str, str], dict[str, Any]] = {}
    merged = dict(space.fixed)
    merged.update(values)
    for name, value in merged.items():
        dim = space.get(name)
        extra = dim.extra if dim else {}
        flag = dim.flag if dim else None
        if dim is not None and dim.source == "config_file" and not flag:
            key = (extra.get("config_path", ""), extra.get("config_flag", "--config"))
            config_updates.setdefault(key, {})[extra.get("key", name)] = value
            continue
        if flag is None:
            continue
        args.extend(render(flag, value, extra, presence=bool(dim is not None and dim.presence_flag)))
    for (config_path, config_flag), updates in config_updates.items():
        written = write_trial_config(base_dir / config_path, updates, run_dir)
        args.extend([config_flag, str(written)])
    return args


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
