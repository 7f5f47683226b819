"""Discovery on realistic training scripts (static only: nothing here imports torch)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aft_tui.errors import UserError
from aft_tui.target.discover import Discovery, discover
from tests.conftest import ROOT

FIXTURES = Path(__file__).parent / "fixtures"


def by_name(d: Discovery) -> dict:
    return {p.name: p for p in d.params}


def test_module_constants():
    d = discover(FIXTURES / "constants_train.py")
    params = by_name(d)
    assert list(params) == ["lr", "epochs", "batch_size", "hidden", "dropout", "seed"]
    lr = params["lr"]
    assert (lr.type, lr.default, lr.source, lr.flag) == ("float", 0.05, "constant", None)
    assert lr.location == "constants_train.py:7"
    assert lr.extra["constant"] == "LR"
    assert (lr.low, lr.high, lr.log) == (0.005, 0.5, True)
    assert params["epochs"].default == 6 and (params["epochs"].low, params["epochs"].high) == (2, 18)
    assert params["batch_size"].choices == [2, 4, 8, 16, 32]
    assert params["dropout"].type == "float" and (params["dropout"].low, params["dropout"].high) == (0.0, 0.5)
    # The seed is reported but never tuned; paths and model names are not parameters at all.
    assert params["seed"].extra["tunable"] is False
    assert "seed" not in {p.name for p in d.tunable()}
    assert "data_path" not in params and "model_name" not in params
    assert d.metrics == ["train_loss", "val_loss", "final_rmse"]
    assert d.sets_seed is True
    assert d.framework == "unknown"
    assert d.hint is None and d.skipped == [] and not d.reports_aft_metrics


def test_torch_kwargs_loop_and_name_collision():
    d = discover(FIXTURES / "torch_train.py")
    params = by_name(d)
    assert d.framework == "pytorch"
    # The module constant keeps "lr"; the optimizer's literal lr is disambiguated.
    assert params["lr"].source == "constant" and params["lr"].default == 3e-4
    opt_lr = params["optimizer_lr"]
    assert (opt_lr.source, opt_lr.default, opt_lr.extra["call"], opt_lr.extra["keyword"]) == (
        "kwarg", 1e-3, "torch.optim.Adam", "lr")
    assert params["weight_decay"].default == 0.01 and params["weight_decay"].log is True
    assert (params["beta1"].default, params["beta2"].default) == (0.9, 0.999)
    assert params["dropout"].default == 0.2 and params["dropout"].extra["call"] == "torch.nn.Dropout"
    assert params["batch_size"].default == 64 and params["batch_size"].choices == [16, 32, 64, 128, 256]
    assert (params["step_size"].default, params["gamma"].default) == (10, 0.5)
    assert params["max_grad_norm"].default == 1.0
    epochs = params["epochs"]
    assert (epochs.source, epochs.default, epochs.type) == ("loop", 5, "int")
    assert d.metrics == ["loss", "val_acc"]
    assert d.model_saves == [('torch.save(model.state_dict(), "model.pt")', "torch_train.py:38")]
    assert d.sets_seed is True


def test_hf_trainer_arguments_lora_and_eval_metrics():
    d = discover(FIXTURES / "hf_trainer.py")
    params = by_name(d)
    assert d.framework == "hf_trainer"
    assert params["learning_rate"].source == "training_args" and params["learning_rate"].default == 2e-5
    assert params["num_train_epochs"].default == 3
    assert params["per_device_train_batch_size"].default == 16
    assert params["warmup_ratio"].default == 0.1
    assert params["lr_scheduler_type"].default == "linear" and "cosine" in params["lr_scheduler_type"].choices
    assert params["seed"].extra["tunable"] is False
    assert params["lora_r"].source == "lora_config" and params["lora_r"].choices == [4, 8, 16, 32, 64]
    assert params["lora_alpha"].type == "int" and params["lora_dropout"].default == 0.05
    assert "output_dir" not in params and "evaluation_strategy" not in params
    assert d.metrics == ["eval_loss", "eval_accuracy", "eval_f1"]
    assert [s[0] for s in d.model_saves] == ['trainer.save_model("out/best")', 'model.save_pretrained("out/adapter")']
    assert d.sets_seed is True  # Trainer seeds from TrainingArguments.seed


def test_hf_argument_parser_dataclass_fields():
    d = discover(FIXTURES / "hf_argparser.py")
    params = by_name(d)
    assert params["lora_r"].source == "hf_dataclass" and params["lora_r"].flag == "--lora_r"
    assert params["lora_r"].default == 16 and params["lora_r"].help == "LoRA rank"
    assert params["lora_dropout"].default == 0.1
    assert params["max_length"].type == "int"  # Optional[int]
    assert params["model_name_or_path"].extra["tunable"] is False
    # TrainingArguments in the parser tuple exposes the library's flags with their defaults.
    assert params["learning_rate"].default == 5e-5 and params["learning_rate"].flag == "--learning_rate"


def test_argparse_flags():
    d = discover(FIXTURES / "argparse_train.py")
    params = by_name(d)
    lr = params["lr"]
    assert (lr.flag, lr.type, lr.default, lr.help, lr.source) == ("--lr", "float", 0.1, "learning rate", "argparse")
    assert params["batch_size"].flag == "--batch-size" and params["batch_size"].default == 16
    assert params["optimizer"].choices == ["sgd", "adam"]
    amp = params["use_amp"]
    assert (amp.type, amp.default, amp.extra["action"]) == ("bool", False, "store_true")
    assert params["seed"].extra["tunable"] is False
    assert params["data_dir"].extra["tunable"] is False
    assert params["momentum"].source == "kwarg"  # the one literal not yet a flag
    assert d.metrics == ["val_score"]


def test_yaml_config_nested_keys():
    d = discover(FIXTURES / "config_train.py")
    assert d.config_files == ["train_config.yaml"]
    params = by_name(d)
    assert list(params) == [
        "training.epochs", "training.batch_size", "training.m2.learning_rate",
        "training.m2.weight_decay", "training.m2.use_amp", "seed",
    ]
    lr = params["training.m2.learning_rate"]
    assert (lr.source, lr.flag, lr.default, lr.location) == ("config_file", None, 0.25, "train_config.yaml:9")
    assert lr.extra["key_path"] == ["training", "m2", "learning_rate"]
    assert params["training.m2.use_amp"].type == "bool"
    assert params["seed"].extra["tunable"] is False
    assert "training.num_workers" not in params  # plumbing, not a hyperparameter


def test_config_paths_given_by_caller(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import json\ncfg = json.load(open(CONFIG_PATH))\n")
    (tmp_path / "params.json").write_text(json.dumps({"optim": {"lr": 0.01, "momentum": 0.9}, "name": "x"}))
    d = discover(script, config_paths=[tmp_path / "params.json"])
    assert d.config_files == ["params.json"]
    assert [(p.name, p.default) for p in d.params] == [("optim.lr", 0.01), ("optim.momentum", 0.9)]


def test_lightning_script():
    d = discover(FIXTURES / "lightning_train.py")
    params = by_name(d)
    assert d.framework == "lightning"
    assert params["max_epochs"].default == 10
    assert params["lr"].default == 0.002 and params["dropout"].default == 0.1
    assert d.metrics == ["train_loss", "val_loss"]
    assert d.model_saves[0][0] == 'trainer.save_checkpoint("final.ckpt")'
    assert d.sets_seed is True


def test_computed_values_are_skipped_with_reasons():
    d = discover(FIXTURES / "computed_train.py")
    assert [p.name for p in d.params] == ["base_lr", "momentum"]
    reasons = {name: reason for name, _, reason in d.skipped}
    locations = {name: loc for name, loc, _ in d.skipped}
    assert "BASE_LR * 4" in reasons["LR"] and locations["LR"] == "computed_train.py:6"
    assert "int(os.environ.get" in reasons["BATCH_SIZE"]
    assert "tuple or list" in reasons["HIDDEN_SIZES"]
    assert "LR / 2" in reasons["lr"]
    assert "range(1, 11)" in reasons["epochs"]


def test_sklearn_estimator():
    d = discover(FIXTURES / "sklearn_train.py")
    params = by_name(d)
    assert d.framework == "sklearn"
    assert (params["n_estimators"].default, params["max_depth"].default) == (100, 5)
    assert params["random_state"].extra["tunable"] is False
    assert d.metrics == ["accuracy"]


def test_syntax_error_is_one_sentence():
    with pytest.raises(UserError) as err:
        discover(FIXTURES / "broken_train.py")
    message = str(err.value)
    assert message.startswith("broken_train.py:6: invalid syntax (`def train(:`).")
    assert message.endswith("Fix the script so `python broken_train.py` runs, then try again.")


def test_notebook_is_refused_with_conversion_hint():
    with pytest.raises(UserError) as err:
        discover(FIXTURES / "notebook_train.ipynb")
    assert "not support" in str(err.value)
    assert "jupyter nbconvert --to script notebook_train.ipynb" in str(err.value)


def test_missing_file():
    with pytest.raises(UserError, match="does not exist"):
        discover(FIXTURES / "nope.py")


def test_no_parameters_gives_a_hint():
    d = discover(FIXTURES / "no_params.py")
    assert d.params == []
    assert d.hint and "LR = 1e-3" in d.hint and "add_argument" in d.hint


def test_existing_aft_metrics_reporting_is_detected(tmp_path):
    script = tmp_path / "train.py"
    script.write_text('import os\nLR = 0.1\nPATH = os.environ.get("AFT_METRICS")\n')
    assert discover(script).reports_aft_metrics is True


def test_to_dict_is_json_and_round_trips():
    d = discover(FIXTURES / "torch_train.py")
    data = json.loads(json.dumps(d.to_dict()))
    assert data["framework"] == "pytorch"
    assert data["model_saves"] == [['torch.save(model.state_dict(), "model.pt")', "torch_train.py:38"]]
    again = Discovery.from_dict(data)
    assert [p.to_dict() for p in again.params] == [p.to_dict() for p in d.params]
    assert again.model_saves == d.model_saves


def test_target_modules_import_no_heavy_libraries():
    code = (
        "import sys, aft_tui.target.discover, aft_tui.target.refactor, aft_tui.target.equivalence, "
        "aft_tui.target.edits\n"
        "heavy = {'torch', 'transformers', 'litellm', 'peft', 'optuna'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_constant_used_as_a_flag_default_is_folded_into_the_flag(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import argparse\n\nLR = 3e-4\nEPOCHS = 4\n\nparser = argparse.ArgumentParser()\n"
        "parser.add_argument('--lr', type=float, default=LR)\nparser.add_argument('--epochs', default=EPOCHS)\n"
        "args = parser.parse_args()\n"
    )
    d = discover(script)
    params = {p.name: p for p in d.params}
    assert list(params) == ["lr", "epochs"]
    assert params["lr"].default == 3e-4 and params["lr"].source == "argparse"
    assert params["epochs"].default == 4 and params["epochs"].type == "int"
    assert ("LR", "train.py:3", "LR is already the default of --lr") in d.skipped


def test_config_flag_with_computed_default_and_data_files(tmp_path):
    (tmp_path / "config.yaml").write_text("training:\n  lr: 0.1\n")
    script = tmp_path / "train.py"
    script.write_text(
        "import argparse\nimport json\nfrom pathlib import Path\n\nHERE = Path(__file__).parent\n\n"
        "parser = argparse.ArgumentParser()\nparser.add_argument('--config', type=Path, default=HERE / 'config.yaml')\n"
        "args = parser.parse_args()\nrows = json.load(open('alpaca_train.json'))\n"
        "(HERE / 'digests.json').write_text('{}')\n"
    )
    d = discover(script)
    assert d.config_files == ["config.yaml"]
    config = next(p for p in d.params if p.name == "config")
    assert config.extra["config_flag"] and config.extra["config_file"] == "config.yaml"
    assert [p.name for p in d.params if p.source == "config_file"] == ["training.lr"]
    assert d.skipped == []


def test_a_print_split_over_lines_reports_every_metric(tmp_path: Path):
    # Implicitly concatenated f-strings, plain strings between them, and a plain-string tail.
    script = tmp_path / "train.py"
    script.write_text(
        "LR = 0.01\n"
        "for epoch in range(3):\n"
        "    loss, val_loss, val_acc = 1.0 / (epoch + 1), 0.9, 0.5\n"
        '    print(f"Epoch {epoch + 1} - loss: {loss:.4f} "\n'
        '          "- val_loss: " f"{val_loss:.4f} - val_acc: {val_acc:.4f}" " done")\n'
    )
    assert discover(script).metrics == ["loss", "val_loss", "val_acc"]
    assert discover(ROOT / "cookbook" / "targets" / "target.py").metrics == ["loss", "val_loss", "val_accuracy", "validation"]
