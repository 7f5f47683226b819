"""A tiny PyTorch training script of the ordinary shape research mode meets: argparse flags, Adam,
cross-entropy, an epoch loop over mini-batches, a validation pass that prints its metric."""

SCRIPT = '''\
import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--epochs", type=int, default=4)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

torch.manual_seed(0)
x = torch.randn(240, 8)
y = (x[:, 0] + 0.5 * x[:, 1] > 0).long() + (x[:, 2] > 1).long()
train_x, train_y, val_x, val_y = x[:180], y[:180], x[180:], y[180:]
torch.manual_seed(args.seed)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(args.epochs):
    model.train()
    for start in range(0, 180, 30):
        xb, yb = train_x[start:start + 30], train_y[start:start + 30]
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = nn.functional.cross_entropy(model(val_x), val_y).item()
    print(f"epoch {epoch}: val_loss={val_loss:.4f}")
'''
