"""Facts about a script that shape how AFT runs it: its framework, whether it seeds its RNGs,
where it saves its model, and whether it already reports AFT_METRICS.
"""

from __future__ import annotations

from typing import Literal

import libcst as cst

from aft_tui.target.literals import compact, dotted_name, last_part, string_value
from aft_tui.target.script import Script

Framework = Literal["pytorch", "hf_trainer", "lightning", "keras", "sklearn", "unknown"]

_HF_TRAINERS = {"Trainer", "Seq2SeqTrainer", "SFTTrainer", "DPOTrainer", "RewardTrainer"}
_SEED_CALLS = {"manual_seed", "manual_seed_all", "set_seed", "seed_everything", "enable_full_determinism"}
_SAVE_METHODS = {"save_pretrained", "save_model", "save_checkpoint", "save_state_dict"}


def trainer_calls(script: Script) -> list[tuple[cst.Call, str]]:
    """Trainer constructions that accept callbacks, tagged "hf_trainer" or "lightning"."""
    found: list[tuple[cst.Call, str]] = []
    for call in script.find(cst.Call):
        qualified = script.qualified(dotted_name(call.func)) or ""
        name = last_part(qualified)
        if name not in _HF_TRAINERS:
            continue
        root = qualified.split(".")[0]
        if root in ("lightning", "pytorch_lightning"):
            found.append((call, "lightning"))
        elif root in ("transformers", "trl") or (name in _HF_TRAINERS and script.imports_module("transformers")):
            found.append((call, "hf_trainer"))
    return found


def framework(script: Script) -> Framework:
    kinds = {kind for _, kind in trainer_calls(script)}
    if "hf_trainer" in kinds:
        return "hf_trainer"
    if "lightning" in kinds or script.imports_module("lightning") or script.imports_module("pytorch_lightning"):
        return "lightning"
    if uses_keras(script):
        return "keras"  # also over torch: Keras 3 may run on the torch backend
    if script.imports_module("torch"):
        return "pytorch"
    if script.imports_module("sklearn"):
        return "sklearn"
    return "unknown"


_KERAS_FIT_KEYWORDS = frozenset({"epochs", "batch_size", "validation_data", "validation_split", "callbacks",
                                 "steps_per_epoch", "initial_epoch", "validation_freq"})


def keras_root(script: Script) -> str | None:
    """How the script's Keras is named where qualified names begin: `keras` (Keras 3), `tf_keras`,
    or `tensorflow.keras`; None when it imports none of them."""
    for root in ("keras", "tf_keras"):
        if script.imports_module(root):
            return root
    return "tensorflow.keras" if script.imports_module("tensorflow.keras") or script.imports_module("tensorflow") else None


def keras_fit_calls(script: Script) -> list[cst.Call]:
    """The script's `model.fit(...)` calls. Where it also uses a library with its own fit()
    (scikit-learn, LightGBM, ...), only those with Keras's own arguments (epochs=, validation_data=)."""
    others = any(script.imports_module(m) for m in ("sklearn", "lightgbm", "xgboost", "catboost"))
    found = []
    for call in script.find(cst.Call):
        if not isinstance(call.func, cst.Attribute) or call.func.attr.value != "fit":
            continue
        keywords = {a.keyword.value for a in call.args if a.keyword is not None}
        if not others or keywords & _KERAS_FIT_KEYWORDS:
            found.append(call)
    return found


def uses_keras(script: Script) -> bool:
    """A Keras script: it imports Keras (`import keras`, `from tensorflow import keras`) and trains
    a model with `compile(...)` and `fit(...)`."""
    if not (script.imports_module("keras") or script.imports_module("tensorflow.keras")
            or script.imports_module("tf_keras")):
        return False
    methods = {last_part(dotted_name(call.func) or "") for call in script.find(cst.Call)}
    return {"compile", "fit"} <= methods


def sets_seed(script: Script, fw: str) -> bool:
    if fw == "hf_trainer":
        return True  # Trainer seeds every RNG from TrainingArguments.seed (42 unless changed)
    for call in script.find(cst.Call):
        qualified = script.qualified(dotted_name(call.func)) or ""
        name = last_part(qualified)
        if name in _SEED_CALLS:
            return True
        if name == "seed" and qualified.split(".")[0] in ("random", "numpy", "np", "tf", "tensorflow"):
            return True
        if qualified.endswith("random.seed"):
            return True
    return False


def model_saves(script: Script) -> list[tuple[str, str]]:
    """(call, location) for every statement that writes a model artifact."""
    saves: list[tuple[str, str]] = []
    for call in script.find(cst.Call):
        qualified = script.qualified(dotted_name(call.func)) or ""
        name = last_part(qualified)
        is_save = (
            qualified in ("torch.save", "joblib.dump", "pickle.dump")
            or name in _SAVE_METHODS
            or (name == "save" and qualified.split(".")[0] in ("torch", "np", "numpy"))
        )
        if is_save:
            saves.append((compact(script.code(call)), script.loc(call)))
    return saves


def reports_aft_metrics(script: Script) -> bool:
    return any(string_value(s) == "AFT_METRICS" for s in script.find(cst.SimpleString))


def uses_sys_argv(script: Script) -> bool:
    for attr in script.find(cst.Attribute):
        if attr.attr.value == "argv" and (script.qualified(dotted_name(attr.value)) == "sys"):
            return True
    return "argv" in script.imports and script.imports["argv"] == "sys.argv"
