"""Fixes the chat names are the chat's own: a slash command, not a shell command."""

from __future__ import annotations

from aft_tui.engine.engine import Engine
from aft_tui.settings import Settings
from aft_tui.ui.app import AftApp
from tests.ui.conftest import wait_for

NO_FLAGS = """\
LR = 0.01
for epoch in range(2):
    print(f"epoch {epoch} val_acc: {0.5 + LR}")
"""


async def test_tune_on_a_script_without_flags_points_to_slash_pipeline(git_project):
    project = git_project(name="noflags", commit=False)
    (project / "train.py").write_text(NO_FLAGS)
    from tests.conftest import git

    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "initial")
    settings = Settings()
    settings.update({"metric": "val_acc", "direction": "max", "trials": 2}, "the test")
    engine = Engine.open(project / "train.py", settings, project=project)
    try:
        app = AftApp(engine, save_setting=lambda k, v: None)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: engine._log is not None and app.view.session_id, what="engine start")
            app.submit("/tune")

            def errors() -> list[str]:
                return [str(w.content) for w in app.conversation.query(".entry.error")]

            await wait_for(pilot, errors, timeout=20, what="the refusal")
            error = errors()[0]
            assert "train.py exposes no tunable parameter" in error
            assert "/pipeline" in error and "aft pipeline" not in error
    finally:
        engine.close("test over")
