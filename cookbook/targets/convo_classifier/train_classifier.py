"""Fine-tune a small BERT-style classifier that sorts a message into qna, technical or general.

The router of the hybrid assistant (inference.py) uses this model's confidence to decide whether
the unified model can answer or a specialist must be loaded.

By default the tokenizer is trained on the generated data and the model is built from a tiny
BertConfig, so the run needs no download and takes seconds on a CPU. `--pretrained NAME` loads a
hub checkpoint (for example bert-base-uncased) and its tokenizer instead.

Evaluation runs after every epoch and prints the Trainer's log dicts (eval_loss, eval_accuracy,
eval_f1); the model and tokenizer are saved to $AFT_RUN_DIR/classifier when AFT_RUN_DIR is set,
else to outputs/classifier next to this script.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch
from transformers import (BertConfig, BertForSequenceClassification, DataCollatorWithPadding,
                          Trainer, TrainingArguments, set_seed)

from generate_data import CATEGORIES, DEFAULT_DATA_DIR, ensure_data
from jsonl_io import read_jsonl
from local_tokenizer import train_wordpiece

SEED = 42
MAX_LENGTH = 64
HERE = Path(__file__).resolve().parent


class EncodedDataset(torch.utils.data.Dataset):
    def __init__(self, records: list[dict], tokenizer) -> None:
        enc = tokenizer([r["text"] for r in records], truncation=True, max_length=MAX_LENGTH)
        self.items = [{"input_ids": ids, "attention_mask": mask, "labels": r["label"]}
                      for ids, mask, r in zip(enc["input_ids"], enc["attention_mask"], records)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def build_model(train_texts: list[str], pretrained: str | None):
    id2label = dict(enumerate(CATEGORIES))
    label2id = {name: i for i, name in id2label.items()}
    if pretrained:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(pretrained)
        model = AutoModelForSequenceClassification.from_pretrained(
            pretrained, num_labels=len(CATEGORIES), id2label=id2label, label2id=label2id)
        return tokenizer, model
    tokenizer = train_wordpiece(train_texts, vocab_size=800)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128,
                        max_position_embeddings=MAX_LENGTH, num_labels=len(CATEGORIES),
                        id2label=id2label, label2id=label2id,
                        pad_token_id=tokenizer.pad_token_id)
    return tokenizer, BertForSequenceClassification(config)


def compute_metrics(eval_pred) -> dict[str, float]:
    """Accuracy and macro-averaged F1, so a model that ignores one class cannot look good."""
    logits, labels = eval_pred
    preds = np.argmax(logits, axis=-1)
    f1s = []
    for label in range(len(CATEGORIES)):
        tp = np.sum((preds == label) & (labels == label))
        fp = np.sum((preds == label) & (labels != label))
        fn = np.sum((preds != label) & (labels == label))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return {"accuracy": float(np.mean(preds == labels)), "f1": float(np.mean(f1s))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrained", metavar="NAME", default=None,
                        help="hub model to fine-tune instead of the tiny local one (needs network)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args()

    set_seed(SEED)
    ensure_data(args.data_dir)
    train = read_jsonl(args.data_dir / "classification_train.jsonl")
    validation = read_jsonl(args.data_dir / "classification_validation.jsonl")
    test = read_jsonl(args.data_dir / "classification_test.jsonl")
    tokenizer, model = build_model([r["text"] for r in train], args.pretrained)

    run_dir = os.environ.get("AFT_RUN_DIR")
    model_dir = Path(run_dir) / "classifier" if run_dir else HERE / "outputs" / "classifier"
    training_args = TrainingArguments(
        output_dir=str(model_dir),
        learning_rate=5e-4,
        num_train_epochs=3,
        per_device_train_batch_size=16,
        per_device_eval_batch_size=64,
        weight_decay=0.01,
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
        train_dataset=EncodedDataset(train, tokenizer),
        eval_dataset=EncodedDataset(validation, tokenizer),
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics,
    )
    trainer.train()
    metrics = trainer.evaluate()
    test_metrics = trainer.evaluate(EncodedDataset(test, tokenizer), metric_key_prefix="test")

    trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(str(model_dir))
    print(f"model saved to {model_dir}")
    print(f"eval_accuracy: {metrics['eval_accuracy']:.4f}")
    print(f"eval_f1: {metrics['eval_f1']:.4f}")
    print(f"test_accuracy: {test_metrics['test_accuracy']:.4f}")


if __name__ == "__main__":
    main()
