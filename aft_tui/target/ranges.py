"""Default search ranges suggested from a parameter's name and original value.

The tuner starts from the script's own values; these ranges say how far around them a first
search should look. They are deliberately conservative (an order of magnitude for rates, a
factor of three for epochs) because the person can widen them and a wild range wastes trials.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from aft_tui.target.names import is_seed, words
from aft_tui.target.params import Param

# Counts of rounds, estimators or iterations, searched a factor of three either way.
COUNT_WORDS = frozenset({"round", "rounds", "estimators", "iterations", "iters", "boost"})
# Quantities that are fractions by nature: a probability, a share, an exploration rate, an
# interpolation or mixing coefficient. Their range never leaves [0, 1].
UNIT_WORDS = frozenset(
    {"ratio", "frac", "fraction", "prob", "probability", "tau", "coef", "coeff", "subsample", "colsample", "beta"}
)
# Discounts, trace decays and the decay of a weight average (EMA) sit just below 1, where the
# search must look closely.
DISCOUNT_WORDS = frozenset({"gamma", "discount", "lambda", "lam", "lmbda", "ema"})
# A lambda next to these is a regularisation strength (`lambda_l1`, `reg_lambda`), not a decay.
PENALTY_WORDS = frozenset({"reg", "l1", "l2", "penalty", "weight"})
LR_SCHEDULER_TYPES = ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup"]


def suggest_range(param: Param) -> Param:
    """A copy of `param` with low/high/log (or choices) filled where the name suggests them.

    Values already set (by the person or an existing argparse `choices=`) are kept.
    """
    if is_seed(param.name) or param.extra.get("tunable") is False:
        return param
    if param.choices:
        return param
    suggestion = _around_default(_suggest(param), param)
    if not suggestion:
        return param
    updates: dict[str, Any] = {}
    for key, value in suggestion.items():
        if getattr(param, key) is None:
            updates[key] = _tidy(value) if key in ("low", "high") else value
    return dataclasses.replace(param, **updates) if updates else param


def _suggest(param: Param) -> dict[str, Any]:
    ws = set(words(param.name))
    key = "_".join(words(param.name))
    default = param.default
    if param.type == "bool":
        return {"choices": [False, True]}
    if param.type == "str":
        if "lr_scheduler_type" in key or key.endswith("scheduler_type"):
            return {"choices": list(LR_SCHEDULER_TYPES)}
        return {}
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        return {}
    d = float(default)

    if "dropout" in ws or key == "p":
        return {"low": 0.0, "high": max(0.5, min(0.9, d + 0.2)), "log": False}
    # Before the learning rate: `final_lr_frac` is a fraction of one, `lr_gamma` a decay factor.
    unit = _unit_interval(ws, d, param)
    if unit is not None:
        return unit
    if _is_learning_rate(ws, key):
        if d <= 0:
            # A learning rate of 0 learns nothing: it is a placeholder, not an "off" setting.
            return {"low": 1e-5, "high": 1e-1, "log": True, "placeholder_zero": True}
        return {"low": max(d / 10, 1e-7), "high": min(d * 10, 1.0 if d < 1.0 else d * 10), "log": True}
    if key.endswith("lora_r") or key == "r":
        return {"choices": [4, 8, 16, 32, 64]}
    if "lora" in ws and "alpha" in ws:
        return {"choices": [8, 16, 32, 64, 128]}
    if "decay" in ws or key == "wd":
        if d <= 0:
            return {"low": 0.0, "high": 1e-1, "log": False}
        return {"low": min(1e-6, d / 10), "high": max(1e-1, min(d * 3, 1.0) if d < 1 else d), "log": True}
    if ws & {"epoch", "epochs"} or key in ("t_max", "t_0", "max_steps"):
        n = int(d)
        if n < 1:
            return {}
        return {"low": max(1, n // 3), "high": n * 3, "log": False}
    if "batch" in ws or key == "bs":
        return {"choices": _powers_of_two_around(int(d), below=2, above=2)}
    if "accumulation" in ws or "accum" in ws:
        return {"choices": [1, 2, 4, 8, 16]}
    if "momentum" in ws:
        return {"low": 0.5, "high": 0.99, "log": False}
    if key in ("beta1", "adam_beta1"):
        return {"low": 0.8, "high": 0.95, "log": False}
    if key in ("beta2", "adam_beta2"):
        return {"low": 0.95, "high": 0.9999, "log": False}
    if ws & {"eps", "epsilon"}:
        return {"low": 1e-10, "high": 1e-6, "log": True} if 0 < d < 1e-4 else {}
    if "warmup" in ws and ("ratio" in ws or 0 <= d < 1 and param.type == "float"):
        return {"low": 0.0, "high": 0.2, "log": False}
    if "warmup" in ws:
        n = int(d)
        return {"low": 0, "high": max(n * 3, 500), "log": False}
    if "smoothing" in ws:
        return {"low": 0.0, "high": 0.2, "log": False}
    if "gamma" in ws or "factor" in ws:
        if 0 < d < 1:
            return {"low": 0.1, "high": 0.99, "log": False}
        return {}
    if ("step" in ws and "size" in ws) or "patience" in ws:
        n = int(d)
        return {"low": max(1, n // 3), "high": max(2, n * 3), "log": False} if n >= 1 else {}
    if ("clip" in ws or ("grad" in ws and "norm" in ws) or key == "max_norm") and d > 0:
        return {"low": 0.1, "high": 10.0, "log": True}
    # Widths: powers of two, so attention heads still divide them (a d_model of 83 fails).
    # `key` holds the whole path of a config key (`model_d_model`), hence the endings.
    if ws & {"hidden", "units", "width", "dim", "channels", "filters", "embed", "embedding", "emb", "embd"} \
            or key.endswith(("d_model", "d_ff", "hidden_size")):
        n = int(d)
        return {"choices": _powers_of_two_around(n, below=1, above=1)} if n >= 2 else {}
    if ws & {"layers", "depth"} or key == "max_depth":
        n = int(d)
        return {"low": max(1, n - 2), "high": n + 2, "log": False} if n >= 1 else {}
    if ws & {"heads", "nhead"}:
        n = int(d)
        return {"choices": sorted({max(1, n // 2), n, n * 2})} if n >= 1 else {}
    if ws & (COUNT_WORDS | {"neighbors", "leaves"}):
        n = int(d)
        return {"low": max(1, n // 3), "high": n * 3, "log": n >= 10} if n >= 1 else {}
    if key in ("c", "alpha", "reg", "l2", "l1", "penalty") and d > 0:
        return {"low": d / 100, "high": d * 100, "log": True}
    if "temperature" in ws and d > 0:
        return {"low": d / 4, "high": d * 4, "log": True}
    # Generic fallbacks: a fraction stays a fraction, a positive number moves a factor of ten.
    if param.type == "float":
        if 0 < d < 1:
            return {"low": 0.0, "high": min(1.0, d * 3), "log": False}
        if d > 0:
            return {"low": d / 10, "high": d * 10, "log": True}
        return {}
    if param.type == "int" and d >= 1:
        n = int(d)
        return {"low": max(1, n // 2), "high": n * 2, "log": False}
    return {}


def _is_learning_rate(ws: set[str], key: str) -> bool:
    """`lr`, `learning_rate`, `max_lr`, `eta`: "learning" alone is not a rate (`learning_starts`
    counts steps before learning begins)."""
    return "lr" in ws or {"learning", "rate"} <= ws or key in ("max_lr", "eta", "lrate", "learning_rate_init")


def _unit_interval(ws: set[str], d: float, param: Param) -> dict[str, Any] | None:
    """The range of a quantity that lies in [0, 1] by nature, or None when `param` is not one.

    Near 1 (a discount, a trace decay): close below 1. A small share (an exploration rate's
    end, an entropy coefficient): a log decade each way. Otherwise from 0.05 up to 1.
    """
    if not 0 <= d <= 1 or param.type != "float" or "warmup" in ws:
        return None
    discount = bool(ws & DISCOUNT_WORDS) and not ws & PENALTY_WORDS
    greedy = bool(ws & {"e", "eps", "epsilon"}) and d >= 0.01  # epsilon-greedy, not Adam's 1e-8
    if not (discount or greedy or ws & UNIT_WORDS):
        return None
    if d == 0:
        return {"low": 0.0, "high": 1.0, "log": False}
    if discount and d >= 0.8:
        return {"low": 0.8, "high": max(d, 1 - (1 - d) / 10), "log": False}
    if discount and "gamma" in ws:
        return {"low": 0.1, "high": 0.99, "log": False}  # a scheduler's decay factor
    if d < 0.1:
        return {"low": d / 10, "high": min(1.0, d * 10), "log": True}
    return {"low": 0.05, "high": 1.0, "log": False}


def _around_default(suggestion: dict[str, Any], param: Param) -> dict[str, Any]:
    """The script's own value is where a search starts, so it must lie inside the range; a zero
    default (`warmup_steps = 0`, `FINAL_LR_FRAC = 0.0`) means "off", which only a linear range
    starting at 0 can reach."""
    default = param.default
    if isinstance(default, bool) or not isinstance(default, (int, float)) or param.type not in ("int", "float"):
        return suggestion
    if not suggestion:
        if default != 0:
            return suggestion
        suggestion = {"low": 0, "high": 10, "log": False} if param.type == "int" else {"low": 0.0, "high": 1.0, "log": False}
    out = dict(suggestion)
    if out.pop("placeholder_zero", False):
        return out
    if "choices" in out:
        if default not in out["choices"]:
            out["choices"] = sorted({*out["choices"], default})
        return out
    low, high = out.get("low"), out.get("high")
    if low is None or high is None:
        return out
    if default == 0:
        out["low"], out["log"] = 0, False
        if high <= 0:
            out["high"] = 1 if param.type == "int" else 1.0
    else:
        out["low"], out["high"] = min(low, default), max(high, default)
        if out.get("log") and out["low"] <= 0:
            out["log"] = False
    if param.type == "int":
        out["low"], out["high"] = int(math.floor(out["low"])), int(math.ceil(out["high"]))
    return out


def _tidy(value: Any) -> Any:
    """Six significant digits: 2e-06 rather than 2.0000000000000003e-06 in every report."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value


def _powers_of_two_around(n: int, below: int, above: int) -> list[int]:
    if n < 1:
        return [1, 2, 4, 8]
    centre = round(math.log2(n))
    values = {2**e for e in range(max(0, centre - below), centre + above + 1)}
    values.add(n)
    return sorted(values)
