"""Whether two runs of the same configuration repeated each other exactly: the test that lets
research settle its noise at zero after two baseline runs instead of three.

The final objective alone cannot tell. An accuracy over 90 examples moves in steps of 1/90, and
two runs that differ can land on the same step: a Trainer example scored 0.9667 in both baseline
runs while its evaluation loss differed in the fourth digit, and five runs more of the same
configuration scored from 0.91 to 0.97. Read as deterministic, it would have kept any change that
scored one step higher by chance. A loss at every evaluation does not coincide by chance, so two
runs repeat each other only when every value of the objective and of each loss they reported
matches, evaluation by evaluation (timings, which always differ, are not compared).
"""

from __future__ import annotations

import json
import math
from typing import Any

from aft_tui.metric_names import is_loss


def signature(history: list[dict[str, Any]] | None, metric: str | None) -> str:
    """What two repeating runs share: per evaluation, the objective and every loss."""
    rows = []
    for row in history or []:
        if not isinstance(row, dict):
            continue
        kept = sorted((str(k), float(v)) for k, v in row.items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                      and (k == metric or is_loss(str(k))))
        rows.append(kept)
    return json.dumps(rows)


def repeated(values: list[float], signatures: list[str]) -> bool:
    """Two runs with the same objective and the same curves: the script is deterministic."""
    return len(values) == 2 and values[0] == values[1] and len(signatures) == 2 and signatures[0] == signatures[1]
