"""Themes: the bundled three load, a broken file is skipped with a reason, a user theme is picked up."""

from __future__ import annotations

from aft_tui.ui.app import AftApp
from aft_tui.ui.themes import load_themes


def test_bundled_themes_load():
    specs, problems = load_themes()
    assert problems == []
    assert {"dark", "light", "high-contrast"} <= set(specs)
    assert specs["light"].syntax == "ansi_light" and not specs["light"].theme.dark
    assert specs["high-contrast"].theme.background == "#000000"


def test_user_themes_and_broken_files(tmp_path, monkeypatch):
    monkeypatch.setenv("AFT_THEMES_DIR", str(tmp_path))
    (tmp_path / "solar.toml").write_text('name = "solar"\nprimary = "#b58900"\nbackground = "#002b36"\n')
    (tmp_path / "broken.toml").write_text('name = "broken"\nprimary = "not a colour"\n')
    (tmp_path / "invalid.toml").write_text("name = \n")
    specs, problems = load_themes()
    assert "solar" in specs and "broken" not in specs
    assert len(problems) == 2 and all(p.startswith("Theme file ") and "was skipped" in p for p in problems)


async def test_unknown_theme_at_start_falls_back_to_dark(session_file):
    from aft_tui.ui.replay import ReplayController

    app = AftApp(replay=ReplayController.open(str(session_file)), autoplay=False, theme_name="nope",
                 save_setting=lambda k, v: None)
    async with app.run_test(size=(100, 30)):
        assert app.theme == "dark"
