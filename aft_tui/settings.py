"""Settings from `aft.toml`, `[tool.aft]` in pyproject.toml, the user config, env and flags.

Precedence (later wins): defaults < user config (~/.config/aft/config.toml) < project file
(aft.toml, else [tool.aft]) < environment (AFT_*) < command-line flags. Keeping one merged
object means every view and the engine read the same answer.
"""

from __future__ import annotations

import math
import re
import os
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from aft_tui.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


@dataclass
class Settings:
    metric: str | None = None
    metric_window: int | None = None  # objective = mean of the last N values reported (noisy per-episode metrics)
    direction: str | None = None  # "min" | "max"
    trials: int = 8
    timeout: float | None = None  # per trial, seconds
    budget: float | None = None  # wall time for the whole tuning run, seconds
    target_value: float | None = None  # stop once the objective reaches this value
    patience: int | None = None  # stop after this many trials without improvement
    stagnation: int | None = None  # stop when the best moved less than the noise over this many trials
    strategy: str = "tpe"
    advice: bool = True  # model-based samplers share trials with local moves from the best trial
    coordinate_trials: int | None = None  # coordinate strategy: trials per parameter (default 3)
    coordinate_time: float | None = None  # coordinate strategy: seconds per parameter
    pruner: str = "median"  # median | hyperband | none
    seed: int = 0
    parallel: int | None = None  # trials at once; None: 1 here, as many as the cluster holds with --cluster
    gpus_per_trial: int | None = None  # None: 1 where GPUs exist (on a cluster: when it has GPUs), else 0
    cluster: str | None = None  # run trials on a Ray cluster: "ray" (RAY_ADDRESS or auto), "ray://host:port", "host:port"
    cpus_per_trial: float | None = None  # a cluster trial's CPUs (default 1)
    memory_per_trial: str | None = None  # a cluster trial's memory, e.g. "8G" (default: Ray's own accounting)
    ship: list[str] = field(default_factory=list)  # project folders sent to the nodes with every cluster trial
    cluster_artifacts: str = "copy"  # copy: a cluster trial's files come back into outputs/; leave: large ones stay on the node
    outputs: str = "outputs"
    model_path: str | None = None  # glob of the artifact a trial saves, relative to its run dir or worktree
    python: str | None = None
    venv: str | None = None
    conda: str | None = None
    prefix: str | None = None
    buffered_output: bool = False  # True: no `python -u`; faster for very chatty scripts, output arrives in blocks
    smoke: str | None = None  # extra flags for the smoke run, e.g. "--epochs 1"
    smoke_timeout: float = 300.0
    yes: bool = False
    model: str | None = None  # LLM (litellm model string)
    api_base: str | None = None
    small_model: str | None = None
    llm_timeout: float | None = None  # seconds per LLM request; None: AFT_LLM_TIMEOUT, else the client's 60 s
    theme: str = "dark"
    mlflow: str | None = None  # tracking URI AFT mirrors its trials to, e.g. sqlite:///mlruns.db
    mlflow_experiment: str | None = None  # default: named after the project and target
    search: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: list[str] | None = None  # restrict tuning to these parameters
    # The script's own arguments (`aft tune train.py -- --data ./data`): passed to every run, the
    # baseline of the search; AFT replaces the ones it tunes.
    args: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def update(self, values: dict[str, Any], origin: str) -> None:
        names = {f.name: f for f in fields(self)}
        for key, value in values.items():
            key = key.replace("-", "_")
            if value is None:
                continue
            if key not in names:
                raise UserError(
                    f"Unknown setting '{key}' in {origin}; valid settings are: {', '.join(sorted(names))}."
                )
            if key == "args" and (not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value)):
                raise UserError(f"args in {origin} must be a list of strings, e.g. args = [\"--data\", \"./data\"] "
                                f"(got {value!r}).")
            setattr(self, key, list(value) if key == "args" else value)
        for name in ("timeout", "budget", "smoke_timeout", "llm_timeout"):
            limit = getattr(self, name)
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float))
                                      or not math.isfinite(limit) or limit <= 0):
                raise UserError(f"{name} must be a positive number of seconds (got {limit!r} from {origin}).")
        if isinstance(self.trials, bool) or not isinstance(self.trials, int) or self.trials < 1:
            raise UserError(f"trials must be a whole number, 1 or more (got {self.trials!r} from {origin}).")
        window = self.metric_window
        if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
            raise UserError(f"metric_window must be a whole number of reports, 1 or more (got {window!r} from {origin}).")
        if self.direction is not None and self.direction not in ("min", "max"):
            raise UserError(f"direction must be 'min' or 'max' (got '{self.direction}' from {origin}).")
        self._check_cluster(origin)

    def _check_cluster(self, origin: str) -> None:
        """The cluster settings' forms, checked before anything is created (reaching the cluster comes later)."""
        if self.cluster_artifacts not in ("copy", "leave"):
            raise UserError(f"cluster_artifacts must be 'copy' or 'leave' (got {self.cluster_artifacts!r} from {origin}).")
        if not isinstance(self.ship, list) or not all(isinstance(v, str) and v for v in self.ship):
            raise UserError(f"ship in {origin} must be a list of project folders, e.g. ship = [\"data\"] (got {self.ship!r}).")
        cpus = self.cpus_per_trial
        if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or not cpus > 0):
            raise UserError(f"cpus_per_trial must be a positive number (got {cpus!r} from {origin}).")
        for name in ("parallel", "gpus_per_trial"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise UserError(f"{name} must be a whole number (got {value!r} from {origin}).")
        if self.memory_per_trial is not None and parse_size(self.memory_per_trial) is None:
            raise UserError(f"memory_per_trial must be a size such as 8G or 512M (got {self.memory_per_trial!r} "
                            f"from {origin}).")
        if self.cluster is not None and cluster_kind(self.cluster) is None:
            raise UserError(f"cluster must be 'ray', 'ray://HOST:PORT' or 'HOST:PORT' (got {self.cluster!r} from {origin}).")


_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "KIB": 1024, "M": 1024 ** 2, "MB": 1024 ** 2, "MIB": 1024 ** 2,
               "G": 1024 ** 3, "GB": 1024 ** 3, "GIB": 1024 ** 3, "T": 1024 ** 4, "TB": 1024 ** 4, "TIB": 1024 ** 4}


def parse_size(text: Any) -> int | None:
    """Bytes from '8G', '512M', '1.5GiB' or a plain number; None when it is not a size."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return int(text) if text > 0 else None
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(text))
    if not match or match.group(2).upper() not in _SIZE_UNITS:
        return None
    size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2).upper()])
    return size if size > 0 else None


def cluster_kind(value: str) -> str | None:
    """'ray' for every form of the --cluster value AFT accepts, None for anything else."""
    text = str(value).strip()
    if text in ("ray", "auto") or re.fullmatch(r"ray://[^/\s]+:\d+", text) or re.fullmatch(r"[^/:\s]+:\d+", text):
        return "ray"
    return None


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "aft" / "config.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path} is not valid TOML ({exc}); fix or remove it.") from None


def project_config(project_dir: Path) -> tuple[dict[str, Any], str]:
    """Return the project's AFT table and where it came from."""
    aft_toml = project_dir / "aft.toml"
    if aft_toml.is_file():
        return _read_toml(aft_toml), str(aft_toml)
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        data = _read_toml(pyproject).get("tool", {}).get("aft", {})
        return data, f"{pyproject} [tool.aft]"
    return {}, ""


_ENV_KEYS = {
    "AFT_MODEL": "model",
    "AFT_API_BASE": "api_base",
    "AFT_THEME": "theme",
    "AFT_OUTPUTS": "outputs",
}
# Variables holding a number of seconds: read as one, refused in a sentence naming the variable.
_ENV_SECONDS = {
    "AFT_LLM_TIMEOUT": "llm_timeout",
}


def env_seconds(var: str) -> float | None:
    """A positive number of seconds from environment variable `var`, or None when it is unset or empty."""
    raw = os.environ.get(var, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"{var} must be a positive number of seconds, e.g. {var}=120 (got {raw!r}); "
                        f"fix or unset it.")
    return value


def load_settings(project_dir: Path, flags: dict[str, Any] | None = None) -> Settings:
    settings = Settings()
    user = _read_toml(user_config_path())
    settings.update({k: v for k, v in user.items() if k in {"theme", "model", "api_base", "small_model"}}, str(user_config_path()))
    data, origin = project_config(project_dir)
    if data:
        settings.update(data, origin)
    env: dict[str, Any] = {field_name: os.environ[var] for var, field_name in _ENV_KEYS.items() if os.environ.get(var)}
    env.update({field_name: env_seconds(var) for var, field_name in _ENV_SECONDS.items()})
    settings.update(env, "the environment")
    if flags:
        settings.update(flags, "the command line")
    return settings


def save_user_setting(key: str, value: Any) -> None:
    """Remember a preference (theme, model) in the user config, written atomically."""
    from aft_tui.fsutil import atomic_write_text

    path = user_config_path()
    data = _read_toml(path)
    data[key] = value
    lines = []
    for k, v in data.items():
        if isinstance(v, str):
            lines.append(f"{k} = {_toml_str(v)}")
        elif isinstance(v, bool):
            lines.append(f"{k} = {'true' if v else 'false'}")
        elif isinstance(v, (int, float)):
            lines.append(f"{k} = {v}")
    atomic_write_text(path, "\n".join(lines) + "\n")


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
