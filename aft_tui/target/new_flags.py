"""Names and help texts of the flags a refactor adds.

A new flag never takes a name the script already understands (its own flags stay its own), and
its help says where the value was written in the script.
"""

from __future__ import annotations

import keyword

from aft_tui.target.literals import last_part
from aft_tui.target.names import identifier
from aft_tui.target.params import Param


def help_for(param: Param) -> str:
    """The new flag's --help: where the value was written, so the person recognises it."""
    where = param.location
    if param.extra.get("keyword") == "betas":
        index = 0 if param.name.endswith("1") else 1
        return f"betas[{index}] of {last_part(param.extra.get('call'))}() at {where}"
    origin = param.extra.get("origin")
    more = len(param.extra.get("sites") or ()) - 1
    also = f" and {more} more place{'s' if more > 1 else ''}" if more > 0 else ""
    if origin == "dataclass_default":
        return f"default of {param.extra.get('dataclass')}.{param.extra.get('field')} at {where}"
    if origin == "dict_key":
        return f"{param.extra.get('key')!r} of the {param.extra.get('dict') or 'parameter'} dict at {where}"
    if origin == "update_step":
        return f"learning rate of the update step at {where}{also}"
    if origin == "module_value" and not param.extra.get("constant"):
        return f"{param.help} at {where}"
    if param.source == "constant":
        return f"{param.extra.get('constant')} (module constant at {where})"
    if param.source == "loop":
        return f"number of epochs (bound of the epoch loop at {where})"
    call = last_part(param.extra.get("call"))
    return f"{param.extra.get('keyword')} of {call}() at {where}{also}"


def dest_for(param: Param, taken: set[str]) -> str:
    """The flag's name: the parameter's, or, when the script already has a flag of that name
    (a dead `--lr` next to the literal that decides), the parameter's prefixed name."""
    name = identifier(param.name)
    prefix = param.extra.get("prefix")
    if name in taken and prefix:
        return identifier(f"{prefix}_{name}")
    return name


def free_name(name: str, taken: set[str]) -> str:
    """`name`, or `name_2`, `name_3`, ... so it clashes with no keyword and no existing dest."""
    if keyword.iskeyword(name):
        name += "_"
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    return candidate


def free_flag(flag: str, options: set[str]) -> str:
    """`flag`, or `flag-2`, ... so it clashes with no option the script already takes."""
    candidate, n = flag, 2
    while candidate in options:
        candidate, n = f"{flag}-{n}", n + 1
    return candidate
