"""Train a small MLP classifier on a synthetic 3-class problem.

The data is generated from a fixed seed (three noisy spiral arms), so the script needs no
download and every run sees the same problem: --seed changes only the initial weights and the
batch order, which makes runs with different hyperparameters directly comparable.

Metrics go to stdout; when AFT_METRICS names a file, one JSON object per epoch is appended to it.
The model is saved to $AFT_RUN_DIR/model.pt when AFT_RUN_DIR is set, else ./model.pt.
"""
from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

DATA_SEED = 1234
N_FEATURES = 16
N_CLASSES = 3
N_TRAIN, N_VAL = 3000, 1000


def make_data(noise: float = 0.1, turns: float = 0.5) -> tuple[TensorDataset, TensorDataset]:
    """Three noisy spiral arms in a 2-D plane, hidden in a random rotation of 16-D noise.

    Only two directions carry signal and the classes are not linearly separable, so the
    network has to find the plane and bend its boundary: learning rate and epochs matter.
    """
    gen = torch.Generator().manual_seed(DATA_SEED)
    n = N_TRAIN + N_VAL
    y = torch.randint(0, N_CLASSES, (n,), generator=gen)
    radius = torch.rand(n, generator=gen)
    angle = 2 * math.pi * (turns * radius + y / N_CLASSES)
    plane = 2 * radius[:, None] * torch.stack([angle.cos(), angle.sin()], dim=1)
    plane += noise * torch.randn(n, 2, generator=gen)
    x = torch.cat([plane, torch.randn(n, N_FEATURES - 2, generator=gen)], dim=1)
    rotation, _ = torch.linalg.qr(torch.randn(N_FEATURES, N_FEATURES, generator=gen))
    x = x @ rotation  # spread the signal over every feature
    return TensorDataset(x[:N_TRAIN], y[:N_TRAIN]), TensorDataset(x[N_TRAIN:], y[N_TRAIN:])


def build_model(hidden: int, dropout: float) -> nn.Module:
    return nn.Sequential(
        nn.Linear(N_FEATURES, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, N_CLASSES),
    )


@torch.no_grad()
def evaluate(model: nn.Module, data: TensorDataset) -> tuple[float, float]:
    model.eval()
    x, y = data.tensors
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, y).item()
    if not torch.isfinite(logits).all():  # a diverged model has no meaningful accuracy
        return loss, float("nan")
    return loss, (logits.argmax(dim=1) == y).sum().item() / len(y)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.003, help="learning rate")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=32, help="width of both hidden layers")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0, help="initial weights and batch order")
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    train_ds, val_ds = make_data()
    loader = DataLoader(train_ds, batch_size=args.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(args.seed))
    model = build_model(args.hidden, args.dropout)
    if args.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9,
                              weight_decay=args.weight_decay)
    metrics_path = os.environ.get("AFT_METRICS")

    val_acc = float("nan")
    for epoch in range(1, args.epochs + 1):
        model.train()
        total = 0.0
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
        train_loss = total / len(train_ds)
        val_loss, val_acc = evaluate(model, val_ds)
        print(f"epoch {epoch} train_loss={train_loss:.4f} val_loss={val_loss:.4f} "
              f"val_acc={val_acc:.4f}", flush=True)
        if metrics_path:
            record = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
                      "val_acc": val_acc}
            with open(metrics_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")

    out_dir = Path(os.environ.get("AFT_RUN_DIR") or ".")
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "model.pt"
    torch.save(model.state_dict(), model_path)
    print(f"model saved to {model_path}")
    print(f"final val_acc={val_acc:.4f}")


if __name__ == "__main__":
    main()
