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


def make_example(rng: random.Random) -> dict[str, str]:
    name, city, job = rng.choice(NAMES), rng.choice(CITIES), rng.choice(JOBS)
    pet, hobby = rng.choice(PETS), rng.choice(HOBBIES)
    facts = [f"{name} lives in {city}.", f"{name} works as a {job}.",
             f"{name} has a dog named {pet}.", f"On weekends {name} enjoys {hobby}."]
    rng.shuffle(facts)
    question, answer = rng.choice([
        (f"Where does {name} live?", city),
        (f"What does {name} do for work?", f"a {job}"),
        (f"What is the name of {name}'s dog?", pet),
        (f"What does {name} enjoy on weekends?", hobby),
    ])
    return {"context": " ".join(facts), "question": question, "answer": answer}


def make_splits(seed: int, n_train: int = 480, n_eval: int = 96) -> tuple[list, list]:
    rng = random.Random(seed)
    examples = [make_example(rng) for _ in range(n_train + n_eval)]
    return examples[:n_train], examples[n_train:]


def to_prompt_answer(example: dict[str, str], template: str) -> tuple[str, str]:
    prompt = PROMPT_TEMPLATES[template].format(context=example["context"],
                                               question=example["question"])
    return prompt, example["answer"]
