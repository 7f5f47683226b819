"""Where a research session keeps its memory: outputs/research/<session>/.

- experiments.json  every experiment, typed (records.py); rewritten atomically after each one
- state.json        what a restart needs beyond that: the bandit, the noise, the incumbent,
                    the recipes tried, the person's steering notes
- results.tsv       commit, metric, memory, status, description: one line per experiment, the
                    columns research scripts have used, for spreadsheets and `column -t`
- journal.md        the research journal in words, appended per experiment; the LLM reads it back

Everything is written atomically (or appended and flushed per entry), so a kill leaves the
last complete state, and a restarted session continues from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aft_tui.engine.research.records import Experiment
from aft_tui.fsutil import atomic_write_bytes, json_safe
from aft_tui.redaction import redact


@dataclass
class ResearchState:
    metric: str | None = None
    direction: str | None = None
    noise: float | None = None
    baseline_values: list[float] = field(default_factory=list)
    baseline_signatures: list[str] = field(default_factory=list)  # repeatability.signature of each baseline run
    best_value: float | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    best_experiment: int | None = None
    base_commit: str = ""            # the code research started from (after AFT's own set-up commits)
    origin_commit: str = ""          # the person's code, before anything AFT changed
    tried_recipes: list[str] = field(default_factory=list)
    recipe_tries: dict[str, list[float | None]] = field(default_factory=dict)  # recipe -> best when it was tried
    steer: list[str] = field(default_factory=list)
    bandit: dict[str, Any] = field(default_factory=dict)
    crash_streak: int = 0
    paused: bool = False

    def to_dict(self) -> dict[str, Any]:
        return json_safe(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ResearchState":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class ResearchStore:
    def __init__(self, outputs_root: Path, session_id: str) -> None:
        self.folder = Path(outputs_root) / "research" / session_id

    @property
    def experiments_path(self) -> Path:
        return self.folder / "experiments.json"

    @property
    def state_path(self) -> Path:
        return self.folder / "state.json"

    @property
    def tsv_path(self) -> Path:
        return self.folder / "results.tsv"

    @property
    def journal_path(self) -> Path:
        return self.folder / "journal.md"

    def exists(self) -> bool:
        return self.experiments_path.exists() or self.state_path.exists()

    # -- reading -------------------------------------------------------------------------
    def experiments(self) -> list[Experiment]:
        data = _read_json(self.experiments_path, [])
        return [Experiment.from_dict(e) for e in data if isinstance(e, dict)] if isinstance(data, list) else []

    def state(self) -> ResearchState:
        data = _read_json(self.state_path, {})
        return ResearchState.from_dict(data) if isinstance(data, dict) else ResearchState()

    def journal(self) -> str:
        try:
            return self.journal_path.read_text(encoding="utf-8")
        except OSError:
            return ""

    # -- writing -------------------------------------------------------------------------
    def save(self, experiments: list[Experiment], state: ResearchState) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_json(self.experiments_path, [e.to_dict() for e in experiments])
        _write_json(self.state_path, state.to_dict())
        atomic_write_bytes(self.tsv_path, tsv(experiments, state.metric or "metric").encode("utf-8"))

    def append_journal(self, text: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.journal_path, "a", encoding="utf-8") as fh:
            fh.write(redact(text).rstrip("\n") + "\n\n")
            fh.flush()


def tsv(experiments: list[Experiment], metric: str) -> str:
    """results.tsv: commit, the metric, memory in GB, keep/discard/crash, description."""
    lines = ["\t".join(["commit", _cell(metric), "memory_gb", "status", "description"])]
    for e in experiments:
        value = "" if e.value is None else f"{e.value:.6g}"
        memory = "" if e.memory_gb is None else f"{e.memory_gb:.2f}"
        lines.append("\t".join([e.commit[:7], value, memory, e.status, _cell(f"#{e.number} {e.description}")]))
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(str(text).split())


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def _write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(json_safe(data), indent=1, allow_nan=False) + "\n").encode("utf-8"))
