"""`--notify CMD`: a command of the person's own, run with a JSON summary on standard input when
there is a new best, when experiments keep crashing, and at the end (Slack, ntfy, mail, ...).

The command runs through the shell with a time limit; its failure is said in one line and never
stops the research. The summary carries no environment values.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any, Callable

from aft_tui.fsutil import json_safe
from aft_tui.redaction import redact

NOTIFY_TIMEOUT = 30.0


def notify(command: str | None, event: str, summary: dict[str, Any], say: Callable[[str], None]) -> bool:
    if not command:
        return False
    payload = redact(json.dumps(json_safe({"event": event, **summary}), allow_nan=False))
    try:
        done = subprocess.run(command, shell=True, input=payload.encode("utf-8"), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=NOTIFY_TIMEOUT, env=_environment())
    except subprocess.TimeoutExpired:
        say(f"The --notify command did not finish within {NOTIFY_TIMEOUT:g} s; research goes on.")
        return False
    except OSError as exc:
        say(f"The --notify command could not start ({exc.strerror or exc}); research goes on.")
        return False
    if done.returncode != 0:
        tail = redact(done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:][0] if done.stderr.strip() else "")
        say(f"The --notify command exited with {done.returncode}{': ' + tail if tail else ''}; research goes on.")
        return False
    return True


def _environment() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["AFT_NOTIFY"] = "1"
    return env
