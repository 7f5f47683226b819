"""Option declarations as click and typer write them: `"--lr", "-l"`, `"--shout/--no-shout"`, a
bare identifier naming the parameter.

Both libraries derive the parameter name and its switches from these strings with the same
rules, so they are read once here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class OptionDecls:
    name: str  # the Python parameter the option fills
    flag: str  # the option AFT passes (the first long form)
    off: str | None = None  # the declared off switch of a `--x/--no-x` pair

    @property
    def standard_pair(self) -> bool:
        bare = self.flag.lstrip("-")
        return self.off in (f"--no-{bare}", f"--no_{bare}")


def option_decls(decls: list[str], fallback_name: str | None = None) -> OptionDecls | None:
    """Parameter name and flags the declarations give; None when there is no option to set."""
    name = next((d for d in decls if d.isidentifier()), None)
    ons: list[str] = []
    off: str | None = None
    for decl in decls:
        if not decl.startswith("-"):
            continue
        if "/" in decl:
            first, _, second = decl.partition("/")
            ons.append(first.strip())
            off = off or (second.strip() or None)
        else:
            ons.append(decl)
    longs = [d for d in ons if d.startswith("--")]
    if name is None:
        source = longs[0] if longs else (ons[0] if ons else None)
        name = source.lstrip("-").replace("-", "_").lower() if source else fallback_name
    if name is None:
        return None
    flag = longs[0] if longs else (ons[0] if ons else "--" + name.replace("_", "-"))
    return OptionDecls(name=name, flag=flag, off=off)
