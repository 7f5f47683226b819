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


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


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
        if dim is not None and dim.presence_flag:
            action = extra.get("action", "store_true")
            if (action == "store_true" and value) or (action == "store_false" and not value):
                args.append(flag)
            continue
        args.extend([flag, format_value(value)])
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
