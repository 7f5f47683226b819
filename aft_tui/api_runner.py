"""Running an engine's coroutine to the end from ordinary Python code, here or in a worker
thread, with its events handed to the caller on the caller's thread.

A script has no event loop, so the engine gets its own; a notebook already runs one, so the
engine's loop runs in a worker thread and the call blocks the cell like any long computation.
"""

from __future__ import annotations

import asyncio
import queue
import signal
import threading
from typing import Any, Awaitable, Callable, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from aft_tui.engine.engine import Engine

T = TypeVar("T")
EventCallback = Callable[[Any], None]


class EngineRunner:
    """Runs the engine's coroutine to the end, here or in a worker thread, relaying its events.

    Events reach `sink` on the caller's thread in the order they were emitted, including those
    the engine emits from its helper threads (git work runs off the loop). The first Ctrl-C
    (or Jupyter's interrupt) stops the engine the way `aft` does (running trials are cancelled
    and recorded, the session stays resumable); KeyboardInterrupt is raised once it has stopped.
    An exception raised by `sink` also stops the engine and is re-raised afterwards.
    """

    def __init__(self, engine: Engine, sink: EventCallback | None) -> None:
        self.engine = engine
        self.sink = sink
        self.interrupted = False
        self._sink_error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._threaded = _loop_running()
        self._events: queue.Queue[Any] = queue.Queue()
        if sink is not None:
            engine.subscribe(self._events.put if self._threaded else self._on_event)

    def bind_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        if not self._threaded and threading.current_thread() is threading.main_thread():
            try:
                self._loop.add_signal_handler(signal.SIGINT, self._interrupt)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
                pass

    def run(self, main: Callable[[], Awaitable[T]]) -> T:
        if self._threaded:
            result = self._run_threaded(main)
        else:
            result = asyncio.run(main())  # type: ignore[arg-type]
            self._drain()
        if self._sink_error is not None:
            raise self._sink_error
        if self.interrupted:
            raise KeyboardInterrupt
        return result

    def _on_event(self, event: Any) -> None:
        """Same-thread delivery when the engine's loop runs on the caller's thread."""
        if self._loop_thread is None or threading.get_ident() == self._loop_thread:
            self._drain()
            self._deliver(event)
            return
        self._events.put(event)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._drain)
            except RuntimeError:  # the loop closed meanwhile; run() drains what is left
                pass

    def _drain(self) -> None:
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return
            self._deliver(event)

    def _deliver(self, event: Any) -> None:
        if self._sink_error is not None or self.sink is None:
            return
        try:
            self.sink(event)
        except Exception as exc:
            self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        """A callback of the caller's broke: stop the engine, raise `exc` once it has stopped."""
        if self._sink_error is None:
            self._sink_error = exc
            self._stop()

    def _interrupt(self) -> None:
        if not self.interrupted:
            self.interrupted = True
            self._stop()

    def _stop(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if self._threaded:
            loop.call_soon_threadsafe(self.engine.request_stop)
        else:
            self.engine.request_stop()

    def _run_threaded(self, main: Callable[[], Awaitable[T]]) -> T:
        box: dict[str, Any] = {}
        done = object()

        def work() -> None:
            try:
                box["value"] = asyncio.run(main())  # type: ignore[arg-type]
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc
            finally:
                self._events.put(done)

        thread = threading.Thread(target=work, name="aft-engine", daemon=True)
        previous = None
        if threading.current_thread() is threading.main_thread():
            # The caller's loop may hold Ctrl-C for its own task, which is blocked here: take it.
            previous = signal.signal(signal.SIGINT, lambda signum, frame: self._interrupt())
        try:
            thread.start()
            while True:
                try:
                    item = self._events.get(timeout=0.2)
                except queue.Empty:
                    continue
                except KeyboardInterrupt:
                    self._interrupt()
                    continue
                if item is done:
                    break
                try:
                    self._deliver(item)
                except KeyboardInterrupt:
                    self._interrupt()
            thread.join()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        if "error" in box:
            raise box["error"]
        return box["value"]


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
