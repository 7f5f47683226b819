"""Paused time does not count toward --hours."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from aft_tui.engine.research.loop import ResearchLoop


async def test_a_pause_gives_its_time_back_to_the_budget():
    started = time.time() - 100.0  # a session 100 s into its budget
    loop = SimpleNamespace(resume_event=asyncio.Event(), cancelled=False, host=SimpleNamespace(stop_requested=False),
                           started=started)
    wait = asyncio.ensure_future(ResearchLoop._wait_while_paused(loop))  # paused: the event is clear
    await asyncio.sleep(0.6)
    assert not wait.done()
    loop.resume_event.set()
    assert await wait is True
    assert 0.5 < loop.started - started < 1.5  # the paused seconds moved the budget's start
    assert await ResearchLoop._wait_while_paused(loop) is True  # not paused: nothing moves
    assert 0.5 < loop.started - started < 1.5


async def test_a_stop_during_a_pause_ends_the_wait():
    loop = SimpleNamespace(resume_event=asyncio.Event(), cancelled=False, host=SimpleNamespace(stop_requested=False),
                           started=time.time())
    wait = asyncio.ensure_future(ResearchLoop._wait_while_paused(loop))
    await asyncio.sleep(0.3)
    loop.host.stop_requested = True
    assert await asyncio.wait_for(wait, 2) is False
