"""LoRA fine-tuning of a small causal LM on MRC Q&A, with every setting tracked in MLflow.

All settings arrive as flags (build_parser) and are grouped into config objects (configs.py);
each run logs all of them, its per-epoch eval_loss and perplexity to MLflow (a local SQLite
store by default).
When AFT_METRICS names a file, one JSON object per evaluation is appended to it.

By default the tokenizer is trained locally and the model is a tiny GPT-2 built from a config,
so a run needs no download. `--pretrained NAME` fine-tunes a hub model instead, and
`--load-in-4bit` / `--load-in-8bit` load it quantized (CUDA GPU and bitsandbytes required).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import tempfile
import warnings
from pathlib import Path

from configs import ExperimentConfig, QuantizationConfig, build_config
from mrc_data import PROMPT_TEMPLATES

HERE = Path(__file__).resolve().parent
# The base stands for a fixed pretrained checkpoint: --seed varies the fine-tuning, not the base.
BASE_SEED = 1234
# Fixed as well, so runs with different --seed values are scored on the same examples.
DATA_SEED = 42
warnings.filterwarnings("ignore", message=".*pin_memory.*")
# Runs must work on machines without network access.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="LoRA fine-tuning of a small causal LM on MRC Q&A, tracked in MLflow.")
    model = parser.add_argument_group("model")
    model.add_argument("--pretrained", metavar="NAME", default=None,
                       help="hub causal LM to fine-tune (needs network); default builds a tiny "
                            "GPT-2 from a config")
    model.add_argument("--hidden-size", type=int, default=64)
    model.add_argument("--num-layers", type=int, default=2)
    model.add_argument("--num-heads", type=int, default=2)

    lora = parser.add_argument_group("LoRA")
    lora.add_argument("--lora-r", type=int, default=8)
    lora.add_argument("--lora-alpha", type=int, default=16)
    lora.add_argument("--lora-dropout", type=float, default=0.05)
    lora.add_argument("--lora-target-modules", default="c_attn,c_proj,c_fc",
                      help="comma-separated module names that receive adapters")

    quant = parser.add_argument_group("quantization (needs a CUDA GPU and bitsandbytes)")
    bits = quant.add_mutually_exclusive_group()
    bits.add_argument("--load-in-4bit", action="store_true")
    bits.add_argument("--load-in-8bit", action="store_true")

    tok = parser.add_argument_group("tokenizer")
    tok.add_argument("--vocab-size", type=int, default=600)
    tok.add_argument("--max-length", type=int, default=96)
    tok.add_argument("--prompt-template", choices=sorted(PROMPT_TEMPLATES), default="mrc")

    train = parser.add_argument_group("training")
    train.add_argument("--learning-rate", type=float, default=3e-3)
    train.add_argument("--epochs", type=int, default=3)
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--gradient-accumulation-steps", type=int, default=1)
    train.add_argument("--warmup-steps", type=int, default=10)
    train.add_argument("--weight-decay", type=float, default=0.0)
    train.add_argument("--lr-scheduler", default="linear",
                       choices=["linear", "cosine", "constant", "constant_with_warmup"])
    train.add_argument("--seed", type=int, default=42)
    train.add_argument("--output-dir", default=None,
                       help="where the adapter is saved (default: $AFT_RUN_DIR/model or "
                            "outputs/model next to this script)")

    track = parser.add_argument_group("tracking")
    track.add_argument("--mlflow-uri", default="sqlite:///mlruns.db",
                       help="MLflow tracking URI; a relative SQLite path is resolved against "
                            "$AFT_RUN_DIR when set, else the current directory")
    track.add_argument("--experiment-name", default="llm-lab-mrc")
    track.add_argument("--run-name", default=None)
    return parser


def quantization_problem(quant: QuantizationConfig) -> str | None:
    """One sentence explaining why quantized loading cannot work here, or None when it can."""
    if not quant.enabled:
        return None
    import torch

    missing = []
    if not torch.cuda.is_available():
        missing.append("a CUDA GPU")
    if importlib.util.find_spec("bitsandbytes") is None:
        missing.append("the bitsandbytes package")
    if not missing:
        return None
    return (f"{quant.flag} needs {' and '.join(missing)}, which this machine lacks; "
            f"remove the flag to train in full precision.")


def build_model(cfg: ExperimentConfig):
    from peft import get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from transformers.pytorch_utils import Conv1D

    import base_model
    from mrc_data import make_corpus

    quant = cfg.quantization.to_bnb() if cfg.quantization.enabled else None
    if cfg.model.pretrained:
        tokenizer = AutoTokenizer.from_pretrained(cfg.model.pretrained)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(cfg.model.pretrained, quantization_config=quant)
    else:
        settings = {"vocab_size": cfg.tokenizer.vocab_size, "hidden_size": cfg.model.hidden_size,
                    "num_layers": cfg.model.num_layers, "num_heads": cfg.model.num_heads,
                    "max_length": cfg.tokenizer.max_length, "seed": BASE_SEED}
        tokenizer, model = base_model.load_or_build(
            settings, make_corpus(BASE_SEED), HERE / "outputs" / "base_cache")
        if quant is not None:
            # Quantization happens at load time, so round-trip the fresh model through disk.
            with tempfile.TemporaryDirectory() as tmp:
                model.save_pretrained(tmp)
                model = AutoModelForCausalLM.from_pretrained(tmp, quantization_config=quant)
    if quant is not None:
        model = prepare_model_for_kbit_training(model)
    # Seed here, not earlier: building the base may or may not consume random numbers (cache hit
    # or miss), and the adapter's initial weights must not depend on which.
    set_seed(cfg.training.seed)
    # GPT-2 stores its projections transposed (Conv1D); LoRA must know. After 4/8-bit loading
    # those layers are ordinary linear layers, so look at the modules rather than the model type.
    fan_in_fan_out = any(isinstance(module, Conv1D) for name, module in model.named_modules()
                         if name.rsplit(".", 1)[-1] in cfg.lora.target_modules)
    return tokenizer, get_peft_model(model, cfg.lora.to_peft(fan_in_fan_out))


def metrics_callback(mlflow, metrics_path: str | None):
    from transformers import TrainerCallback

    class MetricsCallback(TrainerCallback):
        """Send each evaluation to MLflow and, when asked, to the AFT_METRICS file."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                mlflow.log_metric("train_loss", float(logs["loss"]), step=state.global_step)

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if not metrics or "eval_loss" not in metrics:
                return
            record = {"step": state.global_step, "epoch": round(state.epoch or 0, 4),
                      "eval_loss": metrics["eval_loss"],
                      "eval_perplexity": math.exp(min(metrics["eval_loss"], 50.0))}
            mlflow.log_metrics({k: v for k, v in record.items() if k.startswith("eval_")},
                               step=state.global_step)
            if metrics_path:
                with open(metrics_path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record) + "\n")

    return MetricsCallback()


def train(cfg: ExperimentConfig, mlflow) -> dict[str, float]:
    from transformers import Trainer, set_seed

    from lm_data import PromptAnswerDataset, pad_batch
    from mrc_data import make_splits, to_prompt_answer

    set_seed(cfg.training.seed)
    train_rows, eval_rows = make_splits(DATA_SEED)
    template = cfg.tokenizer.prompt_template
    train_pairs = [to_prompt_answer(r, template) for r in train_rows]
    eval_pairs = [to_prompt_answer(r, template) for r in eval_rows]
    tokenizer, model = build_model(cfg)
    trainable, total = model.get_nb_trainable_parameters()
    print(f"trainable params: {trainable} of {total} ({100 * trainable / total:.1f}%)")
    mlflow.log_params({"model.trainable_params": trainable, "model.total_params": total})

    trainer = Trainer(
        model=model,
        args=cfg.training.to_training_arguments(),
        train_dataset=PromptAnswerDataset(train_pairs, tokenizer, cfg.tokenizer.max_length),
        eval_dataset=PromptAnswerDataset(eval_pairs, tokenizer, cfg.tokenizer.max_length),
        data_collator=lambda batch: pad_batch(batch, tokenizer.pad_token_id),
        callbacks=[metrics_callback(mlflow, os.environ.get("AFT_METRICS"))],
    )
    trainer.train()
    metrics = trainer.evaluate()
    model.save_pretrained(cfg.training.output_dir)
    tokenizer.save_pretrained(cfg.training.output_dir)
    return metrics


def main(argv: list[str] | None = None) -> int:
    cfg = build_config(build_parser().parse_args(argv))
    problem = quantization_problem(cfg.quantization)
    if problem:
        print(problem, file=sys.stderr)
        return 2

    import mlflow

    mlflow.set_tracking_uri(cfg.tracking.mlflow_uri)
    mlflow.set_experiment(cfg.tracking.experiment_name)
    with mlflow.start_run(run_name=cfg.tracking.run_name) as run:
        mlflow.log_params(cfg.as_params())
        metrics = train(cfg, mlflow)
        mlflow.log_metric("final_eval_loss", metrics["eval_loss"])
        mlflow.set_tag("model_dir", str(Path(cfg.training.output_dir).resolve()))
    print(f"adapter saved to {cfg.training.output_dir}")
    print(f"mlflow run {run.info.run_id} in {cfg.tracking.mlflow_uri} "
          f"(experiment '{cfg.tracking.experiment_name}')")
    print(f"eval_loss: {metrics['eval_loss']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
