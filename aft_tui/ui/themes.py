"""Colour themes from `themes/*.toml`, turned into Textual themes at start-up.

Themes are data, not code, so a person can add one by dropping a TOML file into
`~/.config/aft/themes/` (or `$AFT_THEMES_DIR`); the bundled ones live in the project's
`themes/` folder. A broken file is reported and skipped instead of stopping the app.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_COLOUR_KEYS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground", "background",
                "surface", "panel", "boost")
DEFAULT_THEME = "dark"


@dataclass
class ThemeSpec:
    name: str
    theme: Any  # textual.theme.Theme
    syntax: str  # the Rich syntax theme for diffs
    path: Path


def theme_dirs() -> list[Path]:
    """Where themes are looked up, later folders overriding earlier ones by name."""
    from aft_tui.settings import user_config_path

    dirs = [Path(__file__).resolve().parents[2] / "themes", user_config_path().parent / "themes"]
    if os.environ.get("AFT_THEMES_DIR"):
        dirs.append(Path(os.environ["AFT_THEMES_DIR"]))
    return dirs


def load_theme_file(path: Path) -> ThemeSpec:
    from textual.theme import Theme

    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    name = str(data.get("name") or path.stem)
    if not data.get("primary"):
        raise ValueError("it sets no 'primary' colour")
    kwargs: dict[str, Any] = {k: str(data[k]) for k in _COLOUR_KEYS if data.get(k)}
    for key in ("luminosity_spread", "text_alpha"):
        if key in data:
            kwargs[key] = float(data[key])
    variables = {str(k): str(v) for k, v in (data.get("variables") or {}).items()}
    theme = Theme(name=name, dark=bool(data.get("dark", True)), variables=variables, **kwargs)
    theme.to_color_system()  # validates every colour now rather than at first paint
    return ThemeSpec(name, theme, str(data.get("syntax") or ("ansi_dark" if theme.dark else "ansi_light")), path)


def load_themes() -> tuple[dict[str, ThemeSpec], list[str]]:
    """All themes found, by name, and one sentence per file that could not be used."""
    specs: dict[str, ThemeSpec] = {}
    problems: list[str] = []
    for folder in theme_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                spec = load_theme_file(path)
            except Exception as exc:  # any broken theme is skipped with a reason
                problems.append(f"Theme file {path} was skipped: {exc}; fix it or remove it.")
                continue
            specs[spec.name] = spec
    return specs, problems
