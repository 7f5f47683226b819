"""A proposed refactor as data: the new source, its diff, each new flag and the code it replaced,
and the sentences that explain it; nothing in it is written until the person approves it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from aft_tui.target.cli_structure import ArgparseInfo
from aft_tui.target.params import Param

# none: no flag added; new: a parser after the imports; merged: into the script's argparse parser;
# pass_through: a parser that takes AFT's flags off sys.argv before the script's own CLI reads it.
ParserMode = Literal["none", "new", "merged", "pass_through"]


@dataclass
class FlagBinding:
    """How one new flag replaced the original code, so the change can be undone for checking.

    mode "value": the literal itself was replaced by `args.dest`.
    mode "name": reads of the module constant `constant` were replaced by `args.dest` (used when
    the constant is defined before the script parses its arguments).
    mode "fallback": an expression E became `(E if args.dest is None else args.dest)`; the flag's
    default is None (used for config paths computed around a bare file name).
    """

    dest: str
    flag: str
    args_name: str
    mode: str
    original: str
    constant: str | None = None


@dataclass
class RefactorPlan:
    path: Path
    original: str
    new_source: str
    diff: str
    rationale: str
    lifted: list[Param] = field(default_factory=list)
    reporting: str = ""
    config_flag: str | None = None
    parser_mode: ParserMode = "none"
    bindings: list[FlagBinding] = field(default_factory=list)
    not_lifted: list[tuple[str, str]] = field(default_factory=list)
    unchanged_files: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new_source != self.original

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        data["lifted"] = [p.to_dict() for p in self.lifted]
        data["not_lifted"] = [list(x) for x in self.not_lifted]
        return data


def rationale(plan: RefactorPlan, name: str, info: ArgparseInfo | None, notes: list[str]) -> str:
    """The plan in words for the person deciding on it: what became a flag, how, and what did not."""
    parts: list[str] = []
    if plan.lifted or plan.config_flag:
        flags = ", ".join(f"{p.flag} (default {b.original})" for p, b in zip(plan.lifted, plan.bindings))
        if plan.lifted:
            how = {
                "merged": f"added to the script's existing argparse parser `{info.parser_var if info else 'parser'}`",
                "new": "declared by a small argparse parser after the imports",
                "pass_through": "declared by a small argparse parser that takes them off the command line before the script's own argument handling runs",
            }.get(plan.parser_mode, "declared")
            parts.append(
                f"Exposes {len(plan.lifted)} value{'s' if len(plan.lifted) != 1 else ''} of {name} as command-line "
                f"flags ({flags}), {how}; each default is the value the script used, so `python {name}` with no "
                "flags runs exactly as before."
            )
        if plan.config_flag:
            parts.append(f"The config file path is taken from {plan.config_flag}, so each trial can read its own config.")
    else:
        parts.append(f"No value of {name} needs to become a flag.")
    parts.extend(notes)
    if plan.reporting:
        parts.append(plan.reporting)
    if plan.not_lifted:
        parts.append("Not changed: " + "; ".join(f"{n}: {why}" for n, why in plan.not_lifted) + ".")
    if plan.unchanged_files:
        parts.append("Only " + name + " is edited; " + ", ".join(plan.unchanged_files) + " (imported) stay unchanged.")
    return " ".join(parts)
