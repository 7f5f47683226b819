"""Keep secrets out of everything AFT shows or writes.

Keys are read from the environment by litellm itself; AFT never copies them. Error texts
from providers or proxies can still echo a key back, so every sentence built from an
exception passes through `redact` before it reaches an event, a log or the screen.
"""

from __future__ import annotations

import os
import re

_SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_API_KEY")
_MIN_SECRET_LEN = 6
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]{6,}"),
    re.compile(r"(?i)((?:api[_-]?key|x-api-key|authorization|token)[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._~+/=\-]{6,}"),
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
)
REDACTED = "[redacted]"


def secret_values() -> list[str]:
    """Values of environment variables whose names mark them as secrets, longest first."""
    values = {value for name, value in os.environ.items()
              if name.upper().endswith(_SECRET_SUFFIXES) and value and len(value) >= _MIN_SECRET_LEN}
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every secret value and anything shaped like a credential replaced."""
    if not text:
        return text
    for value in secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text
