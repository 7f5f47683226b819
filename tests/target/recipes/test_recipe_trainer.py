"""The Trainer recipes: settings added to `TrainingArguments(...)` / `SFTConfig(...)` only
where the call leaves them at the Trainer's default."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from aft_tui.target.recipes.trainer_args import TrainerAdamW, TrainerCosine, trainer_recipes, transformers_major
from tests.target.recipes.test_recipe_edits import changes
from tests.target.recipes.scripts import TRAINER

BY_ID = {r.id: r for r in trainer_recipes()}
ARGS_END = "    per_device_train_batch_size=16,\n)"


def test_each_trainer_recipe_adds_its_setting_as_a_knob() -> None:
    expected = {
        "trainer_adamw": ["WEIGHT_DECAY = 0.01", "    weight_decay=WEIGHT_DECAY,"],
        "trainer_label_smoothing": ["LABEL_SMOOTHING = 0.1", "    label_smoothing_factor=LABEL_SMOOTHING,"],
        "trainer_grad_clip": ["MAX_GRAD_NORM = 1.0", "    max_grad_norm=MAX_GRAD_NORM,"],
    }
    for recipe, added in expected.items():
        edit = BY_ID[recipe].apply(TRAINER)
        assert edit is not None
        assert changes(TRAINER, edit.new_source) == ([], added)


def test_cosine_warmup_is_spelled_for_the_installed_transformers() -> None:
    """transformers 5 removed `warmup_ratio`; a fraction in `warmup_steps` means the same there."""
    old = TrainerCosine(major=4).apply(TRAINER)
    new = TrainerCosine(major=5).apply(TRAINER)
    assert old is not None and new is not None and old.knobs == new.knobs == {"WARMUP_RATIO": 0.05}
    assert changes(TRAINER, old.new_source)[1] == ["WARMUP_RATIO = 0.05", '    lr_scheduler_type="cosine",', "    warmup_ratio=WARMUP_RATIO,"]
    assert changes(TRAINER, new.new_source)[1] == ["WARMUP_RATIO = 0.05", '    lr_scheduler_type="cosine",', "    warmup_steps=WARMUP_RATIO,"]
    installed = transformers_major()
    assert installed is not None and installed >= 4
    # The spelling chosen here is a field of this transformers' TrainingArguments (read from its
    # source: importing transformers takes seconds).
    spec = importlib.util.find_spec("transformers")
    assert spec is not None and spec.submodule_search_locations
    fields = (Path(spec.submodule_search_locations[0]) / "training_args.py").read_text()
    keyword = "warmup_steps" if installed >= 5 else "warmup_ratio"
    assert f"\n    {keyword}: " in fields
    if installed >= 5:
        assert "\n    warmup_ratio: " not in fields
    assert f"    {keyword}=WARMUP_RATIO," in BY_ID["trainer_cosine"].apply(TRAINER).new_source  # type: ignore[union-attr]


def test_a_warmup_the_script_already_has_is_kept() -> None:
    source = TRAINER.replace(ARGS_END, "    per_device_train_batch_size=16,\n    warmup_steps=100,\n)")
    edit = TrainerCosine(major=5).apply(source)
    assert edit is not None and edit.knobs == {}
    assert changes(source, edit.new_source)[1] == ['    lr_scheduler_type="cosine",']


def test_trainer_recipes_decline_settings_already_there_or_unknowable() -> None:
    full = TRAINER.replace(ARGS_END, (
        "    per_device_train_batch_size=16,\n    lr_scheduler_type=\"linear\",\n    weight_decay=0.0,\n"
        "    label_smoothing_factor=0.0,\n    max_grad_norm=1.0,\n)"
    ))
    spread = TRAINER.replace(ARGS_END, "    per_device_train_batch_size=16,\n    **extra,\n)")
    own_class = TRAINER.replace("from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments",
                                "from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer\nfrom mylib import TrainingArguments")
    for source in (full, spread, own_class):
        assert source != TRAINER
        assert [r.id for r in trainer_recipes() if r.apply(source) is not None] == []


def test_trl_config_and_the_optimizer_choice() -> None:
    sft = "from trl import SFTConfig, SFTTrainer\n\nconfig = SFTConfig(output_dir='out')\n"
    assert {r.id for r in trainer_recipes() if r.apply(sft) is not None} == set(BY_ID)
    adafactor = TRAINER.replace(ARGS_END, '    per_device_train_batch_size=16,\n    optim="adafactor",\n)')
    assert TrainerAdamW().apply(adafactor) is None
    fused = TRAINER.replace(ARGS_END, '    per_device_train_batch_size=16,\n    optim="adamw_torch_fused",\n)')
    assert TrainerAdamW().apply(fused) is not None
