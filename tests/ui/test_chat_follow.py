"""The chat follows new messages while the person is on another pane, and stays where they
scrolled to when they went back to read."""

from __future__ import annotations

from aft_tui.ui.app import AftApp
from aft_tui.ui.session_view import SessionView
from tests.ui.conftest import wait_for


def _say(app: AftApp, view: SessionView, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        view._say("info", f"message {i}: " + "word " * 12)
    app.conversation.sync(view)


async def test_messages_that_arrive_on_another_pane_are_at_the_end_when_the_chat_is_back():
    app = AftApp(save_setting=lambda k, v: None)
    view = SessionView()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.compact
        _say(app, view, 5)
        await pilot.pause(0.1)
        await pilot.press("f3")                       # a proposal's diff, as research shows one
        await wait_for(pilot, lambda: not app.conversation.display, what="the diff pane")
        _say(app, view, 60, start=5)                  # research runs meanwhile
        await pilot.pause(0.1)
        await pilot.press("f2")
        log = app.conversation.scrollback
        await wait_for(pilot, lambda: log.max_scroll_y > 0 and log.is_vertical_scroll_end,
                       what="the chat at its newest message")


async def test_a_person_who_scrolled_up_to_read_is_not_pulled_down():
    app = AftApp(save_setting=lambda k, v: None)
    view = SessionView()
    async with app.run_test(size=(80, 24)) as pilot:
        _say(app, view, 60)
        log = app.conversation.scrollback
        await wait_for(pilot, lambda: log.max_scroll_y > 0 and log.is_vertical_scroll_end, what="the newest message")
        log.scroll_home(animate=False)
        await pilot.pause(0.1)
        _say(app, view, 5, start=60)
        await pilot.pause(0.2)
        assert log.scroll_y == 0
