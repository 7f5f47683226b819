"""Literal keyword arguments of calls whose meaning we know: optimizers, data loaders, dropout,
schedulers, TrainingArguments, LoraConfig, gradient clipping, classic estimators, and the
literal bound of the epoch loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from aft_tui.target.literals import compact, dotted_name, keyword_arg, last_part, literal_of, positional_args
from aft_tui.target.loops import is_epoch_loop, literal_epoch_bound, range_call
from aft_tui.target.names import identifier, is_seed, prefers_float
from aft_tui.target.params import Param, ParamSource
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]


@dataclass(frozen=True)
class CallSpec:
    category: str  # also the prefix that disambiguates a colliding name: "optimizer_lr"
    source: ParamSource
    keywords: dict[str, str]  # keyword -> parameter name
    positional: dict[int, str] = field(default_factory=dict)  # index -> keyword


_OPTIMIZER = CallSpec(
    "optimizer",
    "kwarg",
    {"lr": "lr", "weight_decay": "weight_decay", "momentum": "momentum", "betas": "betas", "eps": "eps", "nesterov": "nesterov", "alpha": "alpha"},
    {1: "lr"},
)
_OPTIMIZERS = {"Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "Adafactor", "Lion", "SparseAdam"}
_SCHEDULERS = {
    "StepLR": CallSpec("scheduler", "kwarg", {"step_size": "step_size", "gamma": "gamma"}, {1: "step_size", 2: "gamma"}),
    "MultiStepLR": CallSpec("scheduler", "kwarg", {"gamma": "gamma"}),
    "ExponentialLR": CallSpec("scheduler", "kwarg", {"gamma": "gamma"}, {1: "gamma"}),
    "CosineAnnealingLR": CallSpec("scheduler", "kwarg", {"T_max": "t_max", "eta_min": "eta_min"}, {1: "T_max"}),
    "CosineAnnealingWarmRestarts": CallSpec("scheduler", "kwarg", {"T_0": "t_0", "T_mult": "t_mult", "eta_min": "eta_min"}, {1: "T_0"}),
    "ReduceLROnPlateau": CallSpec("scheduler", "kwarg", {"factor": "factor", "patience": "patience"}),
    "OneCycleLR": CallSpec("scheduler", "kwarg", {"max_lr": "max_lr", "pct_start": "pct_start"}),
    "LinearLR": CallSpec("scheduler", "kwarg", {"start_factor": "start_factor", "total_iters": "total_iters"}),
    "get_linear_schedule_with_warmup": CallSpec("scheduler", "kwarg", {"num_warmup_steps": "num_warmup_steps"}),
    "get_cosine_schedule_with_warmup": CallSpec("scheduler", "kwarg", {"num_warmup_steps": "num_warmup_steps"}),
}
_TRAINING_ARGS_KEYS = [
    "learning_rate", "num_train_epochs", "per_device_train_batch_size", "weight_decay", "warmup_ratio",
    "warmup_steps", "lr_scheduler_type", "gradient_accumulation_steps", "max_grad_norm", "adam_beta1",
    "adam_beta2", "adam_epsilon", "label_smoothing_factor", "max_steps", "optim", "seed",
]
_TRAINING_ARGS = CallSpec("training", "training_args", {k: k for k in _TRAINING_ARGS_KEYS})
_LORA = CallSpec("lora", "lora_config", {"r": "lora_r", "lora_alpha": "lora_alpha", "lora_dropout": "lora_dropout"})
_DROPOUT = CallSpec("model", "kwarg", {"p": "dropout"}, {0: "p"})
_RNN = CallSpec("model", "kwarg", {"hidden_size": "hidden_size", "num_layers": "num_layers", "dropout": "dropout"})
_DATALOADER = CallSpec("dataloader", "kwarg", {"batch_size": "batch_size"}, {1: "batch_size"})
_CLIP = CallSpec("clip", "kwarg", {"max_norm": "max_grad_norm"}, {1: "max_norm"})
_ESTIMATOR = CallSpec(
    "model",
    "kwarg",
    {k: identifier(k) for k in ("n_estimators", "max_depth", "learning_rate", "C", "alpha", "n_neighbors", "min_samples_split", "min_samples_leaf", "subsample", "l1_ratio", "num_leaves", "random_state")},
)
_LIGHTNING_TRAINER = CallSpec(
    "trainer",
    "kwarg",
    {"max_epochs": "max_epochs", "accumulate_grad_batches": "accumulate_grad_batches", "gradient_clip_val": "gradient_clip_val"},
)
_ESTIMATORS = {"SVC", "SVR", "Ridge", "Lasso", "ElasticNet", "LogisticRegression", "KNeighborsClassifier", "KNeighborsRegressor"}


def spec_for(qualified: str | None) -> CallSpec | None:
    name = last_part(qualified)
    if not name:
        return None
    if name == "Trainer" and qualified.split(".")[0] in ("lightning", "pytorch_lightning"):
        return _LIGHTNING_TRAINER
    if name in _OPTIMIZERS:
        return _OPTIMIZER
    if name in _SCHEDULERS:
        return _SCHEDULERS[name]
    if name in ("TrainingArguments", "Seq2SeqTrainingArguments", "SFTConfig"):
        return _TRAINING_ARGS
    if name == "LoraConfig":
        return _LORA
    if name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"):
        return _DROPOUT
    if name in ("LSTM", "GRU", "RNN"):
        return _RNN
    if name == "DataLoader":
        return _DATALOADER
    if name in ("clip_grad_norm_", "clip_grad_norm"):
        return _CLIP
    if name in _ESTIMATORS or name.endswith(("Classifier", "Regressor")):
        return _ESTIMATOR
    return None


def call_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    params: list[Param] = []
    skipped: list[Skipped] = []
    for call in script.find(cst.Call):
        qualified = script.qualified(_dotted(call))
        spec = spec_for(qualified)
        if spec is None:
            continue
        for keyword, value in _spec_args(call, spec):
            pname = spec.keywords[keyword]
            loc = script.loc(value)
            if keyword == "betas":
                found, skip = _betas(script, call, qualified or "", value, loc)
                params.extend(found)
                skipped.extend(skip)
                continue
            lit = literal_of(value, script.module)
            if lit is None:
                if _is_reference(value):
                    continue  # a name or attribute: the constant or flag it names is reported itself
                skipped.append((pname, loc, f"computed value `{compact(script.code(value), 60)}` in {last_part(qualified)}(), not a literal"))
                continue
            if lit.type == "str" and pname not in ("lr_scheduler_type", "optim"):
                continue
            params.append(_param(script, spec, qualified or "", keyword, pname, value, lit.type, lit.value, lit.code, loc))
    for loop in script.find(cst.For):
        if not is_epoch_loop(loop, script.module):
            continue
        bound = literal_epoch_bound(loop)
        rc = range_call(loop.iter)
        if bound is None:
            if rc is not None and all(literal_of(a.value, script.module) is not None for a in positional_args(rc)):
                skipped.append(("epochs", script.loc(loop), f"loop bound `{compact(script.code(rc), 60)}` is not range(N)"))
            continue
        lit = literal_of(bound, script.module)
        if lit is None:
            if not _is_reference(bound):
                skipped.append(("epochs", script.loc(loop), f"computed loop bound `{compact(script.code(bound), 60)}`, not a literal"))
            continue
        if lit.type != "int":
            continue
        line, col = script.pos(bound)
        params.append(
            Param(
                name="epochs",
                type="int",
                default=lit.value,
                source="loop",
                location=script.loc(loop),
                help=f"bound of the epoch loop `{compact(script.code(rc), 40)}`" if rc is not None else "epoch loop bound",
                extra={"site": {"line": line, "col": col, "code": lit.code}, "prefix": "loop", "tunable": True},
            )
        )
    return params, skipped


def _param(script: Script, spec: CallSpec, qualified: str, keyword: str, pname: str, node: cst.CSTNode,
           ptype: str, default: Any, code: str, loc: str) -> Param:
    if ptype == "int" and prefers_float(pname):
        ptype = "float"
    line, col = script.pos(node)
    return Param(
        name=pname,
        type=ptype,  # type: ignore[arg-type]
        default=default,
        source=spec.source,
        location=loc,
        help=f"{keyword} of {last_part(qualified)}()",
        extra={
            "call": qualified,
            "keyword": keyword,
            "site": {"line": line, "col": col, "code": code},
            "prefix": spec.category,
            "tunable": not is_seed(pname),
        },
    )


def _betas(script: Script, call: cst.Call, qualified: str, value: cst.BaseExpression, loc: str) -> tuple[list[Param], list[Skipped]]:
    if not isinstance(value, cst.Tuple) or len(value.elements) != 2:
        if _is_reference(value):
            return [], []
        return [], [("betas", loc, f"betas `{compact(script.code(value), 40)}` is not a tuple of two literal floats")]
    lits = [literal_of(el.value, script.module) for el in value.elements]
    if any(lit is None or lit.type not in ("float", "int") for lit in lits):
        return [], [("betas", loc, "betas is not a tuple of literal floats")]
    spec = _OPTIMIZER
    return [
        _param(script, spec, qualified, "betas", f"beta{i + 1}", el.value, "float", float(lit.value), lit.code, loc)  # type: ignore[union-attr]
        for i, (el, lit) in enumerate(zip(value.elements, lits))
    ], []


def _spec_args(call: cst.Call, spec: CallSpec) -> list[tuple[str, cst.BaseExpression]]:
    found: list[tuple[str, cst.BaseExpression]] = []
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in spec.keywords:
            found.append((arg.keyword.value, arg.value))
    positional = positional_args(call)
    for index, keyword in spec.positional.items():
        if index < len(positional) and keyword_arg(call, keyword) is None and keyword in spec.keywords:
            found.append((keyword, positional[index].value))
    return found


def _is_reference(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.Name, cst.Attribute, cst.Subscript))


def _dotted(call: cst.Call) -> str | None:
    return dotted_name(call.func)
