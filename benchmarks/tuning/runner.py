"""Run tuning sessions through the real engine: one fresh git project per (problem, config, seed).

Each session is what `aft tune <script> --strategy S --pruner P --seed K --trials N --yes` does:
the engine discovers the script's parameters, runs the defaults first, commits every choice on
a session branch, launches each trial as a subprocess, reads its metrics live, prunes, and
records `outputs/results.json`. The benchmark only reads that file afterwards.

Sessions run in a pool of worker processes (each imports AFT once). A session's own trials run
one at a time, as in a default `aft tune`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.tuning.suite import CONFIGS, PROBLEMS


@dataclass(frozen=True)
class Job:
    problem: str
    config: str
    seed: int
    trials: int
    workdir: str
    llm_url: str | None = None


def scratch_root() -> Path:
    """Where session projects live while they run: a RAM disk when the machine has one."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    return Path(tempfile.gettempdir())


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _make_project(job: Job) -> Path:
    problem = PROBLEMS[job.problem]
    project = Path(tempfile.mkdtemp(prefix=f"{job.problem}-{job.config}-{job.seed}-", dir=job.workdir))
    shutil.copy2(problem.path, project / problem.script)
    (project / ".gitignore").write_text("outputs/\n.aft/\n")
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "the training script")
    return project


def _settings(job: Job) -> Any:
    from aft_tui.settings import Settings

    problem, config = PROBLEMS[job.problem], CONFIGS[job.config]
    settings = Settings()
    settings.update({"metric": problem.metric, "direction": problem.direction, "trials": job.trials,
                     "strategy": config.strategy, "pruner": config.pruner, "seed": job.seed, "yes": True,
                     "search": {k: dict(v) for k, v in problem.search.items()}}, "the benchmark")
    if not config.advice:
        settings.advice = False  # read by make_strategy: the sampler alone, no local moves
    if config.strategy in ("llm", "hybrid") and job.llm_url:
        settings.update({"model": "openai/bench-model", "api_base": job.llm_url}, "the benchmark")
    return settings


async def _tune(project: Path, job: Job) -> dict[str, Any]:
    from aft_tui.engine.engine import Engine

    problem = PROBLEMS[job.problem]
    engine = Engine.open(project / problem.script, _settings(job), project=project)
    await engine.start()
    try:
        return await engine.tune(job.trials)
    finally:
        engine.close("benchmark session over")


def run_job(job: Job) -> dict[str, Any]:
    """Tune one problem with one configuration and seed; return its trials in a compact form."""
    warnings.filterwarnings("ignore")
    for key, value in (("GIT_AUTHOR_NAME", "AFT benchmark"), ("GIT_AUTHOR_EMAIL", "bench@aft.local"),
                       ("GIT_COMMITTER_NAME", "AFT benchmark"), ("GIT_COMMITTER_EMAIL", "bench@aft.local")):
        os.environ.setdefault(key, value)
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if job.llm_url:
        os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark-local")
    started = time.time()
    project = _make_project(job)
    try:
        summary = asyncio.run(_tune(project, job))
        from aft_tui.fsutil import read_json

        records = read_json(project / "outputs" / "results.json", default=[]) or []
    finally:
        shutil.rmtree(project, ignore_errors=True)
    metric = PROBLEMS[job.problem].metric
    trials = []
    for r in sorted(records, key=lambda r: r.get("number") or 0):
        epochs = sum(1 for row in r.get("history") or [] if metric in row)
        trials.append({"number": r.get("number"), "status": r.get("status"), "value": r.get("value"),
                       "epochs": epochs, "duration": r.get("duration"), "strategy": r.get("strategy"),
                       "pruned_at": r.get("pruned_at"), "params": r.get("params")})
    return {"problem": job.problem, "config": job.config, "seed": job.seed, "trials": trials,
            "end_reason": summary.get("end_reason"), "wall": round(time.time() - started, 2)}


def run_jobs(jobs: list[Job], workers: int, progress: Any = None) -> list[dict[str, Any]]:
    """Run every job in a pool of `workers` processes; results come back in completion order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: list[dict[str, Any]] = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(run_job, job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                results.append(future.result())
            except Exception as exc:  # one broken session must not lose the rest of the benchmark
                results.append({"problem": job.problem, "config": job.config, "seed": job.seed, "trials": [],
                                "error": f"{type(exc).__name__}: {exc}"})
            if progress is not None:
                progress(len(results), len(jobs), results[-1])
    return results
