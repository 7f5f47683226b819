"""Command-line flags of the experiment: every knob of a run is a flag, so a run is one command line."""
from __future__ import annotations

import argparse

from mrc_data import PROMPT_TEMPLATES


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
