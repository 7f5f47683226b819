"""Interpreter selection: argv shapes and the one-sentence checks before any trial runs."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from aft_tui.errors import UserError
from aft_tui.runs.interpreter import Interpreter

BIN = "Scripts" if os.name == "nt" else "bin"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real virtual environment with a `torchrun` launcher script in its bin folder."""
    root = tmp_path_factory.mktemp("envs") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    launcher = root / BIN / "torchrun"
    launcher.write_text("#!/bin/sh\nexit 0\n")
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    return root


def _executable(path: Path, body: str) -> Path:
    path.write_text(body)
    path.chmod(0o755)
    return path


def test_default_is_current_python_unbuffered():
    assert Interpreter().command("train.py", ["--lr", "0.1"]) == [sys.executable, "-u", "train.py", "--lr", "0.1"]
    Interpreter().check()


def test_buffered_output_drops_the_unbuffered_flag():
    assert Interpreter(unbuffered=False).command("train.py", []) == [sys.executable, "train.py"]
    assert Interpreter.from_options(unbuffered=False).unbuffered is False


def test_python_path(tmp_path):
    assert Interpreter(python=sys.executable).command(Path("t.py"), []) == [sys.executable, "-u", "t.py"]
    Interpreter(python=sys.executable).check()


def test_venv_python_runs_the_script(venv, tmp_path):
    interp = Interpreter(venv=str(venv))
    interp.check()
    script = tmp_path / "which.py"
    script.write_text("import sys; print(sys.prefix)\n")
    argv = interp.command(script, [])
    assert argv[0] == str(venv / BIN / "python") and argv[1] == "-u"
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(out).resolve() == venv.resolve()


def test_conda_command_shape():
    argv = Interpreter(conda="ft").command("train.py", ["--epochs", "1"])
    assert argv[1:] == ["run", "--no-capture-output", "-n", "ft", "python", "-u", "train.py", "--epochs", "1"]
    assert Path(argv[0]).name.startswith("conda")
    by_prefix = Interpreter(conda="/opt/envs/ft").command("train.py", [])
    assert by_prefix[1:6] == ["run", "--no-capture-output", "-p", "/opt/envs/ft", "python"]


def test_prefix_takes_the_script_directly():
    interp = Interpreter(prefix=("torchrun", "--nproc_per_node", "2"))
    assert interp.command("train.py", ["--lr", "1"]) == ["torchrun", "--nproc_per_node", "2", "train.py", "--lr", "1"]
    accelerate = Interpreter(prefix=("accelerate", "launch"))
    assert accelerate.command("t.py", []) == ["accelerate", "launch", "t.py"]
    python_m = Interpreter(prefix=("python", "-m", "torch.distributed.run"))
    assert python_m.command("t.py", []) == [sys.executable, "-m", "torch.distributed.run", "t.py"]


def test_prefix_resolves_in_venv(venv):
    interp = Interpreter(venv=str(venv), prefix=("torchrun", "--standalone"))
    assert interp.command("t.py", []) == [str(venv / BIN / "torchrun"), "--standalone", "t.py"]
    interp.check()
    # not in the venv: left to PATH
    assert Interpreter(venv=str(venv), prefix=("accelerate", "launch")).command("t.py", [])[0] == "accelerate"


def test_conda_prefix_runs_inside_env():
    argv = Interpreter(conda="ft", prefix=("torchrun", "--nproc_per_node", "2")).command("t.py", [])
    assert argv[1:] == ["run", "--no-capture-output", "-n", "ft", "torchrun", "--nproc_per_node", "2", "t.py"]


def test_check_missing_python(tmp_path):
    with pytest.raises(UserError, match="does not exist; pass the path of an existing interpreter with --python"):
        Interpreter(python=str(tmp_path / "nope" / "python")).check()
    plain = tmp_path / "python"
    plain.write_text("")
    plain.chmod(0o644)
    with pytest.raises(UserError, match="is not executable"):
        Interpreter(python=str(plain)).check()
    with pytest.raises(UserError, match="was found on PATH"):
        Interpreter(python="python-does-not-exist-3.99").check()


def test_check_venv(tmp_path):
    with pytest.raises(UserError, match=r"does not exist; create it with `python -m venv"):
        Interpreter(venv=str(tmp_path / "missing")).check()
    empty = tmp_path / "x"
    empty.mkdir()
    with pytest.raises(UserError) as err:
        Interpreter(venv=str(empty)).check()
    assert str(err.value) == (
        f"The virtual environment '{empty}' has no {BIN}/python; create it with "
        f"`python -m venv {empty}` or pass another --venv."
    )


def test_check_prefix_missing(tmp_path, venv):
    with pytest.raises(UserError, match="The launcher 'torchrun-missing' from --prefix was not found on PATH"):
        Interpreter(prefix=("torchrun-missing",)).check()
    with pytest.raises(UserError, match="in the virtual environment"):
        Interpreter(venv=str(venv), prefix=("accelerate-missing", "launch")).check()


def test_check_conda(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("CONDA_EXE", raising=False)
    with pytest.raises(UserError, match="Conda was not found on PATH"):
        Interpreter(conda="ft").check()
    # A stand-in conda that answers `conda env list --json` like the real one.
    envs = f'{{"envs": ["{tmp_path}/miniconda", "{tmp_path}/miniconda/envs/ft"]}}'
    _executable(bin_dir / "conda", f"#!/bin/sh\necho '{envs}'\n")
    Interpreter(conda="ft").check()
    Interpreter(conda="base").check()
    with pytest.raises(UserError, match="The conda environment 'other' does not exist; create it with"):
        Interpreter(conda="other").check()
    env_prefix = tmp_path / "envprefix"
    with pytest.raises(UserError, match="is not a conda environment"):
        Interpreter(conda=str(env_prefix)).check()
    (env_prefix / "conda-meta").mkdir(parents=True)
    Interpreter(conda=str(env_prefix)).check()
    _executable(bin_dir / "conda", "#!/bin/sh\necho 'broken install' >&2\nexit 1\n")
    with pytest.raises(UserError, match="`conda env list` failed \\(broken install\\)"):
        Interpreter(conda="ft").check()


def test_from_options():
    assert Interpreter.from_options() == Interpreter()
    interp = Interpreter.from_options(venv=".venv", prefix="torchrun --nproc_per_node 2 --rdzv-endpoint 'a b'")
    assert interp.venv == ".venv"
    assert interp.prefix == ("torchrun", "--nproc_per_node", "2", "--rdzv-endpoint", "a b")
    assert Interpreter.from_options(python="", conda="ft").conda == "ft"
    with pytest.raises(UserError, match="Pass only one of --python, --venv and --conda"):
        Interpreter.from_options(python="/usr/bin/python3", venv=".venv")
    with pytest.raises(UserError, match="could not be split into words"):
        Interpreter.from_options(prefix="torchrun 'unclosed")
