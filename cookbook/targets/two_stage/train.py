"""Two-stage fine-tuning of a small encoder-decoder that digests technical articles.

M1 (domain adaptation): masked-language modelling on computer-science text; the model rebuilds
    articles in which a share of the tokens (mask_probability) was replaced by <mask>.
M2 (task): LoRA adapters on the M1 model learn to write "difficulty: N | summary: ..." for an
    article; ROUGE-1/ROUGE-L of the summaries and the accuracy of the 1-5 difficulty are reported.

Every setting lives in config.yaml (--config picks another file). The tokenizer is trained on the
articles with the configured domain terms added as whole tokens. Without model.base_model a tiny
BART is built from the config, so the run needs no download. Models and a JSON digest of a few
validation articles are written to $AFT_RUN_DIR when set, else to outputs/ next to this script.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
import warnings
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
TARGET_PATTERN = re.compile(r"difficulty:\s*(\d)\s*\|\s*summary:\s*(.*)", re.DOTALL)
warnings.filterwarnings("ignore", message=".*pin_memory.*")


class ConfigError(Exception):
    """A config.yaml problem, reported as one sentence."""


def load_config(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass --config with the right path")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML ({str(exc).splitlines()[0]}); fix the syntax")
    if not isinstance(config, dict):
        raise ConfigError(f"{path} must hold a mapping of settings; see the example config.yaml")
    for section in ("model", "tokenizer", "data", "training"):
        if not isinstance(config.get(section), dict):
            raise ConfigError(f"{path} has no '{section}' section; add it (see the example config)")
    required = {"training.m1": ("learning_rate", "epochs", "batch_size", "mask_probability"),
                "training.m2": ("learning_rate", "epochs", "batch_size", "lora_r", "lora_alpha")}
    for section, keys in required.items():
        node = config
        for part in section.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ConfigError(f"{path} has no '{section}' section; add it (see the example config)")
        for key in keys:
            value = node.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{section}.{key} in {path} must be a number, got {value!r}; "
                                  f"write it like 3.0e-3 or 16")
    if not 0.0 < config["training"]["m1"]["mask_probability"] < 1.0:
        raise ConfigError("training.m1.mask_probability must be between 0 and 1 (exclusive)")
    return config


def build_tokenizer(texts: list[str], vocab_size: int, domain_terms: list[str]):
    """Byte-level BPE trained on the articles, with each domain term added as one token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", pad_token="<pad>",
                                        eos_token="</s>", unk_token="<unk>", mask_token="<mask>")
    add_domain_terms(tokenizer, domain_terms)
    return tokenizer


def add_domain_terms(tokenizer, domain_terms: list[str]) -> int:
    from tokenizers import AddedToken

    # single_word: "def" stays whole but is not cut out of "undefined".
    return tokenizer.add_tokens([AddedToken(t, single_word=True) for t in domain_terms])


def whole_terms(tokenizer, domain_terms: list[str]) -> int:
    """How many domain terms come out of the tokenizer as a single token inside a sentence."""
    return sum(term in tokenizer.tokenize(f"we use {term} here") for term in domain_terms)


class Seq2SeqDataset:
    def __init__(self, sources: list[list[int]], targets: list[list[int]]) -> None:
        self.items = [{"input_ids": s, "labels": t} for s, t in zip(sources, targets)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def collate(batch: list[dict], pad_id: int) -> dict:
    import torch

    src_w = max(len(b["input_ids"]) for b in batch)
    tgt_w = max(len(b["labels"]) for b in batch)
    ids, mask, labels = [], [], []
    for b in batch:
        pad = src_w - len(b["input_ids"])
        ids.append(b["input_ids"] + [pad_id] * pad)
        mask.append([1] * len(b["input_ids"]) + [0] * pad)
        labels.append(b["labels"] + [-100] * (tgt_w - len(b["labels"])))
    return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask),
            "labels": torch.tensor(labels)}


def mask_ids(ids: list[int], probability: float, mask_id: int, special: set[int],
             rng: random.Random) -> list[int]:
    """Static MLM masking: each ordinary token becomes <mask> with `probability`."""
    return [mask_id if t not in special and rng.random() < probability else t for t in ids]


def training_arguments(stage: dict, output_dir: Path, seed: int):
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(output_dir), learning_rate=float(stage["learning_rate"]),
        num_train_epochs=float(stage["epochs"]), per_device_train_batch_size=int(stage["batch_size"]),
        per_device_eval_batch_size=64, warmup_steps=int(stage.get("warmup_steps", 0)),
        eval_strategy="epoch",
        logging_strategy="epoch", save_strategy="no", report_to="none", disable_tqdm=True, seed=seed)


def build_model(config: dict, tokenizer):
    model_cfg = config["model"]
    if model_cfg.get("base_model"):
        from transformers import AutoModelForSeq2SeqLM
        model = AutoModelForSeq2SeqLM.from_pretrained(model_cfg["base_model"])
        model.resize_token_embeddings(len(tokenizer))
        return model
    from transformers import BartConfig, BartForConditionalGeneration

    return BartForConditionalGeneration(BartConfig(
        vocab_size=len(tokenizer), d_model=model_cfg["d_model"],
        encoder_layers=model_cfg["layers"], decoder_layers=model_cfg["layers"],
        encoder_attention_heads=model_cfg["attention_heads"],
        decoder_attention_heads=model_cfg["attention_heads"],
        encoder_ffn_dim=model_cfg["ffn_dim"], decoder_ffn_dim=model_cfg["ffn_dim"],
        max_position_embeddings=256, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id, forced_eos_token_id=tokenizer.eos_token_id))


def target_text(document: dict) -> str:
    """What M2 learns to write for an article; parse_target reads it back."""
    return f"difficulty: {document['difficulty']} | summary: {document['summary']}"


def parse_target(text: str) -> tuple[int, str]:
    """Split generated "difficulty: N | summary: ..." text; unreadable difficulty becomes 3."""
    match = TARGET_PATTERN.search(text)
    if not match:
        return 3, text.strip()
    return min(5, max(1, int(match.group(1)))), match.group(2).strip()


def generate(model, tokenizer, texts: list[str], max_source: int, max_target: int) -> list[str]:
    import torch

    model.eval()
    enc = tokenizer(texts, return_tensors="pt", padding=True, truncation=True,
                    max_length=max_source).to(model.device)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=max_target, num_beams=1, do_sample=False,
                             no_repeat_ngram_size=2)
    return tokenizer.batch_decode(out, skip_special_tokens=True)


def digest(document: dict, generated: str, seconds: float, domain_terms: list[str]) -> dict:
    """The report shape consumers of the pipeline expect for one article."""
    from documents import DIFFICULTY_LABELS, GLOSSARY, find_terms, prerequisites_for

    score, summary = parse_target(generated)
    terms = find_terms(document["text"], domain_terms)
    return {
        "summary": summary,
        "keywords": terms[:5],
        "difficulty_level": {"score": score, "label": DIFFICULTY_LABELS[score]},
        "prerequisites": prerequisites_for(terms),
        "technical_terms": [{"term": t, "explanation": GLOSSARY.get(t, ("", []))[0]} for t in terms],
        "processing_time": round(seconds, 3),
    }


def run(config: dict) -> dict[str, float]:
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import Trainer, set_seed

    from documents import make_documents
    from rouge import rouge

    seed = int(config.get("seed", 42))
    data, tok_cfg = config["data"], config["tokenizer"]
    terms = [str(t) for t in config.get("domain_terms") or []]
    max_src, max_tgt = int(tok_cfg["max_source_length"]), int(tok_cfg["max_target_length"])
    run_dir = os.environ.get("AFT_RUN_DIR")
    out_dir = Path(run_dir) if run_dir else HERE / "outputs"

    train_docs = make_documents(seed, int(data["train_documents"]))
    val_docs = make_documents(seed + 1, int(data["validation_documents"]))
    domain_docs = make_documents(seed + 2, int(data["domain_documents"]))
    set_seed(seed)
    if config["model"].get("base_model"):
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(config["model"]["base_model"])
        add_domain_terms(tokenizer, terms)
    else:
        tokenizer = build_tokenizer([d["text"] for d in train_docs + domain_docs] +
                                    [target_text(d) for d in train_docs + domain_docs],
                                    int(tok_cfg["vocab_size"]), terms)
    print(f"tokenizer: {len(tokenizer)} tokens, domain terms kept whole: "
          f"{whole_terms(tokenizer, terms)}/{len(terms)}")

    def encode(texts: list[str], limit: int) -> list[list[int]]:
        return tokenizer(texts, truncation=True, max_length=limit)["input_ids"]

    # M1: rebuild masked domain text.
    m1 = config["training"]["m1"]
    rng = random.Random(seed)
    special = set(tokenizer.all_special_ids)
    # Besides articles, M1 reads the digests published for the unlabelled domain articles: LoRA in
    # M2 cannot move the frozen embeddings, so digest words M1 never saw could not be produced.
    m1_train = encode([d["text"] for d in train_docs + domain_docs] +
                      [target_text(d) for d in domain_docs], max_src)
    m1_val = encode([d["text"] for d in val_docs], max_src)
    masked = lambda rows: [mask_ids(r, float(m1["mask_probability"]), tokenizer.mask_token_id,
                                    special, rng) for r in rows]
    model = build_model(config, tokenizer)
    pad = tokenizer.pad_token_id
    print(f"M1 domain adaptation: {len(m1_train)} texts, mask probability "
          f"{m1['mask_probability']}")
    m1_trainer = Trainer(model=model, args=training_arguments(m1, out_dir / "m1_checkpoints", seed),
                         train_dataset=Seq2SeqDataset(masked(m1_train), m1_train),
                         eval_dataset=Seq2SeqDataset(masked(m1_val), m1_val),
                         data_collator=lambda b: collate(b, pad))
    m1_trainer.train()
    m1_metrics = m1_trainer.evaluate()
    model.save_pretrained(out_dir / "m1_domain_adapted")
    tokenizer.save_pretrained(out_dir / "m1_domain_adapted")

    # M2: LoRA adapters for summary + difficulty.
    m2 = config["training"]["m2"]
    set_seed(seed)
    model = get_peft_model(model, LoraConfig(
        task_type=TaskType.SEQ_2_SEQ_LM, r=int(m2["lora_r"]), lora_alpha=int(m2["lora_alpha"]),
        lora_dropout=float(m2.get("lora_dropout", 0.05)),
        target_modules=["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]))
    trainable, total = model.get_nb_trainable_parameters()
    print(f"M2 LoRA summarisation: {len(train_docs)} articles, {trainable} of {total} "
          f"parameters trainable")
    def m2_dataset(docs: list[dict]) -> Seq2SeqDataset:
        return Seq2SeqDataset(encode([d["text"] for d in docs], max_src),
                              encode([target_text(d) for d in docs], max_tgt))

    m2_trainer = Trainer(model=model, args=training_arguments(m2, out_dir / "m2_checkpoints", seed),
                         train_dataset=m2_dataset(train_docs), eval_dataset=m2_dataset(val_docs),
                         data_collator=lambda b: collate(b, pad))
    m2_trainer.train()
    m2_metrics = m2_trainer.evaluate()
    model.save_pretrained(out_dir / "m2_lora_adapter")
    tokenizer.save_pretrained(out_dir / "m2_lora_adapter")

    generated = generate(model, tokenizer, [d["text"] for d in val_docs], max_src, max_tgt)
    parsed = [parse_target(g) for g in generated]
    scores = rouge([summary for _, summary in parsed], [d["summary"] for d in val_docs])
    exact = sum(score == d["difficulty"] for (score, _), d in zip(parsed, val_docs)) / len(val_docs)
    mae = sum(abs(score - d["difficulty"]) for (score, _), d in zip(parsed, val_docs)) / len(val_docs)

    reports = []
    for document in val_docs[:int(config.get("output", {}).get("report_examples", 3))]:
        started = time.perf_counter()
        text = generate(model, tokenizer, [document["text"]], max_src, max_tgt)[0]
        reports.append(digest(document, text, time.perf_counter() - started, terms))
    report_path = out_dir / "digests.json"
    tmp = report_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(reports, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, report_path)
    print(json.dumps(reports[0], indent=2, ensure_ascii=False))
    print(f"models saved to {out_dir / 'm1_domain_adapted'} and {out_dir / 'm2_lora_adapter'}; "
          f"digests in {report_path}")
    return {"m1_eval_loss": m1_metrics["eval_loss"], "m2_eval_loss": m2_metrics["eval_loss"],
            "rouge_1": scores["rouge_1"], "rouge_l": scores["rouge_l"],
            "difficulty_accuracy": exact, "difficulty_mae": mae}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=HERE / "config.yaml")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{exc}.", file=sys.stderr)
        return 2
    results = run(config)
    for key, value in results.items():
        print(f"{key}: {value:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
