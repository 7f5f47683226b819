"""`aft inspect`'s table at the width of an SSH terminal: names are what people type, so they stay whole."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from aft_tui.target.discover import discover
from aft_tui.ui.tables import discovery_report

SCRIPT = '''
import argparse
import torch

p = argparse.ArgumentParser()
p.add_argument("--trainer.learning_rate", type=float, default=5e-4)
p.add_argument("--trainer.weight_decay", type=float, default=0.1)
p.add_argument("--trainer.grad_norm_clip", type=float, default=1.0)
p.add_argument("--system.work_dir", type=str, default="./out/a/very/long/folder/for/the/runs")
p.add_argument("--seed", type=int, default=3407)
args = p.parse_args()
opt = torch.optim.AdamW([], lr=getattr(args, "trainer.learning_rate"))
'''


def _render(tmp_path: Path, width: int) -> list[str]:
    folder = tmp_path / "deep" / "folder" / "of" / "the" / "project"
    folder.mkdir(parents=True)
    (folder / "train.py").write_text(SCRIPT)
    console = Console(width=width, record=True, color_system=None)
    discovery_report(console, discover(folder / "train.py"))
    return console.export_text().splitlines()


def test_names_stay_whole_at_80_columns(tmp_path: Path):
    lines = _render(tmp_path, 80)
    assert max(map(len, lines)) <= 80
    rows = {line.split()[0]: line for line in lines if line.startswith(("trainer.", "system.", "seed"))}
    assert set(rows) == {"trainer.learning_rate", "trainer.weight_decay", "trainer.grad_norm_clip", "system.work_dir",
                         "seed"}
    assert "train.py:" in rows["trainer.weight_decay"]  # the file and line, without the folders
    assert "not tuned" in rows["seed"] and "not tuned" in rows["system.work_dir"]
    assert "'./out/a/…" in rows["system.work_dir"]  # a long default gives way, not the name


def test_a_wide_terminal_shows_everything(tmp_path: Path):
    lines = _render(tmp_path, 160)
    text = "\n".join(lines)
    assert "suggested range" in text and "'./out/a/very/long/folder/for/the/runs'" not in text  # still capped
    assert "trainer.grad_norm_clip" in text and "0.0005" in text
