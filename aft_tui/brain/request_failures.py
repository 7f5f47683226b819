"""A failed model request sorted into a kind: what to retry, what to say at once.

litellm's exception classes are not reliable across providers (a 401 can arrive as a
BadRequestError) and a server that is no chat API at all (a proxy's login page, a web server at
the wrong path) shows up as an HTTP 500 or an empty stream. The kind decides whether the client
retries and which sentence it says (`LLMClient._final`).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

from aft_tui.redaction import redact


@dataclass
class Failure:
    kind: str
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""

    @property
    def retryable(self) -> bool:
        return self.kind in ("rate_limit", "server", "connection")

    @property
    def short(self) -> str:
        return {"rate_limit": "rate-limited (HTTP 429)", "server": f"server error (HTTP {self.status})",
                "connection": "connection failed"}.get(self.kind, self.kind)


def classify(exc: BaseException) -> Failure:
    """Sort an exception from litellm into a failure kind by status code first, class name second.

    litellm's exception classes are not reliable across providers (a 401 can arrive as a
    BadRequestError), the HTTP status is.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    status = getattr(exc, "status_code", None)
    try:
        status = int(status) if status is not None else None
    except (TypeError, ValueError):
        status = None
    text = str(exc)
    detail = redact(_server_message(text))[:300]
    if "ContextWindowExceededError" in names or "context_length_exceeded" in text or "maximum context length" in text:
        return Failure("context", status, detail=detail)
    odd = _not_an_api_reply(exc, text)
    if odd is not None:
        return odd
    if "Timeout" in names or "APITimeoutError" in names or isinstance(exc, asyncio.TimeoutError) or status == 408:
        return Failure("timeout", status, detail=detail)
    connection_words = ("Connection error", "ConnectError", "Connection refused", "Cannot connect", "Name or service not known")
    if status in (None, 500) and (any(w in text for w in connection_words)
                                  or ("APIConnectionError" in names and "No module named" not in text)):
        return Failure("connection", status, detail=detail)
    if status in (401, 403) or "AuthenticationError" in names or "PermissionDeniedError" in names:
        return Failure("auth", status or 401, detail=detail)
    if status == 404 or "NotFoundError" in names:
        return Failure("not_found", status or 404, detail=detail)
    if status == 429 or "RateLimitError" in names:
        return Failure("rate_limit", 429, _retry_after(exc), detail)
    if status is not None and status >= 500:
        return Failure("server", status, _retry_after(exc), detail)
    return Failure("bad_request", status, detail=detail)


class NotAStreamError(Exception):
    """A streamed request answered with a body that is no event stream (an HTML page, plain JSON)."""

    def __init__(self, content_type: str) -> None:
        super().__init__(f"the reply was {content_type}, not an event stream")
        self.content_type = content_type


# litellm's words for a 2xx reply whose body is not a chat completion. (A server's own error
# message may quote a JSON parser, so the parser's exception is looked for, not its words.)
_RECEIVED = re.compile(r"Empty or invalid response from LLM endpoint\. Received: (.*)\. Check the reverse proxy", re.S)
_NO_CHOICES = re.compile(r"response with no 'choices'\.?(?: Raw keys: (\[[^\]]*\]))?")


def _not_an_api_reply(exc: BaseException, text: str) -> Failure | None:
    """A server that answered 200 with something other than a chat completion (a proxy's login page,
    a web server at the wrong path). litellm reports it as HTTP 500, which it is not, and it would
    be the same on every retry."""
    if isinstance(exc, NotAStreamError):
        return Failure("not_stream", 200, detail=exc.content_type)
    received = _RECEIVED.search(text)
    if received is not None:
        body = " ".join(received.group(1).split())
        return Failure("not_json", 200, detail=body if len(body) <= 80 else body[:79] + "…")
    chain: BaseException | None = exc
    for _ in range(5):  # the parser's own exception, wherever litellm wrapped it
        if chain is None:
            break
        if isinstance(chain, json.JSONDecodeError):
            return Failure("not_json", 200)
        chain = chain.__cause__ or chain.__context__
    no_choices = _NO_CHOICES.search(text)
    if no_choices is not None:
        return Failure("not_completion", 200, detail=no_choices.group(1) or "")
    return None


def _retry_after(exc: BaseException) -> float | None:
    headers: Any = None
    for attr in ("litellm_response_headers", "headers"):
        headers = getattr(exc, attr, None)
        if headers:
            break
    if not headers:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        value = dict(headers).get("retry-after") or dict(headers).get("Retry-After")
    except Exception:
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime
        import time

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def check_stream(response: Any, built: Any) -> None:
    """Raise NotAStreamError when a streamed reply held nothing and was not an event stream at all.

    A proxy's HTML page sent to a streamed request parses as an empty stream: without this the
    person would get an empty answer and no clue."""
    message = built.choices[0].message if built is not None and getattr(built, "choices", None) else None
    if message is not None and (getattr(message, "content", None) or getattr(message, "tool_calls", None)):
        return
    headers = (getattr(response, "_hidden_params", None) or {}).get("additional_headers") or {}
    content_type = str(headers.get("llm_provider-content-type") or "").split(";")[0].strip()
    if content_type and "event-stream" not in content_type:
        raise NotAStreamError(content_type)


def _server_message(text: str) -> str:
    """The provider's own sentence out of litellm's layered exception text."""
    for marker in ("OpenAIException - ", "Exception - ", "Error - "):
        if marker in text:
            text = text.rsplit(marker, 1)[-1]
            break
    return " ".join(text.split())
