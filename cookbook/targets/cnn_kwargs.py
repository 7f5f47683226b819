"""Tiny CNN that tells four kinds of short strokes apart in noisy 8x8 images.

Every hyperparameter is a literal keyword argument where it is used, as in many research
scripts. The images are generated from a fixed seed, so no download is needed.
"""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

# Pixel offsets of a 3-pixel stroke for each class: horizontal, vertical, diagonal, anti-diagonal.
STROKES = [
    [(0, 0), (0, 1), (0, 2)],
    [(0, 0), (1, 0), (2, 0)],
    [(0, 0), (1, 1), (2, 2)],
    [(0, 2), (1, 1), (2, 0)],
]


def make_images(n, gen, noise=0.5):
    """Draw one stroke per image at a random place, on a background of Gaussian noise."""
    labels = torch.randint(0, len(STROKES), (n,), generator=gen)
    images = noise * torch.randn(n, 1, 8, 8, generator=gen)
    corners = torch.randint(0, 6, (n, 2), generator=gen)
    for i, (label, (row, col)) in enumerate(zip(labels.tolist(), corners.tolist())):
        for dr, dc in STROKES[label]:
            images[i, 0, row + dr, col + dc] += 2.0
    return TensorDataset(images, labels)


class StrokeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(p=0.25), nn.Linear(32 * 2 * 2, 4))

    def forward(self, x):
        return self.head(self.features(x))


def evaluate(model, loader):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for images, labels in loader:
            logits = model(images)
            loss += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(dim=1) == labels).sum().item()
    n = len(loader.dataset)
    return loss / n, correct / n


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(2024)
    train_ds = make_images(1500, gen)
    val_ds = make_images(500, gen)
    train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)
    val_loader = DataLoader(val_ds, batch_size=256)

    model = StrokeNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    val_acc = 0.0
    for epoch in range(4):
        model.train()
        for images, labels in train_loader:
            loss = nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        val_loss, val_acc = evaluate(model, val_loader)
        print(f"epoch {epoch + 1}: val_loss {val_loss:.4f} val_acc {val_acc:.4f}", flush=True)

    torch.save(model.state_dict(), "cnn.pt")
    print(f"val_acc: {val_acc:.4f}")


if __name__ == "__main__":
    main()
