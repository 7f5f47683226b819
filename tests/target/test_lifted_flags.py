"""A value the refactor lifts to a flag stays a knob when the refactored script is discovered
again: `--feature-fraction` or `--m` are not named like the flags a person writes, yet the search
space the tuner builds from the refactored script holds every one of them with a range."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aft_tui.target.discover import discover
from aft_tui.target.refactor import plan_refactor
from aft_tui.tuning.space import build_space

FIXTURES = Path(__file__).parent / "fixtures"

# (fixture, whether the refactor merges into the script's own parser)
CASES = [("booster_params_train.py", False), ("parser_and_booster_dict.py", True), ("main_locals_train.py", False)]


def refactored(tmp_path: Path, name: str):
    script = tmp_path / name
    shutil.copy(FIXTURES / name, script)
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    after = tmp_path / f"lifted_{name}"
    after.write_text(plan.new_source)
    return plan, discover(after)


@pytest.mark.parametrize("name,merged", CASES, ids=[c[0] for c in CASES])
def test_lifted_flags_stay_knobs_with_ranges(tmp_path, name, merged):
    plan, found = refactored(tmp_path, name)
    assert ("_aft_parser" not in plan.new_source) == merged
    lifted = {p.flag for p in plan.lifted}
    flags = {p.flag: p for p in found.params if p.source == "argparse"}
    assert lifted <= set(flags)
    for flag in lifted:
        param = flags[flag]
        assert param.extra["tunable"], flag
        assert param.choices or (param.low is not None and param.low < param.high), flag
    space = build_space([p for p in found.params if p.flag])
    assert {d.flag for d in space.dims} >= lifted
    assert not space.left_out


def test_lifted_booster_settings_get_their_ranges(tmp_path):
    _, found = refactored(tmp_path, "parser_and_booster_dict.py")
    space = build_space([p for p in found.params if p.flag])
    got = {d.name: (d.kind, d.low, d.high) for d in space.dims}
    assert got["feature_fraction"] == ("float", 0.05, 1.0)
    assert got["bagging_fraction"] == ("float", 0.05, 1.0)
    assert got["bagging_freq"] == ("int", 2, 10)
    assert got["num_boost_round"] == ("int", 6, 60)
    assert got["stopping_rounds"] == ("int", 1, 15)


def test_a_person_s_own_flag_is_still_judged_by_its_name(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import argparse\n"
        "parser = argparse.ArgumentParser()\n"
        "parser.add_argument('--n-rows', type=int, default=32, help='rows to read from the file at data.csv')\n"
        "parser.add_argument('--report-every', type=int, default=10, help='steps between reports at train.py')\n"
        "args = parser.parse_args()\n"
        "print(args.n_rows, args.report_every)\n"
    )
    tunable = {p.name: p.extra["tunable"] for p in discover(script).params}
    assert tunable == {"n_rows": False, "report_every": False}
