"""The one-sentence diagnosis of a failed run, read from real tracebacks of tiny scripts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aft_tui.runs.diagnosis import RunContext, diagnose
from aft_tui.runs.packages import pip_command, pypi_name
from aft_tui.runs.interpreter import Interpreter


def _run(tmp_path: Path, source: str, *args: str, cwd: Path | None = None,
         python: tuple[str, ...] = ()) -> tuple[int, list[str]]:
    script = tmp_path / "script.py"
    script.write_text(source)
    done = subprocess.run([sys.executable, *python, str(script), *args], cwd=cwd or tmp_path, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)
    return done.returncode, done.stdout.splitlines()[-60:]


def _context(tmp_path: Path, **extra) -> RunContext:
    return RunContext(cwd=tmp_path, person_cwd=tmp_path / "person", interpreter=Interpreter(),
                      script="train.py", log_path=tmp_path / "t001.log", **extra)


@pytest.mark.parametrize("module,package", [
    ("tensorboard", "tensorboard"),
    ("sklearn.model_selection", "scikit-learn"),
    ("cv2", "opencv-python"),
    ("yaml", "PyYAML"),
    ("PIL", "Pillow"),
    ("google.protobuf", "protobuf"),
])
def test_missing_module_names_the_package_and_the_interpreter(tmp_path: Path, module: str, package: str):
    # Without site-packages (-S) every third-party module is genuinely missing.
    code, tail = _run(tmp_path, f"print('starting')\nimport {module}\n", python=("-I", "-S"))
    assert code == 1
    d = diagnose(code, tail, _context(tmp_path))
    assert d.kind == "missing_module" and d.environmental
    assert f"pip install {package}" in d.sentence
    assert sys.executable in d.sentence  # the interpreter AFT used, not whatever `pip` is on PATH
    assert "--venv/--conda/--python" in d.sentence


def test_missing_module_absent_everywhere(tmp_path: Path):
    code, tail = _run(tmp_path, "import aft_no_such_module_xyz\n")
    d = diagnose(code, tail, _context(tmp_path))
    assert d.kind == "missing_module"
    assert f"{sys.executable} -m pip install aft_no_such_module_xyz" in d.sentence
    # A failure deeper in an import chain names the module that is missing, not the one imported.
    (tmp_path / "helper_mod.py").write_text("import aft_inner_missing_pkg.sub\n")
    code, tail = _run(tmp_path, "import helper_mod\n")
    assert "aft_inner_missing_pkg" in diagnose(code, tail, _context(tmp_path)).sentence


def test_pypi_names_and_pip_commands():
    assert pypi_name("skimage.io") == "scikit-image"
    assert pypi_name("bs4") == "beautifulsoup4"
    assert pypi_name("attr") == "attrs"
    assert pypi_name("google.protobuf.message") == "protobuf"
    assert pypi_name("tensorboard.summary") == "tensorboard"
    assert pip_command(Interpreter(venv="/opt/venvs/ml"), "x") == "/opt/venvs/ml/bin/python -m pip install x"
    assert pip_command(Interpreter(conda="ml"), "x") == "conda run -n ml python -m pip install x"
    assert pip_command(Interpreter(python="/usr/bin/python3.11", prefix=("torchrun",)), "x") == \
        "/usr/bin/python3.11 -m pip install x"


def test_missing_file_names_the_path_and_the_folder(tmp_path: Path):
    work = tmp_path / "worktree"
    work.mkdir()
    code, tail = _run(tmp_path, "import pandas\nopen('data/train.csv').read()\n", cwd=work)
    d = diagnose(code, tail, RunContext(cwd=work, person_cwd=tmp_path / "proj", script="train.py"))
    assert d.kind == "missing_file" and d.environmental
    assert "'data/train.csv'" in d.sentence
    assert str(work) in d.sentence and str(tmp_path / "proj") in d.sentence
    assert str(work / "data" / "train.csv") in d.sentence
    assert "-- --data" in d.sentence
    assert "linked" in d.sentence


def test_missing_file_that_exists_in_the_persons_folder_says_it_is_unreachable(tmp_path: Path):
    person, work = tmp_path / "proj", tmp_path / "worktree"
    (person / "data").mkdir(parents=True)
    (person / "data" / "x.npy").write_text("")
    work.mkdir()
    code, tail = _run(tmp_path, "open('data/x.npy')\n", cwd=work)
    d = diagnose(code, tail, RunContext(cwd=work, person_cwd=person))
    assert f"{person / 'data' / 'x.npy'} exists but is not reachable" in d.sentence


def test_out_of_memory_names_the_batch_parameter_and_its_value(tmp_path: Path):
    source = ("import torch\n"
              "raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total)')\n")
    code, tail = _run(tmp_path, source)
    d = diagnose(code, tail, _context(tmp_path), params={"lr": 0.01, "batch_size": 512})
    assert d.kind == "oom" and d.environmental
    assert "batch_size was 512" in d.sentence and "smaller batch" in d.sentence
    other = diagnose(code, [line.replace("2.00", "4.00") for line in tail], _context(tmp_path),
                     params={"lr": 0.5, "batch_size": 1024})
    assert other.key == d.key  # the same failure whatever the values


def test_argparse_required_and_unrecognized(tmp_path: Path):
    source = ("import argparse\np = argparse.ArgumentParser()\np.add_argument('--data_dir', required=True)\n"
              "p.add_argument('--lr', type=float, default=0.1)\np.parse_args()\n")
    code, tail = _run(tmp_path, source, "--lr", "0.2")
    d = diagnose(code, tail, _context(tmp_path))
    assert d.kind == "arguments"
    assert "aft tune train.py -- --data_dir VALUE" in d.sentence
    code, tail = _run(tmp_path, source, "--data_dir", "x", "--momentum", "0.9")
    d = diagnose(code, tail, _context(tmp_path))
    assert d.kind == "arguments" and "--momentum 0.9" in d.sentence


def test_hugging_face_offline_model(tmp_path: Path):
    source = ("raise OSError(\"bert-base-uncased is not a local folder and is not a valid model identifier listed on "
              "'https://huggingface.co/models'\")\n")
    code, tail = _run(tmp_path, source)
    d = diagnose(code, tail, _context(tmp_path))
    assert d.kind == "offline_model" and d.environmental
    assert "'bert-base-uncased'" in d.sentence and "local path" in d.sentence
    code, tail = _run(tmp_path, "raise ValueError(\"Repo id must be in the form 'repo_name' or "
                                "'namespace/repo_name': '/models/llama'. Use `repo_type` argument if needed.\")\n")
    d = diagnose(code, tail, _context(tmp_path))
    assert d.kind == "offline_model" and "/models/llama" in d.sentence


def test_metric_never_reported_names_what_was_seen(tmp_path: Path):
    code, tail = _run(tmp_path, "print('loss: 0.5')\nprint('learning_rate: 0.001')\n")
    d = diagnose(code, tail, _context(tmp_path), metric="eval_loss", metrics_seen=["loss", "learning_rate"],
                 reason="the script never reported 'eval_loss' (it reported: loss, learning_rate)")
    assert d.kind == "metric_missing" and not d.environmental
    assert "eval_loss" in d.sentence and "loss, learning_rate" in d.sentence and "--metric NAME" in d.sentence


def test_other_exceptions_quote_the_last_line_and_redact_secrets(tmp_path: Path, monkeypatch, planted_key: str):
    monkeypatch.setenv("SERVICE_API_KEY", planted_key)
    source = (f"try:\n    raise KeyError('inner')\nexcept KeyError:\n"
              f"    raise RuntimeError('cannot reach the store with key {planted_key}')\n")
    code, tail = _run(tmp_path, source)
    d = diagnose(code, tail, _context(tmp_path))
    assert d.kind == "crash" and not d.environmental
    assert "RuntimeError: cannot reach the store with key" in d.sentence
    assert planted_key not in d.sentence
    assert str(tmp_path / "t001.log") in d.sentence


def test_exit_code_without_message_and_signals(tmp_path: Path):
    code, tail = _run(tmp_path, "import sys\nprint('epoch 1')\nsys.exit(3)\n")
    d = diagnose(code, tail, _context(tmp_path))
    assert d.kind == "crash" and "exited with code 3" in d.sentence
    code, tail = _run(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    killed = diagnose(code, tail, _context(tmp_path))
    assert "signal 9" in killed.sentence and "from outside it" in killed.sentence
    assert killed.kind == "killed" and killed.environmental  # no refactor or code change is to blame
    code, tail = _run(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    native = diagnose(code, tail, _context(tmp_path))
    assert native.kind == "crash" and "signal 11 (SIGSEGV" in native.sentence and not native.environmental


def test_keys_ignore_values_but_not_causes(tmp_path: Path):
    a = diagnose(1, ["ValueError: lr=0.1 is out of range"], params={"lr": 0.1})
    b = diagnose(1, ["ValueError: lr=0.0031 is out of range"], params={"lr": 0.0031})
    c = diagnose(1, ["KeyError: 'labels'"])
    assert a.key == b.key != c.key


def test_a_missing_module_that_is_the_projects_own_package_names_the_path(tmp_path: Path):
    """minGPT's shape: the script in projects/adder imports `mingpt`, a package at the project's root
    that Python does not look for there. pip cannot fix that; the path (or `pip install -e .`) does."""
    (tmp_path / "mylib").mkdir()
    (tmp_path / "mylib" / "__init__.py").write_text("VALUE = 1\n")
    scripts = tmp_path / "projects" / "adder"
    scripts.mkdir(parents=True)
    (scripts / "train.py").write_text("import mylib.model\n")
    done = subprocess.run([sys.executable, "-I", str(scripts / "train.py")], cwd=tmp_path, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)
    assert done.returncode == 1
    context = RunContext(cwd=tmp_path, person_cwd=Path("/home/me/proj"), interpreter=Interpreter(),
                         script="projects/adder/train.py")
    d = diagnose(done.returncode, done.stdout.splitlines(), context)
    assert d.kind == "missing_module" and d.environmental and d.detail == "mylib"
    assert "the project's own package in /home/me/proj/mylib" in d.sentence
    assert "`PYTHONPATH=. aft tune projects/adder/train.py` from /home/me/proj" in d.sentence
    assert "pip install mylib" not in d.sentence
    # A package of the same name nowhere in the project: pip, as before.
    (tmp_path / "mylib" / "__init__.py").unlink()
    assert "pip install mylib" in diagnose(done.returncode, done.stdout.splitlines(), context).sentence
