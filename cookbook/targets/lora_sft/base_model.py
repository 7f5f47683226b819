"""A small pretrained base model, built locally and cached, for LoRA to adapt.

LoRA assumes a base that already models language: adapters on a randomly initialised network
cannot move its frozen embeddings and learn almost nothing. Without `--pretrained`, the base is a
tiny GPT-2 trained briefly on generic sentences from the same world as the task. It is cached
under a key of everything that shapes it, so tuning trials share one base and only pay for LoRA.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

BASE_EPOCHS = 3
BASE_LEARNING_RATE = 3e-3
BASE_BATCH_SIZE = 16


def cache_key(settings: dict, corpus: list[str]) -> str:
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    digest.update("\n".join(corpus).encode())
    return digest.hexdigest()[:12]


def pretrain(model, tokenizer, corpus: list[str], max_length: int, seed: int, epochs: int) -> float:
    """Plain causal-LM training on `corpus`; returns the last epoch's mean loss."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    encoded = [tokenizer(text + tokenizer.eos_token)["input_ids"][:max_length] for text in corpus]
    optimizer = torch.optim.AdamW(model.parameters(), lr=BASE_LEARNING_RATE)
    model.train()
    mean = float("nan")
    for _ in range(epochs):
        order = torch.randperm(len(encoded), generator=gen).tolist()
        losses = []
        for start in range(0, len(order), BASE_BATCH_SIZE):
            batch = [encoded[i] for i in order[start:start + BASE_BATCH_SIZE]]
            width = max(map(len, batch))
            ids = torch.tensor([b + [tokenizer.pad_token_id] * (width - len(b)) for b in batch])
            mask = torch.tensor([[1] * len(b) + [0] * (width - len(b)) for b in batch])
            labels = ids.masked_fill(mask == 0, -100)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        mean = sum(losses) / len(losses)
    model.eval()
    return mean


def load_or_build(settings: dict, corpus: list[str], cache_root: Path,
                  tokenizer_texts: list[str] = ()):
    """Return (tokenizer, model) for a tiny GPT-2 base described by `settings`.

    settings: vocab_size, hidden_size, num_layers, num_heads, max_length, seed and optionally
    epochs (default BASE_EPOCHS). The tokenizer learns from the corpus plus `tokenizer_texts`
    (text the base never trains on but should tokenize well, such as prompt templates).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel, set_seed

    from lm_data import train_byte_bpe

    path = cache_root / f"base-{cache_key(settings, list(corpus) + list(tokenizer_texts))}"
    if path.is_dir():
        print(f"base model: cached at {path}")
        return AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path)

    set_seed(settings["seed"])
    started = time.perf_counter()
    tokenizer = train_byte_bpe(list(corpus) + list(tokenizer_texts), settings["vocab_size"])
    model = GPT2LMHeadModel(GPT2Config(
        vocab_size=len(tokenizer), n_positions=max(128, settings["max_length"]),
        n_embd=settings["hidden_size"], n_layer=settings["num_layers"],
        n_head=settings["num_heads"], bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id))
    loss = pretrain(model, tokenizer, corpus, settings["max_length"], settings["seed"],
                    settings.get("epochs", BASE_EPOCHS))
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".base-", dir=cache_root))
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        os.replace(tmp, path)  # atomic: a parallel trial sees the whole base or none of it
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another trial cached the same base first
    print(f"base model: pretrained on {len(corpus)} sentences in "
          f"{time.perf_counter() - started:.1f} s (loss {loss:.3f}), cached at {path}")
    return tokenizer, model
