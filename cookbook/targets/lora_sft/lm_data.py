"""Tokenizer and batches for a causal LM trained on prompt/answer pairs (loss on the answer only)."""
from __future__ import annotations

from typing import Iterable

import torch

IGNORE_INDEX = -100


def train_byte_bpe(texts: Iterable[str], vocab_size: int):
    """A GPT-2-style byte-level BPE tokenizer trained locally, so no download is needed."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(list(texts), trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    eos = "<|endoftext|>"
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=eos, eos_token=eos,
                                   unk_token=eos, pad_token=eos)


class PromptAnswerDataset(torch.utils.data.Dataset):
    def __init__(self, pairs: list[tuple[str, str]], tokenizer, max_length: int) -> None:
        self.items = []
        for prompt, answer in pairs:
            prompt_ids = tokenizer(prompt)["input_ids"]
            answer_ids = tokenizer(" " + answer)["input_ids"] + [tokenizer.eos_token_id]
            self.items.append({
                "input_ids": (prompt_ids + answer_ids)[:max_length],
                "labels": ([IGNORE_INDEX] * len(prompt_ids) + answer_ids)[:max_length]})

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def pad_batch(batch: list[dict], pad_token_id: int) -> dict[str, torch.Tensor]:
    width = max(len(item["input_ids"]) for item in batch)
    ids, labels, mask = [], [], []
    for item in batch:
        pad = width - len(item["input_ids"])
        ids.append(item["input_ids"] + [pad_token_id] * pad)
        labels.append(item["labels"] + [IGNORE_INDEX] * pad)
        mask.append([1] * len(item["input_ids"]) + [0] * pad)
    return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels),
            "attention_mask": torch.tensor(mask)}


@torch.no_grad()
def generate_reply(model, tokenizer, prompt: str, max_new_tokens: int = 32) -> str:
    """Greedy decoding, so the same model and prompt always give the same reply."""
    model.eval()
    enc = tokenizer(prompt, return_tensors="pt").to(model.device)
    out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    return tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()
