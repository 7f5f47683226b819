"""Finding the model a trial saved, so the best one can be kept.

Scripts save models in many places: the run directory AFT hands them, the current directory
(`torch.save(model, "model.pt")`), a `save_pretrained` folder. A trial's artifact is looked up
in this order: the path the script itself reported in its result.json (original contract key
`model_pt_path` or `model_path`), the user's `--model-path` pattern, then files and model
folders that appeared or changed during the trial.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

MODEL_SUFFIXES = {".pt", ".pth", ".bin", ".safetensors", ".ckpt", ".joblib", ".pkl", ".h5", ".onnx", ".keras"}
MODEL_DIR_MARKERS = {"config.json", "adapter_config.json", "model.safetensors", "pytorch_model.bin"}


def snapshot_mtimes(dirs: list[Path]) -> dict[Path, float]:
    """Record what exists before a trial so we only claim what the trial produced."""
    seen: dict[Path, float] = {}
    for d in dirs:
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for entry in entries:
            try:
                seen[Path(entry.path)] = entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
    return seen


def _is_model_dir(path: Path) -> bool:
    try:
        names = set(os.listdir(path))
    except OSError:
        return False
    return bool(names & MODEL_DIR_MARKERS)


def find_new_artifacts(dirs: list[Path], before: dict[Path, float], since: float) -> list[Path]:
    found: list[Path] = []
    for d in dirs:
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink():
                continue
            try:
                mtime = entry.stat().st_mtime
            except OSError:
                continue
            changed = path not in before or mtime > before[path]
            if not changed or mtime < since - 1:
                continue
            if entry.is_file() and path.suffix in MODEL_SUFFIXES:
                found.append(path)
            elif entry.is_dir() and _is_model_dir(path):
                found.append(path)
    return found


def resolve_pattern(pattern: str, bases: list[Path]) -> list[Path]:
    hits: list[Path] = []
    for base in bases:
        for match in sorted(glob.glob(str(base / pattern), recursive=True)):
            hits.append(Path(match))
        if hits:
            break
    return hits


def claim(artifact: Path, run_dir: Path) -> Path:
    """Move an artifact the trial left in the shared working directory into its run folder,
    so the next trial cannot overwrite it."""
    artifact = Path(artifact)
    run_dir = Path(run_dir)
    try:
        artifact.resolve().relative_to(run_dir.resolve())
        return artifact  # already inside the run folder
    except ValueError:
        pass
    dest = run_dir / artifact.name
    if dest.exists():
        if dest.is_dir():
            shutil.rmtree(dest)
        else:
            dest.unlink()
    shutil.move(str(artifact), str(dest))
    return dest
