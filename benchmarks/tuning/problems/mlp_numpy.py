"""Train a one-hidden-layer MLP (NumPy) on three noisy spiral arms; report validation accuracy.

A real training run, only small: the data is generated from a fixed seed (so every run sees the
same problem), the weights start from --seed, and each epoch is a pass of minibatch SGD with
momentum over 1,500 points. Learning rate, width, weight decay, batch size and epochs all
matter, and a learning rate that is too high diverges (the loss becomes NaN).
Metrics go to stdout and, when AFT_METRICS is set, one JSON line per epoch to that file.
"""
from __future__ import annotations

import argparse
import json
import math
import os

import numpy as np

DATA_SEED = 7
N_TRAIN, N_VAL, N_NOISE = 1500, 1000, 6


def make_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(DATA_SEED)
    n = N_TRAIN + N_VAL
    y = rng.integers(0, 3, n)
    r = rng.random(n)
    angle = 2 * math.pi * (0.8 * r + y / 3)
    plane = 2 * r[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    plane += 0.12 * rng.standard_normal((n, 2))
    x = np.concatenate([plane, 0.5 * rng.standard_normal((n, N_NOISE))], axis=1)
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.05, help="learning rate")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=32, help="width of the hidden layer")
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=64, choices=[16, 32, 64, 128])
    parser.add_argument("--seed", type=int, default=0, help="initial weights and batch order")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    xt, yt, xv, yv = make_data()
    rng = np.random.default_rng(args.seed)
    d = xt.shape[1]
    w1 = rng.standard_normal((d, args.hidden)) * math.sqrt(2 / d)
    b1 = np.zeros(args.hidden)
    w2 = rng.standard_normal((args.hidden, 3)) * math.sqrt(1 / args.hidden)
    b2 = np.zeros(3)
    params = [w1, b1, w2, b2]
    velocity = [np.zeros_like(p) for p in params]
    onehot = np.eye(3)[yt]
    metrics_path = os.environ.get("AFT_METRICS")
    with np.errstate(all="ignore"):
        for epoch in range(1, args.epochs + 1):
            order = rng.permutation(N_TRAIN)
            total = 0.0
            for start in range(0, N_TRAIN, args.batch_size):
                idx = order[start:start + args.batch_size]
                x, t = xt[idx], onehot[idx]
                h = np.maximum(x @ w1 + b1, 0.0)
                z = h @ w2 + b2
                z = z - z.max(axis=1, keepdims=True)
                p = np.exp(z)
                p /= p.sum(axis=1, keepdims=True)
                total += -np.log(np.maximum((p * t).sum(axis=1), 1e-12)).sum()
                g = (p - t) / len(idx)
                gw2 = h.T @ g + args.weight_decay * w2
                gh = (g @ w2.T) * (h > 0)
                grads = [x.T @ gh + args.weight_decay * w1, gh.sum(axis=0), gw2, g.sum(axis=0)]
                for i, (param, grad) in enumerate(zip(params, grads)):
                    velocity[i] = 0.9 * velocity[i] - args.lr * grad
                    param += velocity[i]
            train_loss = float(total / N_TRAIN)
            h = np.maximum(xv @ w1 + b1, 0.0)
            z = h @ w2 + b2
            if np.isfinite(z).all() and math.isfinite(train_loss):
                val_acc = float((z.argmax(axis=1) == yv).mean())
            else:
                val_acc = float("nan")
            print(f"epoch {epoch} train_loss={train_loss!r} val_acc={val_acc!r}", flush=True)
            if metrics_path:
                with open(metrics_path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"epoch": epoch, "train_loss": train_loss, "val_acc": val_acc}) + "\n")


if __name__ == "__main__":
    main()
