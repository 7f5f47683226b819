"""Choosing the app's theme (a mixin of `AftApp`): by name, by /theme, or the next one on a key.

A theme pairs Textual's colours with a syntax theme for the Diff pane; an unknown name falls back
to the default theme with one notice.
"""

from __future__ import annotations

from typing import Any

from aft_tui.ui.themes import DEFAULT_THEME, ThemeSpec


class ThemeSwitching:
    theme_specs: dict[str, ThemeSpec]
    _wanted_theme: str
    theme: Any

    # -- themes ------------------------------------------------------------------------------------------------
    def _syntax_theme(self) -> str:
        spec = self.theme_specs.get(self._wanted_theme)
        return spec.syntax if spec else "ansi_dark"

    def apply_theme(self, name: str, quiet: bool = False) -> None:
        spec = self._select_theme(name)
        if spec is None:
            if not quiet:
                self.notify(f"No theme '{name}'; available: {', '.join(self.theme_specs)}.", severity="error")
            return
        self.diff.set_syntax_theme(spec.syntax)

    def _select_theme(self, name: str) -> ThemeSpec | None:
        """Make `name` the app's theme (the default one when unknown); its spec, or None when unknown."""
        spec: ThemeSpec | None = self.theme_specs.get(name)
        if spec is None:
            fallback = self.theme_specs.get(DEFAULT_THEME)
            self.theme = fallback.name if fallback else "textual-dark"
            return None
        self.theme = spec.name
        return spec

    def action_cycle_theme(self) -> None:
        names = list(self.theme_specs)
        if not names:
            return
        current = names.index(self.theme) if self.theme in names else -1
        self.submit(f"/theme {names[(current + 1) % len(names)]}")
