"""Literal keyword arguments of calls whose meaning we know: optimizers, data loaders, dropout,
schedulers, TrainingArguments, LoraConfig, gradient clipping, classic estimators, and the
literal bound of the epoch loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from aft_tui.target.literals import compact, dotted_name, keyword_arg, last_part, literal_of, positional_args, string_value
from aft_tui.target.loops import is_epoch_loop, literal_epoch_bound, range_call
from aft_tui.target.names import identifier, is_seed
from aft_tui.target.params import Param, ParamSource, literal_param
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
# Keras optimizers take the learning rate first and spell it out.
_KERAS_OPTIMIZER = CallSpec(
    "optimizer",
    "kwarg",
    {"learning_rate": "learning_rate", "weight_decay": "weight_decay", "momentum": "momentum", "epsilon": "epsilon", "nesterov": "nesterov"},
    {0: "learning_rate"},
)
_BOOSTER_TRAIN = CallSpec("train", "kwarg", {"num_boost_round": "num_boost_round", "early_stopping_rounds": "early_stopping_rounds"}, {2: "num_boost_round"})
_LGB_EARLY_STOPPING = CallSpec("early_stopping", "kwarg", {"stopping_rounds": "stopping_rounds"}, {0: "stopping_rounds"})
_KERAS_EARLY_STOPPING = CallSpec("early_stopping", "kwarg", {"patience": "patience", "min_delta": "min_delta"})
_KERAS_FIT = CallSpec("fit", "kwarg", {"batch_size": "batch_size", "epochs": "epochs"})
_REGULARIZERS = {
    "l1": CallSpec("regularizer", "kwarg", {"l1": "l1"}, {0: "l1"}),
    "l2": CallSpec("regularizer", "kwarg", {"l2": "l2"}, {0: "l2"}),
    "L1": CallSpec("regularizer", "kwarg", {"l1": "l1"}, {0: "l1"}),
    "L2": CallSpec("regularizer", "kwarg", {"l2": "l2"}, {0: "l2"}),
    "l1_l2": CallSpec("regularizer", "kwarg", {"l1": "l1", "l2": "l2"}),
    "L1L2": CallSpec("regularizer", "kwarg", {"l1": "l1", "l2": "l2"}),
}
# torch.nn.functional.dropout(x, p=0.5, training=...): the rate is the second argument.
_FUNCTIONAL_DROPOUT = CallSpec("model", "kwarg", {"p": "dropout"}, {1: "p"})
_FUNCTIONAL_DROPOUTS = {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"}
# Any other call's `dropout=` keyword (GATConv(..., dropout=0.6), TransformerEncoderLayer, ...).
_DROPOUT_KEYWORD = CallSpec("model", "kwarg", {"dropout": "dropout"})
# Searches the author runs: their estimator is a second model, their grid the author's own space.
SEARCHES = frozenset({"GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV", "BayesSearchCV"})
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
_DROPOUT = CallSpec("model", "kwarg", {"p": "dropout", "rate": "dropout"}, {0: "p"})
_RNN = CallSpec("model", "kwarg", {"hidden_size": "hidden_size", "num_layers": "num_layers", "dropout": "dropout"})
_DATALOADER = CallSpec("dataloader", "kwarg", {"batch_size": "batch_size"}, {1: "batch_size"})
_CLIP = CallSpec("clip", "kwarg", {"max_norm": "max_grad_norm"}, {1: "max_norm"})
_ESTIMATOR = CallSpec(
    "model",
    "kwarg",
    {
        k: identifier(k)
        for k in (
            "n_estimators", "max_depth", "learning_rate", "C", "alpha", "n_neighbors", "min_samples_split",
            "min_samples_leaf", "subsample", "l1_ratio", "num_leaves", "random_state", "colsample_bytree",
            "reg_alpha", "reg_lambda", "min_child_samples", "min_child_weight", "gamma", "max_bin",
            "subsample_freq", "iterations", "depth", "l2_leaf_reg", "max_features", "min_split_gain",
        )
    },
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
    root = qualified.split(".")[0]
    keras = root in ("keras", "tensorflow", "tf")
    if name in _OPTIMIZERS and keras:
        return _KERAS_OPTIMIZER
    if name in ("train", "cv") and root in ("lightgbm", "xgboost"):
        return _BOOSTER_TRAIN
    if name == "early_stopping" and root == "lightgbm":
        return _LGB_EARLY_STOPPING
    if name == "EarlyStopping" and keras:
        return _KERAS_EARLY_STOPPING
    if name == "fit" and "." in qualified:
        return _KERAS_FIT
    if name in _REGULARIZERS and "regularizers" in qualified.split("."):
        return _REGULARIZERS[name]
    if name in _FUNCTIONAL_DROPOUTS and (root == "torch" or "functional" in qualified):
        return _FUNCTIONAL_DROPOUT
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
    if name in _ESTIMATORS or name.endswith(("Classifier", "Regressor", "Ranker")):
        return _ESTIMATOR
    return None


def call_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    params: list[Param] = []
    skipped: list[Skipped] = []
    searched = search_estimators(script, skipped)
    for call in script.find(cst.Call):
        qualified = script.qualified(_dotted(call))
        spec = spec_for(qualified)
        if spec is None and keyword_arg(call, "dropout") is not None:
            spec = _DROPOUT_KEYWORD
        if spec is None:
            continue
        if call in searched:
            continue
        if spec is _DATALOADER:
            why = evaluation_loader(script, call)
            if why is not None:
                for keyword, value in _spec_args(call, spec):
                    if literal_of(value, script.module) is not None:
                        skipped.append((spec.keywords[keyword], script.loc(value), f"evaluation batch size: does not change training ({why})"))
                continue
        if spec is _OPTIMIZER:
            found, skip = _param_groups(script, call, qualified or "")
            params.extend(found)
            skipped.extend(skip)
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
    return merge_same_knob(params), skipped


# Words in a function's name that say it evaluates rather than trains.
_EVALUATION_WORDS = frozenset({
    "eval", "evaluate", "evaluation", "test", "testing", "validate", "validation", "valid", "val",
    "predict", "prediction", "inference", "infer",
})


def evaluation_loader(script: Script, call: cst.Call) -> str | None:
    """Why a data loader feeds evaluation, not training: it sits in a function whose name says
    evaluation (`def eval_split(...)`), or it passes `shuffle=False`. Its batch size changes how
    fast the evaluation runs, not what the model learns. None for a training loader."""
    for anc in script.ancestors(call):
        if isinstance(anc, cst.FunctionDef) and _EVALUATION_WORDS & set(_words(anc.name.value)):
            return f"inside {anc.name.value}()"
    shuffle = keyword_arg(call, "shuffle")
    if shuffle is not None and isinstance(shuffle.value, cst.Name) and shuffle.value.value == "False":
        return "shuffle=False"
    return None


def _words(name: str) -> list[str]:
    """`eval_split` -> eval, split; `runValidation` -> run, validation."""
    spaced = "".join(f"_{c}" if c.isupper() else c for c in name)
    return [w for w in spaced.lower().split("_") if w]


def merge_same_knob(params: list[Param]) -> list[Param]:
    """One parameter per knob and value: `dropout=0.6` written four times is one setting the
    author repeated, so it is reported once with every site, and the refactor lifts them together.
    Sites must be spelled alike, so putting the default back restores each one exactly."""
    merged: list[Param] = []
    by_key: dict[tuple[Any, ...], Param] = {}
    for param in params:
        site = param.extra.get("site") or {}
        key = (param.name, param.source, param.type, repr(param.default), site.get("code"))
        first = by_key.get(key)
        if first is None:
            by_key[key] = param
            merged.append(param)
            continue
        sites = first.extra.setdefault("sites", [dict(first.extra["site"], location=first.location)])
        sites.append(dict(site, location=param.location))
    for param in merged:
        if "sites" in param.extra:
            param.help = f"{param.help} (and {len(param.extra['sites']) - 1} more site{'s' if len(param.extra['sites']) > 2 else ''})"
    return merged


def search_estimators(script: Script, skipped: list[Skipped]) -> set[cst.Call]:
    """Constructor calls of the estimators an author's own search wraps (GridSearchCV(est, grid)).

    Their literals are a second model's, and the grid is the author's search space: neither is a
    setting for AFT to tune. Each is recorded in `skipped` with the reason."""
    calls: set[cst.Call] = set()
    assigned: dict[str, list[cst.Call]] = {}
    for assign in script.find(cst.Assign):
        if isinstance(assign.value, cst.Call):
            for target in assign.targets:
                if isinstance(target.target, cst.Name):
                    assigned.setdefault(target.target.value, []).append(assign.value)
    for call in script.find(cst.Call):
        search = last_part(script.qualified(_dotted(call)))
        if search not in SEARCHES:
            continue
        positional = positional_args(call)
        estimator = keyword_arg(call, "estimator")
        node = estimator.value if estimator is not None else (positional[0].value if positional else None)
        inner: list[cst.Call] = []
        if isinstance(node, cst.Call):
            inner = [node]
        elif isinstance(node, cst.Name):
            inner = assigned.get(node.value, [])
        for est in inner:
            calls.add(est)
            for arg in est.args:
                if arg.keyword is not None and literal_of(arg.value, script.module) is not None:
                    skipped.append((arg.keyword.value, script.loc(arg.value), f"{arg.keyword.value} of the estimator inside {search}() belongs to the author's own search, a second model"))
        grid = keyword_arg(call, "param_grid") or keyword_arg(call, "param_distributions")
        grid_node = grid.value if grid is not None else (positional[1].value if len(positional) > 1 else None)
        if grid_node is not None:
            shown = compact(script.code(grid_node), 40)
            skipped.append((shown if isinstance(grid_node, cst.Name) else "param_grid", script.loc(grid_node), f"`{shown}` is the author's own search space for {search}(), not a setting to tune"))
    return calls


def _param_groups(script: Script, call: cst.Call, qualified: str) -> tuple[list[Param], list[Skipped]]:
    """Per-group settings in `Adam([dict(params=..., weight_decay=5e-4), {...}], lr=...)`."""
    positional = positional_args(call)
    if not positional or not isinstance(positional[0].value, (cst.List, cst.Tuple)):
        return [], []
    params: list[Param] = []
    skipped: list[Skipped] = []
    for element in positional[0].value.elements:
        group = element.value
        pairs: list[tuple[str, cst.BaseExpression]] = []
        if isinstance(group, cst.Call) and _dotted(group) == "dict":
            pairs = [(a.keyword.value, a.value) for a in group.args if a.keyword is not None]
        elif isinstance(group, cst.Dict):
            for item in group.elements:
                if isinstance(item, cst.DictElement):
                    key = string_value(item.key)
                    if key is not None:
                        pairs.append((key, item.value))
        for key, value in pairs:
            if key == "params" or key not in _OPTIMIZER.keywords or key == "betas":
                continue
            lit = literal_of(value, script.module)
            if lit is None or lit.type not in ("int", "float"):
                continue
            loc = script.loc(value)
            if lit.value == 0:
                skipped.append((key, loc, f"{key}=0 in a parameter group switches it off for that group; a choice, not a setting"))
                continue
            param = _param(script, _OPTIMIZER, qualified, key, _OPTIMIZER.keywords[key], value, lit.type, lit.value, lit.code, loc)
            param.help = f"{key} of a parameter group of {last_part(qualified)}()"
            params.append(param)
    return params, skipped


def _param(script: Script, spec: CallSpec, qualified: str, keyword: str, pname: str, node: cst.CSTNode,
           ptype: str, default: Any, code: str, loc: str) -> Param:
    return literal_param(
        script, node, ptype, default, code,
        name=pname,
        typed_by=pname,
        source=spec.source,
        location=loc,
        help=f"{keyword} of {last_part(qualified)}()",
        prefix=spec.category,
        tunable=not is_seed(pname),
        lead={"call": qualified, "keyword": keyword},
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
