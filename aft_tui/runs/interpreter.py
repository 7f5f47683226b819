"""Which Python runs a trial, and through which launcher.

People train in the environment their script already works in: the current interpreter, a
virtual environment, a conda environment, or behind a launcher such as `torchrun` or
`accelerate launch`. This module turns that choice into an argv and checks, before the first
trial, that every piece of it exists, so a typo costs one sentence instead of a failed trial.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from aft_tui.errors import UserError

_WINDOWS = os.name == "nt"
_PYTHON_NAMES = frozenset({"python", "python3", "python.exe", "python3.exe"})


def _venv_bin(venv: str | Path) -> Path:
    return Path(venv).expanduser() / ("Scripts" if _WINDOWS else "bin")


def _venv_python(venv: str | Path) -> Path:
    return _venv_bin(venv) / ("python.exe" if _WINDOWS else "python")


def _in_dir(directory: Path, name: str) -> Path | None:
    """`name` as an executable inside `directory`, if it is there."""
    for candidate in (name, f"{name}.exe") if _WINDOWS else (name,):
        path = directory / candidate
        if path.is_file():
            return path
    return None


def _conda_exe() -> str | None:
    found = shutil.which("conda")
    if found:
        return found
    env_exe = os.environ.get("CONDA_EXE")
    if env_exe and Path(env_exe).is_file():
        return env_exe
    return None


def _looks_like_path(value: str) -> bool:
    return "/" in value or (os.sep in value) or value.startswith("~")


@dataclass(frozen=True)
class Interpreter:
    python: str | None = None
    venv: str | None = None
    conda: str | None = None
    prefix: tuple[str, ...] = ()
    # Unbuffered (`-u`) so each printed line and metric reaches AFT as it happens; a script that
    # prints thousands of lines a second runs faster block-buffered (--buffered-output).
    unbuffered: bool = True

    @classmethod
    def from_options(
        cls,
        python: str | None = None,
        venv: str | None = None,
        conda: str | None = None,
        prefix: str | None = None,
        unbuffered: bool = True,
    ) -> Interpreter:
        """Build from command-line options; --prefix is one shell-quoted string."""
        python, venv, conda = (value or None for value in (python, venv, conda))
        chosen = [flag for flag, value in (("--python", python), ("--venv", venv), ("--conda", conda)) if value]
        if len(chosen) > 1:
            raise UserError(
                f"Pass only one of --python, --venv and --conda (got {' and '.join(chosen)}); "
                "each one picks the interpreter on its own."
            )
        parts: tuple[str, ...] = ()
        if prefix:
            try:
                parts = tuple(shlex.split(prefix))
            except ValueError as exc:
                raise UserError(
                    f"The --prefix value {prefix!r} could not be split into words ({exc}); "
                    "quote it as one string, for example --prefix \"torchrun --nproc_per_node 2\"."
                ) from None
        return cls(python=python, venv=venv, conda=conda, prefix=parts, unbuffered=unbuffered)

    # ------------------------------------------------------------------ argv

    @property
    def is_own(self) -> bool:
        """AFT's own Python runs the script (nothing chosen): a cluster node uses its own Python instead."""
        return not (self.python or self.venv or self.conda or self.prefix)

    def command(self, script: str | Path, args: list[str]) -> list[str]:
        """The argv that runs `script` with `args` in this environment."""
        tail = [str(script), *(str(a) for a in args)]
        conda_head = self._conda_head() if self.conda else []
        if self.prefix:
            # torchrun / accelerate take the script path themselves and start their own Pythons.
            return [*conda_head, self._prefix_executable(), *self.prefix[1:], *tail]
        unbuffered = ["-u"] if self.unbuffered else []
        if self.conda:
            return [*conda_head, "python", *unbuffered, *tail]
        return [self._python_path(), *unbuffered, *tail]

    def _python_path(self) -> str:
        if self.python:
            return str(Path(self.python).expanduser()) if _looks_like_path(self.python) else self.python
        if self.venv:
            return str(_venv_python(self.venv))
        return sys.executable

    def _conda_head(self) -> list[str]:
        assert self.conda is not None
        exe = "conda" if shutil.which("conda") else (_conda_exe() or "conda")
        if _looks_like_path(self.conda):
            return [exe, "run", "--no-capture-output", "-p", str(Path(self.conda).expanduser())]
        return [exe, "run", "--no-capture-output", "-n", self.conda]

    def _prefix_executable(self) -> str:
        """The launcher from the chosen environment when it has one (its torchrun, not the system's)."""
        first = self.prefix[0]
        if self.conda or _looks_like_path(first):
            return first
        if first in _PYTHON_NAMES:
            return self._python_path()  # `python -m torch.distributed.run` uses the chosen Python
        if self.venv:
            found = _in_dir(_venv_bin(self.venv), first)
            if found:
                return str(found)
        if self.python and _looks_like_path(self.python):
            found = _in_dir(Path(self.python).expanduser().parent, first)
            if found:
                return str(found)
        return first

    # ------------------------------------------------------------------ checks

    def check(self) -> None:
        """Raise UserError naming the missing piece; quiet when everything is in place."""
        if self.python:
            self._check_python()
        if self.venv:
            self._check_venv()
        if self.conda:
            self._check_conda()
        if self.prefix:
            self._check_prefix()

    def _check_python(self) -> None:
        assert self.python is not None
        if _looks_like_path(self.python):
            path = Path(self.python).expanduser()
            if not path.is_file():
                raise UserError(
                    f"The Python interpreter '{self.python}' does not exist; pass the path of an "
                    "existing interpreter with --python."
                )
            if not os.access(path, os.X_OK):
                raise UserError(
                    f"The Python interpreter '{self.python}' is not executable; fix its permissions "
                    "(chmod +x) or pass another --python."
                )
        elif shutil.which(self.python) is None:
            raise UserError(
                f"No '{self.python}' was found on PATH; pass the full path of the interpreter with --python."
            )

    def _check_venv(self) -> None:
        assert self.venv is not None
        root = Path(self.venv).expanduser()
        if not root.is_dir():
            raise UserError(
                f"The virtual environment '{self.venv}' does not exist; create it with "
                f"`python -m venv {self.venv}` or pass another --venv."
            )
        python = _venv_python(root)
        if not python.is_file():
            rel = python.relative_to(root).as_posix()
            raise UserError(
                f"The virtual environment '{self.venv}' has no {rel}; create it with "
                f"`python -m venv {self.venv}` or pass another --venv."
            )

    def _check_conda(self) -> None:
        assert self.conda is not None
        exe = _conda_exe()
        if exe is None:
            raise UserError(
                "Conda was not found on PATH; activate conda in this shell (`conda init`) "
                "or choose the interpreter with --python or --venv instead."
            )
        if _looks_like_path(self.conda):
            if not (Path(self.conda).expanduser() / "conda-meta").is_dir():
                raise UserError(
                    f"'{self.conda}' is not a conda environment (it has no conda-meta folder); "
                    "pass an environment name or prefix listed by `conda env list`."
                )
            return
        if self.conda not in _conda_env_names(exe):
            raise UserError(
                f"The conda environment '{self.conda}' does not exist; create it with "
                f"`conda create -n {self.conda} python` or pick one listed by `conda env list`."
            )

    def _check_prefix(self) -> None:
        first = self.prefix[0]
        exe = self._prefix_executable()
        if self.conda:
            return  # resolved inside the conda environment at run time
        if shutil.which(exe) is None:
            where = f"in the virtual environment '{self.venv}' or " if self.venv else ""
            raise UserError(
                f"The launcher '{first}' from --prefix was not found {where}on PATH; install it "
                "(torchrun comes with torch, accelerate with `pip install accelerate`) or fix --prefix."
            )


def _conda_env_names(exe: str) -> set[str]:
    try:
        proc = subprocess.run(
            [exe, "env", "list", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        data = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise UserError(
            f"Could not list conda environments ({exc}); check that `conda env list` works in this shell."
        ) from None
    if not isinstance(data, dict):
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise UserError(
            f"`conda env list` failed ({detail[-1] if detail else f'exit code {proc.returncode}'}); "
            "check your conda installation."
        )
    envs = [str(p) for p in data.get("envs", []) if isinstance(p, str)]
    names = {Path(p).name for p in envs}
    names.add("base")
    return names
