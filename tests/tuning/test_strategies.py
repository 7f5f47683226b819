"""Every strategy behind one interface, through the real engine: it starts from the script's
defaults, proposes only points inside the search space, and repeats itself given the seed."""

from __future__ import annotations

import pytest

from aft_tui.errors import UserError
from aft_tui.tuning.space import SearchSpace
from aft_tui.tuning.strategies import make_sampler
from tests.tuning.conftest import tune

pytestmark = pytest.mark.slow

STRATEGIES = ["tpe", "random", "gp", "cmaes", "grid", "coordinate"]


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_strategy_starts_from_defaults_stays_in_space_and_is_seeded(curve_project, strategy):
    _, first, engine = await tune(curve_project, 5, strategy=strategy, seed=7)
    space = SearchSpace.from_dict(engine.state.space)
    assert first[0]["strategy"] == "defaults" and first[0]["params"] == space.defaults()
    for r in first:
        assert set(r["params"]) == {d.name for d in space} and not space.validate(r["params"]), r["params"]
        assert r["status"] == "ok", r["reason"]
    assert len({repr(sorted(r["params"].items())) for r in first}) == len(first)  # no point ran twice
    assert all(r["strategy"] != "defaults" for r in first[1:])
    _, again, _ = await tune(curve_project, 5, strategy=strategy, seed=7)
    assert [r["params"] for r in again] == [r["params"] for r in first]


async def test_grid_ends_the_session_when_every_point_ran(curve_project):
    summary, records, _ = await tune(curve_project, 10, strategy="grid",
                                     search={"lr": {"fixed": 0.01}, "epochs": {"fixed": 2}, "width": {"fixed": 64}})
    assert summary["end_reason"] == "every point of the grid has run"
    assert sorted(r["params"]["optimizer"] for r in records) == ["adam", "sgd"]


def test_missing_sampler_backend_is_one_clear_sentence(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cmaes" else real(name, *a))
    with pytest.raises(UserError, match=r"The cmaes strategy needs the 'cmaes' package.*pip install cmaes"):
        make_sampler("cmaes", 0, SearchSpace([]))
