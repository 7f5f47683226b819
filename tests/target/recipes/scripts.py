"""Training scripts the recipe tests edit: a plain PyTorch loop, a Trainer script, and a
script that already has what the recipes would add."""

PLAIN = '''\
"""A small classifier: an MLP on synthetic data, trained with Adam."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

LR = 1e-2
EPOCHS = 2
BATCH_SIZE = 32

torch.manual_seed(0)
X = torch.randn(640, 16)
Y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
train_loader = DataLoader(TensorDataset(X[:512], Y[:512]), batch_size=BATCH_SIZE, shuffle=True)
val_loader = DataLoader(TensorDataset(X[512:], Y[512:]), batch_size=BATCH_SIZE)

model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=LR)
criterion = nn.CrossEntropyLoss()


def evaluate(net, loader):
    net.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            logits = net(xb)
            total_loss += criterion(logits, yb).item() * len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
            seen += len(yb)
    return total_loss / seen, correct / seen


for epoch in range(EPOCHS):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        logits = model(xb)
        loss = criterion(logits, yb)
        loss.backward()
        optimizer.step()
    val_loss, val_acc = evaluate(model, val_loader)
    print(f"epoch {epoch} val_loss {val_loss:.4f} val_acc {val_acc:.4f}")
'''

TRAINER = '''\
from datasets import load_dataset
from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased", num_labels=2)
tokenizer = AutoTokenizer.from_pretrained("distilbert-base-uncased")
data = load_dataset("imdb")

args = TrainingArguments(
    output_dir="out",
    learning_rate=2e-5,
    num_train_epochs=1,
    per_device_train_batch_size=16,
)
trainer = Trainer(model=model, args=args, train_dataset=data["train"], eval_dataset=data["test"])
trainer.train()
print(trainer.evaluate())
'''

# Already has what the recipes add: AdamW, a scheduler, clipping, smoothing, an average, autocast,
# compile and a big evaluation batch.
MODERN = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, TensorDataset

EPOCHS = 2
X = torch.randn(640, 16)
Y = (X[:, 0] > 0).long()
train_loader = DataLoader(TensorDataset(X[:256], Y[:256]), batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(X[256:], Y[256:]), batch_size=256)
model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 2))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=EPOCHS * len(train_loader))
ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.99))
if torch.cuda.is_available():
    model.compile()

for epoch in range(EPOCHS):
    for xb, yb in train_loader:
        optimizer.zero_grad()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=torch.cuda.is_available()):
            loss = F.cross_entropy(model(xb), yb, label_smoothing=0.1)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        ema.update_parameters(model)
    with torch.no_grad():
        acc = sum((ema(xb).argmax(1) == yb).sum().item() for xb, yb in val_loader) / 64
    print(f"epoch {epoch} val_acc {acc:.4f}")
'''

# A Keras script as keras.io writes them: the backend chosen before Keras is imported, a text cell
# between the imports, then compile() with an Adam and a cross-entropy, and fit().
KERAS = '''\
"""A tiny classifier."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

"""
## Setup
"""
import time

import keras
import numpy as np

EPOCHS = 3
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8)).astype("float32")
y = keras.utils.to_categorical((x[:, 0] + x[:, 1] > 0).astype("int64"), 2)


class Report(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        print(f"epoch {epoch} lr {rate:.6g} val_accuracy: {logs['val_accuracy']:.4f}", flush=True)


model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2, activation="softmax")])
model.compile(
    loss=keras.losses.CategoricalCrossentropy(),
    optimizer=keras.optimizers.Adam(learning_rate=0.01),
    metrics=["accuracy"],
)
model.fit(x, y, batch_size=32, epochs=EPOCHS, validation_split=0.25, callbacks=[Report()], verbose=0)
'''
