"""The LLM brain's chat and its robustness, over HTTP against the scripted server."""

from __future__ import annotations

import time

import pytest

from aft_tui.brain.client import LLMClient, LLMError
from tests.brain.conftest import MODEL, PLANTED_KEY
from tests.brain.llm_server import error, text


async def test_streaming_text_arrives_in_chunks_and_usage_is_counted(brain, server):
    server.script(text("The best trial so far is trial 2 with val_acc 0.83."))
    chunks: list[str] = []
    reply = await brain.chat("how is it going?", {"target": "train.py", "metric": "val_acc"}, chunks.append, None)
    assert reply == "The best trial so far is trial 2 with val_acc 0.83."
    assert len(chunks) > 1 and "".join(chunks) == reply
    assert brain.usage["prompt_tokens"] == 11 and brain.usage["completion_tokens"] == 7
    assert brain.usage["cost_usd"] is None  # a custom model has no known price
    request = server.requests[-1]
    assert request["body"]["stream"] is True and request["body"]["model"] == "test-model"
    system = request["body"]["messages"][0]["content"]
    assert '"target":"train.py"' in system and PLANTED_KEY not in system


async def test_the_conversation_is_remembered_between_messages(brain, server):
    server.script(text("First answer."), text("Second answer."))
    await brain.chat("first question", {}, lambda _: None, None)
    await brain.chat("second question", {}, lambda _: None, None)
    roles = [(m["role"], m.get("content")) for m in server.requests[-1]["body"]["messages"]]
    assert ("user", "first question") in roles and ("assistant", "First answer.") in roles
    assert roles[-1] == ("user", "second question")


async def test_rate_limit_then_success_is_retried_after_retry_after(brain, server):
    server.script(error(429, "Rate limit reached", headers={"Retry-After": "1"}), text("Fine now."))
    started = time.monotonic()
    reply = await brain.chat("hello", {}, lambda _: None, None)
    assert reply == "Fine now."
    assert time.monotonic() - started >= 0.9  # Retry-After: 1 was honoured (backoff alone would be 0.01 s)
    assert len(server.requests) == 2
    assert any("rate-limited (HTTP 429)" in line and "retry 1 of 3" in line for line in brain.infos)


async def test_server_errors_are_retried_three_times_then_reported(brain, server):
    server.script(*[error(500, "internal error")] * 4)
    reply = await brain.chat("hello", {}, lambda _: None, None)
    assert len(server.requests) == 4  # the first try and three retries
    assert reply.startswith("The server at http://127.0.0.1:") and "kept failing (HTTP 500) after 3 retries" in reply
    assert server.remaining == 0


async def test_a_bad_key_fails_at_once_with_the_variable_to_set_and_no_key(brain, server):
    server.script(error(401, "Incorrect API key provided", echo_auth=True), text("never reached"))
    reply = await brain.chat("hello", {}, lambda _: None, None)
    assert len(server.requests) == 1  # no retry
    assert "rejected the credentials" in reply and "set OPENAI_API_KEY" in reply
    assert PLANTED_KEY not in reply and PLANTED_KEY not in " ".join(brain.infos)


async def test_an_unknown_model_fails_at_once(brain, server):
    server.script(error(404, "The model `test-model` does not exist", code="model_not_found"))
    reply = await brain.chat("hello", {}, lambda _: None, None)
    assert len(server.requests) == 1
    assert "The model 'openai/test-model' was not found" in reply and "(HTTP 404)" in reply


async def test_a_request_past_the_timeout_is_abandoned_with_a_clear_message(server):
    from aft_tui.brain.llm import LLMBrain

    brain = LLMBrain(MODEL, api_base=server.url, timeout=1.0, backoff_base=0.01)
    server.script(text("too late", sleep=2.5))
    started = time.monotonic()
    reply = await brain.chat("hello", {}, lambda _: None, None)
    assert time.monotonic() - started < 2.4
    assert "did not answer within 1 s" in reply and "AFT_LLM_TIMEOUT" in reply


async def test_context_too_long_shrinks_the_context_and_retries_once(brain, server):
    context = {"target": "train.py", "runs": [{"number": i, "status": "ok", "value": i / 100} for i in range(1, 21)],
               "latest_findings": [{"sentence": "Overfitting after epoch 3."}]}
    server.script(error(400, "This model's maximum context length is 8192 tokens. However, your messages resulted "
                             "in 9100 tokens.", code="context_length_exceeded"), text("Short answer."))
    reply = await brain.chat("summarise", context, lambda _: None, None)
    assert reply == "Short answer."
    first, second = (r["body"]["messages"][0]["content"] for r in server.requests)
    assert '"number":20' in first and '"number":10,' in first and "Overfitting" in first
    assert '"number":20' in second and '"number":10,' not in second and "Overfitting" not in second
    assert any("shorter context" in line for line in brain.infos)


async def test_context_too_long_twice_gives_up_with_a_clear_message(brain, server):
    too_long = error(400, "maximum context length is 8192 tokens", code="context_length_exceeded")
    server.script(too_long, too_long)
    reply = await brain.chat("summarise", {}, lambda _: None, None)
    assert len(server.requests) == 2
    assert "too long for openai/test-model's context window" in reply


async def test_connection_refused_is_retried_then_reported(server):
    port = server.port
    client = LLMClient(MODEL, api_base=f"http://127.0.0.1:{_free_port()}/v1", timeout=2, backoff_base=0.01)
    with pytest.raises(LLMError) as caught:
        await client.complete([{"role": "user", "content": "hi"}])
    assert caught.value.kind == "connection" and "Could not connect" in caught.value.message
    assert client.requests == 4
    assert port == server.port


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_redaction_removes_env_secrets_and_credential_shapes(monkeypatch):
    from aft_tui.redaction import redact, refresh_from_environment

    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdef-123456")
    refresh_from_environment()  # the secret set is computed once; a variable set later is added explicitly
    text_in = "key tok-abcdef-123456 and Authorization: Bearer abc.def-123456 and sk-live-0123456789abcdef"
    out = redact(text_in)
    assert "tok-abcdef-123456" not in out and "abc.def-123456" not in out and "sk-live-0123456789abcdef" not in out


async def test_cost_is_added_up_for_models_with_a_known_price(server):
    from aft_tui.brain.llm import LLMBrain

    brain = LLMBrain("openai/gpt-4o-mini", api_base=server.url, timeout=2.0, backoff_base=0.01)
    server.script(text("One."), text("Two."))
    await brain.chat("a", {}, lambda _: None, None)
    first = brain.usage["cost_usd"]
    await brain.chat("b", {}, lambda _: None, None)
    assert first and first > 0 and brain.usage["cost_usd"] > first  # priced from litellm's bundled cost map
    assert brain.usage["prompt_tokens"] == 22 and brain.usage["requests"] == 2
