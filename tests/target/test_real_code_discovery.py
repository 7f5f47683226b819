"""Discovery on the shapes real training scripts use: lowercase blocks, main-block locals,
constant expressions, plain config dataclasses, booster dicts, repeated literals, update steps,
searches the author runs, dead flags, and ranges that contain their defaults."""

from __future__ import annotations

import textwrap
from pathlib import Path

from aft_tui.target.discover import Discovery, discover
from aft_tui.target.params import Param
from aft_tui.target.ranges import suggest_range
from aft_tui.tuning.space import dimension_from_param

FIXTURES = Path(__file__).parent / "fixtures"


def found(name: str) -> Discovery:
    return discover(FIXTURES / name)


def write(tmp_path: Path, code: str) -> Discovery:
    path = tmp_path / "train.py"
    path.write_text(textwrap.dedent(code))
    return discover(path)


def test_lowercase_block_is_found_with_types_and_exact_sites():
    d = found("lowercase_block_train.py")
    assert [p.name for p in d.tunable()] == ["learning_rate", "max_iters", "batch_size", "total_batch_size", "min_lr", "weight_decay"]
    total = d.param("total_batch_size")
    assert (total.type, total.default, total.extra["site"]["code"]) == ("int", 16, "2**4")
    min_lr = d.param("min_lr")
    assert (min_lr.type, min_lr.default, min_lr.extra["site"]["code"]) == ("float", 1e-3 / 4, "1e-3 / 4")
    assert d.param("seed").extra["tunable"] is False
    assert d.param("log_interval").extra["tunable"] is False
    # computed from data, rebound or only bookkeeping: not parameters
    assert d.param("n") is None and d.param("step") is None and d.param("data_path") is None
    assert d.param("warmup_iters") is None
    assert any(s[0] == "warmup_iters" and "more than once" in s[2] for s in d.skipped)


def test_zero_defaults_get_linear_ranges_from_zero():
    d = found("lowercase_block_train.py")
    wd = d.param("weight_decay")
    assert (wd.low, wd.log) == (0, False) and wd.high > 0
    dim = dimension_from_param(wd)
    assert dim is not None and dim.low == 0 and not dim.log and dim.contains(0.0)


def test_main_block_locals_and_widths():
    d = found("main_locals_train.py")
    names = [p.name for p in d.tunable()]
    assert names[:2] == ["m", "n_hidden"]  # m is a width because nn.Linear(m, ...) takes it
    assert "n_rows" not in names
    assert d.param("m").type == "int" and d.param("m").default == 3
    dropout = d.param("dropout")
    assert dropout.default == 0.25 and len(dropout.extra["sites"]) == 2
    assert d.param("weight_decay").default == 5e-4
    assert any(s[0] == "weight_decay" and "switches it off" in s[2] for s in d.skipped)
    assert d.param("lr").default == 0.01 and d.param("epochs").default == 60


def test_config_dataclass_defaults_but_not_fields_set_where_built():
    d = found("dataclass_config_train.py")
    assert [p.name for p in d.tunable()] == ["lr", "epochs", "momentum"]
    assert d.param("momentum").extra["site"]["code"] == "0.5"
    assert d.param("seed").extra["tunable"] is False
    assert d.param("batch_size") is None
    assert any(s[0] == "batch_size" for s in d.skipped)


def test_dataclass_parsed_by_a_cli_is_left_to_the_conventions(tmp_path):
    d = write(tmp_path, """
        from dataclasses import dataclass
        import tyro

        @dataclass
        class Args:
            lr: float = 3e-4

        args = tyro.cli(Args)
        Args()
    """)
    assert not any(p.extra.get("origin") == "dataclass_default" for p in d.params)


def test_dead_flag_gives_its_name_to_the_literal_that_decides():
    d = found("dead_flag_train.py")
    lr = d.param("lr")
    assert lr.source == "kwarg" and lr.default == 0.1 and len(lr.extra["sites"]) == 2
    flag = d.param("flag_lr")
    assert flag.flag == "--lr" and flag.extra["tunable"] is False
    reason = next(s[2] for s in d.skipped if s[0] == "--lr")
    assert "--lr is parsed but never used" in reason and "lr=0.1" in reason
    assert d.param("epochs").source == "argparse" and d.param("epochs").extra.get("tunable", True)


def test_a_flag_that_is_used_is_not_dead(tmp_path):
    d = write(tmp_path, """
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float, default=0.1)
        args = parser.parse_args()
        w = 1.0
        for epoch in range(3):
            grad = 2 * w
            w -= args.lr * grad
            w -= 0.5 * grad
    """)
    assert d.param("lr").source == "argparse" and d.param("lr").extra.get("tunable", True)


def test_booster_dict_and_training_kwargs():
    d = found("booster_params_train.py")
    tunable = [p.name for p in d.tunable()]
    assert tunable[:5] == ["num_leaves", "learning_rate", "feature_fraction", "bagging_freq", "num_boost_round"]
    assert "objective" not in tunable and "metric" not in tunable
    assert d.param("seed").extra["tunable"] is False and d.param("verbose").extra["tunable"] is False
    stop = d.param("stopping_rounds")
    assert stop.default == 3 and len(stop.extra["sites"]) == 2  # keyword and positional spellings
    assert d.param("num_leaves").extra["key"] == "num_leaves"
    bagging = d.param("bagging_freq")
    assert bagging.low == 0 and bagging.log is False


def test_search_space_and_searched_estimator_are_skipped():
    d = found("booster_params_train.py")
    assert not any(p.default == 5 and p.name.endswith("num_leaves") for p in d.params)
    reasons = [s[2] for s in d.skipped]
    assert any("second model" in r for r in reasons)
    assert any("the author's own search space for GridSearchCV()" in r for r in reasons)


def test_keras_style_calls(tmp_path):
    d = write(tmp_path, """
        import keras
        from keras import layers

        EMBEDDING_SIZE = 16
        inp = keras.Input((2,))
        h = layers.Embedding(10, EMBEDDING_SIZE, embeddings_regularizer=keras.regularizers.l2(1e-6))(inp)
        h2 = layers.Embedding(10, EMBEDDING_SIZE, embeddings_regularizer=keras.regularizers.l2(1e-6))(inp)
        model = keras.Model(inp, h)
        model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=0.001))
        model.fit(x=None, y=None, batch_size=64, epochs=5, verbose=1)
    """)
    assert [p.name for p in d.tunable()] == ["embedding_size", "l2", "learning_rate", "batch_size", "epochs"]
    assert len(d.param("l2").extra["sites"]) == 2
    assert d.param("verbose") is None


def test_update_step_literals_are_the_learning_rate(tmp_path):
    d = write(tmp_path, """
        import torch
        w = torch.zeros(3, requires_grad=True)
        for epoch in range(10):
            loss = (w - 1).pow(2).sum()
            loss.backward()
            with torch.no_grad():
                w.data.add_(w.grad, alpha=-0.1)
                w.grad.zero_()
    """)
    lr = d.param("lr")
    assert lr.default == 0.1 and lr.extra["site"]["code"] == "0.1" and lr.low < 0.1 < lr.high


def test_ranges_contain_their_defaults_and_ints_stay_ints():
    wd = suggest_range(Param("weight_decay", "float", 0.2))
    assert wd.low <= 0.2 <= wd.high
    dropout = suggest_range(Param("dropout", "float", 0.6))
    assert dropout.low <= 0.6 <= dropout.high
    frac = suggest_range(Param("final_lr_frac", "float", 0.0))
    assert (frac.low, frac.log) == (0.0, False)
    warmup = suggest_range(Param("warmup_steps", "int", 0))
    assert (warmup.low, warmup.log) == (0, False)


def test_aspect_ratio_literal_keeps_its_int_type(tmp_path):
    d = write(tmp_path, """
        ASPECT_RATIO = 64
        WARMUP_RATIO = 0
        LR = 1
        print(ASPECT_RATIO, WARMUP_RATIO, LR)
    """)
    assert (d.param("aspect_ratio").type, d.param("aspect_ratio").default) == ("int", 64)
    assert d.param("warmup_ratio").type == "float"
    assert (d.param("lr").type, d.param("lr").default) == ("float", 1.0)


def test_dead_flag_stays_dead_after_the_refactor(tmp_path):
    """--lr is only printed; the update's literal decides. Once that literal is AFT's own flag,
    rediscovery of the refactored script still reports --lr as not tunable, and the search
    space holds the flag that decides, not both."""
    from aft_tui.target.refactor import plan_refactor
    from aft_tui.tuning.space import build_space

    script = tmp_path / "train.py"
    script.write_text((FIXTURES / "dead_flag_train.py").read_text())
    plan = plan_refactor(script, discover(script), project_root=tmp_path)
    (decides,) = [p.flag for p in plan.lifted if p.flag != "--epochs"]
    assert decides not in (None, "--lr")
    script.write_text(plan.new_source)

    again = discover(script)
    assert again.param("lr").extra["tunable"] is False
    assert any(s[0] == "--lr" and f"{decides} decides" in s[2] for s in again.skipped)
    flags = [d.flag for d in build_space(again.params).dims]
    assert decides in flags and "--lr" not in flags


def test_dead_flag_beside_a_live_prefixed_flag_in_the_original(tmp_path):
    d = write(tmp_path, """\
        import argparse

        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float, default=0.1)
        parser.add_argument("--head_lr", type=float, default=0.1)
        args = parser.parse_args()
        print(args.lr)
        w = 0.0
        for epoch in range(3):
            w -= args.head_lr * (w - 1.0)
            print(f"epoch {epoch} loss {(w - 1.0) ** 2:.4f}")
    """)
    assert d.param("lr").extra["tunable"] is False
    assert d.param("head_lr").extra.get("tunable", True) is True
    # Read for more than logging, a flag is never dead, whatever else exists.
    live = write(tmp_path, """\
        import argparse

        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float, default=0.1)
        parser.add_argument("--head_lr", type=float, default=0.1)
        args = parser.parse_args()
        w = 0.0
        for epoch in range(3):
            w -= args.lr * args.head_lr * (w - 1.0)
            print(f"epoch {epoch} loss {(w - 1.0) ** 2:.4f}")
    """)
    assert live.param("lr").extra.get("tunable", True) is True


def test_evaluation_loader_batch_size_is_not_a_knob(tmp_path):
    d = write(tmp_path, """\
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 2), torch.randn(64, 1))


        def eval_split(model, split):
            loader = DataLoader(data, batch_size=100, num_workers=0, drop_last=False)
            return sum(float(((model(x) - y) ** 2).mean()) for x, y in loader)


        class Runner:
            def validate(self, model):
                return [b for b in DataLoader(data, batch_size=256)]


        model = torch.nn.Linear(2, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        train_loader = DataLoader(data, batch_size=16, shuffle=True)
        holdout = DataLoader(data, batch_size=512, shuffle=False)
        for epoch in range(3):
            for x, y in train_loader:
                optimizer.zero_grad()
                loss = ((model(x) - y) ** 2).mean()
                loss.backward()
                optimizer.step()
            print(f"epoch {epoch} val_loss {eval_split(model, 'test'):.4f}")
    """)
    batch = [p for p in d.params if p.name.endswith("batch_size")]
    assert [(p.default, p.extra.get("tunable", True)) for p in batch] == [(16, True)]
    reasons = {s[1].split(":")[1]: s[2] for s in d.skipped if s[0] == "batch_size"}
    assert set(reasons) == {"8", "14", "20"}
    assert all(r.startswith("evaluation batch size: does not change training") for r in reasons.values())
    assert "eval_split" in reasons["8"] and "validate" in reasons["14"] and "shuffle=False" in reasons["20"]
