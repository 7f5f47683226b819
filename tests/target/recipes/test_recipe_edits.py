"""What each recipe changes, line by line, on the shapes of script it must handle, and the
shapes where it must decline rather than guess."""

from __future__ import annotations

import ast
import difflib
import math
import textwrap

from aft_tui.target.recipes.averaging import Ema
from aft_tui.target.recipes.clipping import GradClip
from aft_tui.target.recipes.eval_batch import EvalBatch
from aft_tui.target.recipes.gpu import Amp, Compile
from aft_tui.target.recipes.optimizer import AdamW
from aft_tui.target.recipes.schedule import CosineWarmup
from aft_tui.target.recipes.smoothing import LabelSmoothing
from tests.target.recipes.scripts import PLAIN

HEAD = "import torch\nimport torch.nn as nn\nfrom torch.utils.data import DataLoader, TensorDataset\n"
# A training loop to build variants from: {step} is the update, {extra} lines after the loop.
LOOP = HEAD + textwrap.dedent("""\
    X = torch.randn(64, 4)
    Y = (X[:, 0] > 0).long()
    loader = DataLoader(TensorDataset(X, Y), batch_size=8)
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(3):
        for i, (xb, yb) in enumerate(loader):
            loss = criterion(model(xb), yb)
            loss.backward()
    {step}
    {extra}
""")


def loop(step: str = "        opt.step()\n        opt.zero_grad()", extra: str = "") -> str:
    return LOOP.replace("{step}\n", step.strip("\n") + "\n").replace("{extra}\n", textwrap.dedent(extra).strip("\n") + "\n")


def changes(old: str, new: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) of the edit, blank lines left out."""
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0))
    removed = [l[1:] for l in diff if l.startswith("-") and not l.startswith("---") and l[1:].strip()]
    added = [l[1:] for l in diff if l.startswith("+") and not l.startswith("+++") and l[1:].strip()]
    return removed, added


def after(source: str, line: str) -> str:
    """The line that follows `line` in `source`."""
    lines = source.splitlines()
    return lines[lines.index(line) + 1]


# -- adamw -------------------------------------------------------------------------------------


def test_adamw_keeps_the_arguments_and_adds_a_weight_decay_knob() -> None:
    edit = AdamW().apply(PLAIN)
    assert edit is not None
    assert changes(PLAIN, edit.new_source) == (
        ["optimizer = torch.optim.Adam(model.parameters(), lr=LR)"],
        ["WEIGHT_DECAY = 0.01", "optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)"],
    )


def test_adamw_from_an_imported_name_keeps_the_scripts_decay_as_default() -> None:
    source = "from torch.optim import Adam\nimport torch.nn as nn\n\nnet = nn.Linear(2, 2)\nopt = Adam(net.parameters(), 1e-3, weight_decay=5e-4)\n"
    edit = AdamW().apply(source)
    assert edit is not None and edit.knobs == {"WEIGHT_DECAY": 5e-4}
    assert changes(source, edit.new_source) == (
        ["from torch.optim import Adam", "opt = Adam(net.parameters(), 1e-3, weight_decay=5e-4)"],
        ["from torch.optim import Adam, AdamW", "WEIGHT_DECAY = 5e-4", "opt = AdamW(net.parameters(), 1e-3, weight_decay=WEIGHT_DECAY)"],
    )


def test_adamw_leaves_a_decay_set_by_a_flag_where_it_is() -> None:
    source = "from torch import optim\n\nopt = optim.Adam(params, lr=args.lr, weight_decay=args.wd)\n"
    edit = AdamW().apply(source)
    assert edit is not None and edit.knobs == {}
    assert changes(source, edit.new_source)[1] == ["opt = optim.AdamW(params, lr=args.lr, weight_decay=args.wd)"]
    assert edit.run_with == {"weight_decay": 0.01}  # should the flag say 0, research runs it with 0.01
    assert AdamW().apply("import torch\n\nopt = torch.optim.SGD(params, lr=0.1)\n") is None


def test_adamw_adds_no_decay_beside_parameter_groups_that_each_set_their_own() -> None:
    """A top-level weight_decay is overridden by every group that names one: a knob there tunes nothing."""
    source = textwrap.dedent("""\
        import torch
        opt = torch.optim.Adam([
            dict(params=model.conv1.parameters(), weight_decay=args.weight_decay),
            {"params": model.conv2.parameters(), "weight_decay": 0},
        ], lr=args.lr)
    """)
    edit = AdamW().apply(source)
    assert edit is not None and edit.knobs == {}
    assert changes(source, edit.new_source) == (["opt = torch.optim.Adam(["], ["opt = torch.optim.AdamW(["])
    # A group without its own decay takes the optimizer's: there the knob is live.
    partly = source.replace(', "weight_decay": 0}', "}")
    edit = AdamW().apply(partly)
    assert edit is not None and edit.knobs == {"WEIGHT_DECAY": 0.01}
    assert "], lr=args.lr, weight_decay=WEIGHT_DECAY)" in edit.new_source


# -- cosine_warmup -----------------------------------------------------------------------------


def test_cosine_schedule_is_built_before_the_epoch_loop_and_steps_after_each_update() -> None:
    edit = CosineWarmup().apply(PLAIN)
    assert edit is not None
    new = edit.new_source
    built = "scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(EPOCHS * len(train_loader)))"
    assert after(new, built) == "for epoch in range(EPOCHS):"
    assert after(new, "        optimizer.step()") == "        scheduler.step()"
    assert "import math" in new.splitlines()


def test_cosine_factor_warms_up_then_decays_to_the_floor() -> None:
    edit = CosineWarmup().apply(PLAIN)
    assert edit is not None
    tree = ast.parse(edit.new_source)
    helper = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "warmup_cosine")
    space = {"math": math, "WARMUP_FRACTION": 0.1, "MIN_LR_RATIO": 0.2}
    exec(compile(ast.Module([helper], []), "helper", "exec"), space)
    factor = space["warmup_cosine"](100)
    assert [round(factor(s), 3) for s in (0, 4, 9)] == [0.1, 0.5, 1.0]
    assert factor(10) == 1.0 and 0.55 < factor(55) < 0.65
    assert factor(100) == 0.2 and all(factor(s) >= factor(s + 1) for s in range(10, 120))


def test_cosine_makes_a_literal_epoch_count_one_constant_for_loop_and_schedule() -> None:
    source = loop()
    edit = CosineWarmup().apply(source)
    assert edit is not None and edit.knobs == {"WARMUP_FRACTION": 0.05, "MIN_LR_RATIO": 0.0, "EPOCHS": 3}
    removed, added = changes(source, edit.new_source)
    assert removed == ["for epoch in range(3):"]
    assert "for epoch in range(EPOCHS):" in added
    assert "scheduler = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(EPOCHS * len(loader)))" in added


def test_cosine_counts_a_step_loop_and_a_while_loop() -> None:
    steps = HEAD + textwrap.dedent("""\
        model = nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for it in range(500):
            loss = model(torch.randn(8, 4)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    """)
    edit = CosineWarmup().apply(steps)
    assert edit is not None and edit.knobs["MAX_STEPS"] == 500
    assert after(edit.new_source, "scheduler = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(MAX_STEPS))") == "for it in range(MAX_STEPS):"
    until = HEAD + textwrap.dedent("""\
        def train(model, optimizer, max_steps):
            step = 0
            while step < max_steps:
                loss = model(torch.randn(8, 4)).pow(2).mean()
                loss.backward()
                optimizer.step()
                step += 1
    """)
    edit = CosineWarmup().apply(until)
    assert edit is not None
    line = "    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(max_steps))"
    assert after(edit.new_source, line) == "    while step < max_steps:"


def test_cosine_on_full_batch_epochs_counts_the_epochs() -> None:
    source = HEAD + textwrap.dedent("""\
        EPOCHS = 50
        model = nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(EPOCHS):
            loss = model(torch.randn(8, 4)).pow(2).mean()
            loss.backward()
            opt.step()
    """)
    edit = CosineWarmup().apply(source)
    assert edit is not None and "EPOCHS" not in edit.knobs
    assert "scheduler = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(EPOCHS))" in edit.new_source


def test_cosine_declines_where_the_number_of_updates_is_not_the_loop_count() -> None:
    accumulation = loop("        if (i + 1) % 4 == 0:\n            opt.step()\n            opt.zero_grad()")
    generator = loop().replace("enumerate(loader)", "enumerate(batches(X, Y))")
    rebuilt = loop().replace("    for i, (xb, yb)", "    loader = DataLoader(TensorDataset(X, Y), batch_size=8)\n    for i, (xb, yb)")
    scheduled = loop(extra="""
        sched = torch.optim.lr_scheduler.StepLR(opt, 1)
    """)
    by_hand = loop(step="""
        for group in opt.param_groups:
            group["lr"] = 0.01
        opt.step()
    """)
    for source in (accumulation, generator, rebuilt, scheduled, by_hand):
        assert source != loop()
        compile(source, "train.py", "exec")
        assert CosineWarmup().apply(source) is None, source
    assert CosineWarmup().apply(loop()) is not None


# -- grad_clip ---------------------------------------------------------------------------------


def test_grad_clip_goes_between_backward_and_step() -> None:
    edit = GradClip().apply(PLAIN)
    assert edit is not None
    clip = "        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)"
    assert after(edit.new_source, "        loss.backward()") == clip
    assert after(edit.new_source, clip) == "        optimizer.step()"


def test_grad_clip_without_a_model_clips_the_optimizers_params_and_unscales_first() -> None:
    source = loop().replace("torch.optim.SGD(model.parameters(), lr=0.1)", "torch.optim.SGD([{'params': model.parameters()}], lr=0.1)")
    edit = GradClip().apply(source)
    assert edit is not None
    assert '        torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], MAX_GRAD_NORM)' in edit.new_source
    scaled = loop(step="        scaler.step(opt)\n        scaler.update()").replace("loss.backward()", "scaler.scale(loss).backward()")
    edit = GradClip().apply(scaled)
    assert edit is not None
    assert changes(scaled, edit.new_source)[1][-2:] == [
        "        scaler.unscale_(opt)",
        "        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)",
    ]


def test_grad_clip_follows_the_scripts_indentation() -> None:
    source = "import torch\nfor x in data:\n  loss = f(x)\n  loss.backward()\n  opt.step()\n"
    edit = GradClip().apply(source)
    assert edit is not None
    assert '  torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], MAX_GRAD_NORM)\n  opt.step()' in edit.new_source


# -- label_smoothing ---------------------------------------------------------------------------


def test_label_smoothing_gives_training_its_own_loss_when_evaluation_shares_it() -> None:
    edit = LabelSmoothing().apply(PLAIN)
    assert edit is not None
    assert changes(PLAIN, edit.new_source) == (
        ["        loss = criterion(logits, yb)"],
        [
            "LABEL_SMOOTHING = 0.1",
            "train_criterion = nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)",
            "        loss = train_criterion(logits, yb)",
        ],
    )
    assert "total_loss += criterion(logits, yb).item() * len(yb)" in edit.new_source


def test_label_smoothing_on_a_training_only_loss_and_only_the_training_call() -> None:
    source = loop()
    edit = LabelSmoothing().apply(source)
    assert edit is not None
    assert changes(source, edit.new_source)[1] == ["LABEL_SMOOTHING = 0.1", "criterion = nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)"]
    functional = loop(extra="""
        def evaluate(net):
            with torch.no_grad():
                return F.cross_entropy(net(X), Y).item()
    """).replace("criterion(model(xb), yb)", "F.cross_entropy(model(xb), yb)").replace("import torch\n", "import torch\nimport torch.nn.functional as F\n", 1)
    edit = LabelSmoothing().apply(functional)
    assert edit is not None
    assert changes(functional, edit.new_source) == (
        ["        loss = F.cross_entropy(model(xb), yb)"],
        ["LABEL_SMOOTHING = 0.1", "        loss = F.cross_entropy(model(xb), yb, label_smoothing=LABEL_SMOOTHING)"],
    )


def test_label_smoothing_declines_when_it_cannot_tell_training_from_evaluation() -> None:
    handed_on = loop(extra="""
        report(criterion)
    """)
    assert LabelSmoothing().apply(handed_on) is None
    no_loop = "import torch.nn as nn\ncriterion = nn.CrossEntropyLoss()\nprint(criterion(a, b))\n"
    assert LabelSmoothing().apply(no_loop) is None


# -- ema ---------------------------------------------------------------------------------------

EVALUATED = loop(extra="""
    def evaluate(net):
        net.eval()
        with torch.no_grad():
            return (net(X).argmax(1) == Y).float().mean().item()
    print(evaluate(model))
    torch.save(model.state_dict(), "model.pt")
""")


def test_ema_is_updated_after_each_step_and_is_what_gets_evaluated_and_saved() -> None:
    edit = Ema().apply(EVALUATED)
    assert edit is not None and edit.knobs == {"EMA_DECAY": 0.99}
    removed, added = changes(EVALUATED, edit.new_source)
    assert removed == ["print(evaluate(model))", 'torch.save(model.state_dict(), "model.pt")']
    assert added == [
        "EMA_DECAY = 0.99",
        "ema_model = torch.optim.swa_utils.AveragedModel(",
        "    model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(EMA_DECAY), use_buffers=True",
        ")",
        "        ema_model.update_parameters(model)",
        "print(evaluate(ema_model))",
        'torch.save(ema_model.module.state_dict(), "model.pt")',
    ]
    assert after(edit.new_source, "        opt.step()") == "        ema_model.update_parameters(model)"


def test_ema_serves_an_evaluation_inside_the_training_loop_too() -> None:
    source = EVALUATED.replace("        opt.zero_grad()\n", "        opt.zero_grad()\n        if i % 4 == 0:\n            print(evaluate(model))\n")
    source = source.replace("print(evaluate(model))\ntorch.save", "torch.save")
    edit = Ema().apply(source)
    assert source != EVALUATED and edit is not None
    assert "            print(evaluate(ema_model))" in edit.new_source
    compile(edit.new_source, "train.py", "exec")


def test_ema_declines_when_the_average_might_be_evaluated_wrongly() -> None:
    no_eval_mode = EVALUATED.replace("    net.eval()\n", "")
    inline = loop(extra="""
        with torch.no_grad():
            print((model(X).argmax(1) == Y).float().mean().item())
    """)
    checkpoint = EVALUATED.replace('torch.save(model.state_dict(), "model.pt")', 'torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, "ckpt.pt")')
    moved = EVALUATED.replace("criterion = nn.CrossEntropyLoss()\n", "criterion = nn.CrossEntropyLoss()\nmodel.to('cpu')\n")
    nothing_evaluated = loop()
    for source in (no_eval_mode, inline, checkpoint, moved, nothing_evaluated):
        assert source != EVALUATED
        compile(source, "train.py", "exec")
        assert Ema().apply(source) is None, source
    assert Ema().apply(EVALUATED) is not None


# -- amp, compile ------------------------------------------------------------------------------


def test_amp_puts_the_forward_pass_and_loss_under_bf16_autocast() -> None:
    edit = Amp().apply(PLAIN)
    assert edit is not None and edit.needs_gpu and edit.knobs == {}
    removed, added = changes(PLAIN, edit.new_source)
    assert removed == ["        logits = model(xb)", "        loss = criterion(logits, yb)"]
    assert added == [
        "AUTOCAST_BF16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()",
        '        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=AUTOCAST_BF16):',
        "            logits = model(xb)",
        "            loss = criterion(logits, yb)",
    ]


def test_amp_declines_with_a_scaler_or_a_loss_computed_in_the_backward_line() -> None:
    scaled = loop(step="        scaler.step(opt)").replace("loss.backward()", "scaler.scale(loss).backward()").replace(
        "import torch\n", "import torch\nscaler = torch.cuda.amp.GradScaler()\n", 1)
    inline = loop().replace("        loss = criterion(model(xb), yb)\n        loss.backward()", "        criterion(model(xb), yb).backward()")
    assert inline != loop()
    assert Amp().apply(scaled) is None and Amp().apply(inline) is None
    assert Amp().apply(loop()) is not None


def test_compile_is_in_place_and_guarded_and_not_with_an_average() -> None:
    edit = Compile().apply(PLAIN)
    assert edit is not None and edit.needs_gpu
    assert changes(PLAIN, edit.new_source) == ([], ["if torch.cuda.is_available():", "    model.compile()"])
    averaged = Ema().apply(PLAIN)
    assert averaged is not None and Compile().apply(averaged.new_source) is None


# -- eval_batch --------------------------------------------------------------------------------


def test_eval_batch_enlarges_only_the_gradient_free_evaluation_loader() -> None:
    edit = EvalBatch().apply(PLAIN)
    assert edit is not None and edit.knobs == {}
    assert changes(PLAIN, edit.new_source) == (
        ["val_loader = DataLoader(TensorDataset(X[512:], Y[512:]), batch_size=BATCH_SIZE)"],
        ["EVAL_BATCH_SIZE = 128", "val_loader = DataLoader(TensorDataset(X[512:], Y[512:]), batch_size=EVAL_BATCH_SIZE)"],
    )
    with_grad = PLAIN.replace("    with torch.no_grad():\n        for xb, yb in loader:", "    if True:\n        for xb, yb in loader:")
    assert with_grad != PLAIN and EvalBatch().apply(with_grad) is None
