"""Kernel logistic regression with random Fourier features (NumPy) on a noisy checkerboard.

A classical model trained the classical way: an RBF kernel approximated by random Fourier
features (how many: --features; kernel width: --gamma), then a linear softmax classifier fitted
by minibatch SGD with momentum and L2 regularisation. The kernel width matters most: too narrow memorises,
too wide cannot draw the checkerboard. The data comes from a fixed seed, the features and the
batch order from --seed. Metrics go to stdout and, when AFT_METRICS is set, to that file.
"""
from __future__ import annotations

import argparse
import json
import math
import os

import numpy as np

DATA_SEED = 11
N_TRAIN, N_VAL = 1200, 1000


def make_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(DATA_SEED)
    n = N_TRAIN + N_VAL
    x = rng.uniform(-2, 2, (n, 2))
    y = ((np.floor(x[:, 0]) + np.floor(x[:, 1])) % 2).astype(int)
    flip = rng.random(n) < 0.05
    y[flip] = 1 - y[flip]
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gamma", type=float, default=1.0, help="RBF kernel width parameter")
    parser.add_argument("--features", type=int, default=64, help="random Fourier features")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate")
    parser.add_argument("--l2", type=float, default=1e-3, help="L2 regularisation")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="features and batch order")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    xt, yt, xv, yv = make_data()
    rng = np.random.default_rng(args.seed)
    omega = rng.standard_normal((2, args.features)) * math.sqrt(2 * args.gamma)
    phase = rng.uniform(0, 2 * math.pi, args.features)
    scale = math.sqrt(2 / args.features)
    ft = scale * np.cos(xt @ omega + phase)
    fv = scale * np.cos(xv @ omega + phase)
    w = np.zeros((args.features, 2))
    b = np.zeros(2)
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    onehot = np.eye(2)[yt]
    metrics_path = os.environ.get("AFT_METRICS")
    batch = 32
    with np.errstate(all="ignore"):
        for epoch in range(1, args.epochs + 1):
            order = rng.permutation(N_TRAIN)
            total = 0.0
            for start in range(0, N_TRAIN, batch):
                idx = order[start:start + batch]
                z = ft[idx] @ w + b
                z = z - z.max(axis=1, keepdims=True)
                p = np.exp(z)
                p /= p.sum(axis=1, keepdims=True)
                total += float(-np.log(np.maximum((p * onehot[idx]).sum(axis=1), 1e-12)).sum())
                g = (p - onehot[idx]) / len(idx)
                vw = 0.9 * vw - args.lr * (ft[idx].T @ g + args.l2 * w)
                vb = 0.9 * vb - args.lr * g.sum(axis=0)
                w += vw
                b += vb
            train_loss = total / N_TRAIN
            z = fv @ w + b
            val_acc = float((z.argmax(axis=1) == yv).mean()) if np.isfinite(z).all() else float("nan")
            print(f"epoch {epoch} train_loss={train_loss!r} val_acc={val_acc!r}", flush=True)
            if metrics_path:
                with open(metrics_path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"epoch": epoch, "train_loss": train_loss, "val_acc": val_acc}) + "\n")


if __name__ == "__main__":
    main()
