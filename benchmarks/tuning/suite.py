"""What the tuning benchmark tunes (problems) and with what (configurations).

Problems are real training scripts that follow AFT's trial protocol (flags in, AFT_METRICS
lines out) and run as subprocesses through the engine, exactly as a user's script would. Their
search spaces are what AFT discovers from the script, plus the `[search]` overrides a user
would write where discovery has no range (the RFF kernel width).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROBLEMS_DIR = Path(__file__).resolve().parent / "problems"


@dataclass(frozen=True)
class Problem:
    name: str
    script: str  # file in problems/
    description: str
    metric: str = "val_acc"
    direction: str = "max"
    search: dict[str, dict[str, Any]] = field(default_factory=dict)
    noisy: bool = False  # the objective carries measurement noise (best known is then computed, not observed)

    @property
    def path(self) -> Path:
        return PROBLEMS_DIR / self.script


@dataclass(frozen=True)
class Config:
    label: str
    strategy: str
    pruner: str
    advice: bool = True  # model-based samplers also share trials with local moves (advice.py)
    note: str = ""
    trials_factor: int = 1  # a multiple of the common trial budget (only to measure what a strategy needs)


PROBLEMS = {
    "curves-crossing": Problem(
        "curves-crossing", "curves.py",
        "synthetic learning curves: learning rate sets speed and ceiling (curves cross), overfitting, noise ±0.004",
        search={"variant": {"fixed": "crossing"}}, noisy=True),
    "curves-diverging": Problem(
        "curves-diverging", "curves.py",
        "synthetic learning curves with a divergence region (NaN) covering 15% of the space, noise ±0.002",
        search={"variant": {"fixed": "diverging"}}, noisy=True),
    "mlp-spirals": Problem(
        "mlp-spirals", "mlp_numpy.py",
        "NumPy MLP, minibatch SGD with momentum on three noisy spiral arms (1,500 train / 1,000 validation points)"),
    "rff-checkerboard": Problem(
        "rff-checkerboard", "rff_classifier.py",
        "kernel logistic regression with random Fourier features on a noisy checkerboard",
        search={"gamma": {"low": 0.1, "high": 100.0, "log": True},
                "features": {"low": 16, "high": 512, "log": True},
                "lr": {"low": 0.01, "high": 10.0, "log": True}}),
}

CONFIGS = {
    "tpe": Config("tpe", "tpe", "median", note="AFT's default: TPE sharing the trials with local moves from the "
                                                  "best trial (analysis-directed, then coordinate steps), median pruning"),
    "tpe-no-pruning": Config("tpe-no-pruning", "tpe", "none"),
    "tpe-hyperband": Config("tpe-hyperband", "tpe", "hyperband"),
    "tpe-plain": Config("tpe-plain", "tpe", "median", advice=False, note="Optuna's TPE alone (no local moves)"),
    "random": Config("random", "random", "none", note="seeded random search, no pruning (the usual alternative)"),
    "random-long": Config("random-long", "random", "none", trials_factor=3,
                          note="the same random search with three times the trials, to measure the compute it "
                               "needs to reach 1% (the first target); not an equal-budget row"),
    "gp": Config("gp", "gp", "median"),
    "cmaes": Config("cmaes", "cmaes", "median"),
    "grid": Config("grid", "grid", "median"),
    "coordinate": Config("coordinate", "coordinate", "median", note="the original AutoFineTuner's method"),
    "llm": Config("llm", "llm", "median", note="scripted stand-in model (measures the hook, not a model)"),
    "hybrid": Config("hybrid", "hybrid", "median", note="scripted stand-in model (measures the hook, not a model)"),
}

DEFAULT_PROBLEMS = ["curves-crossing", "curves-diverging", "mlp-spirals", "rff-checkerboard"]
DEFAULT_CONFIGS = ["tpe", "tpe-no-pruning", "tpe-hyperband", "tpe-plain", "random", "random-long", "gp", "cmaes",
                   "grid", "coordinate", "llm", "hybrid"]
LLM_CONFIGS = ["llm", "hybrid"]
QUICK_PROBLEMS = ["curves-crossing"]
QUICK_CONFIGS = ["tpe", "random", "coordinate"]


def curves_optimum(variant: str) -> float:
    """The noise-free best final accuracy of a curves variant over its discovered search space.

    A coarse grid, then a local refinement around the best cell; the curves are smooth, so this
    is the true optimum to well under the benchmark's 1% resolution.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location("aft_bench_curves", PROBLEMS_DIR / "curves.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)

    class _NoNoise:
        def gauss(self, mu: float, sigma: float) -> float:
            return 0.0

    def final(lr: float, epochs: int, batch: int, wd: float) -> float:
        args = argparse.Namespace(lr=lr, epochs=epochs, batch_size=batch, weight_decay=wd, variant=variant, seed=0)
        value = module.accuracy(args, epochs, _NoNoise())
        return value if math.isfinite(value) else -1.0

    lrs = [0.002 * 10 ** (i / 40) for i in range(81)]
    wds = [1e-6 * 10 ** (i / 8) for i in range(41)]
    best = -1.0
    for batch in (16, 32, 64, 128):
        for epochs in range(3, 31):
            for lr in lrs:
                for wd in wds:
                    best = max(best, final(lr, epochs, batch, wd))
    return best
