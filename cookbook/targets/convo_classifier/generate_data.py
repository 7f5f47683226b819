"""Generate the English conversation datasets used by the classifier and the unified model.

Every example comes from a template with filled-in slots, so the data needs no download and the
same seed always produces the same files:

  classification_{train,validation,test}.jsonl   {"text": ..., "label": 0|1|2}
  unified_{train,validation,test}.jsonl          {"input_text": ..., "target_text": ..., "category": ...}

Labels: 0 = qna (factual questions), 1 = technical (software support), 2 = general (everyday chat).
A small share of classification labels is flipped on purpose so the task is not trivially solvable.
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Callable

from jsonl_io import write_jsonl

CATEGORIES = ("qna", "technical", "general")
SPLITS = {"train": 0.7, "validation": 0.15, "test": 0.15}
DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"
SYSTEM_PROMPT = "System: You are a helpful assistant for questions, software support and chat."

COUNTRIES = {"France": "Paris", "Japan": "Tokyo", "Korea": "Seoul", "Italy": "Rome", "Egypt": "Cairo",
             "Canada": "Ottawa", "Spain": "Madrid", "Kenya": "Nairobi", "Peru": "Lima",
             "Norway": "Oslo"}
INVENTIONS = {"telephone": "Alexander Graham Bell", "light bulb": "Thomas Edison",
              "printing press": "Johannes Gutenberg", "World Wide Web": "Tim Berners-Lee",
              "radio": "Guglielmo Marconi", "airplane": "the Wright brothers"}
CONCEPTS = {"photosynthesis": "the process plants use to turn light, water and air into sugar",
            "inflation": "the general rise of prices over time",
            "gravity": "the force that pulls masses toward each other",
            "a black hole": "a region of space where gravity is so strong that light cannot escape",
            "democracy": "a system where citizens choose their government by voting",
            "an atom": "the smallest unit of a chemical element",
            "a recursion": "a function that calls itself on a smaller problem",
            "a tuple": "an immutable ordered collection in Python"}
PAIRS = [("lists", "tuples", "lists are mutable while tuples are immutable"),
         ("weather", "climate", "weather is short term while climate is the long term pattern"),
         ("a virus", "a bacterium", "a virus needs a host cell while a bacterium lives on its own"),
         ("speed", "velocity", "velocity has a direction while speed does not"),
         ("RAM", "storage", "RAM is temporary working memory while storage keeps data")]
LEGS = {"spider": "eight", "dog": "four", "bird": "two", "ant": "six", "horse": "four",
        "crab": "ten"}
SOFTWARE = ["SketchUp", "AutoCAD", "Blender", "Revit", "Fusion 360", "Photoshop", "Excel"]
ACTIONS = {"draw a line": "select the Line tool, click a start point and click an end point",
           "extrude a face": "select the face, use the Push Pull tool and drag to the height",
           "export a PDF": "open the File menu, choose Export and pick PDF as the format",
           "undo a change": "press Ctrl+Z or choose Undo from the Edit menu",
           "add a layer": "open the Layers panel and click the plus button",
           "change the units": "open the preferences, find Units and choose the unit you need",
           "import an image": "choose File, then Import, and select the image file",
           "group objects": "select the objects, right click and choose Make Group"}
FEELINGS = {"sad": "I am sorry you feel sad today. Do you want to talk about it?",
            "happy": "That is wonderful to hear! What made your day so good?",
            "tired": "It sounds like you need some rest. Maybe take a short break.",
            "bored": "Maybe try a walk, a new song or a good book.",
            "nervous": "Feeling nervous is normal. Take a slow breath, you can do this.",
            "lonely": "I am here to chat with you. What would you like to talk about?"}
TIMES = ["today", "this morning", "this evening", "tonight", "this weekend"]
TOPICS = ["cats", "coffee", "music", "the weather", "movies", "cooking", "football", "travel"]

Example = tuple[str, str]  # (user text, assistant answer)


def _qna(rng: random.Random) -> Example:
    kind = rng.randrange(5)
    if kind == 0:
        country, capital = rng.choice(sorted(COUNTRIES.items()))
        return f"What is the capital of {country}?", f"The capital of {country} is {capital}."
    if kind == 1:
        thing, who = rng.choice(sorted(INVENTIONS.items()))
        return f"Who invented the {thing}?", f"The {thing} was invented by {who}."
    if kind == 2:
        concept, meaning = rng.choice(sorted(CONCEPTS.items()))
        lead = rng.choice(["What is", "Can you explain", "Please tell me what is"])
        return f"{lead} {concept}?", f"{concept.capitalize()} is {meaning}."
    if kind == 3:
        a, b, diff = rng.choice(PAIRS)
        return (f"What is the difference between {a} and {b}?",
                f"The main difference is that {diff}.")
    animal, legs = rng.choice(sorted(LEGS.items()))
    article = "an" if animal[0] in "aeiou" else "a"
    return (f"How many legs does {article} {animal} have?",
            f"{article.capitalize()} {animal} has {legs} legs.")


def _technical(rng: random.Random) -> Example:
    kind = rng.randrange(4)
    tool = rng.choice(SOFTWARE)
    action, steps = rng.choice(sorted(ACTIONS.items()))
    if kind == 0:
        return f"How do I {action} in {tool}?", f"In {tool}, {steps}."
    if kind == 1:
        return (f"{tool} crashes when I {action}, how can I fix it?",
                f"Update {tool}, restart it and try again; to {action}, {steps}.")
    if kind == 2:
        return (f"What is the fastest way to {action} with {tool}?",
                f"The fastest way in {tool} is to {steps}.")
    return (f"My {tool} license stopped working after the update.",
            f"Sign out of {tool}, sign in again and reactivate the license from the Help menu.")


def _general(rng: random.Random) -> Example:
    kind = rng.randrange(4)
    when = rng.choice(TIMES)
    if kind == 0:
        return (f"Hello, how are you {when}?",
                "I am doing well, thank you for asking! How are you?")
    if kind == 1:
        feeling, reply = rng.choice(sorted(FEELINGS.items()))
        return f"I feel {feeling} {when}.", reply
    if kind == 2:
        topic = rng.choice(TOPICS)
        return (f"Do you like {topic}?",
                f"I enjoy talking about {topic}. What do you like most about it?")
    topic = rng.choice(TOPICS)
    return (f"Tell me something fun about {topic} {when}.",
            f"Here is a fun thought: many people smile when they talk about {topic}.")


def unified_prompt(user_text: str) -> str:
    """The prompt the unified model is trained on and answers at inference time."""
    return f"{SYSTEM_PROMPT}\n\nUser: {user_text}\nAssistant:"


MAKERS: dict[str, Callable[[random.Random], Example]] = {
    "qna": _qna, "technical": _technical, "general": _general}


def generate(data_dir: Path = DEFAULT_DATA_DIR, seed: int = 42, per_category: int = 200,
             label_noise: float = 0.05) -> dict[str, int]:
    """Write the six JSON-lines files; return how many records each split holds."""
    rng = random.Random(seed)
    examples = {cat: [MAKERS[cat](rng) for _ in range(per_category)] for cat in CATEGORIES}
    counts: dict[str, int] = {}
    split_rows: dict[str, list[tuple[str, str, str]]] = {name: [] for name in SPLITS}
    for cat, rows in examples.items():
        start = 0
        for i, (name, share) in enumerate(SPLITS.items()):
            end = len(rows) if i == len(SPLITS) - 1 else start + round(share * len(rows))
            split_rows[name].extend((cat, text, answer) for text, answer in rows[start:end])
            start = end
    for name, rows in split_rows.items():
        rng.shuffle(rows)
        classification = []
        for cat, text, _ in rows:
            label = CATEGORIES.index(cat)
            if rng.random() < label_noise:
                label = rng.choice([other for other in range(len(CATEGORIES)) if other != label])
            classification.append({"text": text, "label": label})
        unified = [{"input_text": unified_prompt(text),
                    "target_text": answer, "category": cat} for cat, text, answer in rows]
        write_jsonl(data_dir / f"classification_{name}.jsonl", classification)
        write_jsonl(data_dir / f"unified_{name}.jsonl", unified)
        counts[name] = len(rows)
    return counts


def ensure_data(data_dir: Path = DEFAULT_DATA_DIR) -> None:
    """Generate the default datasets when a training script finds none."""
    needed = [f"{kind}_{split}.jsonl" for kind in ("classification", "unified") for split in SPLITS]
    if not all((data_dir / name).exists() for name in needed):
        generate(data_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_DATA_DIR, help="output folder")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--per-category", type=int, default=200,
                        help="examples generated per category before splitting")
    args = parser.parse_args()
    counts = generate(args.out, args.seed, args.per_category)
    summary = ", ".join(f"{name}={n}" for name, n in counts.items())
    print(f"wrote classification_* and unified_* to {args.out} ({summary})")


if __name__ == "__main__":
    main()
