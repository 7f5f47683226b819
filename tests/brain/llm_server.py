"""A real OpenAI-compatible HTTP server for the brain's tests.

It listens on 127.0.0.1 (a free port), speaks `/v1/chat/completions` (plain JSON and SSE
streaming, text and tool calls) and `/v1/models`, and replays a script: each request takes
the next scripted step. Every request is recorded (body and headers) so tests can check
what the client sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Step:
    """One scripted reply."""

    content: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"name":..., "arguments": {...}}]
    status: int = 200
    error: str = ""
    error_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    sleep: float = 0.0  # seconds before answering (past the client's timeout = a timeout)
    echo_auth: bool = False  # put the request's Authorization header into the error (redaction tests)
    prompt_tokens: int = 11
    completion_tokens: int = 7
    raw: bytes | None = None  # sent as the whole body instead of a completion (a proxy's page, a wrong path)
    content_type: str = "text/html"  # of `raw`


def text(content: str, **kw: Any) -> Step:
    return Step(content=content, **kw)


def tool(name: str, arguments: dict[str, Any] | None = None, content: str = "") -> Step:
    return Step(content=content, tool_calls=[{"name": name, "arguments": arguments or {}}])


def error(status: int, message: str, code: str | None = None, **kw: Any) -> Step:
    return Step(status=status, error=message, error_code=code, **kw)


def raw(body: bytes, content_type: str = "text/html", status: int = 200) -> Step:
    """A reply that is not the API's: `body` as it is, with `status` (200: the server said all went well)."""
    return Step(status=status, raw=body, content_type=content_type)


class ScriptedLLMServer:
    def __init__(self) -> None:
        self.steps: deque[Step] = deque()
        self.requests: list[dict[str, Any]] = []
        self.model_ids = ["test-model"]
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> "ScriptedLLMServer":
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="llm-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The api_base to give litellm."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting ---------------------------------------------------------------
    def script(self, *steps: Step) -> None:
        with self._lock:
            self.steps.extend(steps)

    def reset(self) -> None:
        with self._lock:
            self.steps.clear()
            self.requests.clear()

    def next_step(self) -> Step:
        with self._lock:
            if self.steps:
                return self.steps.popleft()
        return error(500, "the test script has no reply left for this request")

    @property
    def remaining(self) -> int:
        return len(self.steps)

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)


class _Handler(BaseHTTPRequestHandler):
    owner: ScriptedLLMServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            body = {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "tests"} for m in self.owner.model_ids]}
            self._json(200, body)
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        self.owner.record({"path": self.path, "body": body, "headers": dict(self.headers.items())})
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        step = self.owner.next_step()
        if step.sleep:
            time.sleep(step.sleep)
        if step.raw is not None:
            self.send_response(step.status)
            self.send_header("Content-Type", step.content_type)
            self.send_header("Content-Length", str(len(step.raw)))
            self.end_headers()
            self.wfile.write(step.raw)
            self.wfile.flush()
            return
        if step.status != 200:
            message = step.error
            if step.echo_auth:
                message += f" (received Authorization: {self.headers.get('Authorization', '')})"
            payload = {"error": {"message": message, "type": "invalid_request_error", "code": step.error_code}}
            try:
                self._json(step.status, payload, step.headers)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        model = body.get("model", "test-model")
        try:
            if body.get("stream"):
                self._stream(step, model, bool((body.get("stream_options") or {}).get("include_usage")))
            else:
                self._json(200, _completion(step, model), step.headers)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    # -- replies -----------------------------------------------------------------
    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _stream(self, step: Step, model: str, include_usage: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        created = int(time.time())
        ident = f"chatcmpl-{created}"

        def send(delta: dict[str, Any], finish: str | None = None, usage: dict[str, Any] | None = None) -> None:
            chunk: dict[str, Any] = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if usage is None else []}
            if usage is not None:
                chunk["usage"] = usage
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

        send({"role": "assistant", "content": ""})
        for piece in _pieces(step.content):
            send({"content": piece})
        for i, call in enumerate(step.tool_calls):
            args = json.dumps(call.get("arguments", {}))
            send({"tool_calls": [{"index": i, "id": f"call_{i}_{created}", "type": "function",
                                  "function": {"name": call["name"], "arguments": ""}}]})
            for piece in _pieces(args, 12):
                send({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
        send({}, finish="tool_calls" if step.tool_calls else "stop")
        if include_usage:
            send({}, usage=_usage(step))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def _pieces(textual: str, size: int = 8) -> list[str]:
    return [textual[i:i + size] for i in range(0, len(textual), size)]


def _usage(step: Step) -> dict[str, int]:
    return {"prompt_tokens": step.prompt_tokens, "completion_tokens": step.completion_tokens,
            "total_tokens": step.prompt_tokens + step.completion_tokens}


def _completion(step: Step, model: str) -> dict[str, Any]:
    created = int(time.time())
    message: dict[str, Any] = {"role": "assistant", "content": step.content or None}
    if step.tool_calls:
        message["tool_calls"] = [{"id": f"call_{i}_{created}", "type": "function",
                                  "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))}}
                                 for i, c in enumerate(step.tool_calls)]
    return {"id": f"chatcmpl-{created}", "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if step.tool_calls else "stop"}],
            "usage": _usage(step)}
