"""`aft inspect` on a Keras script: the framework and the names `model.fit` prints each epoch
(static: Keras itself is not a test dependency)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from aft_tui.target.discover import discover

KERAS_SCRIPT = """
    import argparse
    import numpy as np
    {imports}

    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()

    x, y = np.random.rand(64, 4), np.random.randint(0, 2, 64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(args.lr), loss="sparse_categorical_crossentropy",
                  metrics=["acc", keras.metrics.SparseCategoricalAccuracy(),
                           keras.metrics.SparseTopKCategoricalAccuracy(k=1, name="top1_acc")])
    model.fit(x, y, epochs=2, {validation})
"""


def _discover(tmp_path: Path, imports: str, validation: str):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(KERAS_SCRIPT).format(imports=imports, validation=validation))
    return discover(script)


def test_keras_3_reports_its_framework_and_validation_metrics(tmp_path: Path) -> None:
    found = _discover(tmp_path, "import keras", "validation_data=(x, y)")
    assert found.framework == "keras"
    names = ["loss", "acc", "sparse_categorical_accuracy", "top1_acc"]
    assert found.metrics == names + [f"val_{n}" for n in names]


def test_tf_keras_with_a_validation_split(tmp_path: Path) -> None:
    found = _discover(tmp_path, "from tensorflow import keras", "validation_split=0.2")
    assert found.framework == "keras"
    assert "val_loss" in found.metrics and "val_acc" in found.metrics


def test_without_validation_data_only_training_names(tmp_path: Path) -> None:
    found = _discover(tmp_path, "import keras\nimport torch", "batch_size=8")
    assert found.framework == "keras"  # a Keras 3 script on the torch backend is still Keras
    assert found.metrics == ["loss", "acc", "sparse_categorical_accuracy", "top1_acc"]


def test_importing_keras_without_training_a_model_is_not_keras(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("import torch\nfrom tensorflow import keras\nlayer = keras.layers.Dense(2)\n")
    assert discover(script).framework == "pytorch"
