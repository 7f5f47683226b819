"""The tunable-parameter record shared by discovery, refactoring and the search space.

One type flows from "what did we find in the script" to "what does the tuner vary", so a
parameter keeps its provenance (where it was found, how it is set) all the way to the commit
message that records a trial's choice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aft_tui.target.names import prefers_float

if TYPE_CHECKING:
    import libcst as cst

    from aft_tui.target.script import Script

ParamType = Literal["float", "int", "bool", "str"]
ParamSource = Literal[
    "argparse",  # an existing command-line flag
    "constant",  # a module-level constant such as LR = 3e-4
    "kwarg",  # a literal keyword argument of a known call: Adam(lr=1e-3)
    "hf_dataclass",  # a field of an HfArgumentParser dataclass
    "training_args",  # TrainingArguments(...) keyword
    "lora_config",  # LoraConfig(...) keyword
    "config_file",  # a key of a YAML/JSON config the script reads
    "loop",  # for epoch in range(10)
    "tyro",  # a field of the dataclass (or a parameter of the function) given to tyro.cli
    "click",  # a @click.option
    "typer",  # a parameter of a typer command
    "jsonargparse",  # a parameter read by jsonargparse (CLI, ArgumentParser, LightningCLI)
    "configurator",  # a global overridden by an exec'd configurator: --key=value
    "cfgnode",  # a key of a config-node tree merged from sys.argv: --trainer.lr=3e-4
    "hydra",  # a key of a Hydra/OmegaConf config, set as a dotlist item: trainer.lr=3e-4
    "absl",  # an absl flags.DEFINE_* flag
    "fire",  # a keyword parameter of the callable given to fire.Fire
]


@dataclass
class Param:
    """A hyperparameter AFT can vary.

    `flag` is the command-line flag that sets it once the script exposes it (None for a
    config-file key, which is set by writing a per-trial config instead).
    """

    name: str
    type: ParamType
    default: Any
    source: ParamSource = "argparse"
    flag: str | None = None
    choices: list[Any] | None = None
    location: str = ""
    help: str | None = None
    # Suggested search range (low, high, log) for numeric parameters; None means "let the
    # search-space heuristics decide".
    low: float | None = None
    high: float | None = None
    log: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Param":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def literal_param(script: Script, node: cst.CSTNode, ptype: str, default: Any, code: str, *, name: str,
                  typed_by: str, source: ParamSource, location: str, help: str, prefix: str, tunable: bool,
                  lead: dict[str, Any] | None = None, tail: dict[str, Any] | None = None) -> Param:
    """A setting written as a literal in the script (`node`, spelled `code`).

    An integer literal whose name (`typed_by`) says it is a float (`lr = 1`) becomes a float, and
    `extra["site"]` records where the literal is so the refactor can replace it. `lead` and `tail`
    are the extra keys that go before and after the site, prefix and tunable keys.
    """
    if ptype == "int" and prefers_float(typed_by, default):
        ptype, default = "float", float(default)
    line, col = script.pos(node)
    site = {"line": line, "col": col, "code": code}
    extra = {**(lead or {}), "site": site, "prefix": prefix, "tunable": tunable, **(tail or {})}
    return Param(name=name, type=ptype, default=default, source=source, location=location, help=help,  # type: ignore[arg-type]
                 extra=extra)
