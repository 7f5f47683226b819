"""A tiny machine-reading-comprehension (MRC) Q&A dataset, generated locally.

Each example is a short context about a person, a question about it and the answer span, framed
by a prompt template. Swapping the template or the generator is all it takes to try another task.
"""
from __future__ import annotations

import random

NAMES = ["Mina", "Jisoo", "Hyun", "Daniel", "Sora", "Minjun", "Yuna", "Tom", "Eunji", "Leo",
         "Hana", "Joon", "Clara", "Seojin", "Ivan", "Nari"]
CITIES = ["Seoul", "Busan", "Incheon", "Daegu", "Gwangju", "Daejeon", "Ulsan", "Suwon", "Jeju"]
JOBS = ["nurse", "teacher", "baker", "pilot", "designer", "farmer", "lawyer", "chef", "engineer"]
PETS = ["Coco", "Bori", "Max", "Luna", "Dubu", "Choco", "Milo", "Nabi"]
HOBBIES = ["hiking", "painting", "chess", "swimming", "singing", "cycling", "baking", "reading"]

PROMPT_TEMPLATES = {
    "mrc": "Context: {context}\nQuestion: {question}\nAnswer:",
    "mrc_short": "{context}\nQ: {question}\nA:",
}


def make_person(rng: random.Random) -> tuple[dict[str, str], str]:
    """A random person and a short context stating their facts in random order."""
    person = {"name": rng.choice(NAMES), "city": rng.choice(CITIES), "job": rng.choice(JOBS),
              "pet": rng.choice(PETS), "hobby": rng.choice(HOBBIES)}
    name = person["name"]
    facts = [f"{name} lives in {person['city']}.", f"{name} works as a {person['job']}.",
             f"{name} has a dog named {person['pet']}.",
             f"On weekends {name} enjoys {person['hobby']}."]
    rng.shuffle(facts)
    return person, " ".join(facts)


def make_corpus(seed: int, size: int = 600) -> list[str]:
    """Generic text from the same world as the task, used to pretrain the tiny base model."""
    rng = random.Random(seed + 1)
    corpus = []
    for _ in range(size):
        p, context = make_person(rng)
        corpus.append(f"{context} In short, {p['name']} is a {p['job']} in {p['city']} with a dog "
                      f"named {p['pet']} and a love of {p['hobby']}.")
    return corpus


def make_example(rng: random.Random) -> dict[str, str]:
    person, context = make_person(rng)
    name, city, job, pet, hobby = (person[k] for k in ("name", "city", "job", "pet", "hobby"))
    question, answer = rng.choice([
        (f"Where does {name} live?", city),
        (f"What does {name} do for work?", f"a {job}"),
        (f"What is the name of {name}'s dog?", pet),
        (f"What does {name} enjoy on weekends?", hobby),
    ])
    return {"context": context, "question": question, "answer": answer}


def make_splits(seed: int, n_train: int = 480, n_eval: int = 96) -> tuple[list, list]:
    rng = random.Random(seed)
    examples = [make_example(rng) for _ in range(n_train + n_eval)]
    return examples[:n_train], examples[n_train:]


def to_prompt_answer(example: dict[str, str], template: str) -> tuple[str, str]:
    prompt = PROMPT_TEMPLATES[template].format(context=example["context"],
                                               question=example["question"])
    return prompt, example["answer"]
