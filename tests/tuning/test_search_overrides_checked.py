"""Search-space tables and run limits that cannot work are refused in one sentence, not crashed on."""

from __future__ import annotations

import pytest

from aft_tui.errors import UserError
from aft_tui.settings import Settings
from aft_tui.target.params import Param
from aft_tui.tuning.space import build_space

LR = Param("lr", "float", 0.01, flag="--lr", low=1e-3, high=0.1, log=True)


@pytest.mark.parametrize("override,needle", [
    ({"low": 0, "high": 0.1, "log": True}, "log = true needs low > 0"),
    ({"low": float("nan"), "high": 0.1}, "low must be a finite number"),
    ({"low": 1e-4, "high": float("inf")}, "high must be a finite number"),
    ({"low": "small", "high": 0.1}, "low must be a finite number"),
    ({"choices": []}, "choices must be a non-empty list"),
    ({"choices": 0.1}, "choices must be a non-empty list"),
])
def test_a_search_table_that_cannot_work_is_refused(override, needle):
    with pytest.raises(UserError, match=needle):
        build_space([LR], {"lr": override})


def test_a_valid_log_range_still_builds():
    (dim,) = build_space([LR], {"lr": {"low": 1e-4, "high": 0.1, "log": True}}).dims
    assert (dim.low, dim.high, dim.log) == (1e-4, 0.1, True)


@pytest.mark.parametrize("key,value", [("timeout", -5), ("timeout", float("nan")), ("budget", 0),
                                       ("smoke_timeout", float("inf")), ("trials", -3), ("trials", 0),
                                       ("trials", 2.5)])
def test_run_limits_must_be_positive(key, value):
    with pytest.raises(UserError, match=key):
        Settings().update({key: value}, "the command line")
