"""ROUGE-1 and ROUGE-L F1 between generated and reference summaries.

Uses the `rouge-score` package when it is installed; otherwise a small implementation with the
same tokenisation (lower-case, runs of letters and digits), without stemming, so scores agree.
"""
from __future__ import annotations

import re
from collections import Counter


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _f1(overlap: int, n_pred: int, n_ref: int) -> float:
    if overlap == 0 or n_pred == 0 or n_ref == 0:
        return 0.0
    precision, recall = overlap / n_pred, overlap / n_ref
    return 2 * precision * recall / (precision + recall)


def _lcs_length(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_pair(prediction: str, reference: str) -> dict[str, float]:
    pred, ref = _tokens(prediction), _tokens(reference)
    overlap = sum((Counter(pred) & Counter(ref)).values())
    return {"rouge_1": _f1(overlap, len(pred), len(ref)),
            "rouge_l": _f1(_lcs_length(pred, ref), len(pred), len(ref))}


def rouge(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Mean ROUGE-1 and ROUGE-L F1 over the pairs."""
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        scores = [rouge_pair(p, r) for p, r in zip(predictions, references)]
    else:
        scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=False)
        scores = []
        for p, r in zip(predictions, references):
            result = scorer.score(r, p)
            scores.append({"rouge_1": result["rouge1"].fmeasure, "rouge_l": result["rougeL"].fmeasure})
    n = max(len(scores), 1)
    return {key: sum(s[key] for s in scores) / n for key in ("rouge_1", "rouge_l")}
