"""What every performance benchmark shares: the machine, a scratch project, robust timing, the report.

The benchmarks compare AFT with the same work done directly, in the same run, so a slow or
busy machine moves both sides. Timings are medians of repeated or interleaved measurements;
one slow sample (another process waking up) does not decide a figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parents[1]

TRIVIAL_SCRIPT = """\
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
args = parser.parse_args()
print(f"val_loss: {args.lr}")
"""
"""A training script that exits at once: one flag to tune, one metric printed."""

_IDENTITY = {
    "GIT_AUTHOR_NAME": "AFT benchmark",
    "GIT_AUTHOR_EMAIL": "bench@aft.local",
    "GIT_COMMITTER_NAME": "AFT benchmark",
    "GIT_COMMITTER_EMAIL": "bench@aft.local",
}


def child_env(**extra: str) -> dict[str, str]:
    """Environment for processes a benchmark starts: this checkout importable, offline, one BLAS thread."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env["HF_HUB_OFFLINE"] = "1"
    for key, value in _IDENTITY.items():
        env.setdefault(key, value)
    env.update(extra)
    return env


def use_benchmark_identity() -> None:
    """Commits made in this process need a name when the machine's git config has none."""
    for key, value in _IDENTITY.items():
        os.environ.setdefault(key, value)


def make_project(parent: Path, files: dict[str, str], name: str = "proj") -> Path:
    """A fresh git repository holding `files`, committed once, with outputs/ ignored."""
    project = Path(parent) / name
    project.mkdir(parents=True)
    for rel, text in files.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (project / ".gitignore").write_text("outputs/\n", encoding="utf-8")
    env = child_env()
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "initial"]):
        subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)
    return project


def machine() -> dict[str, Any]:
    """The machine a figure was measured on, without anything that identifies it."""
    import psutil

    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "cpu_cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.machine()}",
        "git": git.removeprefix("git version "),
        "load_1min": round(load, 2) if load is not None else None,
    }


def describe_machine(info: dict[str, Any]) -> str:
    load = f", load average {info['load_1min']}" if info.get("load_1min") is not None else ""
    return (f"{info['cpu_cores']} cores, {info['ram_gib']} GiB RAM, Python {info['python']}, "
            f"{info['os']}, git {info['git']}{load}")


def median(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else float("nan")


def timed(fn: Callable[[], Any]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def run_direct(command: list[str], cwd: Path, stdout_path: Path | None = None) -> float:
    """Wall time of one direct run of `command`, its output to a file (or discarded)."""
    target = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    try:
        began = time.perf_counter()
        subprocess.run(command, cwd=cwd, stdout=target, stderr=subprocess.STDOUT, check=True, env=child_env())
        return time.perf_counter() - began
    finally:
        if stdout_path:
            target.close()  # type: ignore[union-attr]


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None  # None: a figure without a target


@dataclass
class Report:
    """One benchmark's figures, printed as a table and optionally saved as JSON."""

    title: str
    command: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=machine)

    def add(self, name: str, value: float, unit: str, target: str = "", met: bool | None = None) -> None:
        self.figures.append(Figure(name, value, unit, target, met))

    def note(self, text: str) -> None:
        self.notes.append(text)

    @property
    def all_met(self) -> bool:
        return all(f.met is not False for f in self.figures)

    def render(self) -> str:
        lines = [f"{self.title}", f"  command: {self.command}", f"  machine: {describe_machine(self.machine)}"]
        width = max((len(f.name) for f in self.figures), default=10)
        for f in self.figures:
            verdict = "" if f.met is None else ("  met" if f.met else "  NOT MET")
            target = f"  (target {f.target})" if f.target else ""
            lines.append(f"  {f.name:<{width}}  {_fmt(f.value):>10} {f.unit}{target}{verdict}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title, "command": self.command, "machine": self.machine,
            "figures": [f.__dict__ for f in self.figures], "notes": self.notes, "data": self.data,
        }


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    return p


def finish(report: Report, json_path: str | None) -> int:
    """Print the report, save it if asked; the exit status says whether every target was met."""
    print(report.render())
    if json_path:
        Path(json_path).write_text(json.dumps(report.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    return 0 if report.all_met else 1


def python() -> str:
    return sys.executable
