"""The replay keys of the app: play/pause, step, seek, speed (a mixin of `AftApp`).

Playing schedules one timer at a time for the next recorded event, applying events that were
recorded together in one tick (at most `REPLAY_BATCH`, so a burst of log lines never stalls
the UI). Stepping forward renders one event; anything else rebuilds the panes from the
session view as it was after the target event.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

REPLAY_BINDINGS = [
    Binding("space", "replay_toggle", "Play/Pause"),
    Binding("full_stop", "replay_step(1)", "Step", key_display="."),
    Binding("comma", "replay_step(-1)", "Back", key_display=","),
    Binding("greater_than_sign", "replay_seek(0.1)", "Seek +10%", key_display=">"),
    Binding("less_than_sign", "replay_seek(-0.1)", "Seek -10%", key_display="<"),
    Binding("plus", "replay_speed(1)", "Faster", key_display="+"),
    Binding("minus", "replay_speed(-1)", "Slower", key_display="-"),
    Binding("0", "replay_jump(0)", "Start", show=False),
    Binding("dollar_sign", "replay_jump(1)", "End", key_display="$", show=False),
]
REPLAY_ACTIONS = {"replay_toggle", "replay_step", "replay_seek", "replay_speed", "replay_jump"}
REPLAY_BATCH = 400


class ReplayControls:
    replay: Any
    view: Any
    router: Any
    _tick_timer: Any

    def _schedule_tick(self, delay: float) -> None:
        if self._tick_timer is not None:
            self._tick_timer.stop()
        self._tick_timer = self.set_timer(max(delay, 0.001), self._replay_tick)

    def _replay_tick(self) -> None:
        self._tick_timer = None
        replay = self.replay
        if replay is None or not replay.playing:
            return
        for _ in range(REPLAY_BATCH):
            event = replay.step()
            if event is None:
                break
            self.render_event(event)
            if replay.next_delay() > 0.002:
                break
        if replay.at_end:
            replay.playing = False
        else:
            self._schedule_tick(replay.next_delay())
        self.sync_status()

    def action_replay_toggle(self) -> None:
        if self.replay is None:
            return
        if self.replay.toggle():
            self._schedule_tick(0.0)
        self.sync_status()

    def action_replay_step(self, delta: int) -> None:
        replay = self.replay
        if replay is None:
            return
        replay.playing = False
        if delta > 0:
            event = replay.step()
            if event is not None:
                self.render_event(event)
        else:
            self._seek_to(replay.position - 1)
        self.sync_status()

    def action_replay_seek(self, fraction: float) -> None:
        if self.replay is not None:
            self._seek_to(self.replay.position + int(round(fraction * self.replay.total)))

    def action_replay_jump(self, where: int) -> None:
        if self.replay is not None:
            self._seek_to(0 if where == 0 else self.replay.total)

    def action_replay_speed(self, direction: int) -> None:
        if self.replay is not None:
            speed = self.replay.faster() if direction > 0 else self.replay.slower()
            self.notify(f"Replay speed ×{speed:g}", timeout=1.5)
            self.sync_status()

    def _seek_to(self, position: int) -> None:
        replay = self.replay
        assert replay is not None
        self.view = replay.seek(position)
        self.router.view = self.view
        self.rebuild()
