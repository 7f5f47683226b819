"""Discovery: what in a training script AFT can tune, and how the script reports and saves.

Discovery only reads. It finds parameters in every place people put them (flags, constants,
literal keyword arguments, loop bounds, config files), names them uniquely, suggests search
ranges, and records the exact source position of each value so the refactor can lift it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aft_tui.target.config_files import config_params, config_sites, resolve_config
from aft_tui.target.constants import constant_params
from aft_tui.target.conventions import convention_params
from aft_tui.target.dataclass_defaults import dataclass_params
from aft_tui.target.dead_flags import dead_flags
from aft_tui.target.dict_params import dict_params
from aft_tui.target.flags import argparse_params, hf_dataclass_params
from aft_tui.target.known_calls import call_params
from aft_tui.target.metric_sites import metric_names
from aft_tui.target.module_values import module_value_params
from aft_tui.target.names import identifier
from aft_tui.target.params import Param
from aft_tui.target.ranges import suggest_range
from aft_tui.target.script import Script, load_script
from aft_tui.target.script_facts import (
    framework,
    model_saves,
    reports_aft_metrics,
    sets_seed,
)
from aft_tui.target.update_step import update_step_params

__all__ = ["Discovery", "discover", "suggest_range"]


@dataclass
class Discovery:
    target: str
    params: list[Param] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    framework: str = "unknown"
    model_saves: list[tuple[str, str]] = field(default_factory=list)
    sets_seed: bool = False
    config_files: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    reports_aft_metrics: bool = False
    hint: str | None = None

    def tunable(self) -> list[Param]:
        """Params worth searching over (seeds, paths and plumbing flags are reported, not tuned)."""
        return [p for p in self.params if p.extra.get("tunable", True)]

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "params": [p.to_dict() for p in self.params],
            "metrics": list(self.metrics),
            "framework": self.framework,
            "model_saves": [list(s) for s in self.model_saves],
            "sets_seed": self.sets_seed,
            "config_files": list(self.config_files),
            "skipped": [list(s) for s in self.skipped],
            "reports_aft_metrics": self.reports_aft_metrics,
            "hint": self.hint,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Discovery":
        return cls(
            target=data["target"],
            params=[Param.from_dict(p) for p in data.get("params", [])],
            metrics=list(data.get("metrics", [])),
            framework=data.get("framework", "unknown"),
            model_saves=[tuple(s) for s in data.get("model_saves", [])],  # type: ignore[misc]
            sets_seed=bool(data.get("sets_seed", False)),
            config_files=list(data.get("config_files", [])),
            skipped=[tuple(s) for s in data.get("skipped", [])],  # type: ignore[misc]
            reports_aft_metrics=bool(data.get("reports_aft_metrics", False)),
            hint=data.get("hint"),
        )


def discover(path: Path, config_paths: list[Path] | None = None) -> Discovery:
    """Read `path` (and the configs it or the caller names) and report what AFT can tune."""
    script = load_script(Path(path))
    return discover_script(script, config_paths)


def discover_script(script: Script, config_paths: list[Path] | None = None) -> Discovery:
    fw = framework(script)
    skipped: list[tuple[str, str, str]] = []

    flag_params, flag_configs = argparse_params(script)
    hf_params = hf_dataclass_params(script)
    conv_params, conv_skipped = convention_params(script)
    skipped += conv_skipped
    const_params, const_skipped = constant_params(script)
    value_params, value_skipped = module_value_params(script)
    dc_params, dc_skipped = dataclass_params(script)
    kw_params, kw_skipped = call_params(script)
    dict_found, dict_skipped = dict_params(script)
    kw_params = dict_found + kw_params + update_step_params(script)
    skipped += const_skipped + value_skipped + dc_skipped + kw_skipped + dict_skipped
    const_params = _fold_flag_defaults(flag_params, const_params + value_params, skipped)

    configs: list[str] = []
    for site in config_sites(script):
        if site.path not in configs:
            configs.append(site.path)
    for literal in flag_configs:
        if literal not in configs:
            configs.append(literal)
    for extra_path in config_paths or []:
        shown = _shown(Path(extra_path), script.path)
        if shown not in configs:
            configs.append(shown)
    cfg_params: list[Param] = []
    for shown in configs:
        found, cfg_skipped = config_params(resolve_config(shown, script.path), shown)
        cfg_params += found
        skipped += cfg_skipped

    # Order is priority: existing flags keep their names, later sources get a prefix on collision.
    literal_params = const_params + dc_params + kw_params
    dead = dead_flags(script, flag_params, literal_params)
    for flag, _, reason in dead:
        # The literal decides, so it takes the flag's name; the flag stays, reported, not tuned.
        flag.extra["tunable"] = False
        flag.extra["prefix"] = "flag"
        flag.extra["dead"] = reason
        skipped.append((flag.flag or flag.name, flag.location, reason))
    dead_ids = {id(flag) for flag, _, _ in dead}
    live_flags = [p for p in flag_params if id(p) not in dead_ids]
    ordered = live_flags + hf_params + conv_params + const_params + dc_params + _by_source(kw_params, "training_args") + _by_source(
        kw_params, "lora_config"
    ) + _by_source(kw_params, "kwarg") + _by_source(kw_params, "loop") + cfg_params + [f for f, _, _ in dead]
    params = [suggest_range(p) for p in _unique_names(_one_per_site(ordered, script.path, skipped))]

    discovery = Discovery(
        target=str(script.path),
        params=params,
        metrics=metric_names(script, fw),
        framework=fw,
        model_saves=model_saves(script),
        sets_seed=sets_seed(script, fw),
        config_files=configs,
        skipped=skipped,
        reports_aft_metrics=reports_aft_metrics(script),
    )
    if not discovery.tunable():
        discovery.hint = (
            f"No tunable parameter found in {script.name}: put a value in a module-level constant "
            "(e.g. `LR = 1e-3`) or an argparse flag (`parser.add_argument(\"--lr\", type=float, "
            "default=1e-3)`), then run discovery again."
        )
    return discovery


def _fold_flag_defaults(flags: list[Param], constants: list[Param], skipped: list[tuple[str, str, str]]) -> list[Param]:
    """`parser.add_argument("--lr", default=LR)`: the flag already sets it, so report LR's value as
    the flag's default and do not offer the constant as a second parameter."""
    by_constant = {p.extra.get("constant"): p for p in constants}
    used: set[str] = set()
    for flag in flags:
        name = flag.extra.get("default_code")
        const = by_constant.get(name)
        if const is None:
            continue
        flag.default = const.default
        if flag.type == "str" and const.type != "str":
            flag.type = const.type
        flag.extra.pop("default_code", None)
        flag.extra["default_from"] = name
        flag.extra["tunable"] = flag.extra.get("tunable", True) or const.extra.get("tunable", True)
        used.add(name)  # type: ignore[arg-type]
        skipped.append((name, const.location, f"{name} is already the default of {flag.flag}"))  # type: ignore[arg-type]
    return [c for c in constants if c.extra.get("constant") not in used]


def _one_per_site(params: list[Param], script_path: Path, skipped: list[tuple[str, str, str]]) -> list[Param]:
    """A value two sources read at the same place (a configurator global that is also a module
    value, a YAML key both a dotlist convention and config-file discovery read) is one setting.
    The sighting with a flag wins: the script already accepts it, so tuning it needs no refactor;
    the flagless twin would only come back renamed (`lr_2`) and be tuned through an edit."""
    winners: dict[tuple[str, ...], Param] = {}
    for param in params:
        site = _site(param, script_path)
        if site is not None and param.flag and site not in winners:
            winners[site] = param
    out: list[Param] = []
    for param in params:
        site = _site(param, script_path)
        winner = winners.get(site) if site is not None else None
        if winner is not None and winner is not param and not param.flag:
            what = site[-1] if site else param.name
            skipped.append((what, param.location, f"{what} is already set by {winner.flag}"))
            continue
        out.append(param)
    return out


def _site(param: Param, script_path: Path) -> tuple[str, ...] | None:
    """Where a param's value is written: (config file, dotted key) or (script line, variable)."""
    config, key = param.extra.get("config"), param.extra.get("key")
    if param.source == "config_file":
        key = ".".join(param.extra.get("key_path") or [])
    if config and key:
        return ("config", str(resolve_config(str(config), script_path).resolve()), str(key))
    variable = param.extra.get("constant") or (param.name if param.source == "configurator" else None)
    if variable and param.location:
        return ("code", param.location, str(variable))
    return None


def _by_source(params: list[Param], source: str) -> list[Param]:
    return [p for p in params if p.source == source]


def _unique_names(params: list[Param]) -> list[Param]:
    taken: set[str] = set()
    out: list[Param] = []
    for param in params:
        name = param.name
        if name in taken:
            prefix = param.extra.get("prefix")
            candidate = identifier(f"{prefix}_{name}") if prefix and param.source != "config_file" else name
            counter = 2
            base = candidate
            while candidate in taken:
                candidate = f"{base}_{counter}"
                counter += 1
            name = candidate
        taken.add(name)
        if name != param.name:
            param = Param.from_dict({**param.to_dict(), "name": name})
        out.append(param)
    return out


def _shown(config: Path, script_path: Path) -> str:
    try:
        return str(config.resolve().relative_to(script_path.resolve().parent))
    except ValueError:
        return str(config)
