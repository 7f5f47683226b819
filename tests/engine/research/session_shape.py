"""A research session's records and branch, built by hand with real git, the way the loop leaves them.

The branch starts at the snapshot of the person's files (origin), gets one AFT set-up commit and a
smoke run's parameter file (base), then one commit per trial writing aft_params.json. Code
experiments are a commit changing the script before their trial commit; discarded ones are taken
back by a later commit.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from aft_tui.engine.research.records import Experiment
from aft_tui.engine.research.store import ResearchState, ResearchStore
from aft_tui.vcs.workspace import Workspace

SID = "20260101-120000-abcdef"

TRAIN = """import argparse

p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.1)
args = p.parse_args()
for epoch in range(3):
    loss = 1.0 / (epoch + 1)
    print(f"val_loss={loss}")
"""
MODEL = "HIDDEN = 16\n"
SETUP_LINE = "# AFT: stop at the experiment's time budget\n"
KEPT_1 = "WARMUP = 10  # kept: warm-up\n"
DISCARDED = "DROPOUT = 0.5  # discarded: dropout\n"
CRASHED = "raise SystemExit('crashed change')\n"
KEPT_2 = "HIDDEN = 32  # kept: wider model\n"


@dataclass
class Shape:
    project: Path
    workspace: Workspace
    origin: str
    base: str
    experiments: list[Experiment]
    state: ResearchState
    code: dict[int, str] = field(default_factory=dict)    # experiment number -> its code commit


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def write_project(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.py").write_text(TRAIN)
    (folder / "model.py").write_text(MODEL)
    (folder / "notes.txt").write_text("old notes\n")


def build_session(project: Path, *, direction: str = "min", sid: str = SID, values: dict[int, float] | None = None,
                  keep_code: bool = True) -> Shape:
    """Eight experiments: two baselines, a kept numeric one, a kept code change (#4), a discarded
    code change (#5, which also deletes notes.txt), a crashed one (#6), a kept code change in
    another file (#7), a discarded numeric one (#8)."""
    ws = Workspace.create(project, sid)
    origin = ws.head()
    here = ws.project_path
    train = (here / "train.py").read_text()
    ws.commit("AFT: time-budget check", files={"train.py": train + SETUP_LINE})
    ws.commit_params({"params": {"lr": 0.1}, "smoke": True}, "smoke run")  # a parameter file before research
    base = ws.head()
    v = {1: 0.50, 2: 0.52, 3: 0.45, 4: 0.40, 5: 0.47, 7: 0.35, 8: 0.38}
    v.update(values or {})
    experiments: list[Experiment] = []
    code: dict[int, str] = {}

    def trial(number: int, kind: str, source: str, description: str, status: str, params: dict, **more) -> None:
        sha = ws.commit_params({"params": params, "trial": number}, f"trial {number}")
        experiments.append(Experiment(number=number, kind=kind, source=source, description=description,
                                      status=status, params=params, trial=number, commit=sha,
                                      value=v.get(number), **more))

    trial(1, "baseline", "defaults", "baseline: your own configuration", "keep", {"lr": 0.1})
    trial(2, "baseline", "defaults", "baseline run 2 of 2", "keep", {"lr": 0.1})
    trial(3, "numeric", "tpe", "tpe: lr=0.05", "keep", {"lr": 0.05})

    def code_change(number: int, description: str, files: dict[str, str], remove: list[str], kept: bool,
                    status: str) -> None:
        before = {name: (here / name).read_text() for name in [*files, *remove] if (here / name).exists()}
        sha = ws.commit(f"research {number}: {description}", files=files, remove=remove)
        code[number] = sha
        trial(number, "code", "catalogue", description, status, {"lr": 0.05}, code_commit=sha,
              files=sorted([*files, *remove]), recipe=f"recipe-{number}",
              reason="better than the best by more than the noise" if kept else "not better")
        if not kept:
            added = [name for name in files if name not in before]
            revert = ws.commit(f"research {number}: take back", files=before, remove=added)
            experiments[-1].revert_commit = revert

    code_change(4, "Warm up the learning rate", {"train.py": (here / "train.py").read_text() + KEPT_1}, [],
                keep_code, "keep" if keep_code else "discard")
    code_change(5, "Add dropout", {"train.py": (here / "train.py").read_text() + DISCARDED,
                                   "extra.py": "X = 1\n"}, ["notes.txt"], False, "discard")
    code_change(6, "Break it", {"train.py": (here / "train.py").read_text() + CRASHED}, [], False, "crash")
    code_change(7, "Wider model", {"model.py": KEPT_2}, [], keep_code, "keep" if keep_code else "discard")
    trial(8, "numeric", "tpe", "tpe: lr=0.2", "discard", {"lr": 0.2})
    best = 0.35 if direction == "min" else 0.52
    state = ResearchState(metric="val_loss", direction=direction, noise=0.01, baseline_values=[v[1], v[2]],
                          best_value=best, best_params={"lr": 0.05}, best_experiment=7 if direction == "min" else 2,
                          base_commit=base, origin_commit=origin)
    ResearchStore(project / "outputs", sid).save(experiments, state)
    return Shape(project=project, workspace=ws, origin=origin, base=base, experiments=experiments, state=state,
                 code=code)


def person_tree(repo: Path, ref: str, subdir: str = "", git_dir: Path | None = None) -> dict[str, str]:
    """path -> blob of the person's files at `ref` (the project directory, without aft_params.json)."""
    args = [f"--git-dir={git_dir}"] if git_dir else []
    listing = git(repo, *args, "ls-tree", "-r", ref, *([subdir] if subdir else []))
    out: dict[str, str] = {}
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        if path.rsplit("/", 1)[-1] != "aft_params.json":
            out[path] = meta.split()[2]
    return out
