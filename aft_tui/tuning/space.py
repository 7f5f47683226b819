"""The search space: which parameters vary, over what range, and how they reach the script.

Built from discovered `Param`s (their suggested ranges) and overridden by the project's
`[search.<name>]` tables, e.g. in aft.toml:

    [search.lr]
    low = 1e-4
    high = 1e-1
    log = true

    [search.batch_size]
    choices = [16, 32, 64]

    [search.seed]
    fixed = 0            # keep constant (also: exclude = true)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from aft_tui.errors import UserError
from aft_tui.target.params import Param
from aft_tui.formatting import fmt_value

Kind = Literal["float", "int", "categorical"]


@dataclass
class Dimension:
    name: str
    kind: Kind
    default: Any
    flag: str | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[Any] | None = None
    source: str = "argparse"
    presence_flag: bool = False  # store_true style: value True -> "--flag", False -> omitted
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Dimension":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def distribution(self) -> Any:
        """The Optuna distribution (imported lazily: optuna is heavy)."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.kind == "categorical":
            return CategoricalDistribution(list(self.choices or []))
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(float(self.low), float(self.high), log=self.log)

    def contains(self, value: Any) -> bool:
        if self.kind == "categorical":
            return value in (self.choices or [])
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        if not math.isfinite(number):
            return False
        if self.kind == "int" and int(number) != number:
            return False
        return float(self.low) <= number <= float(self.high)

    def describe(self) -> str:
        if self.kind == "categorical":
            return f"{self.name} ∈ {{{', '.join(map(str, self.choices or []))}}}"
        scale = " (log)" if self.log else ""
        return f"{self.name} ∈ [{fmt_value(self.low)}, {fmt_value(self.high)}]{scale}"


@dataclass
class SearchSpace:
    dims: list[Dimension]
    fixed: dict[str, Any] = field(default_factory=dict)
    # How fixed parameters reach the script (their flag or config key); values live in `fixed`.
    fixed_dims: list[Dimension] = field(default_factory=list)
    # Tunable parameters no dimension could be made for, with the reason (said once, at build).
    left_out: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_name = {d.name: d for d in self.dims}
        self._fixed_by_name = {d.name: d for d in self.fixed_dims}

    def __iter__(self):
        return iter(self.dims)

    def __len__(self) -> int:
        return len(self.dims)

    def get(self, name: str) -> Dimension | None:
        """The dimension of a tuned parameter, or the carrier of a fixed one."""
        return self._by_name.get(name) or self._fixed_by_name.get(name)

    def defaults(self) -> dict[str, Any]:
        return {d.name: d.default for d in self.dims}

    def fixed_only(self) -> "SearchSpace":
        """The fixed values that reach the script by a flag, and nothing tuned: the baseline's."""
        fixed_dims = [d for d in self.fixed_dims if d.flag]
        return SearchSpace([], {d.name: self.fixed[d.name] for d in fixed_dims if d.name in self.fixed}, fixed_dims)

    def distributions(self) -> dict[str, Any]:
        return {d.name: d.distribution() for d in self.dims}

    def validate(self, values: dict[str, Any]) -> list[str]:
        """Problems with a proposed assignment (unknown names, out-of-range values)."""
        problems = []
        for name, value in values.items():
            dim = self._by_name.get(name)
            if dim is None:
                problems.append(f"'{name}' is not in the search space")
            elif not dim.contains(value):
                problems.append(f"{name}={value!r} is outside {dim.describe()}")
        return problems

    def to_dict(self) -> dict[str, Any]:
        return {"dims": [d.to_dict() for d in self.dims], "fixed": dict(self.fixed),
                "fixed_dims": [d.to_dict() for d in self.fixed_dims], "left_out": dict(self.left_out)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SearchSpace":
        return cls([Dimension.from_dict(d) for d in data.get("dims", [])], dict(data.get("fixed", {})),
                   [Dimension.from_dict(d) for d in data.get("fixed_dims", [])], dict(data.get("left_out", {})))

    def describe(self) -> str:
        return "; ".join(d.describe() for d in self.dims)

    def seed(self) -> Dimension | None:
        """The script's seed flag when it is carried as a fixed parameter (`with_seed`)."""
        return next((d for d in self.fixed_dims if d.extra.get("aft_seed")), None)


def seed_param(params: list[Param]) -> Param | None:
    """The script's integer seed flag (`--seed 0`), the one setting a run may change to draw again."""
    from aft_tui.target.names import is_seed

    return next((p for p in params if p.flag and is_seed(p.name.rsplit(".", 1)[-1])
                 and isinstance(p.default, int) and not isinstance(p.default, bool)), None)


def with_seed(space: SearchSpace, params: list[Param]) -> SearchSpace:
    """The space with the script's integer seed flag carried at the script's own value, so that
    one run can be given another seed (research measures its noise across seeds). Unchanged when
    the script has no seed flag, or when the person tunes or fixes the seed themselves."""
    p = seed_param(params)
    if p is None or p.name in space.fixed or space.get(p.name) is not None:
        return space
    dim = Dimension(p.name, "categorical", p.default, p.flag, choices=[p.default], source=p.source,
                    extra={**p.extra, "aft_seed": True})
    return SearchSpace(space.dims, {**space.fixed, p.name: p.default}, [*space.fixed_dims, dim], space.left_out)


def dimension_from_param(param: Param) -> Dimension | None:
    """Turn a discovered parameter into a dimension, or None when it should not be tuned."""
    presence = param.type == "bool" and param.extra.get("action") in ("store_true", "store_false")
    if param.choices:
        kind: Kind = "categorical"
        return Dimension(param.name, "categorical", param.default, param.flag, choices=list(param.choices),
                         source=param.source, presence_flag=presence, extra=dict(param.extra))
    if param.type == "bool":
        return Dimension(param.name, "categorical", bool(param.default), param.flag, choices=[False, True],
                         source=param.source, presence_flag=presence, extra=dict(param.extra))
    if param.type not in ("int", "float") or param.default is None:
        return None
    kind = "int" if param.type == "int" else "float"
    default = param.default
    # The type follows the parameter, not the spelling of its default: `lr = 1` is a float rate,
    # and an int knob keeps int bounds so it is never proposed as 12.5.
    if kind == "float" and isinstance(default, int):
        default = float(default)
    elif kind == "int" and isinstance(default, float) and default.is_integer():
        default = int(default)
    if isinstance(default, bool) or not isinstance(default, (int, float)) or not math.isfinite(default):
        return None
    if kind == "int" and default < 0:
        return None  # `max_depth = -1`: a sentinel ("no limit"), not a point on a scale
    low, high, log = param.low, param.high, bool(param.log)
    if low is None or high is None:
        from aft_tui.tuning.ranges_fallback import fallback_range

        low, high, log = fallback_range(param.name, param.type, default)
        if low is None or high is None:
            low, high, log = _around(default, kind)
    low = min(low, default)
    high = max(high, default)
    if kind == "int":
        low, high = int(math.floor(low)), int(math.ceil(high))
    if log and (low <= 0):
        log = False
    if default == 0:
        low, log = min(low, 0), False  # zero means "off": only a linear range reaches it
    if low == high:
        low, high, log = _around(default, kind)
    return Dimension(param.name, kind, default, param.flag, low=low, high=high, log=log,
                     source=param.source, extra=dict(param.extra))


def _around(default: float, kind: Kind) -> tuple[float, float, bool]:
    """A range around a number no name told anything about: a positive count from half to twice
    itself, a positive float a decade each way, zero ("off") up to a small value, a negative
    float as far on its own side."""
    if kind == "int":
        n = int(default)
        return (max(1, n // 2), n * 2, False) if n >= 1 else (0, 10, False)
    if default > 0:
        return default / 10, default * 10, True
    if default == 0:
        return 0.0, 1.0, False
    return default * 10, default / 10, False


def why_no_dimension(param: Param) -> str:
    """Why `dimension_from_param` gave nothing for a parameter that is tuned."""
    if param.default is None:
        return f"no default to start from; set a range in [search.{param.name}]"
    if param.type == "str":
        return f"a string with no listed choices; list them in [search.{param.name}] choices = [...]"
    if param.type == "int" and isinstance(param.default, int) and param.default < 0:
        return (f"{param.default} reads as a sentinel such as \"no limit\", not a point on a scale; "
                f"set a range in [search.{param.name}]")
    return f"no range follows from its {param.type} default {param.default!r}; set one in [search.{param.name}]"


def build_space(params: list[Param], overrides: dict[str, dict[str, Any]] | None = None,
                only: list[str] | None = None) -> SearchSpace:
    overrides = overrides or {}
    known = {p.name for p in params}
    for name in list(overrides) + list(only or []):
        if name not in known:
            raise UserError(
                f"'{name}' is in the search space but the script has no such parameter; "
                f"known parameters: {', '.join(sorted(known)) or 'none'}."
            )
    dims: list[Dimension] = []
    fixed: dict[str, Any] = {}
    fixed_dims: list[Dimension] = []
    left_out: dict[str, str] = {}
    for param in params:
        override = overrides.get(param.name, {})
        if only is not None and param.name not in only:
            continue
        # Seeds, paths and plumbing flags are reported by discovery but tuned only on request.
        if only is None and not param.extra.get("tunable", True) and not override:
            continue
        if override.get("exclude"):
            continue
        if "fixed" in override:
            fixed[param.name] = override["fixed"]
            presence = param.type == "bool" and param.extra.get("action") in ("store_true", "store_false")
            fixed_dims.append(Dimension(param.name, "categorical", override["fixed"], param.flag,
                                        choices=[override["fixed"]], source=param.source, presence_flag=presence,
                                        extra=dict(param.extra)))
            continue
        dim = dimension_from_param(param)
        if "choices" in override:
            if not isinstance(override["choices"], list) or not override["choices"]:
                raise UserError(f"[search.{param.name}] choices must be a non-empty list, e.g. choices = [16, 32, 64] "
                                f"(use fixed = VALUE to keep one value).")
            dim = Dimension(param.name, "categorical", param.default, param.flag,
                            choices=list(override["choices"]), source=param.source, extra=dict(param.extra),
                            presence_flag=bool(dim and dim.presence_flag))
            if param.default not in dim.choices:
                dim.choices.insert(0, param.default)
        elif any(k in override for k in ("low", "high", "log")):
            base = dim or Dimension(param.name, "float" if param.type == "float" else "int", param.default,
                                    param.flag, source=param.source, extra=dict(param.extra))
            if base.kind == "categorical":
                raise UserError(f"[search.{param.name}] sets a range but '{param.name}' is categorical; use choices = [...].")
            base.low = override.get("low", base.low)
            base.high = override.get("high", base.high)
            base.log = bool(override.get("log", base.log))
            for bound in ("low", "high"):
                value = getattr(base, bound)
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                          or not math.isfinite(value)):
                    raise UserError(f"[search.{param.name}] {bound} must be a finite number (got {value!r}).")
            if base.low is None or base.high is None or base.low >= base.high:
                raise UserError(f"[search.{param.name}] needs low < high (got low={base.low}, high={base.high}).")
            if base.log and base.low <= 0:
                raise UserError(f"[search.{param.name}] log = true needs low > 0 (got low={base.low}); "
                                f"use a positive low or log = false.")
            if base.default is not None and not (base.low <= base.default <= base.high):
                base.low, base.high = min(base.low, base.default), max(base.high, base.default)
            dim = base
        if dim is not None:
            dims.append(dim)
        else:
            left_out[param.name] = why_no_dimension(param)
    return SearchSpace(dims, fixed, fixed_dims, left_out)
