"""Hybrid inference: the unified model answers, a specialist steps in when needed.

The classifier scores each message. When its confidence is at least the threshold (default 0.7)
the unified model answers. A specialist (qna or technical) is loaded on first use and answers
instead when the classifier is unsure or the message asks for expert mode ("expert mode",
"more accurate answer"). Everyday chat never needs a specialist, so an unsure "general" verdict
goes to the specialist of the likelier of the other two categories.

Usage:
  python inference.py                         answer a few demo messages
  python inference.py "How do I undo in Revit?"
  python inference.py --interactive           read messages from stdin
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_MODELS_DIR = Path(os.environ["AFT_RUN_DIR"]) if os.environ.get("AFT_RUN_DIR") else HERE / "outputs"
DEFAULT_THRESHOLD = 0.7
CATEGORIES = ("qna", "technical", "general")
SPECIALISTS = {"qna": "qna_specialist", "technical": "technical_specialist"}
UNIFIED = "unified_model"
EXPERT_REQUEST = re.compile(r"\b(expert mode|more accurate answer)\b|전문가 모드(로)?|더 정확한 답변",
                            re.IGNORECASE)
DEMO_MESSAGES = [
    "Hello, how are you today?",
    "How do I draw a line in SketchUp?",
    "What is the capital of Japan?",
    "SketchUp expert mode: how do I extrude a face?",
    "More accurate answer: who invented the radio?",
    "zxqv plorb?",
]


@dataclass(frozen=True)
class Route:
    model: str        # UNIFIED or one of SPECIALISTS' values
    category: str     # the classifier's verdict
    confidence: float
    reason: str


@dataclass(frozen=True)
class Reply:
    route: Route
    answered_by: str  # differs from route.model when the chosen specialist is not trained
    text: str


def wants_expert(message: str) -> bool:
    return EXPERT_REQUEST.search(message) is not None


def strip_expert_request(message: str) -> str:
    """The message without the expert-mode request (and the punctuation that followed it)."""
    cleaned = re.sub(rf"(?:{EXPERT_REQUEST.pattern})\s*[:,;\-]*", " ", message, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", cleaned).strip(" :,;-") or message


def choose_route(probs: list[float], message: str, threshold: float = DEFAULT_THRESHOLD) -> Route:
    """Pick the model for a message from the classifier's probabilities (qna, technical, general)."""
    best = max(range(len(probs)), key=lambda i: probs[i])
    category, confidence = CATEGORIES[best], float(probs[best])
    expert = wants_expert(message)
    if not expert and confidence >= threshold:
        return Route(UNIFIED, category, confidence, f"confident ({confidence:.2f} >= {threshold:.2f})")
    if category not in SPECIALISTS:
        category_for_specialist = max(SPECIALISTS, key=lambda c: probs[CATEGORIES.index(c)])
    else:
        category_for_specialist = category
    reason = ("expert mode requested" if expert
              else f"low confidence ({confidence:.2f} < {threshold:.2f})")
    return Route(SPECIALISTS[category_for_specialist], category, confidence, reason)


class HybridAssistant:
    """Holds the classifier and the unified model; loads specialists only when a message needs one."""

    def __init__(self, models_dir: Path = DEFAULT_MODELS_DIR,
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.models_dir = Path(models_dir)
        self.threshold = threshold
        missing = [name for name in ("classifier", UNIFIED) if not (self.models_dir / name).is_dir()]
        if missing:
            raise FileNotFoundError(
                f"no {' or '.join(missing)} in {self.models_dir}; run train_classifier.py and "
                f"train_unified.py first (or pass --models-dir)")
        self.classifier_tokenizer = AutoTokenizer.from_pretrained(self.models_dir / "classifier")
        self.classifier = AutoModelForSequenceClassification.from_pretrained(
            self.models_dir / "classifier").eval()
        self.unified = self._load_lm(UNIFIED)
        self._specialists: dict[str, tuple] = {}

    @property
    def loaded_specialists(self) -> list[str]:
        return sorted(self._specialists)

    def _load_lm(self, name: str) -> tuple:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = self.models_dir / name
        return AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path).eval()

    def _specialist(self, name: str) -> tuple | None:
        if name not in self._specialists:
            if not (self.models_dir / name).is_dir():
                return None
            self._specialists[name] = self._load_lm(name)
        return self._specialists[name]

    def classify(self, message: str) -> list[float]:
        import torch

        enc = self.classifier_tokenizer(strip_expert_request(message), return_tensors="pt",
                                        truncation=True, max_length=64)
        with torch.no_grad():
            logits = self.classifier(**enc).logits[0]
        return torch.softmax(logits, dim=-1).tolist()

    def route(self, message: str) -> Route:
        return choose_route(self.classify(message), message, self.threshold)

    def answer(self, message: str) -> Reply:
        from causal_lm_data import generate_reply
        from generate_data import unified_prompt

        route = self.route(message)
        answered_by, lm = route.model, None
        if route.model != UNIFIED:
            lm = self._specialist(route.model)
        if lm is None:
            answered_by, lm = UNIFIED, self.unified
        tokenizer, model = lm
        text = generate_reply(model, tokenizer, unified_prompt(strip_expert_request(message)))
        return Reply(route, answered_by, text)


def print_reply(message: str, reply: Reply) -> None:
    route = reply.route
    note = "" if reply.answered_by == route.model else (
        f" ({route.model} is not trained: run train_unified.py --category "
        f"{route.model.split('_')[0]}; the unified model answered)")
    print(f"user: {message}")
    print(f"  route: {route.model} [{route.category} {route.confidence:.2f}; {route.reason}]{note}")
    print(f"  answer: {reply.text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("messages", nargs="*", help="messages to answer (default: a short demo)")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help="classifier confidence below which a specialist answers")
    parser.add_argument("--interactive", action="store_true", help="read messages from stdin")
    args = parser.parse_args(argv)
    if not 0.0 <= args.threshold <= 1.0:
        print(f"--threshold must be between 0 and 1, got {args.threshold}.", file=sys.stderr)
        return 2
    try:
        assistant = HybridAssistant(args.models_dir, args.threshold)
    except FileNotFoundError as exc:
        print(f"{exc}.", file=sys.stderr)
        return 2
    messages = sys.stdin if args.interactive else (args.messages or DEMO_MESSAGES)
    for message in messages:
        message = message.strip()
        if message:
            print_reply(message, assistant.answer(message))
    print(f"specialists loaded: {', '.join(assistant.loaded_specialists) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
