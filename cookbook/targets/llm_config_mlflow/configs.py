"""Typed configuration objects built from the command line, one per concern.

Keeping model, LoRA, quantization, tokenizer, training and tracking settings apart means a new
model or task touches one object, and `ExperimentConfig.as_params()` hands every setting to MLflow
without a hand-kept list.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ModelConfig:
    pretrained: str | None
    hidden_size: int
    num_layers: int
    num_heads: int


@dataclass(frozen=True)
class LoraSettings:
    r: int
    alpha: int
    dropout: float
    target_modules: tuple[str, ...]

    def to_peft(self, fan_in_fan_out: bool):
        from peft import LoraConfig, TaskType
        return LoraConfig(task_type=TaskType.CAUSAL_LM, r=self.r, lora_alpha=self.alpha,
                          lora_dropout=self.dropout, target_modules=list(self.target_modules),
                          fan_in_fan_out=fan_in_fan_out)


@dataclass(frozen=True)
class QuantizationConfig:
    load_in_4bit: bool
    load_in_8bit: bool
    bnb_4bit_quant_type: str = "nf4"
    bnb_4bit_compute_dtype: str = "float16"

    @property
    def enabled(self) -> bool:
        return self.load_in_4bit or self.load_in_8bit

    @property
    def flag(self) -> str:
        return "--load-in-4bit" if self.load_in_4bit else "--load-in-8bit"

    def to_bnb(self):
        import torch
        from transformers import BitsAndBytesConfig
        if self.load_in_4bit:
            return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=self.bnb_4bit_quant_type,
                                      bnb_4bit_compute_dtype=getattr(torch, self.bnb_4bit_compute_dtype))
        return BitsAndBytesConfig(load_in_8bit=True)


@dataclass(frozen=True)
class TokenizerConfig:
    vocab_size: int
    max_length: int
    prompt_template: str


@dataclass(frozen=True)
class TrainingConfig:
    output_dir: str
    learning_rate: float
    epochs: int
    batch_size: int
    gradient_accumulation_steps: int
    warmup_steps: int
    weight_decay: float
    lr_scheduler: str
    seed: int

    def to_training_arguments(self):
        from transformers import TrainingArguments
        return TrainingArguments(
            output_dir=self.output_dir, learning_rate=self.learning_rate,
            num_train_epochs=self.epochs, per_device_train_batch_size=self.batch_size,
            per_device_eval_batch_size=64,
            gradient_accumulation_steps=self.gradient_accumulation_steps,
            warmup_steps=self.warmup_steps, weight_decay=self.weight_decay,
            lr_scheduler_type=self.lr_scheduler, seed=self.seed, eval_strategy="epoch",
            logging_strategy="epoch", save_strategy="no", report_to="none", disable_tqdm=True)


@dataclass(frozen=True)
class TrackingConfig:
    mlflow_uri: str
    experiment_name: str
    run_name: str | None


@dataclass(frozen=True)
class ExperimentConfig:
    model: ModelConfig
    lora: LoraSettings
    quantization: QuantizationConfig
    tokenizer: TokenizerConfig
    training: TrainingConfig
    tracking: TrackingConfig

    def as_params(self) -> dict[str, str]:
        """Every setting as a flat `section.name -> text` mapping, ready for mlflow.log_params."""
        params = {}
        for section in fields(self):
            for key, value in asdict(getattr(self, section.name)).items():
                if isinstance(value, (list, tuple)):
                    value = ",".join(value)
                params[f"{section.name}.{key}"] = "" if value is None else str(value)
        return params


def resolve_mlflow_uri(uri: str, base_dir: Path) -> str:
    """Anchor a relative `sqlite:///file.db` at `base_dir`; other URIs pass through unchanged."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + str((base_dir / uri[len(prefix):]).resolve())
    return uri


def build_config(args: argparse.Namespace) -> ExperimentConfig:
    run_dir = os.environ.get("AFT_RUN_DIR")
    output_dir = args.output_dir or str(Path(run_dir) / "model" if run_dir else HERE / "outputs" / "model")
    base_dir = Path(run_dir) if run_dir else Path.cwd()
    return ExperimentConfig(
        model=ModelConfig(args.pretrained, args.hidden_size, args.num_layers, args.num_heads),
        lora=LoraSettings(args.lora_r, args.lora_alpha, args.lora_dropout,
                          tuple(m.strip() for m in args.lora_target_modules.split(",") if m.strip())),
        quantization=QuantizationConfig(args.load_in_4bit, args.load_in_8bit),
        tokenizer=TokenizerConfig(args.vocab_size, args.max_length, args.prompt_template),
        training=TrainingConfig(output_dir, args.learning_rate, args.epochs, args.batch_size,
                                args.gradient_accumulation_steps, args.warmup_steps,
                                args.weight_decay, args.lr_scheduler, args.seed),
        tracking=TrackingConfig(resolve_mlflow_uri(args.mlflow_uri, base_dir),
                                args.experiment_name, args.run_name),
    )
