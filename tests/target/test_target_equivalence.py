"""check_static accepts exactly the refactor AFT proposed and rejects anything else."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from aft_tui.target.discover import discover
from aft_tui.target.equivalence import check_static
from aft_tui.target.refactor import plan_refactor

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def constants_plan():
    path = FIXTURES / "constants_train.py"
    return plan_refactor(path, discover(path), project_root=FIXTURES)


@pytest.fixture(scope="module")
def merged_plan():
    path = FIXTURES / "argparse_train.py"
    return plan_refactor(path, discover(path), project_root=FIXTURES)


def test_proposed_refactor_passes(constants_plan, merged_plan):
    for plan in (constants_plan, merged_plan):
        report = check_static(plan.original, plan.new_source, plan)
        assert report.ok and report.problems == []


def test_changed_default_fails(constants_plan):
    wrong = constants_plan.new_source.replace('"--lr", type=float, default=0.05', '"--lr", type=float, default=0.5')
    assert wrong != constants_plan.new_source
    report = check_static(constants_plan.original, wrong, constants_plan)
    assert not report.ok
    assert any("--lr defaults to `0.5` but the original value was `0.05`" in p for p in report.problems)


def test_changed_default_in_merged_parser_fails(merged_plan):
    wrong = merged_plan.new_source.replace('"--momentum", type=float, default=0.9', '"--momentum", type=float, default=0.8')
    report = check_static(merged_plan.original, wrong, merged_plan)
    assert not report.ok


def test_an_edit_elsewhere_fails(constants_plan):
    wrong = constants_plan.new_source.replace("w -= LR * gw", "w -= 2 * LR * gw")
    report = check_static(constants_plan.original, wrong, constants_plan)
    assert not report.ok
    assert any("w -= LR * gw" in p for p in report.problems)


def test_a_deleted_line_or_comment_fails(constants_plan):
    no_line = constants_plan.new_source.replace('    print("final rmse:", math.sqrt(val_loss))\n', "")
    assert not check_static(constants_plan.original, no_line, constants_plan).ok
    no_comment = constants_plan.new_source.replace("# Hyperparameters\n", "")
    assert not check_static(constants_plan.original, no_comment, constants_plan).ok


def test_flag_read_in_the_wrong_place_fails(constants_plan):
    swapped = constants_plan.new_source.replace("EPOCHS = _aft_args.epochs", "EPOCHS = _aft_args.batch_size")
    assert not check_static(constants_plan.original, swapped, constants_plan).ok


def test_code_hidden_behind_aft_names_fails(constants_plan):
    sneaky = constants_plan.new_source.replace(
        "_aft_args = _aft_parser.parse_args()\n",
        "_aft_args = _aft_parser.parse_args()\n_aft_side_effect = open('x.txt', 'w')\n",
    )
    report = check_static(constants_plan.original, sneaky, constants_plan)
    assert not report.ok and any("not code AFT adds" in p for p in report.problems)
    evaluated = constants_plan.new_source.replace(
        '"val_loss": val_loss})', '"val_loss": mse(w, b, val)})'
    )
    assert not check_static(constants_plan.original, evaluated, constants_plan).ok
    helper = constants_plan.new_source.replace("    if not path:\n        return\n", "    if not path:\n        path = 'x'\n")
    assert not check_static(constants_plan.original, helper, constants_plan).ok


def test_missing_flag_declaration_fails(constants_plan):
    source = "\n".join(l for l in constants_plan.new_source.splitlines() if '"--hidden"' not in l) + "\n"
    report = check_static(constants_plan.original, source, constants_plan)
    assert any("--hidden is not declared" in p for p in report.problems)


def test_name_mode_default_must_match_the_constant(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import argparse\n\nWIDTH = 32\n\n\ndef main():\n    parser = argparse.ArgumentParser()\n"
        "    parser.add_argument('--epochs', type=int, default=1)\n    args = parser.parse_args()\n"
        "    print(WIDTH, args.epochs)\n\n\nmain()\n"
    )
    # WIDTH is a hyperparameter by name ("width"); it is read after the parse, so it is replaced by name.
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert plan.bindings[0].mode == "name"
    assert check_static(plan.original, plan.new_source, plan).ok
    wrong = plan.new_source.replace("default=32", "default=64")
    report = check_static(plan.original, wrong, plan)
    assert not report.ok and any("WIDTH was `32`" in p for p in report.problems)


def test_importing_aft_or_unparsable_output_fails(constants_plan):
    imports = "import aft_tui\n" + constants_plan.new_source
    assert any("imports aft_tui" in p for p in check_static(constants_plan.original, imports, constants_plan).problems)
    broken = constants_plan.new_source + "\ndef (:\n"
    report = check_static(constants_plan.original, broken, constants_plan)
    assert not report.ok and "does not parse" in report.problems[0]


def test_plan_without_bindings_accepts_only_the_original(constants_plan):
    empty = dataclasses.replace(constants_plan, bindings=[])
    assert check_static(constants_plan.original, constants_plan.original, empty).ok
    assert not check_static(constants_plan.original, constants_plan.new_source, empty).ok


def test_pass_through_parser_on_a_tyro_script(tmp_path):
    """The shape is accepted; a parser that takes one of the script's own flags, keeps AFT's
    flags on the command line, or runs after the script's own parsing is not."""
    script = tmp_path / "train.py"
    script.write_text((FIXTURES / "tyro_train.py").read_text())
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert plan.parser_mode == "pass_through"
    assert check_static(plan.original, plan.new_source, plan).ok

    hand = "sys.argv[1:] = _aft_rest\n"
    steals = plan.new_source.replace(hand, hand.replace("sys.argv", '_aft_parser.add_argument("--run-name", type=str, default="x")\nsys.argv'))
    report = check_static(plan.original, steals, plan)
    assert not report.ok and any("--run-name" in p for p in report.problems)
    kept = plan.new_source.replace(hand, "")
    assert not check_static(plan.original, kept, plan).ok
    widened = plan.new_source.replace(hand, "sys.argv[1:] = _aft_rest + ['--seed', '3']\n")
    assert not check_static(plan.original, widened, plan).ok

    # A module-level parse: AFT's block moved after it is rejected.
    script.write_text(
        "from dataclasses import dataclass\n\nimport tyro\n\n\n@dataclass\nclass Args:\n    name: str = \"run\"\n\n\n"
        "args = tyro.cli(Args)\n\n\nclass SGD:\n    def __init__(self, lr):\n        self.lr = lr\n\n\n"
        "print(args.name, SGD(lr=0.3).lr)\n"
    )
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert check_static(plan.original, plan.new_source, plan).ok
    lines = plan.new_source.splitlines(keepends=True)
    block = [l for l in lines if l.startswith(("_aft_", "sys.argv"))]
    rest = [l for l in lines if l not in block]
    at = rest.index("args = tyro.cli(Args)\n") + 1
    late = "".join(rest[:at] + block + rest[at:])
    report = check_static(plan.original, late, plan)
    assert not report.ok and any("before AFT's parser" in p for p in report.problems)


_AGAIN = '''\
import argparse

LABEL_SMOOTHING = 0.1
MAX_GRAD_NORM = 1.0

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
args = parser.parse_args()
'''


def _refactored_twice(tmp_path: Path):
    """A script AFT refactored once (a flag, a metrics report) and then gave a time-budget check,
    refactored again for a new constant: the later refactor is proved against the earlier state."""
    from aft_tui.target.time_budget import insert_budget_check

    script = tmp_path / "train.py"
    loop = ("\nfor epoch in range(3):\n    for step in range(4):\n        loss = args.lr * LABEL_SMOOTHING\n"
            "        loss.backward()\n        optimizer.step()\n    print(f\"val_loss: {loss * MAX_GRAD_NORM}\")\n")
    script.write_text(_AGAIN + "optimizer = None\n" + loop)
    first = plan_refactor(script, discover(script), ["label_smoothing"], project_root=tmp_path)
    assert first.changed
    budgeted = insert_budget_check(first.new_source)
    assert budgeted is not None
    script.write_text(budgeted.new_source)
    return plan_refactor(script, discover(script), ["max_grad_norm"], project_root=tmp_path)


def test_a_script_aft_already_changed_can_be_refactored_again(tmp_path: Path):
    plan = _refactored_twice(tmp_path)
    assert [p.name for p in plan.lifted] == ["max_grad_norm"]
    assert "_aft_report" in plan.new_source and "_AFT_DEADLINE" in plan.new_source
    assert check_static(plan.original, plan.new_source, plan).ok


def test_an_earlier_addition_changed_by_the_later_refactor_is_still_caught(tmp_path: Path):
    plan = _refactored_twice(tmp_path)
    tampered = plan.new_source.replace("if _AFT_DEADLINE is None:", "if _AFT_DEADLINE is not None:", 1)
    assert tampered != plan.new_source
    report = check_static(plan.original, tampered, plan)
    assert not report.ok
