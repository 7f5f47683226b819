"""`aft doctor` on the assistant's model: usable or not, and why, never printing a key."""

from __future__ import annotations

import socket
import time

from aft_tui.doctor import _llm, model_status
from tests.brain.conftest import MODEL, PLANTED_KEY


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_no_model_configured_says_the_offline_brain_answers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AFT_MODEL", raising=False)
    rows = {name: (ok, text) for name, ok, text in _llm()}
    ok, text = rows["llm model"]
    assert ok and "offline brain" in text and "--model" in text


def test_a_local_server_that_answers_is_usable(server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AFT_MODEL", MODEL)
    monkeypatch.setenv("AFT_API_BASE", server.url)
    rows = {name: (ok, text) for name, ok, text in _llm()}
    ok, text = rows["llm model"]
    assert ok, text
    assert text.startswith(f"{MODEL} (AFT_MODEL): usable: the openai server via {server.url} answered")
    assert "OPENAI_API_KEY" in rows["llm keys"][1]
    assert all(PLANTED_KEY not in t for _, t in rows.values())
    assert server.requests == []  # the probe is a GET of /models, not a completion


def test_a_local_server_that_is_down_is_reported_within_two_seconds(monkeypatch):
    base = f"http://127.0.0.1:{_closed_port()}/v1"
    started = time.monotonic()
    ok, text = model_status(MODEL, base)
    assert not ok and time.monotonic() - started < 3
    assert f"no answer from {base} within 2 s" in text and "start the server" in text


def test_ollama_models_are_probed_at_the_default_address(monkeypatch):
    ok, text = model_status("ollama/llama3.1", f"http://127.0.0.1:{_closed_port()}")
    assert not ok and "no answer" in text


def test_a_hosted_model_needs_its_providers_key(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    ok, text = model_status("anthropic/claude-3-5-haiku-latest", None)
    assert not ok and "ANTHROPIC_API_KEY is not set" in text
    monkeypatch.setenv("ANTHROPIC_API_KEY", PLANTED_KEY)
    ok, text = model_status("claude-3-5-haiku-latest", None)
    assert ok and "credentials found in ANTHROPIC_API_KEY" in text and PLANTED_KEY not in text
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    ok, text = model_status("gpt-4o-mini", None)
    assert not ok and "OPENAI_API_KEY" in text
