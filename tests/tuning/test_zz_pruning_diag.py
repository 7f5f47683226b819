"""Diagnostic only (not committed): the in-process pruning session, with what the pruner saw."""
from __future__ import annotations

import json

import pytest

from tests.tuning.conftest import load_study, tune

pytestmark = pytest.mark.slow


async def test_zz_median_in_process(curve_project, monkeypatch):
    from aft_tui.engine.tuner.loop import Tuner as TuningRun
    seen = []
    original = TuningRun.prune_check

    def wrapped(self, trial):
        check = original(self, trial)

        def inner(value, step):
            try:
                out = check(value, step)
            except BaseException as exc:  # noqa
                seen.append((trial.number, step, value, "EXC " + repr(exc)))
                raise
            seen.append((trial.number, step, value, out))
            return out
        return inner

    monkeypatch.setattr(TuningRun, "prune_check", wrapped)
    monkeypatch.setenv("AFT_TEST_SLEEP", "0.25")
    _, records, engine = await tune(curve_project, 8, strategy="random", seed=2, pruner="median",
                                    search={"epochs": {"fixed": 6}})
    study = load_study(engine)
    info = {
        "records": [(r["number"], r["status"], r["value"], len(r["history"]), r.get("reason")) for r in records],
        "seen": seen,
        "study": [(t.number, str(t.state), dict(t.intermediate_values), t.params) for t in study.trials],
        "settings_pruner": engine.settings.pruner,
    }
    with open("/tmp/pruning_diag.json", "w") as fh:
        json.dump(info, fh, default=str, indent=1)
    assert any(r["status"] == "pruned" for r in records), json.dumps(info, default=str)[:6000]
