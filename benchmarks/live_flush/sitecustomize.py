"""Prototype measured by the passthrough benchmark: live output without unbuffered writes.

Put first on a trial's PYTHONPATH (with `-u` and PYTHONUNBUFFERED left out), it keeps the
script's stdout block-buffered, which is what makes writing to a file fast, and flushes it
from a daemon thread every FLUSH_S seconds so a live view still sees each line within that
time. A traceback flushes stdout first so the tail of the log keeps it last. The module
shadows any `sitecustomize` of the environment, so it runs that one too.
"""

import os
import sys
import threading
import time

FLUSH_S = 0.1


def _flush_forever():
    while True:
        time.sleep(FLUSH_S)
        for stream in (sys.__stdout__, sys.__stderr__):
            try:
                if stream is not None:
                    stream.flush()
            except Exception:
                pass


def _start():
    threading.Thread(target=_flush_forever, name="live-output", daemon=True).start()


def _flush_before_traceback(hook):
    def excepthook(*args):
        try:
            sys.__stdout__.flush()
        except Exception:
            pass
        hook(*args)
    return excepthook


def _run_shadowed():
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


_start()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_start)
sys.excepthook = _flush_before_traceback(sys.excepthook)
_run_shadowed()
