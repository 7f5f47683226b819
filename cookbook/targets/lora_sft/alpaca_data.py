"""Alpaca-format instruction data (instruction / input / output), generated locally.

Five small task families — sentiment, capitals, opposites, English-to-Korean words and short
factual answers — so the data needs no download and the same seed gives the same files. The
same facts, written as plain sentences, form the corpus the tiny base model is pretrained on:
the base knows the world, supervised fine-tuning teaches it to follow instructions.

Run it alone to write data/alpaca_{train,eval}.json (JSON arrays, like the original Alpaca file).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
from pathlib import Path

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"

CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Korea": "Seoul", "Italy": "Rome",
            "Egypt": "Cairo", "Canada": "Ottawa", "Spain": "Madrid", "Kenya": "Nairobi",
            "Peru": "Lima", "Norway": "Oslo", "Greece": "Athens", "Chile": "Santiago"}
OPPOSITES = {"hot": "cold", "big": "small", "fast": "slow", "happy": "sad", "light": "dark",
             "early": "late", "open": "closed", "up": "down", "strong": "weak", "old": "new"}
KOREAN = {"apple": "사과", "water": "물", "friend": "친구", "school": "학교", "book": "책",
          "cat": "고양이", "dog": "개", "house": "집", "tree": "나무", "rain": "비"}
GOOD = ["great", "wonderful", "delicious", "friendly", "excellent", "lovely"]
BAD = ["terrible", "awful", "cold", "rude", "boring", "dirty"]
THINGS = ["food", "service", "room", "movie", "coffee", "staff"]
FACTS = [("What color is the sky on a clear day?", "The sky is blue on a clear day."),
         ("How many days are in a week?", "There are seven days in a week."),
         ("What do bees make?", "Bees make honey."),
         ("What is frozen water called?", "Frozen water is called ice."),
         ("Which planet do we live on?", "We live on the planet Earth."),
         ("How many legs does a spider have?", "A spider has eight legs.")]

PROMPT_WITH_INPUT = ("Below is an instruction that describes a task, paired with an input. "
                     "Write a response that completes the request.\n\n"
                     "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n")
PROMPT_NO_INPUT = ("Below is an instruction that describes a task. "
                   "Write a response that completes the request.\n\n"
                   "### Instruction:\n{instruction}\n\n### Response:\n")


def format_prompt(example: dict[str, str]) -> str:
    template = PROMPT_WITH_INPUT if example.get("input") else PROMPT_NO_INPUT
    return template.format(instruction=example["instruction"], input=example.get("input", ""))


def make_example(rng: random.Random) -> dict[str, str]:
    kind = rng.randrange(5)
    if kind == 0:
        positive = rng.random() < 0.5
        word, thing = rng.choice(GOOD if positive else BAD), rng.choice(THINGS)
        return {"instruction": rng.choice(["Classify the sentiment of this review.",
                                           "Is this review positive or negative?"]),
                "input": f"The {thing} was {word}.",
                "output": "positive" if positive else "negative"}
    if kind == 1:
        country, capital = rng.choice(sorted(CAPITALS.items()))
        return {"instruction": "Name the capital city of the given country.", "input": country,
                "output": capital}
    if kind == 2:
        word, opposite = rng.choice(sorted(OPPOSITES.items()))
        return {"instruction": "Give the opposite of the word.", "input": word, "output": opposite}
    if kind == 3:
        word, korean = rng.choice(sorted(KOREAN.items()))
        return {"instruction": "Translate the English word into Korean.", "input": word,
                "output": korean}
    question, answer = rng.choice(FACTS)
    return {"instruction": question, "input": "", "output": answer}


def make_splits(seed: int = 42, n_train: int = 400, n_eval: int = 80) -> tuple[list, list]:
    rng = random.Random(seed)
    rows = [make_example(rng) for _ in range(n_train + n_eval)]
    return rows[:n_train], rows[n_train:]


def make_corpus() -> list[str]:
    """Plain sentences stating every fact the instructions ask about, in varied wording."""
    corpus = []
    for country, capital in CAPITALS.items():
        corpus += [f"The capital of {country} is {capital}.", f"{capital} is the capital city of {country}."]
    for word, opposite in OPPOSITES.items():
        corpus += [f"The opposite of {word} is {opposite}.", f"{opposite.capitalize()} is the opposite of {word}."]
    for word, korean in KOREAN.items():
        corpus += [f"The Korean word for {word} is {korean}.", f"In Korean, {word} is {korean}."]
    for word in GOOD:
        corpus += [f"A review that says the {thing} was {word} is positive." for thing in THINGS]
    for word in BAD:
        corpus += [f"A review that says the {thing} was {word} is negative." for thing in THINGS]
    corpus += [answer for _, answer in FACTS]
    corpus += [f"{question} {answer}" for question, answer in FACTS]
    return corpus


def write_json(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(rows, fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


def ensure_data(data_dir: Path = DEFAULT_DATA_DIR, seed: int = 42) -> tuple[list, list]:
    """Load the Alpaca files, generating them first when they are missing."""
    train_path, eval_path = data_dir / "alpaca_train.json", data_dir / "alpaca_eval.json"
    if not (train_path.exists() and eval_path.exists()):
        train, evaluation = make_splits(seed)
        write_json(train_path, train)
        write_json(eval_path, evaluation)
    return (json.loads(train_path.read_text(encoding="utf-8")),
            json.loads(eval_path.read_text(encoding="utf-8")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    train, evaluation = make_splits(args.seed)
    write_json(args.out / "alpaca_train.json", train)
    write_json(args.out / "alpaca_eval.json", evaluation)
    print(f"wrote {len(train)} training and {len(evaluation)} evaluation examples to {args.out}")


if __name__ == "__main__":
    main()
