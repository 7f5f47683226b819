"""Prompt/answer pairs for a causal LM: the loss is taken on the answer only.

Shared by train_unified.py (training) and inference.py (generation) so both see the same text
layout: `<prompt> <answer><eos>`.
"""
from __future__ import annotations

import torch

IGNORE_INDEX = -100


class PromptAnswerDataset(torch.utils.data.Dataset):
    def __init__(self, pairs: list[tuple[str, str]], tokenizer, max_length: int) -> None:
        self.items = []
        for prompt, answer in pairs:
            prompt_ids = tokenizer(prompt)["input_ids"]
            answer_ids = tokenizer(" " + answer)["input_ids"] + [tokenizer.eos_token_id]
            ids = (prompt_ids + answer_ids)[:max_length]
            labels = ([IGNORE_INDEX] * len(prompt_ids) + answer_ids)[:max_length]
            self.items.append({"input_ids": ids, "labels": labels})

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


class PadCollator:
    """Right-pad a batch; padded positions are masked out of attention and loss."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, batch: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(item["input_ids"]) for item in batch)
        ids, labels, mask = [], [], []
        for item in batch:
            pad = width - len(item["input_ids"])
            ids.append(item["input_ids"] + [self.pad_token_id] * pad)
            labels.append(item["labels"] + [IGNORE_INDEX] * pad)
            mask.append([1] * len(item["input_ids"]) + [0] * pad)
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels),
                "attention_mask": torch.tensor(mask)}


@torch.no_grad()
def generate_reply(model, tokenizer, prompt: str, max_new_tokens: int = 40) -> str:
    """Greedy decoding, so the same model and prompt always give the same reply."""
    model.eval()
    enc = tokenizer(prompt, return_tensors="pt").to(model.device)
    out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                         pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    return tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()
