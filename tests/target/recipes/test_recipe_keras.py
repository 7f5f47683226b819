"""The Keras recipes: keywords on the optimizer and the loss a script compiles with, and a schedule
Callback passed to fit(); and the edited script trains (Keras 3 on the torch backend)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from aft_tui.target.recipes.catalogue import applicable
from aft_tui.target.recipes.keras_recipes import keras_recipes
from tests.target.recipes.scripts import KERAS, PLAIN
from tests.target.recipes.test_recipe_edits import changes

BY_ID = {r.id: r for r in keras_recipes()}
OPTIMIZER = "    optimizer=keras.optimizers.Adam(learning_rate=0.01),"
LOSS = "    loss=keras.losses.CategoricalCrossentropy(),"


def _edit(recipe: str, source: str = KERAS) -> str:
    edit = BY_ID[recipe].apply(source)
    assert edit is not None, recipe
    assert BY_ID[recipe].apply(edit.new_source) is None  # applies once
    return edit.new_source


def test_optimizer_and_loss_recipes_add_a_knob_where_keras_takes_it() -> None:
    assert changes(KERAS, _edit("keras_adamw")) == (
        [OPTIMIZER], ["WEIGHT_DECAY = 0.004",
                      "    optimizer=keras.optimizers.AdamW(learning_rate=0.01, weight_decay=WEIGHT_DECAY),"])
    assert changes(KERAS, _edit("keras_grad_clip")) == (
        [OPTIMIZER], ["MAX_GRAD_NORM = 1.0",
                      "    optimizer=keras.optimizers.Adam(learning_rate=0.01, global_clipnorm=MAX_GRAD_NORM),"])
    assert changes(KERAS, _edit("keras_label_smoothing")) == (
        [LOSS], ["LABEL_SMOOTHING = 0.1", "    loss=keras.losses.CategoricalCrossentropy(label_smoothing=LABEL_SMOOTHING),"])


def test_the_schedule_callback_goes_after_the_imports_it_uses_and_joins_fits_callbacks() -> None:
    new = _edit("keras_cosine_warmup")
    removed, added = changes(KERAS, new)
    assert removed == [KERAS.splitlines()[-1]]
    assert added[-1] == ("model.fit(x, y, batch_size=32, epochs=EPOCHS, validation_split=0.25, "
                         "callbacks=[Report(), _AftCosineSchedule()], verbose=0)")
    assert ["import math", "WARMUP_FRACTION = 0.05", "MIN_LR_FRACTION = 0.0"] == added[:3]
    # The class subclasses keras.callbacks.Callback: it comes after `import keras`, not before it.
    assert new.index("class _AftCosineSchedule(keras.callbacks.Callback):") > new.index("import numpy as np")


def test_string_optimizers_and_losses_become_the_constructors_they_name() -> None:
    source = KERAS.replace(OPTIMIZER, '    optimizer="adam",').replace(LOSS, '    loss="categorical_crossentropy",')
    assert '    optimizer=keras.optimizers.AdamW(weight_decay=WEIGHT_DECAY),' in _edit("keras_adamw", source)
    assert '    optimizer=keras.optimizers.Adam(global_clipnorm=MAX_GRAD_NORM),' in _edit("keras_grad_clip", source)
    assert '    loss=keras.losses.CategoricalCrossentropy(label_smoothing=LABEL_SMOOTHING),' in \
        _edit("keras_label_smoothing", source)


def test_tf_keras_is_spelled_as_the_script_imports_it() -> None:
    source = KERAS.replace("import keras\n", "import tensorflow as tf\nfrom tensorflow import keras\n")
    assert "    optimizer=keras.optimizers.AdamW(learning_rate=0.01, weight_decay=WEIGHT_DECAY)," in _edit("keras_adamw", source)
    new = _edit("keras_cosine_warmup", source)
    assert "class _AftCosineSchedule(keras.callbacks.Callback):" in new
    assert "self.model.optimizer.learning_rate.numpy()" in new  # tf.keras: no keras.ops


@pytest.mark.parametrize(("recipe", "old", "new"), [
    ("keras_adamw", OPTIMIZER, "    optimizer=keras.optimizers.SGD(learning_rate=0.01),"),
    ("keras_grad_clip", OPTIMIZER, "    optimizer=keras.optimizers.Adam(learning_rate=0.01, clipnorm=5.0),"),
    ("keras_label_smoothing", LOSS, "    loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.2),"),
    ("keras_label_smoothing", LOSS, "    loss=keras.losses.MeanSquaredError(),"),
    ("keras_cosine_warmup", OPTIMIZER, "    optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(0.01, 100)),"),
    ("keras_cosine_warmup", "callbacks=[Report()]", "callbacks=[Report(), keras.callbacks.ReduceLROnPlateau()]"),
])
def test_what_the_script_already_does_or_cannot_take_is_left_alone(recipe: str, old: str, new: str) -> None:
    assert old in KERAS
    assert BY_ID[recipe].apply(KERAS.replace(old, new)) is None


def test_keras_recipes_match_keras_scripts_only() -> None:
    assert {e.recipe for e in applicable(KERAS, gpu=True)} == set(BY_ID)
    assert not {e.recipe for e in applicable(PLAIN, gpu=True)} & set(BY_ID)
    sklearn = "import keras\nfrom sklearn.linear_model import Ridge\nm = Ridge().fit(x, y)\n"
    assert applicable(sklearn, gpu=True) == []  # no compile(): not a Keras training script


@pytest.mark.slow
def test_every_recipe_in_turn_gives_a_script_that_trains(tmp_path: Path) -> None:
    source = KERAS
    for recipe in BY_ID:
        source = _edit(recipe, source)
    script = tmp_path / "train.py"
    script.write_text(source)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "KERAS_BACKEND": "torch"})
    assert done.returncode == 0, done.stderr[-3000:]
    rates = [float(r) for r in re.findall(r"epoch \d lr ([\d.e-]+) val_accuracy: [\d.]+", done.stdout)]
    # Three epochs of six batches: warmup, then cosine decay from the compiled 0.01 to almost 0.
    assert len(rates) == 3 and rates[0] > rates[1] > rates[2] and rates[2] < 0.001 and rates[0] <= 0.01, done.stdout
