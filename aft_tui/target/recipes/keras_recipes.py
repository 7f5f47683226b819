"""The recipes for a Keras script (`model.compile(...)` then `model.fit(...)`): Keras's own spelling
of AdamW, gradient clipping, label smoothing and a warmup-then-cosine schedule.

Keras puts these in the optimizer's and the loss's constructors, not in a training loop, so the
edits are keywords added to those calls and, for the schedule, a Callback passed to `fit()` that
sets the optimizer's rate before every batch. The Keras is the one the script imports (Keras 3,
`tensorflow.keras`, `tf_keras`); a string optimizer or loss (`optimizer="adam"`) becomes the
constructor it names, so the new keyword has somewhere to go.
"""

from __future__ import annotations

from typing import Callable

import libcst as cst

from aft_tui.target.cst_tools import append_item, with_callback
from aft_tui.target.literals import dotted_name, keyword_arg, last_part, string_value
from aft_tui.target.recipes.base import RecipeEdit
from aft_tui.target.recipes.rewrite import SourceEdit, parse
from aft_tui.target.script import Script
from aft_tui.target.script_facts import keras_fit_calls, keras_root, uses_keras

_ROOTS = ("keras", "tensorflow.keras", "tf_keras", "tensorflow.python.keras")
_OPTIMIZERS = frozenset({"Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion", "Ftrl",
                         "Adafactor"})
_CLIPS = ("clipnorm", "global_clipnorm", "clipvalue")
_SMOOTHED_LOSSES = frozenset({"BinaryCrossentropy", "CategoricalCrossentropy", "BinaryFocalCrossentropy",
                              "CategoricalFocalCrossentropy"})
_STRING_OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad",
                      "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam"}
_STRING_LOSSES = {"binary_crossentropy": "BinaryCrossentropy", "categorical_crossentropy": "CategoricalCrossentropy"}
KERAS_ADAMW_DECAY = 0.004  # Keras's own default for AdamW

_COSINE = '''
class {cls}({base}):
    """Linear warmup over {warmup} of the batches, then cosine decay to {floor} of the compiled rate."""

    def on_train_begin(self, logs=None):
        self.peak = float({rate})
        self.total = max(1, (self.params.get("epochs") or 1) * (self.params.get("steps") or 1))
        self.done = 0

    def on_train_batch_begin(self, batch, logs=None):
        warmup = int({warmup} * self.total)
        if self.done < warmup:
            factor = (self.done + 1) / warmup
        else:
            progress = min(1.0, (self.done - warmup) / max(1, self.total - warmup))
            factor = {floor} + (1 - {floor}) * 0.5 * (1 + math.cos(math.pi * progress))
        self.model.optimizer.learning_rate = self.peak * factor
        self.done += 1
'''


def _is_keras(script: Script, call: cst.Call, names: frozenset[str], package: str) -> bool:
    """A call to `<keras>.<package>.<one of names>` however the script imported it."""
    qualified = script.qualified(dotted_name(call.func)) or ""
    return last_part(qualified) in names and any(qualified.startswith(f"{root}.{package}.") for root in _ROOTS)


def _with_knob(edit: SourceEdit, call: cst.Call, keyword: str, constant: str, default: float,
               unless: tuple[str, ...] = ()) -> cst.Call | None:
    """`call` with `keyword=CONSTANT` added (a new knob); None when it sets that keyword, one of
    `unless`, or spreads `**kwargs` (which may set it)."""
    if any(keyword_arg(call, k) is not None for k in (keyword, *unless)) or any(a.star for a in call.args):
        return None
    name = edit.knob(constant, default)
    arg = cst.Arg(keyword=cst.Name(keyword), value=cst.Name(name), equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
    return call.with_changes(args=append_item(list(call.args), arg, call.whitespace_before_args))


def _compile_calls(script: Script) -> list[cst.Call]:
    """`model.compile(...)` calls (keyword arguments are where the optimizer and the loss are named)."""
    return [c for c in script.find(cst.Call) if isinstance(c.func, cst.Attribute) and c.func.attr.value == "compile"]


class _KerasRecipe:
    needs_gpu = False
    id = ""
    title = ""
    rationale = ""

    def apply(self, source: str) -> RecipeEdit | None:
        script = parse(source)
        if script is None or not uses_keras(script) or keras_root(script) is None:
            return None
        edit = SourceEdit(script)
        if not self.edit(script, edit):
            return None
        new = edit.render()
        if new is None:
            return None
        return RecipeEdit(self.id, self.title, self.rationale, new, edit.knobs, self.needs_gpu)

    def edit(self, script: Script, edit: SourceEdit) -> bool:
        raise NotImplementedError


def _optimizer_sites(script: Script, edit: SourceEdit,
                     change: Callable[[cst.Call], cst.Call | None]) -> bool:
    """Apply `change` to every Keras optimizer the script builds, and to `compile(optimizer="adam")`
    spelled as the constructor; True when something changed."""
    changed = False
    for call in script.find(cst.Call):
        if _is_keras(script, call, _OPTIMIZERS, "optimizers"):
            new = change(call)
            if new is not None:
                edit.replace[call] = new
                changed = True
    for call in _compile_calls(script):
        arg = keyword_arg(call, "optimizer")
        named = _named(script, edit, arg, _STRING_OPTIMIZERS, "optimizers")
        built = change(named) if arg is not None and named is not None else None
        if arg is not None and built is not None:
            edit.replace[arg.value] = built
            changed = True
    return changed


def _named(script: Script, edit: SourceEdit, arg: cst.Arg | None, table: dict[str, str], package: str) -> cst.Call | None:
    """`optimizer="adam"` / `loss="binary_crossentropy"` as the constructor call the string names."""
    name = table.get((string_value(arg.value) or "").lower()) if arg is not None else None
    spelled = edit.spell(f"{keras_root(script)}.{package}.{name}") if name else None
    return cst.Call(func=edit.expression(spelled)) if spelled else None


class KerasAdamW(_KerasRecipe):
    id = "keras_adamw"
    title = "Keras: Adam -> AdamW with decoupled weight decay"
    rationale = ("AdamW applies weight decay directly to the weights instead of through Adam's adaptive "
                 "gradient scaling, which regularises as intended and usually generalises better.")

    def edit(self, script: Script, edit: SourceEdit) -> bool:
        def adamw(call: cst.Call) -> cst.Call | None:
            qualified = script.qualified(dotted_name(call.func)) or ""
            if last_part(qualified) != "Adam":
                return None
            func = call.func
            if isinstance(func, cst.Attribute):
                new_func: cst.BaseExpression = func.with_changes(attr=cst.Name("AdamW"))
            else:
                spelled = edit.spell(qualified.rsplit(".", 1)[0] + ".AdamW")
                if spelled is None:
                    return None
                new_func = edit.expression(spelled)
            decayed = _with_knob(edit, call, "weight_decay", "WEIGHT_DECAY", KERAS_ADAMW_DECAY)
            return (decayed or call).with_changes(func=new_func)

        return _optimizer_sites(script, edit, adamw)


class KerasGradClip(_KerasRecipe):
    id = "keras_grad_clip"
    title = "Keras: clip the gradient norm in the optimizer"
    rationale = ("Capping the gradient norm keeps one bad batch from throwing the weights far off, which "
                 "steadies training and often allows a higher learning rate.")

    def edit(self, script: Script, edit: SourceEdit) -> bool:
        return _optimizer_sites(script, edit, lambda call: _with_knob(edit, call, "global_clipnorm", "MAX_GRAD_NORM",
                                                                      1.0, unless=_CLIPS))


class KerasLabelSmoothing(_KerasRecipe):
    id = "keras_label_smoothing"
    title = "Keras: label smoothing on the training loss"
    rationale = ("Training towards slightly softened targets keeps the model from growing over-confident, "
                 "which often improves held-out accuracy.")

    def edit(self, script: Script, edit: SourceEdit) -> bool:
        changed = False
        for call in _compile_calls(script):
            arg = keyword_arg(call, "loss")
            if arg is None:
                continue
            built = arg.value if isinstance(arg.value, cst.Call) and _is_keras(script, arg.value, _SMOOTHED_LOSSES, "losses") \
                else _named(script, edit, arg, _STRING_LOSSES, "losses")
            new = _with_knob(edit, built, "label_smoothing", "LABEL_SMOOTHING", 0.1) if built is not None else None
            if new is not None:
                edit.replace[arg.value] = new
                changed = True
        return changed


class KerasCosine(_KerasRecipe):
    id = "keras_cosine_warmup"
    title = "Keras: linear warmup then cosine decay of the learning rate"
    rationale = ("A short warmup steadies the first updates and a cosine decay lets training settle at a "
                 "low rate; a constant rate keeps bouncing around the minimum it has found.")

    def edit(self, script: Script, edit: SourceEdit) -> bool:
        root = keras_root(script)
        fits = [c for c in keras_fit_calls(script) if not any(a.star == "**" for a in c.args)]
        if root is None or not fits or _schedules(script):
            return False
        base = edit.spell(f"{root}.callbacks.Callback")
        # Keras 3 reads a variable on any backend through keras.ops; tf.keras's rate is a tf.Variable.
        ops = edit.spell("keras.ops.convert_to_numpy") if root == "keras" else None
        if base is None or (root == "keras" and ops is None):
            return False
        edit.import_plain("math")
        warmup, floor = edit.knob("WARMUP_FRACTION", 0.05), edit.knob("MIN_LR_FRACTION", 0.0)
        cls = edit.fresh("_AftCosineSchedule")
        rate = f"{ops}(self.model.optimizer.learning_rate)" if ops else "self.model.optimizer.learning_rate.numpy()"
        edit.helper(_COSINE.format(cls=cls, base=base, warmup=warmup, floor=floor, rate=rate))
        for call in fits:
            edit.replace[call] = with_callback(call, f"{cls}()")
        return True


def _schedules(script: Script) -> bool:
    """The script sets its own rate over time: a schedule object, a rate callback or ReduceLROnPlateau."""
    for call in script.find(cst.Call):
        name = last_part(script.qualified(dotted_name(call.func)) or "")
        if name in ("LearningRateScheduler", "ReduceLROnPlateau") or name.endswith("Decay") or "Schedule" in name:
            return True
    return False


def keras_recipes() -> list[_KerasRecipe]:
    return [KerasCosine(), KerasAdamW(), KerasLabelSmoothing(), KerasGradClip()]
