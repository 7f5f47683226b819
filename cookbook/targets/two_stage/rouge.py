"""ROUGE-1 and ROUGE-L F1 between generated and reference summaries (the `rouge-score` package)."""
from __future__ import annotations


def rouge(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Mean ROUGE-1 and ROUGE-L F1 over the pairs."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=False)
    scores = [scorer.score(r, p) for p, r in zip(predictions, references)]
    if not scores:
        return {"rouge_1": 0.0, "rouge_l": 0.0}
    return {
        "rouge_1": sum(s["rouge1"].fmeasure for s in scores) / len(scores),
        "rouge_l": sum(s["rougeL"].fmeasure for s in scores) / len(scores),
    }
