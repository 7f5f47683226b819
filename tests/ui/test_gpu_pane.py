"""The GPU pane fed by the real sampler: a recorded two-GPU trace, and a machine with no NVIDIA GPU."""

from __future__ import annotations

from pathlib import Path

from aft_tui.engine import events as ev
from aft_tui.telemetry.sampler import RecordedSource, Sampler
from aft_tui.ui.app import AftApp
from aft_tui.ui.messages import EngineEvent
from aft_tui.ui.widgets.gpu_card import GpuCard
from tests.ui.conftest import wait_for

TRACE = Path(__file__).resolve().parents[1] / "telemetry" / "fixtures" / "nvml_2gpu.jsonl"


class NoGpu:
    status = "no NVIDIA driver is available"

    def read(self):
        return None


async def test_two_recorded_gpus_with_the_trial_on_them(session_file):
    sampler = Sampler(source=RecordedSource(TRACE, loop=False), system=False)
    for _ in range(8):
        sampler.sample_once()
    app = AftApp(sampler=sampler, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        app.on_engine_event(EngineEvent(ev.TrialStarted(run_id="s-t004", number=4, params={}, gpus=[1])))
        await wait_for(pilot, lambda: len(app.query(GpuCard)) == 2, what="two GPU cards")
        await pilot.pause(0.1)
        cards = {card.index: card for card in app.query(GpuCard)}
        title0 = str(cards[0].query_one(".gpu-title").render())
        title1 = str(cards[1].query_one(".gpu-title").render())
        assert "GPU 0" in title0 and "H100" in title0 and "idle" in title0
        assert "GPU 1" in title1 and "t004" in title1
        numbers = str(cards[0].query_one(".gpu-numbers").render())
        assert "GiB" in numbers and "°C" in numbers and " W" in numbers
        assert len(cards[0].query_one(".gpu-util").data) == 8


async def test_no_nvidia_gpu_is_said_plainly():
    sampler = Sampler(source=NoGpu(), system=True)
    sampler.sample_once()
    app = AftApp(sampler=sampler, save_setting=lambda k, v: None)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.1)
        state = str(app.gpu.query_one("#gpu-state").render())
        assert state.startswith("No NVIDIA GPU: no NVIDIA driver is available")
        assert not app.query(GpuCard)
        assert "CPU" in str(app.gpu.query_one("#sys-numbers").render())
