"""Parameters a script already exposes on its command line: argparse flags and the fields of
HfArgumentParser dataclasses.

These need no refactor (AFT can set them today), but discovery still reports them with their
defaults so the tuner knows the starting point and the person sees the whole picture.
"""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

from aft_tui.target.conventions.dataclass_fields import dataclass_fields, script_classes
from aft_tui.target.conventions.library_source import library_dataclass_fields
from aft_tui.target.hooks import is_lifted_flag
from aft_tui.target.knobs import is_knob
from aft_tui.target.literals import (
    dotted_name,
    keyword_arg,
    last_part,
    literal_of,
    positional_args,
    string_value,
)
from aft_tui.target.names import dest_from_option_strings, is_seed, words
from aft_tui.target.params import Param
from aft_tui.target.script import Script

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
_TYPE_NAMES = {"int": "int", "float": "float", "str": "str", "bool": "bool"}
_SKIPPED_ACTIONS = {"count", "append", "append_const", "help", "version", "store_const", "extend"}

# What `HfArgumentParser((..., TrainingArguments))` exposes for free, with the library defaults.
TRAINING_ARGUMENT_DEFAULTS: dict[str, tuple[str, Any]] = {
    "learning_rate": ("float", 5e-5),
    "num_train_epochs": ("float", 3.0),
    "per_device_train_batch_size": ("int", 8),
    "weight_decay": ("float", 0.0),
    "warmup_ratio": ("float", 0.0),
    "warmup_steps": ("int", 0),
    "gradient_accumulation_steps": ("int", 1),
    "max_grad_norm": ("float", 1.0),
    "lr_scheduler_type": ("str", "linear"),
    "adam_beta1": ("float", 0.9),
    "adam_beta2": ("float", 0.999),
    "label_smoothing_factor": ("float", 0.0),
    "seed": ("int", 42),
}


def is_add_argument(call: cst.Call) -> bool:
    return isinstance(call.func, cst.Attribute) and call.func.attr.value == "add_argument"


def argument_dest(call: cst.Call) -> tuple[str | None, list[str]]:
    """(dest, option strings) of an add_argument call; dest None when it cannot be read."""
    options = [s for s in (string_value(a.value) for a in positional_args(call)) if s is not None]
    dest_arg = keyword_arg(call, "dest")
    dest = string_value(dest_arg.value) if dest_arg is not None else None
    return dest_from_option_strings(options, dest), options


def argparse_params(script: Script) -> tuple[list[Param], list[str]]:
    """Params for every optional argparse flag, plus config paths named by flag defaults."""
    params: list[Param] = []
    config_paths: list[str] = []
    for call in script.find(cst.Call):
        if not is_add_argument(call):
            continue
        dest, options = argument_dest(call)
        if not dest or not options or not options[0].startswith("-"):
            continue  # positional arguments are inputs, not hyperparameters
        param = _param_from_add_argument(script, call, dest, options)
        if param is None:
            continue
        if param.extra.get("config_flag"):
            config_paths.append(param.extra["config_file"])
        params.append(param)
    return params, config_paths


def _param_from_add_argument(script: Script, call: cst.Call, dest: str, options: list[str]) -> Param | None:
    action_arg = keyword_arg(call, "action")
    action = string_value(action_arg.value) if action_arg is not None else None
    if action in _SKIPPED_ACTIONS:
        return None
    nargs = keyword_arg(call, "nargs")
    if nargs is not None and string_value(nargs.value) != "?":
        return None  # list-valued flags are not single hyperparameters
    extra: dict[str, Any] = {}
    default: Any = None
    default_arg = keyword_arg(call, "default")
    lit = literal_of(default_arg.value, script.module) if default_arg is not None else None
    if lit is not None:
        default = lit.value
    elif default_arg is not None:
        extra["default_code"] = script.code(default_arg.value)

    ptype: str | None = None
    if action in ("store_true", "store_false"):
        ptype = "bool"
        if default_arg is None:
            default = action == "store_false"
        extra["action"] = action
    else:
        type_arg = keyword_arg(call, "type")
        if type_arg is not None and isinstance(type_arg.value, cst.Name):
            ptype = _TYPE_NAMES.get(type_arg.value.value)
        if ptype is None and lit is not None:
            ptype = lit.type
        if ptype is None:
            ptype = "str"
    if ptype == "float" and isinstance(default, int) and not isinstance(default, bool):
        default = float(default)

    choices = None
    choices_arg = keyword_arg(call, "choices")
    if choices_arg is not None and isinstance(choices_arg.value, (cst.List, cst.Tuple, cst.Set)):
        values = [literal_of(el.value, script.module) for el in choices_arg.value.elements]
        if all(v is not None for v in values):
            choices = [v.value for v in values]  # type: ignore[union-attr]
    help_arg = keyword_arg(call, "help")
    help_text = string_value(help_arg.value) if help_arg is not None else None

    long_flags = [o for o in options if o.startswith("--")]
    flag = long_flags[0] if long_flags else options[0]
    config_file = None
    if {"config", "cfg", "conf"} & set(words(dest)):
        config_file = _config_file_named(default, help_text)
        if config_file is None and default_arg is not None and lit is None:
            config_file = _config_literal_in(default_arg.value)  # default=HERE / "config.yaml"
    is_config = config_file is not None
    if is_config:
        extra["config_flag"] = True
        extra["config_file"] = config_file
    # A flag the refactor added for a literal is judged as the literal was: `--feature-fraction`
    # or `--m` were knobs in the code, and exposing them must not make them plumbing.
    lifted = is_lifted_flag(help_text) and not is_config
    extra["tunable"] = is_knob(dest, ptype, default, choices, kind="literal" if lifted else "flag") and not is_config
    return Param(
        name=dest,
        type=ptype,  # type: ignore[arg-type]
        default=default,
        source="argparse",
        flag=flag,
        choices=choices,
        location=script.loc(call),
        help=help_text,
        extra=extra,
    )


def _config_file_named(default: Any, help_text: str | None) -> str | None:
    """The config file a `--config` flag names: its default, or (default None) the file its help
    mentions, as in AFT's own "config file to read instead of cfg.yaml"."""
    if isinstance(default, str) and default.lower().endswith(CONFIG_SUFFIXES):
        return default
    if default is None and help_text:
        found = re.findall(r"[\w./-]+\.(?:ya?ml|json)\b", help_text)
        if found:
            return found[-1]
    return None


def _config_literal_in(node: cst.BaseExpression) -> str | None:
    found: list[str] = []

    class _Strings(cst.CSTVisitor):
        def visit_SimpleString(self, string: cst.SimpleString) -> None:
            value = string_value(string)
            if value and value.lower().endswith(CONFIG_SUFFIXES):
                found.append(value)

    node.visit(_Strings())
    return found[-1] if found else None


# Parsers that turn dataclasses into `--field value` flags.
HF_PARSERS = frozenset({"HfArgumentParser", "TrlParser"})
# Fields of library dataclasses (TrainingArguments, trl's configs) that are hyperparameters.
LIBRARY_KNOBS = frozenset(
    """
    learning_rate num_train_epochs per_device_train_batch_size gradient_accumulation_steps weight_decay
    warmup_steps warmup_ratio lr_scheduler_type optim max_grad_norm adam_beta1 adam_beta2 adam_epsilon
    label_smoothing_factor max_length max_seq_length max_prompt_length max_completion_length lora_r
    lora_alpha lora_dropout neftune_noise_alpha beta
    """.split()
)
# Library fields a person needs to see (and often pass) although they are not knobs; the dozens of
# others stay out of the report.
LIBRARY_REPORTED = frozenset(
    """
    model_name_or_path dataset_name dataset_config output_dir seed logging_steps logging_strategy log_level
    report_to save_strategy save_steps eval_strategy eval_steps use_cpu push_to_hub per_device_eval_batch_size
    max_steps use_peft bf16 fp16 gradient_checkpointing dataset_text_field run_name lora_target_modules
    dataset_train_split dataset_test_split
    """.split()
)
SCHEDULER_CHOICES = ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup"]
_TRAINING_ARGUMENT_CLASSES = frozenset({"TrainingArguments", "Seq2SeqTrainingArguments", "SFTConfig"})


def hf_dataclass_params(script: Script) -> list[Param]:
    """Fields of the dataclasses handed to HfArgumentParser or TrlParser (each field is a `--name`
    flag). The script's own dataclasses are read from the script; library ones (SFTConfig,
    TrainingArguments, ModelConfig) from the installed library's source."""
    classes = script_classes(script)
    params: list[Param] = []
    seen: set[str] = set()
    for call in script.find(cst.Call):
        if last_part(_func_name(call)) not in HF_PARSERS:
            continue
        for ref in _dataclass_refs(script, call):
            cls = classes.get(ref)
            found = _script_dataclass_fields(script, cls) if cls is not None else _library_fields(script, call, ref)
            for param in found:
                if param.name not in seen:
                    seen.add(param.name)
                    params.append(param)
    return params


def _dataclass_refs(script: Script, call: cst.Call) -> list[str]:
    """Class names given to the parser, through a `dataclass_types = (...)` variable if need be."""
    args = positional_args(call)
    kw = keyword_arg(call, "dataclass_types")
    node = kw.value if kw is not None else (args[0].value if args else None)
    if isinstance(node, cst.Name) and node.value not in script_classes(script):
        variable = node.value
        for assign in script.find(cst.Assign):
            if any(isinstance(t.target, cst.Name) and t.target.value == variable for t in assign.targets):
                if isinstance(assign.value, (cst.Tuple, cst.List)):
                    node = assign.value
    if isinstance(node, cst.Name):
        return [node.value]
    return [el.value.value for el in getattr(node, "elements", []) if isinstance(el.value, cst.Name)]


def _script_dataclass_fields(script: Script, cls: cst.ClassDef) -> list[Param]:
    params: list[Param] = []
    for f in dataclass_fields(script, cls):
        if f.type is None or (f.default is None and not f.required and f.default_code is not None):
            continue  # a computed or factory default: not a single value AFT can start from
        extra: dict[str, Any] = {"tunable": is_knob(f.name, f.type, f.default, f.choices, kind="flag") and not f.required,
                                 "dataclass": cls.name.value}
        if f.required:
            extra["required"] = True
        params.append(Param(name=f.name, type=f.type, default=f.default, source="hf_dataclass",  # type: ignore[arg-type]
                            flag=f"--{f.name}", choices=f.choices, location=script.loc(f.statement),
                            help=f.help, extra=extra))
    return params


def _library_fields(script: Script, call: cst.Call, ref: str) -> list[Param]:
    qualified = script.qualified(ref) or ref
    fields = library_dataclass_fields(qualified) if "." in qualified else None
    if fields is None:
        return _training_argument_fields(script, call) if ref in _TRAINING_ARGUMENT_CLASSES else []
    params: list[Param] = []
    for f in fields:
        if f.type is None or not (f.name in LIBRARY_KNOBS or f.name in LIBRARY_REPORTED or f.required):
            continue
        extra: dict[str, Any] = {"tunable": f.name in LIBRARY_KNOBS and not f.required, "dataclass": ref, "library": qualified}
        if f.required:
            extra["required"] = True
        choices = SCHEDULER_CHOICES if f.name == "lr_scheduler_type" and f.default in SCHEDULER_CHOICES else None
        params.append(Param(name=f.name, type=f.type, default=f.default, source="hf_dataclass",  # type: ignore[arg-type]
                            flag=f"--{f.name}", choices=choices, location=script.loc(call),
                            help=f.help or f"{f.owner} field", extra=extra))
    return params


def _training_argument_fields(script: Script, call: cst.Call) -> list[Param]:
    """Without the library installed, the TrainingArguments knobs with their documented defaults."""
    return [
        Param(
            name=name,
            type=ptype,  # type: ignore[arg-type]
            default=default,
            source="hf_dataclass",
            flag=f"--{name}",
            location=script.loc(call),
            help="TrainingArguments field (library default)",
            extra={"tunable": not is_seed(name), "dataclass": "TrainingArguments"},
        )
        for name, (ptype, default) in TRAINING_ARGUMENT_DEFAULTS.items()
    ]


def _func_name(call: cst.Call) -> str | None:
    return dotted_name(call.func)
