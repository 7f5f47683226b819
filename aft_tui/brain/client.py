"""One request to a model through litellm, made robust.

Timeouts, retries with exponential backoff on rate limits, 5xx and connection errors
(honouring Retry-After), immediate plain sentences for a bad key, an unknown model or a
context that is too long, and token/cost accounting for the session. litellm is imported
on first use, configured so that importing it makes no network call.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from aft_tui.brain.base import BrainError
from aft_tui.brain.providers import is_local_url, model_access
from aft_tui.brain.request_failures import Failure, check_stream, classify
from aft_tui.redaction import redact
from aft_tui.settings import env_seconds

DEFAULT_TIMEOUT = 60.0
MAX_RETRIES = 3
MAX_RETRY_AFTER = 60.0

_litellm: Any = None


def load_litellm() -> Any:
    """Import litellm once, with its model-cost map read from the package (no network)."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        os.environ.setdefault("LITELLM_LOG", "ERROR")
        import litellm

        litellm.suppress_debug_info = True
        litellm.telemetry = False
        _litellm = litellm
    return _litellm


class LLMError(BrainError):
    """A request that failed for good; `kind` says why (auth, not_found, context, rate_limit, ...)."""

    def __init__(self, message: str, kind: str, status: int | None = None) -> None:
        super().__init__(redact(message))
        self.kind = kind
        self.status = status


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str = ""


@dataclass
class Reply:
    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LLMClient:
    """Talks to one model; shared by every request a brain makes so usage adds up per session."""

    def __init__(self, model: str, api_base: str | None = None, timeout: float | None = None,
                 max_retries: int = MAX_RETRIES, backoff_base: float = 1.0,
                 on_notice: Callable[[str], None] | None = None) -> None:
        self.model = model
        self.api_base = api_base
        # An explicit value (a flag, aft.toml, AFT_LLM_TIMEOUT already merged into the settings)
        # wins; without one the variable is read here, so every way of making a client honours it.
        self.timeout = float(timeout) if timeout is not None else (env_seconds("AFT_LLM_TIMEOUT") or DEFAULT_TIMEOUT)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.on_notice = on_notice
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost_usd: float | None = None
        self.requests = 0
        # Told each reply's share (model, prompt tokens, completion tokens, cost or None) so the
        # session can record its spending as it happens.
        self.on_usage: Callable[[str, int, int, float | None], None] | None = None
        self._tools_ok: bool | None = None
        self._json_ok: bool | None = None
        self.access = model_access(model, api_base)

    # -- accounting ----------------------------------------------------------------
    @property
    def usage(self) -> dict[str, Any]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "cost_usd": self.cost_usd, "requests": self.requests}

    def _account(self, response: Any, messages: list[dict[str, Any]], model: str | None = None) -> tuple[int, int]:
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        try:
            cost = load_litellm().completion_cost(completion_response=response, model=self.model)
        except Exception:  # unknown price (local or custom model): tokens are still counted
            cost = None
        if cost:
            self.cost_usd = (self.cost_usd or 0.0) + float(cost)
        if self.on_usage is not None:
            try:
                self.on_usage(model or self.model, prompt, completion, float(cost) if cost else None)
            except Exception:  # bookkeeping must never turn a good reply into a failed request
                pass
        return prompt, completion

    # -- the request -------------------------------------------------------------------
    def supports_tools(self) -> bool:
        if self._tools_ok is None:
            try:
                self._tools_ok = bool(load_litellm().supports_function_calling(model=self.model))
            except Exception:
                self._tools_ok = True  # unknown model (custom server): try, and fall back on refusal
            if not self._tools_ok and (self.access.local or self.api_base):
                self._tools_ok = True
        return self._tools_ok

    def supports_json(self) -> bool:
        if self._json_ok is None:
            try:
                litellm = load_litellm()
                model, provider, _, _ = litellm.get_llm_provider(self.model, api_base=self.api_base)
                params = litellm.get_supported_openai_params(model=model, custom_llm_provider=provider) or []
                self._json_ok = "response_format" in params
            except Exception:
                self._json_ok = False
        return self._json_ok

    async def complete(self, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]] | None = None,
                       stream: bool = False, on_chunk: Callable[[str], None] | None = None,
                       json_mode: bool = False, model: str | None = None) -> Reply:
        """One completion, retried on transient failures; raises LLMError with a clear sentence."""
        litellm = load_litellm()
        # Whatever a prompt quotes (a run's output, a traceback, the person's message) leaves
        # this machine: no secret goes with it.
        messages = [_redacted_message(m) for m in messages]
        kwargs = self._request_kwargs(model)
        if tools and self.supports_tools():
            kwargs["tools"] = tools
            if "_skip_mcp_handler" in _completion_constants(litellm):
                # This litellm imports its MCP gateway (an optional package) whenever tools are given;
                # plain function calling does not need it.
                kwargs["_skip_mcp_handler"] = True
        if json_mode and self.supports_json():
            kwargs["response_format"] = {"type": "json_object"}
        attempt = 0
        while True:
            streamed = False

            def forward(piece: str) -> None:
                nonlocal streamed
                streamed = True
                if on_chunk is not None:
                    on_chunk(piece)

            try:
                self.requests += 1
                return await self._once(litellm, messages, kwargs, stream, forward)
            except Exception as exc:  # classified below; nothing raw escapes
                failure = classify(exc)
                if failure.kind == "bad_request" and "tools" in kwargs and _mentions(exc, ("tool", "function")):
                    kwargs.pop("tools", None)
                    kwargs.pop("_skip_mcp_handler", None)
                    self._tools_ok = False
                    continue
                if failure.kind == "bad_request" and "response_format" in kwargs and _mentions(exc, ("response_format", "json")):
                    kwargs.pop("response_format", None)
                    self._json_ok = False
                    continue
                if failure.retryable and attempt < self.max_retries and not streamed:
                    delay = failure.retry_after if failure.retry_after is not None else \
                        self.backoff_base * (2 ** attempt) * (1 + random.random() * 0.25)
                    if delay > MAX_RETRY_AFTER:
                        raise self._final(failure) from None
                    attempt += 1
                    self._notice(f"{self.model}: {failure.short} — retry {attempt} of {self.max_retries} in {delay:.1f} s.")
                    await asyncio.sleep(delay)
                    continue
                raise self._final(failure, attempts=attempt) from None

    def _request_kwargs(self, model: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": model or self.model, "timeout": self.timeout, "max_retries": 0,
                                  "drop_params": True}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if (self.access.provider == "openai" and self.access.key_present is None and is_local_url(self.api_base)):
            # A local OpenAI-compatible server usually ignores the key, but the client insists on one.
            kwargs["api_key"] = "no-key-needed"
        return kwargs

    async def _once(self, litellm: Any, messages: list[dict[str, Any]], kwargs: dict[str, Any], stream: bool,
                    forward: Callable[[str], None]) -> Reply:
        if not stream:
            response = await litellm.acompletion(messages=messages, **kwargs)
            prompt, completion = self._account(response, messages, kwargs.get("model"))
            message = response.choices[0].message
            return Reply(redact(message.content or ""), _tool_calls(message), prompt, completion)
        response = await litellm.acompletion(messages=messages, stream=True,
                                             stream_options={"include_usage": True}, **kwargs)
        chunks = []
        async for chunk in response:
            chunks.append(chunk)
            choices = getattr(chunk, "choices", None) or []
            piece = getattr(getattr(choices[0], "delta", None), "content", None) if choices else None
            if piece:
                forward(redact(piece))
        built = litellm.stream_chunk_builder(chunks, messages=messages)
        check_stream(response, built)
        if built is None:
            return Reply("")
        prompt, completion = self._account(built, messages, kwargs.get("model"))
        message = built.choices[0].message
        return Reply(redact(message.content or ""), _tool_calls(message), prompt, completion)

    def _notice(self, text: str) -> None:
        if self.on_notice is not None:
            self.on_notice(redact(text))

    def _final(self, failure: Failure, attempts: int = 0) -> LLMError:
        model, where = self.model, self._where()
        kind = failure.kind
        if kind == "auth":
            names = " or ".join(self.access.key_vars) or "the provider's API key variable"
            text = (f"{where[:1].upper() + where[1:]} rejected the credentials for {model} (HTTP {failure.status}); set {names} in the "
                    f"environment to a valid key (AFT reads keys only from the environment and never stores them).")
        elif kind == "not_found":
            text = (f"The model '{model}' was not found at {where} (HTTP 404); check the name (litellm model strings "
                    f"look like openai/gpt-4o-mini or ollama/llama3.1) and that the model is available there.")
        elif kind == "context":
            text = (f"The request is too long for {model}'s context window; start a new conversation or choose a "
                    f"model with a larger context.")
        elif kind == "rate_limit":
            text = (f"The model {model} is rate-limited (HTTP 429) and still refused after {attempts} "
                    f"retr{'y' if attempts == 1 else 'ies'}; wait a minute and try again, or use another model.")
        elif kind == "server":
            text = (f"{where[:1].upper() + where[1:]} kept failing (HTTP {failure.status}) after {attempts} "
                    f"retr{'y' if attempts == 1 else 'ies'}; try again later or check the server's logs.")
        elif kind == "connection":
            text = (f"Could not connect to {where} after {attempts} retr{'y' if attempts == 1 else 'ies'}; check "
                    f"that the server is running and reachable (`aft doctor` probes it).")
        elif kind in ("not_json", "not_stream"):
            if kind == "not_stream":  # a streamed request: only the content type is known
                what = f"{failure.detail} instead of a stream of JSON events"
            else:
                what = "something that is not JSON" + (f" ({failure.detail})" if failure.detail else "")
            text = (f"{where[:1].upper() + where[1:]} answered HTTP 200 with {what}, so it is not a chat API for "
                    f"{model}; check the API base{self._api_base_hint()} and any proxy in between.")
        elif kind == "not_completion":
            keys = f" (it holds {failure.detail})" if failure.detail else ""
            text = (f"{where[:1].upper() + where[1:]} answered HTTP 200 with JSON that is not a chat completion{keys}, "
                    f"so it is not a chat API for {model}; check the API base{self._api_base_hint()} and any proxy "
                    f"in between.")
        elif kind == "timeout":
            text = (f"The model {model} did not answer within {self.timeout:g} s, so the request was abandoned; try again, or "
                    f"allow more time with AFT_LLM_TIMEOUT=<seconds>.")
        else:
            detail = f": {failure.detail}" if failure.detail else ""
            text = f"The request to {model} failed (HTTP {failure.status or '?'}){detail}."
        return LLMError(text, kind, failure.status)

    def _api_base_hint(self) -> str:
        if not self.api_base:
            return " (--api-base or AFT_API_BASE, if one is set)"
        if self.access.provider == "openai" and not self.api_base.rstrip("/").endswith("/v1"):
            return f" ({self.api_base}; an OpenAI-compatible server's usually ends in /v1)"
        return f" ({self.api_base})"

    def _where(self) -> str:
        if self.api_base:
            return f"the server at {self.api_base}"
        return f"the {self.access.provider} API"


def _redacted_message(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, str):
        cleaned = redact(content)
        return message if cleaned is content else {**message, "content": cleaned}
    if isinstance(content, list):  # content parts: only the text parts hold text
        parts = [{**p, "text": redact(p["text"])} if isinstance(p, dict) and isinstance(p.get("text"), str) else p
                 for p in content]
        return {**message, "content": parts}
    return message


def _mentions(exc: BaseException, words: tuple[str, ...]) -> bool:
    text = str(exc).lower()
    return any(w in text for w in words)


def _tool_calls(message: Any) -> list[ToolCall]:
    calls = []
    for call in getattr(message, "tool_calls", None) or []:
        function = getattr(call, "function", None)
        raw = getattr(function, "arguments", "") or ""
        try:
            args = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            args = {"_malformed": raw}
        if not isinstance(args, dict):
            args = {"_malformed": raw}
        calls.append(ToolCall(id=getattr(call, "id", "") or f"call_{len(calls)}",
                              name=getattr(function, "name", "") or "", arguments=args, raw_arguments=raw))
    return calls


_CONSTANTS: tuple[Any, ...] | None = None


def _completion_constants(litellm: Any) -> tuple[Any, ...]:
    global _CONSTANTS
    if _CONSTANTS is None:
        try:
            _CONSTANTS = tuple(inspect.unwrap(litellm.main.completion).__code__.co_consts)
        except Exception:
            _CONSTANTS = ()
    return _CONSTANTS
