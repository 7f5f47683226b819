"""A scripted stand-in for a language model, so the `llm` and `hybrid` rows run offline.

It is a real OpenAI-compatible HTTP server on 127.0.0.1 (`/v1/chat/completions`, JSON replies),
so the benchmark exercises the whole path a real model takes: AFT's brain builds the prompt,
litellm sends it, the reply is parsed and validated, and the strategy runs what comes back.
What it *answers* is a fixed heuristic, not a model:

* asked for parameters (the `llm` strategy), it starts from the best trial so far, applies what
  the curve findings say in words ("more epochs would likely help", "lower the learning rate",
  "overfitting"), and otherwise moves one parameter by a random step (seeded by the history,
  so a session is repeatable);
* asked to review the optimizer's proposal (the `hybrid` strategy), it accepts it, except when
  the findings report divergence and the proposal does not lower the learning rate: then it
  overrides with the learning rate halved (in the range's scale).

So these rows measure the hooks and that heuristic, not what a language model would do.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _unit(dim: dict[str, Any], value: float) -> float:
    low, high = float(dim["low"]), float(dim["high"])
    if dim.get("log_scale"):
        low, high, value = math.log(low), math.log(high), math.log(max(float(value), float(dim["low"])))
    return 0.0 if high == low else (float(value) - low) / (high - low)


def _value(dim: dict[str, Any], u: float) -> Any:
    u = min(1.0, max(0.0, u))
    low, high = float(dim["low"]), float(dim["high"])
    if dim.get("log_scale"):
        x = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    else:
        x = low + u * (high - low)
    x = min(high, max(low, x))
    return int(round(x)) if dim["type"] == "int" else float(f"{x:.4g}")


def _kind(name: str) -> str:
    n = name.lower()
    if n in ("lr", "learning_rate") or n.endswith("_lr"):
        return "lr"
    if "epoch" in n:
        return "epochs"
    return ""


def _best(payload: dict[str, Any]) -> dict[str, Any]:
    direction = (payload.get("objective") or {}).get("direction") or "max"
    rows = [r for r in payload.get("history") or [] if r.get("status") == "ok" and isinstance(r.get("value"), (int, float))]
    defaults = {d["name"]: d["default"] for d in payload.get("search_space") or []}
    if not rows:
        return defaults
    best = (max if direction == "max" else min)(rows, key=lambda r: r["value"])
    return {**defaults, **(best.get("params") or {})}


def propose(payload: dict[str, Any]) -> dict[str, Any]:
    """The stand-in's reply to a parameter request (see the module doc)."""
    space = {d["name"]: d for d in payload.get("search_space") or []}
    params = _best(payload)
    text = " ".join(str(f) for f in payload.get("findings") or []).lower()
    seed = zlib.crc32(json.dumps(payload.get("history") or [], sort_keys=True, default=str).encode())
    rng = random.Random(seed)
    moved = []
    for name, dim in space.items():
        if dim["type"] == "categorical":
            continue
        kind = _kind(name)
        step = 0
        if kind == "epochs" and "more epochs would likely help" in text:
            step = +1
        elif kind == "epochs" and "overfitting" in text:
            step = -1
        elif kind == "lr" and ("lower the learning rate" in text or "diverged" in text):
            step = -1
        elif kind == "lr" and "higher learning rate" in text:
            step = +1
        if step:
            params[name] = _value(dim, _unit(dim, params[name]) + 0.15 * step)
            moved.append(name)
    if not moved:
        name = rng.choice(sorted(space))
        dim = space[name]
        if dim["type"] == "categorical":
            params[name] = rng.choice(dim["choices"])
        else:
            params[name] = _value(dim, _unit(dim, params[name]) + rng.choice((-1, 1)) * rng.uniform(0.05, 0.25))
        moved.append(name)
    return {"params": params, "rationale": f"stand-in heuristic: from the best trial so far, changed {', '.join(moved)}"}


def review(payload: dict[str, Any]) -> dict[str, Any]:
    """The stand-in's reply to the hybrid review of an optimizer proposal."""
    proposal = dict(payload.get("optimizer_proposal") or {})
    text = " ".join(str(f) for f in payload.get("findings") or []).lower()
    best = _best(payload)
    space = {d["name"]: d for d in payload.get("search_space") or []}
    lr = next((n for n in space if _kind(n) == "lr" and space[n]["type"] != "categorical"), None)
    if lr and ("diverged" in text or "lower the learning rate" in text) and proposal.get(lr, 0) >= best.get(lr, 0):
        dim = space[lr]
        proposal[lr] = _value(dim, _unit(dim, best[lr]) - 0.1)
        return {"action": "override", "params": proposal,
                "rationale": "stand-in heuristic: the last run diverged, so the learning rate goes down"}
    return {"action": "accept", "rationale": "stand-in heuristic: nothing in the findings argues against it"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._send(200, {"object": "list", "data": [{"id": "stand-in", "object": "model", "owned_by": "benchmark"}]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        messages = body.get("messages") or []
        system = next((m.get("content", "") for m in messages if m.get("role") == "system"), "")
        user = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "{}")
        try:
            payload = json.loads(user)
        except (TypeError, json.JSONDecodeError):
            payload = {}
        reply = review(payload) if "optimizer's proposal" in system else propose(payload)
        content = json.dumps(reply)
        self._send(200, {
            "id": f"chatcmpl-{int(time.time() * 1000)}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "stand-in"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": len(user) // 4, "completion_tokens": len(content) // 4,
                      "total_tokens": (len(user) + len(content)) // 4},
        })

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class StandInModel:
    """Start with `start()`; `url` is the api_base to give AFT; `stop()` when done."""

    def __init__(self) -> None:
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> "StandInModel":
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="stand-in-model", daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
