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


def test_existing_choices_and_bounds_are_kept_and_seeds_ignored():
    assert rng("optimizer", "sgd", "str", choices=["sgd", "adam"]).choices == ["sgd", "adam"]
    assert rng("lr", 0.1, low=0.05).low == 0.05
    seed = rng("seed", 42, "int")
    assert (seed.low, seed.high, seed.choices) == (None, None, None)
