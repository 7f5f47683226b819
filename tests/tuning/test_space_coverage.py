"""Every tuned parameter reaches the search space, or is named once with the reason it cannot."""

from __future__ import annotations

import pytest

from aft_tui.target.params import Param
from aft_tui.target.ranges import suggest_range
from aft_tui.tuning.space import SearchSpace, build_space, dimension_from_param

# Tuned numbers as discovery reports them, some with no name a range rule knows.
NUMBERS = [
    Param("feature_fraction", "float", 0.9, flag="--feature-fraction"),
    Param("bagging_freq", "int", 5, flag="--bagging-freq"),
    Param("num_boost_round", "int", 20, flag="--num-boost-round"),
    Param("stopping_rounds", "int", 5, flag="--stopping-rounds"),
    Param("m", "int", 2, flag="--m"),
    Param("n_rows", "int", 1, flag="--n-rows"),
    Param("shift", "float", -0.5, flag="--shift"),
    Param("offset", "int", 0, flag="--offset"),
    Param("scale", "float", 3.0, flag="--scale"),
]


@pytest.mark.parametrize("param", NUMBERS, ids=[p.name for p in NUMBERS])
@pytest.mark.parametrize("suggested", [True, False], ids=["suggested", "bare"])
def test_every_tuned_number_gets_a_dimension_around_its_default(param, suggested):
    dim = dimension_from_param(suggest_range(param) if suggested else param)
    assert dim is not None
    assert dim.low < dim.high and dim.low <= dim.default <= dim.high
    assert dim.kind == param.type
    if param.type == "int":
        assert isinstance(dim.low, int) and isinstance(dim.high, int)
    if param.name == "feature_fraction":
        assert dim.high <= 1.0


def test_left_out_parameters_are_named_with_a_reason_and_kept_in_the_record():
    params = NUMBERS + [
        Param("target_kl", "float", None, flag="--target-kl"),
        Param("optim", "str", "adamw_torch", flag="--optim"),
        Param("max_depth", "int", -1, flag="--max-depth"),
        Param("seed", "int", 1, flag="--seed", extra={"tunable": False}),
    ]
    space = build_space(params)
    assert [d.name for d in space.dims] == [p.name for p in NUMBERS]
    assert list(space.left_out) == ["target_kl", "optim", "max_depth"]  # the seed is not tuned: not "left out"
    assert "no default" in space.left_out["target_kl"] and "[search.target_kl]" in space.left_out["target_kl"]
    assert "choices" in space.left_out["optim"]
    assert "-1" in space.left_out["max_depth"]
    assert SearchSpace.from_dict(space.to_dict()).left_out == space.left_out


def test_a_range_given_for_a_left_out_parameter_brings_it_in():
    params = [Param("target_kl", "float", 0.02, flag="--target-kl"), Param("optim", "str", "adamw", flag="--optim")]
    space = build_space(params, {"optim": {"choices": ["adamw", "sgd"]}})
    assert [d.name for d in space.dims] == ["target_kl", "optim"] and not space.left_out
