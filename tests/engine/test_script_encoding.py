"""A script in the encoding its coding line names (PEP 263) is read as Python reads it, and a
refactor writes it back in that encoding: the file still runs and says what it said before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aft_tui.errors import UserError
from aft_tui.target.source_text import decode_source, encode_source, read_source
from tests.conftest import git
from tests.engine.helpers import aft, results

LATIN1 = (
    b"# -*- coding: latin-1 -*-\n"
    b"# Entra\xeenement d'un mod\xe8le jouet\n"
    b"import argparse\n"
    b"p = argparse.ArgumentParser()\n"
    b"p.add_argument('--epochs', type=int, default=2)\n"
    b"a = p.parse_args()\n"
    b"lr = 0.01\n"
    b"label = 'r\xe9sum\xe9'\n"
    b"for e in range(1, a.epochs + 1):\n"
    b"    print(f'{label} epoch {e} val_loss: {abs(lr - 0.05) + 1.0 / e:.4f}', flush=True)\n"
)


@pytest.fixture
def project(git_project, tmp_path: Path) -> Path:
    src = tmp_path / "train.py"
    src.write_bytes(LATIN1)
    return git_project(src)


def test_python_runs_the_script(project: Path):
    """The premise: this is a valid script, so AFT has no reason to refuse it."""
    done = subprocess.run([sys.executable, "train.py"], cwd=project, capture_output=True)
    assert done.returncode == 0 and "résumé epoch 2".encode() in done.stdout


def test_inspect_reads_a_latin1_script(project: Path):
    proc = aft(project, "inspect", "train.py", "--json")
    assert proc.returncode == 0, proc.stderr
    assert '"lr"' in proc.stdout and '"epochs"' in proc.stdout


def test_the_refactor_keeps_the_scripts_encoding(project: Path):
    proc = aft(project, "pipeline", "train.py", "--trials", "1", "--metric", "val_loss", "--direction", "min", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [r["status"] for r in results(project)] == ["ok"]
    sid = results(project)[0]["session"]
    committed = subprocess.run(["git", "show", f"aft/{sid}:train.py"], cwd=project, capture_output=True,
                               check=True).stdout
    assert committed != LATIN1  # the refactor changed it (lr became a flag) ...
    assert "--lr" in committed.decode("latin-1")
    for line in LATIN1.splitlines(keepends=True)[:2] + [b"label = 'r\xe9sum\xe9'\n"]:
        assert line in committed  # ... and every non-ASCII byte is still the latin-1 byte it was
    committed.decode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        committed.decode("utf-8")
    # The committed file runs, with the new flag, as Python reads it.
    worktree = project / ".aft" / "worktrees" / sid
    done = subprocess.run([sys.executable, "train.py", "--lr", "0.02"], cwd=worktree, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert "résumé epoch 2 val_loss: 0.5300".encode() in done.stdout
    # The person's own file was never touched.
    assert (project / "train.py").read_bytes() == LATIN1
    assert git(project, "status", "--porcelain") == ""


def test_source_text_round_trip(tmp_path: Path):
    path = tmp_path / "s.py"
    path.write_bytes(LATIN1.replace(b"\n", b"\r\n"))
    text = read_source(path)
    assert "résumé" in text and "\r\n" in text  # decoded as declared, line endings kept
    assert encode_source(text) == path.read_bytes()
    bom = b"\xef\xbb\xbfx = '\xc3\xa9'\n"
    assert encode_source(decode_source(bom, "b.py")) == bom
    assert encode_source("# coding: utf-8\nx = 'é'\n") == "# coding: utf-8\nx = 'é'\n".encode()


@pytest.mark.parametrize("data,needle", [
    (b"x = '\xe9'\n", "is not UTF-8 text (line 1) and has no coding line"),
    (b"# -*- coding: no-such-codec -*-\nx = 1\n", "declares an encoding Python cannot use"),
    (b"# -*- coding: ascii -*-\nx = '\xe9'\n", "is not valid ascii text (line 2)"),
])
def test_undecodable_scripts_are_named_in_one_sentence(tmp_path: Path, data: bytes, needle: str):
    with pytest.raises(UserError) as caught:
        decode_source(data, "t.py")
    assert needle in caught.value.message


def test_a_script_without_a_coding_line_is_refused_in_one_sentence(git_project, tmp_path: Path):
    src = tmp_path / "train.py"
    src.write_bytes(LATIN1.split(b"\n", 1)[1])  # the same bytes, no coding line: Python refuses it too
    project = git_project(src)
    proc = aft(project, "tune", "train.py", "--trials", "1", "--yes")
    assert proc.returncode == 2
    assert "train.py is not UTF-8 text (line 1)" in proc.stderr and "Traceback" not in proc.stderr
