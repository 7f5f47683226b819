"""Leaving the app while the engine still talks: no traceback, whatever arrives during the exit.

A person can quit right after `aft chat` starts, while the engine is still creating its
workspace, or while a trial floods its output. Events then reach an app whose panes are being
taken down; they must be dropped quietly, from the loop's thread and from other threads.
"""

from __future__ import annotations

import asyncio
import threading

from aft_tui.engine import events as ev
from aft_tui.engine.session_log import read_events
from aft_tui.ui.app import AftApp
from aft_tui.ui.replay import ReplayController
from tests.ui.conftest import SESSION, wait_for


def _recorded() -> list[ev.Event]:
    return list(read_events(SESSION))


async def test_events_posted_while_the_app_exits_are_dropped(engine):
    app = AftApp(engine, save_setting=lambda k, v: None)
    recorded = _recorded()
    stop = threading.Event()
    errors: list[BaseException] = []

    def from_a_thread() -> None:  # as a trial's reader or a git thread would emit
        try:
            while not stop.is_set():
                for event in recorded:
                    app._on_engine_emit(event)
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever escaped
            errors.append(exc)

    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.view.session_id, what="the engine to start")
        thread = threading.Thread(target=from_a_thread, daemon=True)
        thread.start()
        app.exit()
        # From the loop's own thread too, for as long as the app is still closing.
        for _ in range(50):
            for event in recorded:
                app._on_engine_emit(event)
            await asyncio.sleep(0)
    stop.set()
    thread.join(10)
    assert not thread.is_alive(), "an emitting thread was left blocked by the closed app"
    assert errors == []
    assert app.return_code == 0
    # After the app is gone the engine's subscriber is removed: emitting is harmless.
    engine.emit(ev.Info(text="after the app"))


async def test_events_keep_coming_while_the_panes_are_taken_down(engine):
    """The app closes (here: the test leaves it) while the engine is mid-flood: nothing is drawn into removed panes."""
    app = AftApp(engine, save_setting=lambda k, v: None)
    recorded = _recorded()

    async def keep_emitting() -> None:
        while True:
            for event in recorded:
                engine.emit(event)
                await asyncio.sleep(0)

    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.view.session_id, what="the engine to start")
        flood = asyncio.create_task(keep_emitting())
        await pilot.pause(0.05)
    flood.cancel()
    assert app.return_code in (0, None)


async def test_quitting_while_the_engine_starts(engine):
    """ctrl+q before the workspace exists: the start-up message has no pane left to go to."""
    app = AftApp(engine, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("ctrl+q")
    assert app.return_code == 0
    # The engine carries on without the app: what it emits now goes to the session log only.
    engine.emit(ev.Info(text="after the app"))


async def test_replay_ticks_while_the_app_exits(session_file):
    replay = ReplayController.open(str(session_file), speed=64)
    app = AftApp(replay=replay, save_setting=lambda k, v: None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.exit()
        for _ in range(replay.total):
            replay.playing = True
            app._replay_tick()
            await asyncio.sleep(0)
    assert app.return_code == 0
