"""The time-budget edit run for real: scripts that would train for 30 s stop within AFT_TIME_BUDGET
plus one step and still print their metric; without the variable they print exactly what they
printed before. Training steps are `time.sleep`s, so the bounds hold whatever the machine's load:
a step sleeps at least STEP, so steps * STEP can only exceed the budget by the one step that
started before the deadline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from aft_tui.target.time_budget import BUDGET_ENV, has_budget_check, insert_budget_check

STEP = 0.05  # seconds per training step when the budget is under test: 600 steps = 30 s

EPOCHS = '''"""Fits y = 2x one example per step; each step takes STEP seconds."""
import time

STEP = {step}
data = [(x / 10, 2 * x / 10) for x in range(10)]
w = 0.0
steps = 0


def evaluate(w):
    return sum((w * x - y) ** 2 for x, y in data) / len(data)


for epoch in range({epochs}):
    # one pass over the data
    for x, y in data:
        time.sleep(STEP)
        grad = 2 * (w * x - y) * x
        w -= 0.1 * grad
        steps += 1
    print(f"epoch {{epoch}} steps {{steps}} val_loss: {{evaluate(w):.6f}}")
'''

# nanoGPT's shape: `while True`, an evaluation every eval_interval iterations at the top, the stop at the bottom.
ITERATIONS = '''import time

STEP = {step}
max_iters = {iters}
eval_interval = 250
iter_num = 0
w = 5.0


def estimate_loss():
    return (w - 3.0) ** 2


while True:
    if iter_num % eval_interval == 0:
        print(f"iter {{iter_num}}: val_loss {{estimate_loss():.6f}}")
    time.sleep(STEP)
    grad = 2 * (w - 3.0)
    w -= 0.01 * grad
    iter_num += 1
    if iter_num > max_iters:
        break
'''

# minGPT's shape: `for it in range(max_iters)`, a periodic evaluation, and a last line after the loop.
RANGE_ITERATIONS = '''import time

STEP = {step}
max_iters = {iters}
w = 5.0


def estimate_loss():
    return (w - 3.0) ** 2


def main():
    global w
    for it in range(max_iters):
        if it % 200 == 0 or it == max_iters - 1:
            print(f"step {{it}}: val_loss {{estimate_loss():.6f}}")
        time.sleep(STEP)
        grad = 2 * (w - 3.0)
        w -= 0.01 * grad
    print("done")


main()
'''

# Steps counted in a loop over the data, repeated until max_steps; the only evaluation is after it.
STEPS_OVER_DATA = '''import time
from time import time as now

STEP = {step}
max_steps = {iters}
data = [(x / 10, 2 * x / 10) for x in range(10)]
w = 0.0
step = 0
started = now()  # the script's own clock
while step < max_steps:
    for x, y in data:
        time.sleep(STEP)
        grad = 2 * (w * x - y) * x
        w -= 0.1 * grad
        step += 1
print(f"steps {{step}} val_loss: {{sum((w * x - y) ** 2 for x, y in data) / len(data):.6f}}")
'''

TORCH = '''"""An MNIST-example shape: train() and test() functions called from the epoch loop."""
import time

import torch

STEP = {step}


def train(model, batches, optimizer):
    model.train()
    for x, y in batches:
        time.sleep(STEP)
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()


def test(model, x, y):
    model.eval()
    with torch.no_grad():
        print(f"test_loss: {{torch.nn.functional.mse_loss(model(x), y).item():.6f}}")


def main():
    torch.manual_seed(0)
    x = torch.randn(80, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    batches = list(zip(x.split(8), y.split(8)))
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for epoch in range(1, {epochs} + 1):
        train(model, batches, optimizer)
        test(model, x, y)


if __name__ == "__main__":
    main()
'''


def start(tmp_path: Path, source: str, budget: str | None = None, name: str = "train.py") -> subprocess.Popen:
    """Start a script as a subprocess, with AFT_TIME_BUDGET set to `budget` (unset for None)."""
    (tmp_path / name).write_text(source)
    env = {k: v for k, v in os.environ.items() if k != BUDGET_ENV}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    if budget is not None:
        env[BUDGET_ENV] = budget
    return subprocess.Popen([sys.executable, name], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def output(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    return out


def run(tmp_path: Path, source: str, budget: str | None = None, name: str = "train.py") -> str:
    """A script's stdout, run as a subprocess."""
    return output(start(tmp_path, source, budget, name))


def edited(source: str, kind: str = "loop") -> str:
    edit = insert_budget_check(source)
    assert edit is not None
    assert edit.kind == kind
    assert has_budget_check(edit.new_source) and insert_budget_check(edit.new_source) is None
    return edit.new_source


def test_epoch_loop_stops_within_budget_and_still_evaluates(tmp_path):
    source = EPOCHS.format(step=STEP, epochs=60)  # 600 steps: 30 s
    edit = insert_budget_check(source)
    assert edit is not None and edit.where == "the end of the epoch loop at line 14 and the top of the batch loop at line 16"
    out = run(tmp_path, edit.new_source, budget="1")
    last = out.splitlines()[-1]
    assert "val_loss:" in last  # the epoch that was cut short still evaluated and printed
    steps = int(re.search(r"steps (\d+)", last).group(1))
    assert 1 <= steps and steps * STEP <= 1 + STEP + 1e-9
    assert len(out.splitlines()) <= 1 / (10 * STEP) + 1  # no epoch started after the budget


@pytest.mark.parametrize("template", [EPOCHS, ITERATIONS, RANGE_ITERATIONS, STEPS_OVER_DATA],
                         ids=["epochs", "while-true", "range-iterations", "steps-over-data"])
def test_without_the_variable_the_output_is_unchanged(tmp_path, template):
    source = template.format(step=0, epochs=5, iters=600)
    new = edited(source)
    original = run(tmp_path, source, name="original.py")
    assert run(tmp_path, new) == original
    assert run(tmp_path, new, budget="") == original
    assert run(tmp_path, new, budget="300") == original  # a budget that is not reached stops nothing


def test_while_true_iterations_evaluate_once_more_when_the_time_is_up(tmp_path):
    new = edited(ITERATIONS.format(step=STEP, iters=600))
    assert "if (iter_num % eval_interval == 0) or _aft_out_of_time:" not in new
    assert "if iter_num % eval_interval == 0 or _aft_out_of_time:" in new
    out = run(tmp_path, new, budget="1")
    lines = out.splitlines()
    assert lines[0].startswith("iter 0:")
    stopped_at = int(re.match(r"iter (\d+): val_loss", lines[-1]).group(1))
    # The last evaluation is the one at the deadline, not the periodic one of iteration 0.
    assert len(lines) == 2 and 0 < stopped_at and stopped_at * STEP <= 1 + STEP + 1e-9


def test_range_iterations_keep_the_periodic_test_and_the_lines_after_the_loop(tmp_path):
    new = edited(RANGE_ITERATIONS.format(step=STEP, iters=600))
    assert "if (it % 200 == 0 or it == max_iters - 1) or _aft_out_of_time:" in new
    out = run(tmp_path, new, budget="1")
    lines = out.splitlines()
    assert lines[-1] == "done"
    stopped_at = int(re.match(r"step (\d+): val_loss", lines[-2]).group(1))
    assert 0 < stopped_at and stopped_at * STEP <= 1 + STEP + 1e-9


def test_an_iteration_loop_over_the_data_stops_and_the_evaluation_after_it_runs(tmp_path):
    new = edited(STEPS_OVER_DATA.format(step=STEP, iters=600))
    # `time` names the function here (from time import time as now keeps it free, `time` is the module).
    assert new.count("import time\n") == 1
    out = run(tmp_path, new, budget="1")
    steps = int(re.match(r"steps (\d+) val_loss: ", out.splitlines()[-1]).group(1))
    assert 1 <= steps and steps * STEP <= 1 + STEP + 1e-9


def test_a_script_that_calls_its_clock_time_gets_its_own_name_for_the_module(tmp_path):
    source = EPOCHS.format(step=STEP, epochs=60).replace("import time\n", "from time import sleep as pause, time\n")
    source = source.replace("time.sleep(STEP)", "pause(STEP)")
    new = edited(source)
    assert "import time as _aft_time" in new and "_aft_time.monotonic() > _AFT_DEADLINE" in new
    out = run(tmp_path, new, budget="1")
    steps = int(re.search(r"steps (\d+)", out.splitlines()[-1]).group(1))
    assert steps * STEP <= 1 + STEP + 1e-9


@pytest.mark.slow
def test_torch_batch_loop_in_a_function_called_by_the_epoch_loop(tmp_path):
    source = TORCH.format(step=STEP, epochs=60)  # 10 batches an epoch: 30 s
    edit = insert_budget_check(source)
    assert edit is not None
    assert edit.where == "the end of the epoch loop at line 32 and the top of the batch loop at line 11"
    out = run(tmp_path, edit.new_source, budget="1")
    tests = [line for line in out.splitlines() if line.startswith("test_loss: ")]
    assert 1 <= len(tests) <= 1 / (10 * STEP) + 1 and out.splitlines()[-1] == tests[-1]
    quick = TORCH.format(step=0, epochs=3)
    new_run, original_run = start(tmp_path, edited(quick)), start(tmp_path, quick, name="original.py")  # two cores
    assert output(new_run) == output(original_run)


def test_a_budget_spent_before_the_loop_still_gives_one_evaluation(tmp_path):
    out = run(tmp_path, edited(EPOCHS.format(step=STEP, epochs=60)), budget="0")
    assert out.splitlines() == ["epoch 0 steps 0 val_loss: 1.140000"]


HF_TRAINER = '''"""A Trainer that would train for minutes: a one-layer BERT from a config, random tokens."""
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments


class RandomTokens(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, 64, (n, 12), generator=g)
        self.labels = (self.ids[:, 0] > 32).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def main():
    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, num_labels=2)
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    args = TrainingArguments(output_dir="out", learning_rate=5e-3, num_train_epochs=5000,
                             per_device_train_batch_size=16, eval_strategy="steps", eval_steps=10**9,
                             save_strategy="no", logging_strategy="no", report_to=[], use_cpu=True,
                             disable_tqdm=True, seed=0)
    trainer = Trainer(model=model, args=args, train_dataset=RandomTokens(64, 1), eval_dataset=RandomTokens(32, 2))
    trainer.train()
    evaluations = [e for e in trainer.state.log_history if "eval_loss" in e]
    print(f"epoch {trainer.state.epoch} evaluations during training {len(evaluations)}")
    print(f"eval_loss: {trainer.evaluate()['eval_loss']:.4f}")


if __name__ == "__main__":
    main()
'''


@pytest.mark.slow
def test_trainer_gets_a_callback_that_stops_training(tmp_path):
    new = edited(HF_TRAINER, kind="trainer_callback")
    assert "from transformers import TrainerCallback as _AftTrainerCallback\n" in new
    assert "class _AftTimeBudgetCallback(_AftTrainerCallback):" in new
    assert "eval_dataset=RandomTokens(32, 2), callbacks=[_AftTimeBudgetCallback()])" in new
    pytest.importorskip("transformers")
    out = run(tmp_path, new, budget="2")
    epoch = float(re.search(r"^epoch ([\d.]+) evaluations during training 1$", out, re.MULTILINE).group(1))
    assert 0 < epoch < 5000  # stopped early, and evaluated once at the stop (eval_steps is never reached)
    assert out.splitlines()[-1].startswith("eval_loss: ")


@pytest.mark.parametrize(("given", "expected"), [
    ("callbacks=[EarlyStoppingCallback(3)]", "callbacks=[EarlyStoppingCallback(3), _AftTimeBudgetCallback()]"),
    ("callbacks=[]", "callbacks=[_AftTimeBudgetCallback()]"),
    ("callbacks=extra", "callbacks=[*(extra or []), _AftTimeBudgetCallback()]"),
])
def test_trainer_callbacks_are_merged(given, expected):
    source = (
        "from transformers import EarlyStoppingCallback, Trainer\n"
        "from transformers import TrainerCallback as _AftTrainerCallback\n\n"
        f"trainer = Trainer(model=model, args=args, {given})\ntrainer.train()\n"
    )
    new = edited(source, kind="trainer_callback")
    assert expected in new
    assert new.count("TrainerCallback as _AftTrainerCallback") == 1  # an earlier AFT import is reused


NOT_HANDLED = {
    "no training loop": "import sklearn.linear_model\nm = sklearn.linear_model.Ridge().fit(X, y)\nprint(m.score(X, y))\n",
    "keras fit(**kwargs)": "import keras\nmodel.compile(optimizer='adam')\nmodel.fit(x, y, **kw)\n",
    "trl without transformers": "from trl import SFTTrainer\ntrainer = SFTTrainer(model='m', train_dataset=d)\ntrainer.train()\n",
    "a sweep around the epoch loop": (
        "for lr in [0.1, 0.01]:\n    for epoch in range(3):\n        for x in data:\n"
        "            loss.backward()\n            opt.step()\n        print('val_loss', 1)\n"
    ),
    "an iteration loop repeated by an outer loop": (
        "for run in range(3):\n    for it in range(100):\n        loss.backward()\n        opt.step()\n    print('loss', 1)\n"
    ),
    "a loop with an else clause": (
        "for epoch in range(3):\n    for x in data:\n        loss.backward()\n        opt.step()\n"
        "    print('val_loss', 1)\nelse:\n    print('finished')\n"
    ),
    "a one-line batch loop": (
        "for epoch in range(3):\n    for x in data: opt.step()\n    print('val_loss', 1)\n"
    ),
    "the only evaluation behind a condition": (
        "for it in range(1000):\n    loss.backward()\n    opt.step()\n"
        "    if it == 999:\n        print('val_loss', evaluate())\n"
    ),
    "a syntax error": "for epoch in range(3)\n    opt.step()\n",
    "a Trainer built from **kwargs": "from transformers import Trainer\ntrainer = Trainer(**settings)\ntrainer.train()\n",
}


@pytest.mark.parametrize("shape", sorted(NOT_HANDLED))
def test_shapes_not_handled_give_none(shape):
    assert insert_budget_check(NOT_HANDLED[shape]) is None


def test_a_script_that_reads_the_budget_itself_is_left_alone():
    source = 'import os\nbudget = float(os.environ["AFT_TIME_BUDGET"])\nfor it in range(10):\n    opt.step()\n'
    assert has_budget_check(source) and insert_budget_check(source) is None
    assert not has_budget_check(EPOCHS)


def test_the_condition_then_evaluation_shape_is_handled_when_something_reports_after_the_loop():
    source = NOT_HANDLED["the only evaluation behind a condition"] + "print('final', evaluate())\n"
    new = edited(source)
    assert new.endswith("        break\nprint('final', evaluate())\n")


# Evaluates every third epoch only: the cut-short epoch must still evaluate once.
EVERY_THIRD_EPOCH = '''import time

STEP = {step}
data = [(x / 10, 2 * x / 10) for x in range(10)]
w = 0.0
steps = 0
for epoch in range({epochs}):
    for x, y in data:
        time.sleep(STEP)
        grad = 2 * (w * x - y) * x
        w -= 0.1 * grad
        steps += 1
    if epoch % 3 == 0:
        print(f"epoch {{epoch}} steps {{steps}} val_loss: {{sum((w * x - y) ** 2 for x, y in data) / len(data):.6f}}")
'''


def test_an_epoch_loop_that_evaluates_every_few_epochs_evaluates_at_the_stop(tmp_path):
    source = EVERY_THIRD_EPOCH.format(step=STEP, epochs=60)
    new = edited(source)
    assert "if epoch % 3 == 0 or _aft_out_of_time:" in new
    last = run(tmp_path, new, budget="1").splitlines()[-1]
    steps = int(re.search(r"steps (\d+) val_loss", last).group(1))
    assert 1 <= steps and steps * STEP <= 1 + STEP + 1e-9  # the last print is the one at the stop
    quick = EVERY_THIRD_EPOCH.format(step=0, epochs=8)
    assert run(tmp_path, edited(quick)) == run(tmp_path, quick, name="original.py")


def test_an_update_over_the_parameters_is_never_cut_in_half():
    # The loop over parameters is part of one update; the loop to stop is the one around it.
    source = (
        "import torch\nfor it in range(1000):\n    loss = model(x).sum()\n    loss.backward()\n"
        "    with torch.no_grad():\n        for p in model.parameters():\n            p -= 0.1 * p.grad\n"
        "            p.grad = None\nprint('val_loss', 1)\n"
    )
    new = edited(source)
    assert "            p.grad = None\n    if _aft_past_deadline():\n        break\n" in new
    assert new.count("break") == 1


def test_an_optimizer_written_in_the_script_keeps_its_loop_whole():
    source = (
        "class SGD:\n    def step(self, grads):\n        for i, g in enumerate(grads):\n"
        "            self.params[i] -= self.lr * g\n\n\n"
        "for epoch in range(5):\n    grads = [0.0]\n    for x, y in data:\n        grads[0] += 2 * (w * x - y) * x\n"
        "    opt.step(grads)\n    print('val_loss', 1)\n"
    )
    edit = insert_budget_check(source)
    assert edit is not None and edit.where == "the end of the epoch loop at line 7"
    assert edit.new_source.count("break") == 1


def test_an_epoch_loop_whose_update_is_not_recognised_is_stopped_between_epochs():
    source = "for epoch in range(5):\n    for x in data:\n        model.fit_one(x)\n    print('val_loss', evaluate())\n"
    edit = insert_budget_check(source)
    assert edit is not None and edit.where == "the end of the epoch loop at line 1"
    assert "    for x in data:\n        model.fit_one(x)\n" in edit.new_source  # a loop that may evaluate is left whole


def test_a_tab_indented_script_gets_tab_indented_checks():
    source = "import time\nfor epoch in range(3):\n\tfor x in data:\n\t\topt.step()\n\tprint('val_loss', 1)\n"
    new = edited(source)
    compile(new, "train.py", "exec")
    assert "\tfor x in data:\n\t\tif _aft_past_deadline():\n\t\t\tbreak\n" in new
    assert "\n\tif _AFT_DEADLINE is None:\n\t\treturn False\n" in new  # the helper too


DDP_SCRIPT = '''import os
import time

time.sleep(1.5 * int(os.environ.get("RANK", "0")))  # rank 1 reads its clock 1.5 s after rank 0
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

dist.init_process_group("gloo")
model = DistributedDataParallel(torch.nn.Linear(4, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x, y = torch.randn(64, 4), torch.randn(64, 1)
steps = 0
for it in range(100000):
    loss = ((model(x) - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    steps += 1
    time.sleep(0.005)
print(f"rank {dist.get_rank()} steps {steps} val_loss: {loss.item():.4f}", flush=True)
dist.barrier()  # neither rank tears the group down while the other still uses it
dist.destroy_process_group()
'''


def test_under_torchrun_every_rank_stops_at_the_same_step(tmp_path):
    """Each rank has its own clock and deadline; one that stopped alone would leave the other in
    its next gradient all-reduce forever. Rank 0's clock decides for both."""
    pytest.importorskip("torch.distributed")
    import socket

    edit = insert_budget_check(DDP_SCRIPT)
    assert edit is not None
    script = tmp_path / "train.py"
    script.write_text(edit.new_source)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, BUDGET_ENV: "4", "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
                           "--master_addr", "127.0.0.1", "--master_port", str(port), str(script)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    steps = {int(rank): int(n) for rank, n in re.findall(r"rank (\d) steps (\d+) val_loss", done.stdout)}
    assert set(steps) == {0, 1} and steps[0] == steps[1] > 0, done.stdout


LIGHTNING = '''import time

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset


class Model(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        time.sleep({step})
        x, y = batch
        return ((self.layer(x) - y) ** 2).mean()

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", ((self.layer(x) - y) ** 2).mean())

    def on_validation_epoch_end(self):
        print(f"step {{self.global_step}} val_loss: {{float(self.trainer.callback_metrics['val_loss']):.6f}}", flush=True)

    def on_train_end(self):
        print(f"trained {{self.global_step}} steps", flush=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
trainer = L.Trainer(max_epochs={epochs}, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                    enable_model_summary=False, num_sanity_val_steps=0)
trainer.fit(Model(), DataLoader(data, batch_size=8), DataLoader(data, batch_size=32))
'''


def test_a_lightning_trainer_stops_within_budget_and_validates_before_it_stops(tmp_path):
    pytest.importorskip("lightning")
    source = LIGHTNING.format(step=STEP, epochs=100)  # 8 steps an epoch: 40 s untouched
    new = edited(source, kind="trainer_callback")
    assert "callbacks=[_AftTimeBudgetCallback()]" in new
    assert "from lightning.pytorch.callbacks import Callback as _AftLightningCallback" in new
    script = tmp_path / "train.py"
    script.write_text(new)
    env = {**os.environ, BUDGET_ENV: "3", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    steps = [int(n) for n in re.findall(r"step (\d+) val_loss", done.stdout)]
    trained = int(re.findall(r"trained (\d+) steps", done.stdout)[-1])
    # It stopped near the budget (3 s of 0.05 s steps: 60, plus set-up), far before 800 steps,
    # and the weights it stopped with were validated, whether or not an epoch had just ended.
    assert trained < 80 and steps and steps[-1] == trained, done.stdout


KERAS = '''import time

import keras
import numpy as np
from sklearn.linear_model import Ridge


class Slow(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep({step})

    def on_epoch_end(self, epoch, logs=None):
        print(f"epoch {{epoch}} batches {{self.batches}} val_loss: {{logs['val_loss']:.6f}}", flush=True)

    def on_train_batch_begin(self, batch, logs=None):
        self.batches = batch + 1


rng = np.random.default_rng(0)
x, y = rng.normal(size=(256, 4)).astype("float32"), rng.normal(size=(256, 1)).astype("float32")
print("ridge", Ridge().fit(x, y).score(x, y))  # another library's fit(): left alone
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
model.fit(x, y, batch_size=8, epochs={epochs}, validation_data=(x, y), callbacks=[Slow()], verbose=0)
'''


@pytest.mark.slow
def test_keras_fit_gets_a_callback_and_validates_the_epoch_it_stops_in(tmp_path):
    source = KERAS.format(step=STEP, epochs=100)  # 32 batches an epoch: 160 s untouched
    new = edited(source, kind="trainer_callback")
    assert "callbacks=[Slow(), _AftTimeBudgetCallback()]" in new and "Ridge().fit(x, y)" in new
    assert "from keras.callbacks import Callback as _AftKerasCallback" in new
    script = tmp_path / "train.py"
    script.write_text(new)
    env = {**os.environ, BUDGET_ENV: "4", "OMP_NUM_THREADS": "1", "KERAS_BACKEND": "torch"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    epochs = [(int(e), int(b)) for e, b in re.findall(r"epoch (\d+) batches (\d+) val_loss", done.stdout)]
    # 4 s of 0.05 s batches (set-up included): a few epochs of 100, the last one cut short and
    # still validated.
    assert epochs and len(epochs) < 10 and epochs[-1][1] < 32, done.stdout
    # Without the variable, every epoch runs whole.
    script.write_text(edited(KERAS.format(step=0, epochs=2), kind="trainer_callback"))
    env.pop(BUDGET_ENV)
    plain = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=120)
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert re.findall(r"epoch (\d+) batches (\d+)", plain.stdout) == [("0", "32"), ("1", "32")], plain.stdout
