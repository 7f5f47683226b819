"""MLP regressor whose settings live in a nested YAML file next to this script.

Edit yaml_regressor.yaml (model / training / data sections) and run `python yaml_regressor.py`.
The data is generated from a fixed seed, so every run fits the same smooth function.
"""
from pathlib import Path

import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CONFIG_PATH = Path(__file__).with_name("yaml_regressor.yaml")
N_FEATURES = 8


def make_data(noise, n_train=2000, n_val=500):
    """A smooth nonlinear function of four of eight inputs, plus Gaussian noise on the target."""
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(n_train + n_val, N_FEATURES, generator=gen)
    y = torch.sin(2 * x[:, 0]) + x[:, 1] * x[:, 2] - 0.5 * x[:, 3] ** 2 + 0.5
    y = y + noise * torch.randn(len(y), generator=gen)
    y = y.unsqueeze(1)
    return TensorDataset(x[:n_train], y[:n_train]), TensorDataset(x[n_train:], y[n_train:])


def build_model(hidden, layers):
    blocks, width = [], N_FEATURES
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, 1))


def main():
    config = yaml.safe_load(CONFIG_PATH.read_text())
    model_cfg, train_cfg, data_cfg = config["model"], config["training"], config["data"]

    torch.manual_seed(0)
    train_ds, val_ds = make_data(data_cfg["noise"])
    loader = DataLoader(train_ds, batch_size=train_cfg["batch_size"], shuffle=True)
    model = build_model(model_cfg["hidden"], model_cfg["layers"])
    optimizer = torch.optim.Adam(model.parameters(), lr=train_cfg["learning_rate"])
    loss_fn = nn.MSELoss()

    val_mse = float("nan")
    for epoch in range(1, train_cfg["epochs"] + 1):
        model.train()
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_mse = loss_fn(model(val_ds.tensors[0]), val_ds.tensors[1]).item()
        print(f"epoch {epoch} val_mse: {val_mse:.4f}", flush=True)

    torch.save(model.state_dict(), "regressor.pt")
    print(f"val_mse: {val_mse:.4f}")


if __name__ == "__main__":
    main()
