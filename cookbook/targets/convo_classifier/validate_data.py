"""Check the conversation datasets before training on them.

A bad record found during training costs a whole run; found here it costs a second. Each problem
is printed as `<file>:<line>: <problem>` (line 0 means the file as a whole) and the exit status is
1 when there is any, 0 with a short summary otherwise.

Checks: valid JSON objects, required fields with the right types, labels in {0, 1, 2}, known
categories, non-empty text within length limits, and a balanced label distribution.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"
LABELS = {0: "qna", 1: "technical", 2: "general"}
CATEGORIES = tuple(LABELS.values())
SCHEMAS: dict[str, dict[str, type]] = {
    "classification": {"text": str, "label": int},
    "unified": {"input_text": str, "target_text": str, "category": str},
}
TYPE_NAMES = {str: "a string", int: "an integer"}
MAX_CHARS = {"text": 500, "input_text": 1000, "target_text": 1000}
# The rarest label must have at least this fraction of the most common label's count.
MIN_BALANCE_RATIO = 0.5
# Fewer records than this say nothing about balance.
MIN_RECORDS_FOR_BALANCE = 12


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def kind_of(path: Path) -> str | None:
    for kind in SCHEMAS:
        if path.name.startswith(f"{kind}_"):
            return kind
    return None


def check_record(record: object, kind: str) -> list[str]:
    """Problems with one parsed record, as messages without the location."""
    if not isinstance(record, dict):
        return [f"record is a JSON {type(record).__name__}, expected an object with fields "
                f"{', '.join(SCHEMAS[kind])}"]
    problems = []
    for field, expected in SCHEMAS[kind].items():
        if field not in record:
            problems.append(f"missing required field '{field}'")
            continue
        value = record[field]
        # bool is a subclass of int in Python; a label of `true` is still a mistake.
        if not isinstance(value, expected) or isinstance(value, bool):
            problems.append(f"field '{field}' must be {TYPE_NAMES[expected]}, "
                            f"got {json.dumps(value)[:40]}")
            continue
        if expected is str:
            if not value.strip():
                problems.append(f"field '{field}' is empty")
            elif field in MAX_CHARS and len(value) > MAX_CHARS[field]:
                problems.append(f"field '{field}' is too long ({len(value)} characters, "
                                f"limit {MAX_CHARS[field]}); shorten or split it")
    label = record.get("label")
    if kind == "classification" and isinstance(label, int) and not isinstance(label, bool):
        if label not in LABELS:
            problems.append(f"label {label} is not one of 0 (qna), 1 (technical), 2 (general)")
    category = record.get("category")
    if kind == "unified" and isinstance(category, str) and category not in CATEGORIES:
        problems.append(f"category '{category}' is not one of {', '.join(CATEGORIES)}")
    return problems


def check_balance(name: str, counts: Counter, classes: list) -> list[Problem]:
    total = sum(counts.values())
    if total < MIN_RECORDS_FOR_BALANCE:
        return []
    largest = max(counts[c] for c in classes)
    rarest = min(classes, key=lambda c: counts[c])
    if counts[rarest] >= MIN_BALANCE_RATIO * largest:
        return []
    shares = ", ".join(f"{c}: {counts[c] / total:.0%}" for c in classes)
    return [Problem(name, 0, f"label distribution is skewed ({shares}); '{rarest}' has "
                             f"{counts[rarest]} records against {largest} for the most common "
                             f"one, add examples or rebalance")]


def validate_file(path: Path) -> tuple[list[Problem], Counter]:
    """Problems found in one file and the count of each label (or category) in it."""
    name = path.name
    kind = kind_of(path)
    if kind is None:
        return [Problem(name, 0, "cannot tell the record kind from the file name; name it "
                                 "classification_*.jsonl or unified_*.jsonl")], Counter()
    if not path.is_file():
        return [Problem(name, 0, f"file not found at {path}; run generate_data.py first")], Counter()
    problems: list[Problem] = []
    counts: Counter = Counter()
    key = "label" if kind == "classification" else "category"
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(Problem(name, line_no, f"invalid JSON ({exc.msg} at column "
                                                       f"{exc.colno})"))
                continue
            messages = check_record(record, kind)
            problems.extend(Problem(name, line_no, message) for message in messages)
            if not messages:
                counts[record[key]] += 1
    classes = list(LABELS) if kind == "classification" else list(CATEGORIES)
    problems.extend(check_balance(name, counts, classes))
    return problems, counts


def default_files(data_dir: Path) -> list[Path]:
    return [data_dir / f"{kind}_{split}.jsonl"
            for kind in SCHEMAS for split in ("train", "validation", "test")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path,
                        help="files to check (default: the six generated files in --data-dir)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    files = args.files or default_files(args.data_dir)
    all_problems: list[Problem] = []
    summaries = []
    for path in files:
        problems, counts = validate_file(path)
        all_problems.extend(problems)
        dist = " ".join(f"{k}={counts[k]}" for k in sorted(counts, key=str))
        summaries.append(f"  {path.name}: {sum(counts.values())} records ({dist})")
    for problem in all_problems:
        print(problem)
    if all_problems:
        print(f"{len(all_problems)} problem(s) in {len(files)} file(s)", file=sys.stderr)
        return 1
    print(f"ok: {len(files)} file(s) valid")
    print("\n".join(summaries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
