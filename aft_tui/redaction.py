"""Keep secrets out of everything AFT writes, commits, shows or sends to a model.

A training script can print its own token (`RuntimeError("401 token=hf_...")`), and a provider
can echo a key back in an error. Whatever AFT keeps of such text (the run's log, the session
log, results, the Optuna journal, commit messages, git notes, diagnoses, prompts) would carry
the secret further than the person ever meant, and git history is hard to clean. So text is
redacted where it enters AFT (the launcher's output lines, exception texts), and again at the
writers that make it durable (session log, commits, notes).

Two things are replaced with `REDACTED`:

- the value of every environment variable whose name marks it as a secret (`*_KEY`,
  `*_TOKEN`, `*_SECRET`, `*_PASSWORD`, ... and a few well-known names), from AFT's own
  environment and from every trial's environment (`remember_environment`);
- text shaped like a credential whatever its origin: Hugging Face, OpenAI, GitHub, AWS and
  Slack tokens, JWTs, `Bearer ...`, `token=...`-style assignments, passwords in URLs.

Redaction runs on every line a trial prints, so it is built to cost about a microsecond for a
line that holds nothing to redact: the secret values are computed once (not per line), looked
up with plain substring tests, and the credential patterns run only when a cheap substring
test says one could match. This module is low-level on purpose (standard library only): the
run layer and the brain both use it, and neither may import the other for it.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"
MIN_SECRET_LEN = 6
"""Shorter values are not redacted: replacing every "1" or "true" would wreck the output and hide nothing."""

# A variable is a secret when the last part of its name (split on "_") is one of these...
_SECRET_LAST_PARTS = frozenset({
    "KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "PWD", "PASS", "CREDENTIALS",
    "CREDENTIAL", "PAT", "AUTH",
})
# ...or any part of it is one of these (AWS_SECRET_ACCESS_KEY_ID, GITHUB_TOKEN_RO, DB_PASSWORD_FILE is a path: fine)...
_SECRET_ANY_PARTS = frozenset({"SECRET", "PASSWORD", "PASSWD", "TOKEN", "APIKEY"})
# ...or it is one of these well-known names that the rules above would miss.
_SECRET_NAMES = frozenset({
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "WANDB_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID", "GITHUB_TOKEN", "GH_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PGPASSWORD",
    "MYSQL_PWD", "KAGGLE_KEY", "COMET_API_KEY", "NEPTUNE_API_TOKEN", "DATABASE_URL", "REDIS_URL", "MONGODB_URI",
})
# Names that look like secrets by the rules but hold something else.
_NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD", "SSH_AUTH_SOCK", "GPG_AGENT_INFO", "TOKENIZERS_PARALLELISM"})

_VALUE = r"[A-Za-z0-9._~+/=\-]"
_ASSIGN = (r"\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?(?:(?i:bearer|basic)[ \t]+)?)"
           rf"(?!(?i:bearer|basic)[ \t])(?=[A-Za-z0-9._~+/=\-]*[A-Za-z]){_VALUE}{{6,}}")


class _Rule:
    """A credential shape, found by a plain substring (`needle`) and confirmed by a regex.

    `pattern` is matched where the needle occurs; its `keep` group (the words announcing the
    credential) stays. Substring search is what makes redaction cheap: one regex with every
    shape as an alternative costs ten times more per line than all the needles together, and
    would run over a whole batch of output whenever any word like "key" appears in it.
    """

    __slots__ = ("needle", "lowered", "pattern", "word_start")

    def __init__(self, needle: str, pattern: str, *, lowered: bool = False, word_start: bool = True) -> None:
        self.needle = needle
        self.lowered = lowered  # looked for in the lower-cased text (the pattern is case-insensitive)
        self.pattern = re.compile(pattern)
        self.word_start = word_start  # the needle must not continue a word (`monkey: ...` is no key)


_RULES = (
    _Rule("hf_", r"hf_[A-Za-z0-9]{20,}"),
    _Rule("sk-", r"sk-(?=[A-Za-z0-9_\-]*[0-9])[A-Za-z0-9_\-]{16,}"),
    _Rule("gh", r"gh[pousr]_[A-Za-z0-9]{20,}"),
    _Rule("github_pat_", r"github_pat_[A-Za-z0-9_]{20,}"),
    _Rule("AKIA", r"AKIA[A-Z0-9]{16}(?![A-Za-z0-9])"),
    _Rule("ASIA", r"ASIA[A-Z0-9]{16}(?![A-Za-z0-9])"),
    _Rule("xox", r"xox[abprs]-[A-Za-z0-9\-]{10,}"),
    _Rule("eyJ", r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    _Rule("bearer", rf"(?P<keep>(?i:bearer)[ \t]+){_VALUE}{{6,}}", lowered=True),
    # `token=...`, `"api_key": "..."`, `HF_TOKEN=...`, `Authorization: Bearer ...`: the word is a
    # whole word or the last part of a name joined with `_` or `-`.
    _Rule("key", rf"(?P<keep>(?i:key){_ASSIGN}", lowered=True),
    _Rule("apikey", rf"(?P<keep>(?i:apikey){_ASSIGN}", lowered=True),
    _Rule("token", rf"(?P<keep>(?i:token){_ASSIGN}", lowered=True),
    _Rule("secret", rf"(?P<keep>(?i:secret){_ASSIGN}", lowered=True),
    _Rule("passw", rf"(?P<keep>(?i:passw(?:or)?d){_ASSIGN}", lowered=True),
    _Rule("pwd", rf"(?P<keep>(?i:pwd){_ASSIGN}", lowered=True),
    _Rule("authorization", rf"(?P<keep>(?i:authorization){_ASSIGN}", lowered=True),
    # user:password@host in a URL.
    _Rule("://", r"(?P<keep>://[^\s:/@\"']+:)[^\s@/\"']+(?=@)", word_start=False),
)
# Every needle in lower case: a text holding none of them holds no credential shape (the fast path).
_NEEDLES = tuple(dict.fromkeys(rule.needle.lower() for rule in _RULES))
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

_lock = threading.Lock()
_secrets: tuple[str, ...] | None = None  # longest first
_seen: set[str] = set()


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says that its value is a credential."""
    upper = name.upper()
    if upper in _NOT_SECRET_NAMES:
        return False
    if upper in _SECRET_NAMES or upper.endswith("PASSWORD"):
        return True
    parts = [p for p in upper.split("_") if p]
    if len(parts) < 2 and upper not in ("TOKEN", "SECRET", "PASSWORD", "APIKEY", "API_KEY"):
        return False
    return parts[-1] in _SECRET_LAST_PARTS or any(p in _SECRET_ANY_PARTS for p in parts)


def _forms(value: str) -> set[str]:
    """The value as it can appear in AFT's files: raw, and escaped inside a JSON string.

    A multi-line value (a PEM key) is redacted line by line, so a redacted text keeps its
    line count and output split across two reads is still caught.
    """
    forms: set[str] = set()
    for piece in re.split(r"[\r\n]+", value):
        piece = piece.strip()
        if len(piece) < MIN_SECRET_LEN:
            continue
        forms.add(piece)
        forms.add(json.dumps(piece)[1:-1])
        forms.add(json.dumps(piece, ensure_ascii=False)[1:-1])
    return forms


def _collect(env: Mapping[str, str]) -> set[str]:
    found: set[str] = set()
    for name, value in env.items():
        value = value if isinstance(value, str) else str(value)
        if len(value) >= MIN_SECRET_LEN and is_secret_name(str(name)):
            found |= _forms(value)
    return found


def remember_environment(env: Mapping[str, str]) -> None:
    """Add the secrets of `env` (a trial's environment) to what every later redaction removes.

    The set only grows: a secret a trial was given stays redacted in whatever AFT writes later
    about that trial (its diagnosis, its note), even after the variable is gone.
    """
    global _secrets
    found = _collect(env)
    with _lock:
        if _secrets is None:
            _seen.update(_collect(os.environ))
        if _secrets is not None and found <= _seen:
            return
        _seen.update(found)
        _secrets = tuple(sorted(_seen, key=len, reverse=True))


def refresh_from_environment() -> None:
    """Add the secrets of AFT's own environment as it is now (it may have changed since start)."""
    remember_environment(os.environ)


def secret_values() -> tuple[str, ...]:
    """Every secret value known to this process, longest first (computed once, then cached)."""
    if _secrets is None:
        remember_environment({})
    assert _secrets is not None
    return _secrets


def _credential_spans(text: str) -> list[tuple[int, int]]:
    """Where credential-shaped text lies in `text`: (start, end) of each part to replace."""
    lowered = text.lower()
    for needle in _NEEDLES:
        if needle in lowered:
            break
    else:
        return []
    if len(lowered) != len(text):  # a character whose lower case is longer (rare): keep positions aligned
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    spans: list[tuple[int, int]] = []
    for rule in _RULES:
        haystack = lowered if rule.lowered else text
        at = haystack.find(rule.needle)
        while at >= 0:
            if not rule.word_start or at == 0 or text[at - 1] not in _WORD:
                match = rule.pattern.match(text, at)
                if match is not None:
                    keep = match.end("keep") if "keep" in rule.pattern.groupindex else at
                    spans.append((keep, match.end()))
            at = haystack.find(rule.needle, at + 1)
    return spans


def _replace_spans(text: str, spans: list[tuple[int, int]]) -> str:
    pieces: list[str] = []
    done = 0
    for start, end in sorted(spans):
        if end <= done:
            continue
        start = max(start, done)
        pieces.append(text[done:start])
        pieces.append(REDACTED)
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def redact(text: str) -> str:
    """`text` with every known secret value and anything shaped like a credential replaced.

    Returns `text` itself (the same object) when there is nothing to replace, so a caller can
    tell cheaply whether anything changed.
    """
    if not text:
        return text
    secrets = _secrets if _secrets is not None else secret_values()
    for value in secrets:
        if value in text:
            text = text.replace(value, REDACTED)
    spans = _credential_spans(text)
    return _replace_spans(text, spans) if spans else text


def redact_lines(lines: list[str]) -> list[str]:
    """`lines` redacted; the same list when none needed it (the usual case for a trial's output)."""
    joined = "\n".join(lines)
    cleaned = redact(joined)
    return lines if cleaned is joined else cleaned.split("\n")


def redact_data(value: Any) -> Any:
    """A copy of JSON-like `value` with every string in it (keys included) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact_data(k) if isinstance(k, str) else k: redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value


__all__ = [
    "MIN_SECRET_LEN", "REDACTED", "is_secret_name", "redact", "redact_data",
    "redact_lines", "refresh_from_environment", "remember_environment", "secret_values",
]
