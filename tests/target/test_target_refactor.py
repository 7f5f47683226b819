"""The libcst refactor: exact, minimal diffs that pass the static equivalence check."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from aft_tui.errors import UserError
from aft_tui.target.discover import discover
from aft_tui.target.equivalence import check_static
from aft_tui.target.refactor import plan_refactor

FIXTURES = Path(__file__).parent / "fixtures"


def changed_lines(plan) -> tuple[list[str], list[str]]:
    removed = [l[1:] for l in plan.diff.splitlines() if l.startswith("-") and not l.startswith("---")]
    added = [l[1:] for l in plan.diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
    return removed, added


def plan_for(name: str, **kw):
    path = FIXTURES / name
    return plan_refactor(path, discover(path), project_root=FIXTURES, **kw)


# (fixture, parser mode, original lines that change, flags added)
CASES = [
    ("constants_train.py", "new", 5, ["--lr", "--epochs", "--batch-size", "--hidden", "--dropout"]),
    ("plain_loop.py", "new", 2, ["--lr", "--momentum", "--epochs"]),
    ("argparse_train.py", "merged", 1, ["--momentum"]),
    ("torch_train.py", "new", 7, ["--lr", "--dropout", "--batch-size", "--optimizer-lr", "--weight-decay",
                                   "--beta1", "--beta2", "--step-size", "--gamma", "--max-grad-norm", "--epochs"]),
    ("hf_trainer.py", "new", 7, ["--learning-rate", "--num-train-epochs", "--per-device-train-batch-size",
                                  "--weight-decay", "--warmup-ratio", "--lr-scheduler-type", "--lora-r",
                                  "--lora-alpha", "--lora-dropout"]),
    ("lightning_train.py", "new", 3, ["--dropout", "--lr", "--max-epochs"]),
    ("config_train.py", "new", 1, []),
    ("sysargv_train.py", "pass_through", 2, ["--epochs", "--learning-rate"]),
    ("hf_argparser.py", "none", 1, []),
    ("sklearn_train.py", "new", 1, ["--n-estimators", "--max-depth"]),
]


@pytest.mark.parametrize("name,mode,n_changed,flags", CASES, ids=[c[0] for c in CASES])
def test_refactor_is_minimal_and_provably_equivalent(name, mode, n_changed, flags):
    plan = plan_for(name)
    assert plan.parser_mode == mode
    cst.parse_module(plan.new_source)
    compile(plan.new_source, name, "exec")
    removed, added = changed_lines(plan)
    # Every original line outside the lifted values is byte-identical: only these lines change.
    assert len(removed) == n_changed, removed
    assert [p.flag for p in plan.lifted] == flags
    assert plan.diff.startswith(f"--- a/{name}\n+++ b/{name}\n")
    assert plan.original == (FIXTURES / name).read_text()
    assert "aft_tui" not in plan.new_source
    report = check_static(plan.original, plan.new_source, plan)
    assert report.ok, report.problems
    assert plan.rationale and "\n" not in plan.rationale


def test_constants_become_flag_reads_and_hook_follows_the_print():
    plan = plan_for("constants_train.py")
    new = plan.new_source
    assert "LR = _aft_args.lr\n" in new
    assert "HIDDEN = _aft_args.hidden  # unused width, kept to look like a real model\n" in new
    assert "SEED = 1234\n" in new  # seeds are never lifted by default
    assert '_aft_parser.add_argument("--lr", type=float, default=0.05,' in new
    lines = new.splitlines()
    at = lines.index('        print(f"epoch {epoch}: train_loss={train_loss:.5f} val_loss: {val_loss:.5f}")')
    assert lines[at + 1] == '        _aft_report({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})'
    assert "per epoch" in plan.reporting
    assert [b.mode for b in plan.bindings] == ["value"] * 5
    lifted = {p.name: p for p in plan.lifted}
    assert lifted["batch_size"].flag == "--batch-size" and lifted["batch_size"].extra["dest"] == "batch_size"


def test_literal_kwargs_keep_their_original_spelling():
    plan = plan_for("torch_train.py")
    assert '_aft_parser.add_argument("--optimizer-lr", type=float, default=1e-3,' in plan.new_source
    assert "betas=(_aft_args.beta1, _aft_args.beta2)" in plan.new_source
    assert "nn.Dropout(_aft_args.dropout)" in plan.new_source
    assert "for epoch in range(_aft_args.epochs):" in plan.new_source


def test_merge_into_existing_parser():
    plan = plan_for("argparse_train.py")
    lines = plan.new_source.splitlines()
    at = lines.index('    parser.add_argument("--use-amp", action="store_true")')
    assert lines[at + 1].startswith('    parser.add_argument("--momentum", type=float, default=0.9,')
    assert lines[at + 2] == "    return parser.parse_args()"
    assert "    opt = SGD(args.lr, momentum=args.momentum)" in lines
    assert "_aft_parser" not in plan.new_source
    assert plan.bindings[0].args_name == "args"


def test_hf_trainer_gets_a_callback_in_the_multiline_call():
    plan = plan_for("hf_trainer.py")
    new = plan.new_source
    assert "from transformers import TrainerCallback as _AftTrainerCallback\n" in new
    assert "class _AftMetricsCallback(_AftTrainerCallback):" in new
    assert "    def on_evaluate(self, args, state, control, metrics=None, **kwargs):" in new
    assert "        compute_metrics=compute_metrics,\n        callbacks=[_AftMetricsCallback()],\n    )\n" in new
    assert "TrainerCallback" in plan.reporting


def test_lightning_callback_is_appended_to_the_existing_list():
    plan = plan_for("lightning_train.py")
    assert "callbacks=[EarlyStopping(monitor=\"val_loss\"), _AftMetricsCallback()]" in plan.new_source
    assert "from lightning.pytorch.callbacks import Callback as _AftLightningCallback" in plan.new_source
    assert "trainer.callback_metrics" in plan.new_source


def test_config_script_gets_a_config_flag():
    plan = plan_for("config_train.py")
    assert plan.config_flag == "--config"
    assert '_aft_parser.add_argument("--config", type=str, default="train_config.yaml",' in plan.new_source
    assert "with open(_aft_args.config) as fh:" in plan.new_source
    assert plan.lifted == []


def test_existing_config_flag_is_reused(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""\
        import argparse
        import yaml

        parser = argparse.ArgumentParser()
        parser.add_argument("--config", default="cfg.yaml")
        args = parser.parse_args()
        cfg = yaml.safe_load(open(args.config))
        print(f"loss: {cfg['lr']}")
    """))
    (tmp_path / "cfg.yaml").write_text("lr: 0.1\nepochs: 3\n")
    d = discover(script)
    assert d.config_files == ["cfg.yaml"]
    plan = plan_refactor(script, d, project_root=tmp_path)
    assert plan.config_flag == "--config"
    assert plan.lifted == [] and plan.bindings == []


def test_chosen_subset_and_bad_names():
    plan = plan_for("torch_train.py", chosen=["optimizer_lr", "epochs"])
    assert [p.name for p in plan.lifted] == ["optimizer_lr", "epochs"]
    removed, _ = changed_lines(plan)
    assert len(removed) == 2
    with pytest.raises(UserError, match="no parameter named nope"):
        plan_for("torch_train.py", chosen=["nope"])
    plan = plan_for("argparse_train.py", chosen=["lr", "momentum"])
    assert ("lr", "already a command-line flag (--lr)") in plan.not_lifted
    assert [p.name for p in plan.lifted] == ["momentum"]


def test_constant_read_after_parse_is_replaced_by_name(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""\
        import argparse

        HIDDEN = 32


        def main():
            parser = argparse.ArgumentParser()
            parser.add_argument("--epochs", type=int, default=2)
            args = parser.parse_args()
            width = HIDDEN * 2
            for epoch in range(args.epochs):
                print(f"epoch {epoch} loss={1.0 / (epoch + 1):.3f}")
            print(HIDDEN, width)


        if __name__ == "__main__":
            main()
    """))
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert plan.parser_mode == "merged"
    assert plan.bindings[0].mode == "name" and plan.bindings[0].constant == "HIDDEN"
    assert "HIDDEN = 32\n" in plan.new_source
    assert "    width = args.hidden * 2\n" in plan.new_source
    assert "    print(args.hidden, width)\n" in plan.new_source
    assert check_static(plan.original, plan.new_source, plan).ok


def test_values_out_of_reach_of_args_use_a_pass_through_parser(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""\
        import argparse


        def build():
            return [0.0] * 4


        def main():
            parser = argparse.ArgumentParser()
            parser.add_argument("--epochs", type=int, default=2)
            args = parser.parse_args()
            print(len(build()), args.epochs)


        class SGD:
            def __init__(self, lr=0.1):
                self.lr = lr


        def make():
            return SGD(lr=0.3)
    """))
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert plan.parser_mode == "pass_through"
    assert "outside the reach of `args`" in plan.rationale
    assert "    return SGD(lr=_aft_args.lr)\n" in plan.new_source
    assert "sys.argv[1:] = _aft_rest" in plan.new_source
    assert check_static(plan.original, plan.new_source, plan).ok


def test_scripts_that_already_report_are_left_alone(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""\
        import json
        import os

        LR = 0.1
        for epoch in range(3):
            loss = LR / (epoch + 1)
            print(f"loss: {loss}")
            if os.environ.get("AFT_METRICS"):
                with open(os.environ["AFT_METRICS"], "a") as fh:
                    fh.write(json.dumps({"epoch": epoch, "loss": loss}) + "\\n")
    """))
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert "_aft_report" not in plan.new_source
    assert "already writes AFT_METRICS" in plan.reporting
    assert [p.name for p in plan.lifted] == ["lr", "epochs"]


def test_nothing_to_do_gives_an_unchanged_plan(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import sys\nprint(sys.argv)\n")
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert not plan.changed and plan.diff == ""
    assert "No value" in plan.rationale


def test_local_imports_are_listed_as_unchanged(tmp_path):
    (tmp_path / "model.py").write_text("def net():\n    return 1\n")
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "__init__.py").write_text("")
    script = tmp_path / "train.py"
    script.write_text("import os\nimport utils\nfrom model import net\n\nEPOCHS = 2\nprint(net(), EPOCHS)\n")
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert plan.unchanged_files == ["utils/__init__.py", "model.py"]
    assert "model.py" in plan.rationale


def test_script_outside_the_project_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "train.py").write_text("LR = 0.1\nprint(LR)\n")
    project = tmp_path / "project"
    project.mkdir()
    os.symlink(outside / "train.py", project / "train.py")
    d = discover(project / "train.py")
    with pytest.raises(UserError, match="outside the project"):
        plan_refactor(project / "train.py", d, project_root=project)


def test_stale_discovery_is_refused(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("LR = 0.1\nprint(LR)\n")
    d = discover(script)
    script.write_text("import math\n\nLR = 0.1\nprint(LR)\n")
    with pytest.raises(UserError, match="changed since it was read"):
        plan_refactor(script, d, project_root=tmp_path)


def test_crlf_and_tab_indented_scripts_keep_their_style(tmp_path):
    script = tmp_path / "train.py"
    source = "import random\r\n\r\nLR = 0.5\r\n\r\ndef main():\r\n\tfor epoch in range(3):\r\n\t\tloss = LR / (epoch + 1)\r\n\t\tprint(f\"loss: {loss}\")\r\n\r\nmain()\r\n"
    script.write_bytes(source.encode())
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert "\n" not in plan.new_source.replace("\r\n", "")
    assert '\t\t_aft_report({"epoch": epoch, "loss": loss})\r\n' in plan.new_source
    assert check_static(plan.original, plan.new_source, plan).ok


PATH_SCRIPT = """\
from pathlib import Path

import yaml

CONFIG_PATH = {expr}


def main():
    cfg = yaml.safe_load(CONFIG_PATH.read_text())
    score = 0.0
    for epoch in range(cfg["training"]["epochs"]):
        score += cfg["training"]["m2"]["learning_rate"] * (1.0 - score)
        print(f"epoch {{epoch}} val_score={{score:.4f}}")


main()
"""


def test_config_path_built_with_with_name_falls_back_to_the_original_expression(tmp_path):
    import shutil

    shutil.copy(FIXTURES / "train_config.yaml", tmp_path)
    script = tmp_path / "train.py"
    script.write_text(PATH_SCRIPT.format(expr='Path(__file__).with_name("train_config.yaml")'))
    d = discover(script)
    assert d.config_files == ["train_config.yaml"]
    plan = plan_refactor(script, d, project_root=tmp_path)
    assert plan.config_flag == "--config" and plan.bindings[0].mode == "fallback"
    assert '_aft_parser.add_argument("--config", type=Path, default=None,' in plan.new_source
    assert ('CONFIG_PATH = (Path(__file__).with_name("train_config.yaml") if _aft_args.config is None '
            "else _aft_args.config)\n") in plan.new_source
    assert check_static(plan.original, plan.new_source, plan).ok
    wrong = plan.new_source.replace("default=None", 'default="train_config.yaml"')
    assert not check_static(plan.original, wrong, plan).ok
    # Rediscovery of the refactored script finds the flag and the config it names.
    script.write_text(plan.new_source)
    again = discover(script)
    flag = next(p for p in again.params if p.name == "config")
    assert flag.extra["config_flag"] and again.config_files == ["train_config.yaml"]


def test_config_path_joined_to_the_script_folder_is_lifted_as_a_value(tmp_path):
    import shutil

    shutil.copy(FIXTURES / "train_config.yaml", tmp_path)
    script = tmp_path / "train.py"
    script.write_text(PATH_SCRIPT.format(expr='Path(__file__).parent / "train_config.yaml"'))
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert plan.bindings[0].mode == "value"
    assert "CONFIG_PATH = Path(__file__).parent / _aft_args.config\n" in plan.new_source
    assert check_static(plan.original, plan.new_source, plan).ok


def test_script_whose_first_line_is_code(tmp_path):
    """No docstring or import above the first constant: the header goes at the very top."""
    from aft_tui.target.discover import discover
    from aft_tui.target.equivalence import check_static
    from aft_tui.target.refactor import plan_refactor

    script = tmp_path / "t.py"
    script.write_text('LR = 0.1\nEPOCHS = 3\nfor e in range(EPOCHS):\n    print(f"epoch {e} val_loss: {LR/(e+1)}")\n')
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    assert not plan.new_source.startswith("\n")
    assert check_static(plan.original, plan.new_source, plan).ok
