import pytest

from aft_tui.target.params import Param
from aft_tui.target.ranges import suggest_range


def rng(name, default, type_="float", **kw):
    p = suggest_range(Param(name=name, type=type_, default=default, **kw))
    return p


def test_learning_rates_get_a_log_decade_each_way():
    p = rng("learning_rate", 2e-5)
    assert (p.low, p.high, p.log) == (2e-6, 2e-4, True)
    assert rng("optimizer_lr", 0.5).high == 1.0  # clamped: learning rates above 1 are rarely sensible
    assert rng("lr", 0.0).low == 1e-5


def test_epochs_batch_dropout_decay_lora():
    e = rng("epochs", 10, "int")
    assert (e.low, e.high, e.log) == (3, 30, False)
    assert rng("num_train_epochs", 1, "int").low == 1
    assert rng("batch_size", 32, "int").choices == [8, 16, 32, 64, 128]
    assert rng("per_device_train_batch_size", 24, "int").choices == [8, 16, 24, 32, 64, 128]
    d = rng("dropout", 0.1)
    assert (d.low, d.high, d.log) == (0.0, 0.5, False)
    w = rng("weight_decay", 0.01)
    assert (w.low, w.high, w.log) == (1e-6, 1e-1, True)
    assert rng("lora_r", 8, "int").choices == [4, 8, 16, 32, 64]
    assert rng("gradient_accumulation_steps", 1, "int").choices == [1, 2, 4, 8, 16]
    assert rng("use_amp", False, "bool").choices == [False, True]


@pytest.mark.parametrize("name", ["d_model", "model.d_model", "model.n_embd", "n_embd", "hidden_size",
                                  "config.hidden_size", "d_ff", "embed_dim"])
def test_widths_are_powers_of_two_whatever_path_holds_them(name):
    """Attention heads must divide a transformer's width: an integer range proposes 83."""
    assert rng(name, 64, "int").choices == [32, 64, 128]


def test_existing_choices_and_bounds_are_kept_and_seeds_ignored():
    assert rng("optimizer", "sgd", "str", choices=["sgd", "adam"]).choices == ["sgd", "adam"]
    assert rng("lr", 0.1, low=0.05).low == 0.05
    seed = rng("seed", 42, "int")
    assert (seed.low, seed.high, seed.choices) == (None, None, None)


def test_learning_alone_is_not_a_rate():
    starts = rng("learning_starts", 10000, "int")
    assert not starts.log and (starts.low, starts.high) == (5000, 20000)  # a step count, around itself
    assert rng("learning_rate", 0.05).log
    assert rng("min_learning_rate", 1e-4).log
    assert (rng("eta", 0.3).low, rng("eta", 0.3).high) == (0.03, 1.0)


# (name, default): quantities that are fractions by nature; their ranges stay within [0, 1].
UNIT = [
    ("tau", 1.0), ("tau", 0.005), ("start_e", 1.0), ("end_e", 0.05), ("exploration_fraction", 0.5),
    ("gamma", 0.99), ("gae_lambda", 0.95), ("clip_coef", 0.2), ("ent_coef", 0.01), ("vf_coef", 0.5),
    ("feature_fraction", 0.9), ("bagging_fraction", 0.8), ("mask_prob", 0.15), ("subsample", 0.8),
    ("epsilon", 0.1), ("eps", 0.05), ("momentum", 0.999), ("beta", 0.1), ("final_lr_frac", 0.0), ("gamma", 0.1),
]


@pytest.mark.parametrize("name,default", UNIT, ids=[f"{n}={d}" for n, d in UNIT])
def test_fractions_by_nature_stay_in_the_unit_interval(name, default):
    p = rng(name, default)
    assert p.low is not None and p.high is not None, name
    assert 0 <= p.low <= default <= p.high <= 1, (name, p.low, p.high)
    assert p.low < p.high


def test_fraction_shapes():
    f = rng("feature_fraction", 0.9)
    assert (f.low, f.high, f.log) == (0.05, 1.0, False)
    assert (rng("tau", 1.0).low, rng("tau", 1.0).high) == (0.05, 1.0)
    g = rng("gamma", 0.99)
    assert (g.low, g.high) == (0.8, 0.999)  # a discount is searched just below 1
    e = rng("end_e", 0.05)
    assert (e.low, e.high, e.log) == (0.005, 0.5, True)  # a small share moves a decade each way
    assert rng("adam_eps", 1e-8).high <= 1e-6  # Adam's epsilon is no exploration rate
    assert rng("lambda_l1", 2.0).high > 1  # a penalty named lambda is not bounded by 1


def test_rounds_and_iterations_move_a_factor_of_three_and_ints_stay_ints():
    b = rng("num_boost_round", 20, "int")
    assert (b.low, b.high) == (6, 60)
    s = rng("stopping_rounds", 5, "int")
    assert (s.low, s.high) == (1, 15)
    i = rng("max_iters", 300, "int")
    assert (i.low, i.high) == (100, 900)
    m = rng("m", 2, "int")
    assert (m.low, m.high) == (1, 4)
    for p in (b, s, i, m, rng("bagging_freq", 5, "int")):
        assert isinstance(p.low, int) and isinstance(p.high, int) and p.low < p.default < p.high
