"""The tuner: the loop (loop.py), the path of one trial (one_trial.py), the session's records
(ledger.py), study set-up and resume (setup.py), and what it says (summary.py)."""

from aft_tui.engine.tuner.loop import Tuner

__all__ = ["Tuner"]
