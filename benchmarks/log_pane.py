"""Log pane under a flood: ingest rate, key-press latency during the flood, and memory after.

    python benchmarks/log_pane.py [--lines 1000000] [--rate 200000] [--batch 1000]

The full Textual app runs headless at 160x48. A producer task emits `TrialLog` events through
the same path the engine's events take (the app's subscriber, its message queue, the session
model, the log pane's buffer), at `--rate` lines per second in batches of `--batch` (a trial's
output reader batches lines the same way). While it floods, a key is pressed every 100 ms and
the time until its action runs is recorded. At the end the process RSS is read. It also counts
the screen's layout passes during the flood and how often the pane's header was redrawn: a
flood should cost a repaint of the log region per flush, not a layout of the whole screen.

This is a benchmark, not a test: it prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
from textual import events  # noqa: E402
from textual.binding import Binding  # noqa: E402

from aft_tui.engine import events as ev  # noqa: E402
from aft_tui.ui.app import AftApp  # noqa: E402

RUN_ID = "bench-t001"


class BenchApp(AftApp):
    BINDINGS = [*AftApp.BINDINGS, Binding("ctrl+b", "ping", "Ping", show=False)]

    def __init__(self) -> None:
        super().__init__(save_setting=lambda key, value: None)
        self.pings: list[float] = []

    def action_ping(self) -> None:
        self.pings.append(time.perf_counter())


def make_pool(size: int = 10_000) -> list[str]:
    return [f"epoch {i // 1000:3d} step {i:7d} loss {1.0 / (i + 1):.6f} lr 3.0e-04 grad_norm {1 + i % 7 / 10:.3f} "
            f"throughput {5000 + i % 500:.1f} samples/s" for i in range(size)]


def count_layouts(app: AftApp) -> list[int]:
    """A counter of the screen's layout passes (wraps Textual's own method; measuring only)."""
    screen = app.screen
    count = [0]
    real = screen._refresh_layout

    def counted(*args, **kwargs):
        count[0] += 1
        return real(*args, **kwargs)

    screen._refresh_layout = counted
    return count


async def run(total: int, rate: float, batch: int, flush_cap: int | None = None) -> dict[str, float]:
    app = BenchApp()
    pool = make_pool()
    process = psutil.Process()
    async with app.run_test(size=(160, 48)) as pilot:
        app.logs.show_run(RUN_ID, [], status="running")
        if flush_cap:
            app.logs.flush_cap = flush_cap
        app.logs.view.focus()
        await pilot.pause(0.2)
        layouts = count_layouts(app)
        header_draws = app.logs.header.draws
        rss_before = process.memory_info().rss
        cpu_before = time.process_time()
        sent = 0
        done = asyncio.Event()

        async def produce() -> None:
            nonlocal sent
            start = time.perf_counter()
            offset = 0
            while sent < total:
                n = min(batch, total - sent)
                if offset + n > len(pool):
                    offset = 0
                app._on_engine_emit(ev.TrialLog(run_id=RUN_ID, lines=pool[offset:offset + n]))
                offset += n
                sent += n
                lag = start + sent / rate - time.perf_counter()
                await asyncio.sleep(lag if lag > 0 else 0)
            done.set()

        pressed: list[float] = []
        started = time.perf_counter()
        producer = asyncio.create_task(produce())
        while not done.is_set():
            await asyncio.sleep(0.1)
            if done.is_set():
                break
            # As a terminal does: the driver hands the key to the app's queue, behind the flood.
            pressed.append(time.perf_counter())
            app._driver.send_message(events.Key("ctrl+b", None))
        await producer
        produced_s = time.perf_counter() - started
        # Everything sent has gone through the queue once the pane's counter has it all.
        while app.logs.received < total:
            await asyncio.sleep(0.01)
        ingested_s = time.perf_counter() - started
        while len(app.pings) < len(pressed):
            await asyncio.sleep(0.01)
        latencies = [handled - sent for sent, handled in zip(pressed, app.pings)]
        await pilot.pause(0.1)
        cpu = time.process_time() - cpu_before
        rss_after = process.memory_info().rss
        stats = {
            "lines": float(total),
            "target_rate": rate,
            "produced_lines_per_s": total / produced_s,
            "ingested_lines_per_s": total / ingested_s,
            "key_presses": float(len(latencies)),
            "key_latency_median_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
            "key_latency_p95_ms": (sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000
                                   if latencies else float("nan")),
            "key_latency_max_ms": max(latencies) * 1000 if latencies else float("nan"),
            "lines_in_widget": float(len(app.logs.view.lines)),
            "lines_drawn": float(total - app.logs.skipped),
            "lines_skipped": float(app.logs.skipped),
            "flush_cap": float(app.logs.flush_cap),
            "flushes": float(app.logs.flushes),
            "header_draws": float(app.logs.header.draws - header_draws),
            "screen_layouts": float(layouts[0]),
            "cpu_s": cpu,
            "rss_before_mib": rss_before / 2**20,
            "rss_after_mib": rss_after / 2**20,
        }
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=200_000, help="lines per second offered")
    parser.add_argument("--batch", type=int, default=1000, help="lines per TrialLog event")
    parser.add_argument("--flush-cap", type=int, help="lines drawn per flush at most (default: the pane's)")
    args = parser.parse_args()
    stats = asyncio.run(run(args.lines, args.rate, args.batch, args.flush_cap))
    width = max(len(k) for k in stats)
    for key, value in stats.items():
        print(f"{key:<{width}}  {value:,.1f}")


if __name__ == "__main__":
    main()
