"""Binary classifier on generated data, in the style of the original AutoFineTuner target.

Hyperparameters are plain module constants; there is no command line. Run `python target.py`.
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

LEARNING_RATE = 0.001
EPOCHS = 5
BATCH_SIZE = 32
HIDDEN_SIZE = 64
DROPOUT = 0.2
SEED = 42


def make_data(n_train=2000, n_val=1000, n_features=10):
    """An XOR-like boundary over three of ten features, with 5% of labels flipped."""
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(n_train + n_val, n_features, generator=gen)
    score = x[:, 0] * x[:, 1] + 0.5 * torch.sin(2 * x[:, 2])
    y = (score > 0).float()
    flip = torch.rand(len(y), generator=gen) < 0.05
    y[flip] = 1 - y[flip]
    return TensorDataset(x[:n_train], y[:n_train]), TensorDataset(x[n_train:], y[n_train:])


class Classifier(nn.Module):
    def __init__(self, in_features, hidden_size, dropout):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden_size), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden_size, hidden_size), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden_size, 1),
        )

    def forward(self, x):
        return self.net(x).squeeze(1)


def evaluate(model, data):
    model.eval()
    x, y = data.tensors
    with torch.no_grad():
        logits = model(x)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y).item()
        accuracy = ((logits > 0).float() == y).sum().item() / len(y)
    return loss, accuracy


def main():
    torch.manual_seed(SEED)
    train_ds, val_ds = make_data()
    loader = DataLoader(train_ds, batch_size=BATCH_SIZE, shuffle=True)
    model = Classifier(train_ds.tensors[0].shape[1], HIDDEN_SIZE, DROPOUT)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)

    val_accuracy = 0.0
    for epoch in range(EPOCHS):
        model.train()
        total = 0.0
        for xb, yb in loader:
            loss = nn.functional.binary_cross_entropy_with_logits(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        val_loss, val_accuracy = evaluate(model, val_ds)
        print(f"Epoch {epoch + 1}/{EPOCHS} - loss: {total / len(train_ds):.4f} "
              f"- val_loss: {val_loss:.4f} - val_accuracy: {val_accuracy:.4f}", flush=True)

    torch.save(model.state_dict(), "model.pt")
    print(f"validation: {val_accuracy:.4f}")


if __name__ == "__main__":
    main()
