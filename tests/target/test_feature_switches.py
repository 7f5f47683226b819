"""Switches named use_*, enable_* or disable_* choose what kind of training runs (LoRA or full
fine-tuning, CPU or GPU): they are reported, not searched, unless the person asks for them."""

from __future__ import annotations

import pytest

from aft_tui.target.discover import discover
from aft_tui.target.knobs import is_knob
from aft_tui.tuning.space import build_space

KINDS = ["literal", "flag", "option", "exposed"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["use_peft_lora", "use_cpu", "use_gdc", "enable_xformers", "disable_tqdm",
                                  "trainer.use_amp"])
def test_feature_switches_are_not_knobs(name, kind):
    assert not is_knob(name, "bool", False, kind=kind)


def test_other_switches_and_numbers_keep_their_judgement():
    assert is_knob("anneal_lr", "bool", True, kind="option")
    assert is_knob("nesterov", "bool", False, kind="flag")
    assert is_knob("use_count", "int", 3, kind="literal")  # not a switch: a number named use_*


def test_discovered_switch_is_reported_and_searched_only_on_request(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import argparse\n"
        "parser = argparse.ArgumentParser()\n"
        "parser.add_argument('--use-peft-lora', action='store_true')\n"
        "parser.add_argument('--lora-dropout', type=float, default=0.1)\n"
        "args = parser.parse_args()\n"
        "print(args.use_peft_lora, args.lora_dropout)\n"
    )
    params = discover(script).params
    switch = next(p for p in params if p.name == "use_peft_lora")
    assert switch.extra["tunable"] is False
    assert [d.name for d in build_space(params)] == ["lora_dropout"]
    assert [d.name for d in build_space(params, only=["use_peft_lora"])] == ["use_peft_lora"]
    asked = build_space(params, {"use_peft_lora": {"choices": [False, True]}})
    assert asked.get("use_peft_lora").choices == [False, True]


def test_switches_written_in_code_are_reported_not_tuned(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "USE_AMP = True\n"
        "LR = 0.01\n"
        "if __name__ == '__main__':\n"
        "    use_ema_decay = False\n"
        "    hidden_dim = 16\n"
        "    print(USE_AMP, LR, use_ema_decay, hidden_dim)\n"
    )
    tunable = {p.name: p.extra.get("tunable", True) for p in discover(script).params}
    assert tunable["use_amp"] is False and tunable["lr"] is True
    assert tunable["use_ema_decay"] is False and tunable["hidden_dim"] is True
