"""Record real learning curves for the analyzer tests.

Each scenario trains a small MLP on a synthetic classification task (a random "teacher"
network labels Gaussian inputs, with some labels flipped) and records, per epoch, the
running-mean training loss and accuracy and the validation loss and accuracy, exactly as a
typical training script would report them. The analyzer is tested on these recorded curves
rather than on hand-drawn ones, so its thresholds meet the noise and shapes of real training.

Run once to regenerate the JSON files next to this script (about a minute on two cores):

    OMP_NUM_THREADS=1 python tests/analyzer/make_curves.py

The outputs are committed; the tests only read them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent / "curves"

# Each scenario: what it demonstrates, how it trains, and what the analyzer should say.
SCENARIOS: dict[str, dict] = {
    "still_improving": {
        "description": "Good learning rate, stopped after a few epochs while still learning.",
        "n_train": 4000, "n_val": 1000, "hidden": [128], "optimizer": "adam", "lr": 3e-4,
        "batch_size": 64, "epochs": 8, "label_noise": 0.05,
    },
    "overfitting": {
        "description": "Tiny noisy training set, large model, many epochs.",
        "n_train": 120, "n_val": 1000, "hidden": [512, 512], "optimizer": "adam", "lr": 1e-3,
        "batch_size": 32, "epochs": 60, "label_noise": 0.2,
    },
    "diverged": {
        "description": "Learning rate far too high: the loss explodes to NaN.",
        "n_train": 2000, "n_val": 1000, "hidden": [64, 64], "optimizer": "sgd", "lr": 50.0,
        "momentum": 0.9, "batch_size": 64, "epochs": 8, "label_noise": 0.05,
    },
    "underfitting": {
        "description": "Learning rate far too low: the loss barely moves from its start.",
        "n_train": 2000, "n_val": 1000, "hidden": [64], "optimizer": "sgd", "lr": 1e-4,
        "momentum": 0.0, "batch_size": 64, "epochs": 20, "label_noise": 0.05,
    },
    "plateau": {
        "description": "Long run with a cosine schedule on plenty of data: converged early.",
        "n_train": 4000, "n_val": 2000, "hidden": [32], "optimizer": "adam", "lr": 3e-3,
        "batch_size": 128, "epochs": 40, "label_noise": 0.05, "schedule": "cosine",
    },
    "noisy": {
        "description": "Batch size 2 with a high learning rate and a 40-sample validation set.",
        "n_train": 600, "n_val": 40, "hidden": [64], "optimizer": "sgd", "lr": 0.3,
        "momentum": 0.0, "batch_size": 2, "epochs": 24, "label_noise": 0.1,
    },
}

N_FEATURES = 20
N_CLASSES = 3


def make_data(n: int, seed: int, label_noise: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Label Gaussian inputs with a fixed random teacher so every scenario shares one task."""
    teacher_gen = torch.Generator().manual_seed(1234)
    w1 = torch.randn(N_FEATURES, 32, generator=teacher_gen)
    w2 = torch.randn(32, N_CLASSES, generator=teacher_gen)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, N_FEATURES, generator=gen)
    y = (torch.tanh(x @ w1) @ w2).argmax(dim=1)
    flip = torch.rand(n, generator=gen) < label_noise
    y[flip] = torch.randint(0, N_CLASSES, (int(flip.sum()),), generator=gen)
    return x, y


def make_model(hidden: list[int]) -> nn.Module:
    layers: list[nn.Module] = []
    width = N_FEATURES
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, N_CLASSES))
    return nn.Sequential(*layers)


def run(name: str, cfg: dict) -> dict:
    torch.manual_seed(0)
    x_tr, y_tr = make_data(cfg["n_train"], seed=1, label_noise=cfg["label_noise"])
    x_va, y_va = make_data(cfg["n_val"], seed=2, label_noise=cfg["label_noise"])
    model = make_model(cfg["hidden"])
    if cfg["optimizer"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    else:
        opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg.get("momentum", 0.0))
    sched = None
    if cfg.get("schedule") == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg["epochs"])
    loss_fn = nn.CrossEntropyLoss()
    history = []
    step = 0
    bs = cfg["batch_size"]
    for epoch in range(1, cfg["epochs"] + 1):
        model.train()
        perm = torch.randperm(len(x_tr))
        total, correct, seen = 0.0, 0, 0
        for i in range(0, len(x_tr), bs):
            idx = perm[i:i + bs]
            logits = model(x_tr[idx])
            loss = loss_fn(logits, y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            total += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == y_tr[idx]).sum())
            seen += len(idx)
        if sched is not None:
            sched.step()
        model.eval()
        with torch.no_grad():
            logits = model(x_va)
            val_loss = float(loss_fn(logits, y_va))
            val_acc = float((logits.argmax(1) == y_va).float().mean())
        history.append({
            "epoch": epoch,
            "step": step,
            "train_loss": total / seen,
            "train_acc": round(correct / seen, 6),
            "val_loss": val_loss,
            "val_acc": round(val_acc, 6),
        })
    return {
        "scenario": name,
        "description": cfg["description"],
        "config": {k: v for k, v in cfg.items() if k != "description"},
        "torch_version": torch.__version__.split("+")[0],
        "history": history,
    }


def main(names: list[str]) -> None:
    torch.set_num_threads(1)
    HERE.mkdir(parents=True, exist_ok=True)
    for name in names or list(SCENARIOS):
        curve = run(name, SCENARIOS[name])
        path = HERE / f"{name}.json"
        tmp = path.with_suffix(".json.tmp")
        # json writes NaN/Infinity literally, as the training scripts AFT reads do.
        tmp.write_text(json.dumps(curve, indent=1) + "\n")
        os.replace(tmp, path)
        last = curve["history"][-1]
        print(f"{name:16s} epochs={len(curve['history']):3d} last={last}")


if __name__ == "__main__":
    main(sys.argv[1:])
