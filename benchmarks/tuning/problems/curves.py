"""A synthetic learning curve: validation accuracy as a parametric function of the hyperparameters.

It behaves like a training run where it matters for tuning, at a tiny fraction of the cost:

* the learning rate sets both the speed and the ceiling: above the best rate a run learns
  faster but ends lower, below it a run is slow but can end higher, so curves cross (the trap
  for early stopping);
* the best learning rate grows with the batch size (the linear scaling rule);
* too many epochs overfit, later with more weight decay;
* past a critical learning rate the run diverges: the metric becomes NaN after a few epochs;
* every evaluation carries measurement noise, seeded by the parameters so a run is repeatable.

`--variant` picks one member of the family (where the optimum sits, how noisy, how close the
defaults are to divergence). Each epoch sleeps briefly to stand in for the work, so early
stopping has something to save. Metrics go to stdout and, when AFT_METRICS is set, to that file.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
import zlib

VARIANTS = {
    # name: (best lr at batch 32, ceiling, noise, lr that diverges at batch 32, epochs before overfitting at wd=1e-4)
    "crossing": (0.006, 0.965, 0.004, 0.5, 14.0),
    "diverging": (0.02, 0.955, 0.002, 0.08, 18.0),
}
EPOCH_SECONDS = float(os.environ.get("CURVES_EPOCH_SECONDS", "0.03"))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.02, help="learning rate")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64, choices=[16, 32, 64, 128])
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--variant", default="crossing", choices=sorted(VARIANTS))
    parser.add_argument("--seed", type=int, default=0, help="seed of the measurement noise")
    return parser.parse_args()


def accuracy(args: argparse.Namespace, epoch: int, rng: random.Random) -> float:
    best_lr, ceiling, noise, diverge_lr, overfit_epochs = VARIANTS[args.variant]
    scale = args.batch_size / 32
    ratio = args.lr / (best_lr * scale)
    gap = math.log10(ratio)
    top = ceiling - 0.05 * gap * gap - 0.006 * (math.log10(args.weight_decay) + 3) ** 2
    top += 0.002 * math.log2(64 / args.batch_size)
    top = max(top, 0.40)
    speed = 0.35 * ratio ** 0.6
    start = 0.34
    value = top - (top - start) * math.exp(-speed * epoch)
    onset = overfit_epochs * (args.weight_decay / 1e-4) ** 0.25
    value -= 0.004 * max(0.0, epoch - onset) ** 1.3
    if args.lr > diverge_lr * scale:
        blow_up = max(1, round(3 * diverge_lr * scale / args.lr))
        if epoch >= blow_up:
            return float("nan")
    return min(1.0, max(0.0, value + rng.gauss(0.0, noise)))


def main() -> None:
    args = parse_args()
    key = f"{args.variant}|{args.lr!r}|{args.epochs}|{args.batch_size}|{args.weight_decay!r}|{args.seed}"
    rng = random.Random(zlib.crc32(key.encode()))
    metrics_path = os.environ.get("AFT_METRICS")
    for epoch in range(1, args.epochs + 1):
        time.sleep(EPOCH_SECONDS)
        val_acc = accuracy(args, epoch, rng)
        print(f"epoch {epoch} val_acc={val_acc!r}", flush=True)
        if metrics_path:
            with open(metrics_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"epoch": epoch, "val_acc": val_acc}) + "\n")


if __name__ == "__main__":
    main()
