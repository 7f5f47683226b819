"""A training script stand-in that finishes in a fraction of a second (no torch).

val_acc peaks at lr=0.01 and grows with the epoch, so trials differ and curves have a shape.
It reports through AFT_METRICS when set and prints 'val_acc: ...' either way.
"""
import argparse
import json
import math
import os

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.003)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--lines", type=int, default=20)
args = parser.parse_args()

for epoch in range(1, args.epochs + 1):
    for step in range(args.lines):
        print(f"epoch {epoch} step {step} loss {1.0 / (epoch + step + 1):.5f}")
    acc = max(0.0, 1.0 - abs(math.log10(args.lr) + 2.0) / 4.0) * (0.7 + 0.3 * epoch / args.epochs)
    print(f"val_acc: {acc:.5f}", flush=True)
    if os.environ.get("AFT_METRICS"):
        with open(os.environ["AFT_METRICS"], "a") as fh:
            fh.write(json.dumps({"epoch": epoch, "val_acc": acc}) + "\n")
