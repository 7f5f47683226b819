"""Events read back from a session log are checked against their fields: a damaged or hand-edited
line is refused at decoding (and skipped by the reader), never passed on to break a view."""

from __future__ import annotations

import dataclasses
import io
import math

import pytest
from rich.console import Console

from aft_tui.engine import events as ev
from aft_tui.ui.session_view import SessionView
from aft_tui.ui.plain import PlainView

JSON_VALUES = [None, 0, 7, -1, 1.5, math.nan, math.inf, "nan", "-inf", "x", "", True, [], [1], ["a"], [None], {},
               {"a": 1}, {"a": "b"}, {"a": [1]}, [{"a": 1}], [{"sentence": 3}], {"commit": 5, "params": [1]}]


def _show(event: ev.Event) -> None:
    view = SessionView()
    view.apply(ev.TrialStarted(run_id="r", number=1))
    view.apply(ev.TrialMetric(run_id="r", step=1, values={"acc": 0.5}))
    view.apply(event)
    view.status_fields()
    view.records()
    view.curve("r")
    view.best_so_far()
    view.latest_proposal()
    view = PlainView(console=Console(file=io.StringIO(), width=80), show_logs=True, echo_user=True)
    view(event)
    view(ev.SessionEnded())


@pytest.mark.parametrize("kind", sorted(ev._REGISTRY))
def test_every_field_of_every_event_is_decoded_or_refused_never_passed_on_broken(kind: str):
    cls = ev._REGISTRY[kind]
    refused = 0
    for name in (f.name for f in dataclasses.fields(cls)):
        for value in JSON_VALUES:
            try:
                event = ev.event_from_dict({"kind": kind, "run_id": "r", name: value})
            except ValueError:
                refused += 1
                continue
            _show(event)  # whatever decodes, every view can show
    assert refused or cls is ev.UnknownEvent


def test_what_aft_writes_decodes_as_before():
    finished = ev.event_from_dict({"kind": "trial_finished", "run_id": "r", "number": 3.0, "value": "nan",
                                   "duration": 2, "result": {"metric": "acc", "params": {"lr": 0.1}}})
    assert isinstance(finished, ev.TrialFinished)
    assert finished.number == 3 and isinstance(finished.number, int)
    assert finished.value == "nan"  # NaN is stored as text and read back as text
    metric = ev.event_from_dict({"kind": "trial_metric", "run_id": "r", "step": 4, "values": {"loss": "inf"}})
    assert metric.values == {"loss": "inf"}
    unknown = ev.event_from_dict({"kind": "from_a_newer_aft", "ts": "later", "what": [1]})
    assert isinstance(unknown, ev.UnknownEvent) and unknown.ts == 0.0 and unknown.raw["what"] == [1]
    with pytest.raises(ValueError, match="field 'duration' holds nan"):
        ev.event_from_dict({"kind": "trial_finished", "duration": math.nan})
    with pytest.raises(ValueError, match="field 'lines' holds a number where AFT writes a list of text"):
        ev.event_from_dict({"kind": "trial_log", "lines": 5})
    with pytest.raises(ValueError, match="'kind' is not text"):
        ev.event_from_dict({"kind": ["trial_log"]})
