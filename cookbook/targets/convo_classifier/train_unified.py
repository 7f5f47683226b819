"""Train the unified assistant: one small causal LM that answers every kind of message.

The unified model handles most traffic; inference.py loads a specialist only when the classifier
is unsure or the user asks for expert mode. `--category qna` or `--category technical` trains such
a specialist on that category's examples (saved as <category>_specialist), starting from the
unified model when one has been trained.

By default the tokenizer is trained on the generated data and the model is built from a tiny
GPT2Config; `--pretrained NAME` fine-tunes a hub causal LM (for example gpt2) instead.
eval_loss is printed after every epoch as a Trainer log dict. The model is saved to
$AFT_RUN_DIR/<name> when AFT_RUN_DIR is set, else to outputs/<name> next to this script.
"""
from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments, set_seed

from causal_lm_data import PadCollator, PromptAnswerDataset, generate_reply
from generate_data import DEFAULT_DATA_DIR, ensure_data
from jsonl_io import read_jsonl
from local_tokenizer import train_byte_bpe

SEED = 42
MAX_LENGTH = 96
HERE = Path(__file__).resolve().parent

warnings.filterwarnings("ignore", message=".*pin_memory.*")


def load_pairs(path: Path, category: str) -> list[tuple[str, str]]:
    return [(r["input_text"], r["target_text"]) for r in read_jsonl(path)
            if category == "all" or r["category"] == category]


def build_model(texts: list[str], pretrained: str | None):
    """Load `pretrained` (a hub name or a local model folder) or build a tiny model from scratch."""
    if pretrained:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(pretrained)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer, AutoModelForCausalLM.from_pretrained(pretrained)
    tokenizer = train_byte_bpe(texts, vocab_size=1000)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=64, n_layer=2,
                        n_head=2, bos_token_id=tokenizer.bos_token_id,
                        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return tokenizer, GPT2LMHeadModel(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--category", choices=["all", "qna", "technical"], default="all",
                        help="'all' trains the unified model, a category trains its specialist")
    parser.add_argument("--pretrained", metavar="NAME", default=None,
                        help="hub model to fine-tune instead of the tiny local one (needs network)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args()

    set_seed(SEED)
    ensure_data(args.data_dir)
    train = load_pairs(args.data_dir / "unified_train.jsonl", args.category)
    validation = load_pairs(args.data_dir / "unified_validation.jsonl", args.category)

    run_dir = os.environ.get("AFT_RUN_DIR")
    out_root = Path(run_dir) if run_dir else HERE / "outputs"
    name = "unified_model" if args.category == "all" else f"{args.category}_specialist"
    model_dir = out_root / name
    start_from = args.pretrained
    if args.category != "all" and start_from is None and (out_root / "unified_model").is_dir():
        # A specialist is the unified model trained further on its own category.
        start_from = str(out_root / "unified_model")
        print(f"specialist starts from {start_from}")
    tokenizer, model = build_model([f"{p} {a}" for p, a in train], start_from)
    training_args = TrainingArguments(
        output_dir=str(model_dir),
        learning_rate=2e-3,
        num_train_epochs=6,
        per_device_train_batch_size=16,
        per_device_eval_batch_size=64,
        weight_decay=0.0,
        warmup_steps=10,
        eval_strategy="epoch",
        logging_strategy="epoch",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=SEED,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=PromptAnswerDataset(train, tokenizer, MAX_LENGTH),
        eval_dataset=PromptAnswerDataset(validation, tokenizer, MAX_LENGTH),
        data_collator=PadCollator(tokenizer.pad_token_id),
    )
    trainer.train()
    metrics = trainer.evaluate()

    trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(str(model_dir))
    for prompt, answer in validation[:3]:
        user = prompt.split("User: ", 1)[-1].split("\n", 1)[0]
        reply = generate_reply(model, tokenizer, prompt)
        print(f"{user}\n  -> {reply!r} (reference {answer!r})")
    print(f"model saved to {model_dir}")
    print(f"eval_loss: {metrics['eval_loss']:.4f}")


if __name__ == "__main__":
    main()
