"""Command-line conventions a script already accepts overrides through, besides argparse.

Each module here reads one convention (an exec'd configurator, python-fire, click, typer, tyro,
jsonargparse/LightningCLI, hydra/OmegaConf dotlists, absl flags, minGPT-style config nodes) and
reports the parameters it exposes, each with the flag that sets it and the syntax that flag takes
(`Param.extra["syntax"]`, see `aft_tui.runs.invocation.render`). Such parameters need no refactor:
the script is driven in its own syntax.
"""

from __future__ import annotations

from aft_tui.target.params import Param
from aft_tui.target.script import Script
from aft_tui.target.conventions.click_options import click_params
from aft_tui.target.conventions.jsonargparse_cli import jsonargparse_params
from aft_tui.target.conventions.tyro_cli import tyro_params
from aft_tui.target.conventions.typer_commands import typer_params
from aft_tui.target.conventions.absl_flags import absl_params
from aft_tui.target.conventions.cfgnode import cfgnode_params
from aft_tui.target.conventions.configurator import configurator_params
from aft_tui.target.conventions.fire_cli import fire_params
from aft_tui.target.conventions.hydra_config import hydra_params

Skipped = tuple[str, str, str]

__all__ = ["convention_params"]


def convention_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    """Parameters every recognised non-argparse convention of `script` exposes."""
    params: list[Param] = []
    skipped: list[Skipped] = []
    for reader in (tyro_params, click_params, typer_params, jsonargparse_params,
                   configurator_params, cfgnode_params, hydra_params, absl_params, fire_params):
        found, why = reader(script)
        params += found
        skipped += why
    return params, skipped
