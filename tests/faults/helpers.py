"""What the fault tests share: a JSON reader as strict as the parsers people feed AFT's files to
(the project maker is tests/engine/helpers.script_project)."""

from __future__ import annotations

import json


def strict_json(text: str) -> object:
    """`json.loads` refusing the bare NaN/Infinity Python's json module accepts by default."""

    def refuse(constant: str) -> object:
        raise ValueError(f"bare {constant} is not JSON")

    return json.loads(text, parse_constant=refuse)
