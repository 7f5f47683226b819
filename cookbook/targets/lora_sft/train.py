"""Supervised fine-tuning (SFT) with LoRA on Alpaca-format instructions.

The base is a tiny GPT-2 pretrained locally on plain sentences (base_model.py, cached); LoRA
adapters then teach it to follow "### Instruction / ### Input / ### Response" prompts. The loss
covers the response only. `--pretrained NAME` starts from a hub causal LM instead (needs network).

Outputs, under $AFT_RUN_DIR when set, else outputs/ next to this script:
  adapter/   the LoRA adapter alone (save_pretrained), small enough to share
  merged/    the base with the adapter folded in (merge_and_unload), loadable without peft
eval_loss is printed after every epoch. W&B logging is off unless --wandb is given.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE_SEED = 1234
SEED = 42
MAX_LENGTH = 128
warnings.filterwarnings("ignore", message=".*pin_memory.*")


def load_base(pretrained: str | None, tokenizer_texts: list[str]):
    if pretrained:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(pretrained)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer, AutoModelForCausalLM.from_pretrained(pretrained)
    import base_model
    from alpaca_data import make_corpus

    settings = {"vocab_size": 800, "hidden_size": 64, "num_layers": 2, "num_heads": 2,
                "max_length": MAX_LENGTH, "seed": BASE_SEED, "epochs": 12}
    return base_model.load_or_build(settings, make_corpus(), HERE / "outputs" / "base_cache",
                                    tokenizer_texts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrained", metavar="NAME", default=None,
                        help="hub causal LM to fine-tune instead of the tiny local base")
    parser.add_argument("--wandb", action="store_true",
                        help="log to Weights & Biases (needs the wandb package and a login)")
    args = parser.parse_args(argv)
    if args.wandb and importlib.util.find_spec("wandb") is None:
        print("--wandb needs the wandb package, which is not installed; run "
              "`pip install wandb` or drop the flag.", file=sys.stderr)
        return 2

    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import Trainer, TrainingArguments, set_seed

    from alpaca_data import PROMPT_NO_INPUT, PROMPT_WITH_INPUT, ensure_data, format_prompt
    from lm_data import PromptAnswerDataset, generate_reply, pad_batch

    train_rows, eval_rows = ensure_data()
    train_pairs = [(format_prompt(r), r["output"]) for r in train_rows]
    eval_pairs = [(format_prompt(r), r["output"]) for r in eval_rows]
    tokenizer, model = load_base(args.pretrained, [PROMPT_WITH_INPUT, PROMPT_NO_INPUT])

    set_seed(SEED)
    lora_config = LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        r=8,
        lora_alpha=16,
        lora_dropout=0.05,
        target_modules=["c_attn", "c_proj", "c_fc"],
        fan_in_fan_out=True,  # GPT-2 keeps its projections transposed (Conv1D)
    )
    model = get_peft_model(model, lora_config)
    model.print_trainable_parameters()

    run_dir = os.environ.get("AFT_RUN_DIR")
    out_root = Path(run_dir) if run_dir else HERE / "outputs"
    training_args = TrainingArguments(
        output_dir=str(out_root / "checkpoints"),
        learning_rate=3e-3,
        num_train_epochs=3,
        per_device_train_batch_size=16,
        per_device_eval_batch_size=64,
        gradient_accumulation_steps=1,
        warmup_steps=10,
        weight_decay=0.0,
        lr_scheduler_type="linear",
        eval_strategy="epoch",
        logging_strategy="epoch",
        save_strategy="no",
        report_to="wandb" if args.wandb else "none",
        disable_tqdm=True,
        seed=SEED,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=PromptAnswerDataset(train_pairs, tokenizer, MAX_LENGTH),
        eval_dataset=PromptAnswerDataset(eval_pairs, tokenizer, MAX_LENGTH),
        data_collator=lambda batch: pad_batch(batch, tokenizer.pad_token_id),
    )
    trainer.train()
    metrics = trainer.evaluate()

    adapter_dir, merged_dir = out_root / "adapter", out_root / "merged"
    model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    correct = sum(generate_reply(model, tokenizer, prompt, max_new_tokens=16) == answer
                  for prompt, answer in eval_pairs)
    samples = [(r, generate_reply(model, tokenizer, p, max_new_tokens=16))
               for r, (p, _) in zip(eval_rows[:4], eval_pairs[:4])]

    probe = tokenizer(eval_pairs[0][0], return_tensors="pt")
    model.eval()
    with torch.no_grad():
        adapter_logits = model(**probe).logits
    merged = model.merge_and_unload()
    with torch.no_grad():
        drift = (merged(**probe).logits - adapter_logits).abs().max().item()
    merged.save_pretrained(merged_dir)
    tokenizer.save_pretrained(merged_dir)

    for row, reply in samples:
        task = row["instruction"] + (f" [{row['input']}]" if row["input"] else "")
        print(f"{task}\n  -> {reply!r} (reference {row['output']!r})")
    print(f"adapter saved to {adapter_dir}")
    print(f"merged model saved to {merged_dir}; its logits match the adapter model's "
          f"within {drift:.1e}")
    print(f"exact_match: {correct / len(eval_pairs):.4f}")
    print(f"eval_loss: {metrics['eval_loss']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
