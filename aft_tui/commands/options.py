"""The options `aft` commands share: the settings a run takes on the command line, and the
script's own arguments after `--`. Standard library only: `aft --help` builds them.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of every command that runs trials (tune, refactor, repair, pipeline, chat)."""
    g = p.add_argument_group("trials")
    g.add_argument("--trials", type=int, help="number of trials (default 8)")
    g.add_argument("--metric", help="objective the script reports, e.g. val_acc (default: AFT picks one and says which)")
    g.add_argument("--direction", choices=("min", "max"), help="whether the metric should go down or up")
    g.add_argument("--metric-window", dest="metric_window", type=int, metavar="N",
                   help="score a trial by the mean of the metric's last N reports instead of the last one "
                        "(for noisy per-episode or per-batch metrics, e.g. RL returns)")
    g.add_argument("--timeout", type=float, help="per-trial time limit in seconds")
    g.add_argument("--budget", type=float, help="wall-time budget for the whole run, in seconds")
    g.add_argument("--target-value", dest="target_value", type=float,
                   help="stop as soon as the objective reaches this value")
    g.add_argument("--patience", type=int, help="stop after this many trials without improvement")
    g.add_argument("--stagnation", type=int,
                   help="stop when the best improved by less than the run-to-run noise over this many trials")
    g.add_argument("--no-advice", dest="advice", action="store_false", default=None,
                   help="model-based strategies: no local moves from the best trial (plain sampler)")
    g.add_argument("--coordinate-trials", dest="coordinate_trials", type=int,
                   help="coordinate strategy: trials per parameter (default 3)")
    g.add_argument("--coordinate-time", dest="coordinate_time", type=float,
                   help="coordinate strategy: time limit per parameter in seconds")
    g.add_argument("--strategy", help="tpe (default), random, gp, cmaes, grid, coordinate, llm, hybrid")
    g.add_argument("--pruner", choices=("median", "hyperband", "none"), help="early stopping of hopeless trials")
    g.add_argument("--seed", type=int, help="seed for the strategy's sampler")
    g.add_argument("--parallel", type=int, help="trials to run at once (GPU slots when GPUs exist)")
    g.add_argument("--gpus-per-trial", type=int, dest="gpus_per_trial",
                   help="GPUs each trial holds (default 1 where GPUs exist, else 0)")
    c = p.add_argument_group("cluster (Ray)")
    c.add_argument("--cluster", metavar="ray|ray://HOST:PORT|HOST:PORT",
                   help="run each trial on a Ray cluster (ray: RAY_ADDRESS, else the cluster this machine is part "
                        "of); the optimizer, session, git and views stay here")
    c.add_argument("--cpus-per-trial", dest="cpus_per_trial", type=float, help="CPUs a cluster trial holds (default 1)")
    c.add_argument("--memory-per-trial", dest="memory_per_trial", metavar="SIZE",
                   help="memory a cluster trial holds, e.g. 8G")
    c.add_argument("--ship", action="append", metavar="FOLDER",
                   help="a project folder sent to the node with every cluster trial (repeatable); data on a "
                        "filesystem every node mounts needs none")
    c.add_argument("--cluster-artifacts", dest="cluster_artifacts", choices=("copy", "leave"),
                   help="copy (default): a cluster trial's model comes back into outputs/; leave: large files stay "
                        "on their node, recorded with the node and path")
    g.add_argument("--params", help="comma-separated parameters to tune (default: all discovered)")
    g.add_argument("--model-path", dest="model_path", help="glob of the model file/folder a trial saves")
    e = p.add_argument_group("environment")
    e.add_argument("--python", help="interpreter to run the script with")
    e.add_argument("--venv", help="virtual environment to run the script in")
    e.add_argument("--conda", help="conda environment name to run the script in")
    e.add_argument("--prefix", help="launcher prefix, e.g. 'torchrun --nproc_per_node 2' or 'accelerate launch'")
    e.add_argument("--buffered-output", dest="buffered_output", action="store_true", default=None,
                   help="let Python block-buffer the script's output: fastest for scripts printing thousands of "
                        "lines a second, but logs and printed metrics then arrive in 8 KB blocks "
                        "(AFT_METRICS stays live)")
    e.add_argument("--outputs", help="outputs folder (default outputs/ in the project)")
    e.add_argument("--project", help="project root (default: the git repository or the script's folder)")
    t = p.add_argument_group("tracking")
    t.add_argument("--mlflow", metavar="URI", help="also record each trial as an MLflow run in this tracking store, "
                                                   "e.g. sqlite:///mlruns.db")
    t.add_argument("--mlflow-experiment", dest="mlflow_experiment", metavar="NAME",
                   help="MLflow experiment for the trials (default: <project>/<script>)")
    l = p.add_argument_group("assistant")
    l.add_argument("--model", help="LLM for the assistant (any litellm model string); default: offline brain")
    l.add_argument("--api-base", dest="api_base", help="base URL of an OpenAI-compatible server (Ollama, vLLM, ...)")
    p.add_argument("--yes", "-y", action="store_true", default=None, help="approve every proposal without asking")
    p.add_argument("--logs", action="store_true", help="stream trial output to the terminal")


_SETTING_KEYS = ("smoke", "smoke_timeout", "trials", "metric", "metric_window", "direction", "timeout", "budget", "target_value", "patience", "stagnation", "advice",
                 "coordinate_trials", "coordinate_time", "strategy", "pruner", "seed",
                 "parallel", "gpus_per_trial", "cluster", "cpus_per_trial", "memory_per_trial", "ship", "cluster_artifacts", "model_path", "python", "venv", "conda", "prefix", "buffered_output", "outputs", "model",
                 "api_base", "yes", "mlflow", "mlflow_experiment")


def flags_of(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line, as the names aft.toml uses; options not given are left out."""
    flags = {k: getattr(args, k) for k in _SETTING_KEYS if getattr(args, k, None) is not None}
    if getattr(args, "script_args", None) is not None:
        flags["args"] = list(args.script_args)
    if getattr(args, "params", None):
        flags["params"] = [p.strip() for p in args.params.split(",") if p.strip()]
    return flags


# Commands that run (or read) the script and so take its own arguments after `--`.
SCRIPT_ARG_COMMANDS = ("tune", "inspect", "refactor", "repair", "pipeline", "chat", "research")


def add_research_options(p: argparse.ArgumentParser) -> None:
    """`aft research`: the budget, the files code experiments may touch, approvals, notifications."""
    g = p.add_argument_group("research")
    g.add_argument("--hours", type=float, help="wall-clock budget of the session in hours (default: until stopped)")
    g.add_argument("--experiment-time", dest="experiment_time", metavar="TIME",
                   help="training time of every experiment, e.g. 5m, 90s, 0.5h (default: none, each runs to its end)")
    g.add_argument("--experiments", type=int, metavar="N", help="stop after N experiments")
    g.add_argument("--editable", action="append", metavar="FILE",
                   help="a file code experiments may change (repeatable; default: the script alone)")
    g.add_argument("--read-only", dest="read_only", action="append", metavar="FILE",
                   help="a file no code experiment may change, e.g. the evaluation code (repeatable)")
    g.add_argument("--approve", choices=("numeric", "all"),
                   help="what runs without asking: numeric experiments only (default; code changes wait for "
                        "approval), or all (same as --yes)")
    g.add_argument("--notify", metavar="CMD",
                   help="a shell command run with a JSON summary on stdin on a new best, a crash streak and the end")
SCRIPT_ARGS_HELP = ("Arguments after `--` are your script's own, passed verbatim to every run, e.g. "
                     "`aft tune train.py -- --data ./data --epochs 3`: their values are the baseline (trial 1 and the "
                     "centre of every searched range), and AFT replaces the ones it tunes instead of passing them "
                     "twice. In aft.toml: args = [\"--data\", \"./data\"]; `--` on the command line wins.")


def split_script_args(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """AFT's own options, and the script's arguments after the first `--` (None when there is no
    `--`), split before argparse sees them so the script's flags never reach AFT's parser."""
    if "--" not in argv:
        return list(argv), None
    at = argv.index("--")
    return list(argv[:at]), list(argv[at + 1:])
