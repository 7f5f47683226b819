"""A server that answers 200 with something other than a chat completion is named for what it did.

A proxy's login page or a web server at the wrong path answers "200 OK" with HTML. litellm turns
that into "HTTP 500", which sent people looking at a healthy model server, and AFT retried it three
times although the answer can only be the same. The sentence now says what came back and where to
look, after one request.
"""

from __future__ import annotations

import pytest

from aft_tui.brain.client import LLMClient, LLMError
from tests.brain.conftest import MODEL
from tests.brain.llm_server import raw

PAGE = b"<html><body>Proxy login required</body></html>"


def _one_sentence(message: str) -> None:
    assert "\n" not in message and message.endswith(".")
    assert "HTTP 500" not in message and "retr" not in message


@pytest.mark.parametrize("body,content_type,shown", [
    (PAGE, "text/html", "('<html><body>Proxy login required</body></html>')"),
    (b"OK", "text/plain", "('OK')"),
    (b"", "text/plain", "('')"),
    (b"{not json", "application/json", ""),
])
async def test_a_reply_that_is_not_json_is_reported_once_as_such(server, body: bytes, content_type: str, shown: str):
    client = LLMClient(MODEL, api_base=server.url, timeout=5, backoff_base=0.01)
    server.script(raw(body, content_type), raw(body, content_type), raw(body, content_type), raw(body, content_type))
    with pytest.raises(LLMError) as caught:
        await client.complete([{"role": "user", "content": "hi"}])
    message = caught.value.message
    assert caught.value.kind == "not_json" and caught.value.status == 200
    assert message.startswith(f"The server at {server.url} answered HTTP 200 with something that is not JSON{shown and ' '}"
                              f"{shown}, so it is not a chat API for {MODEL}; check the API base ({server.url}) and "
                              f"any proxy in between."), message
    _one_sentence(message)
    assert len(server.requests) == 1  # a deterministic failure is not retried


async def test_json_that_is_not_a_completion_is_reported_once(server):
    client = LLMClient(MODEL, api_base=server.url, timeout=5, backoff_base=0.01)
    server.script(*[raw(b'{"status": "ok"}', "application/json")] * 4)
    with pytest.raises(LLMError) as caught:
        await client.complete([{"role": "user", "content": "hi"}])
    message = caught.value.message
    assert caught.value.kind == "not_completion"
    assert "answered HTTP 200 with JSON that is not a chat completion (it holds ['status'])" in message, message
    _one_sentence(message)
    assert len(server.requests) == 1


async def test_a_streamed_chat_answered_with_a_page_says_so_instead_of_an_empty_reply(brain, server):
    server.script(*[raw(PAGE)] * 4)
    reply = await brain.chat("hello", {}, lambda _: None, None)
    assert reply == (f"The server at {server.url} answered HTTP 200 with text/html instead of a stream of JSON events, "
                     f"so it is not a chat API for {MODEL}; check the API base ({server.url}) and any proxy in "
                     f"between."), reply
    assert len(server.requests) == 1


async def test_an_api_base_without_v1_is_pointed_out(server):
    base = server.url[: -len("/v1")]
    client = LLMClient(MODEL, api_base=base, timeout=5, backoff_base=0.01)
    server.script(raw(PAGE))
    with pytest.raises(LLMError) as caught:
        await client.complete([{"role": "user", "content": "hi"}])
    assert f"check the API base ({base}; an OpenAI-compatible server's usually ends in /v1)" in caught.value.message


async def test_a_real_server_error_is_still_retried(server):
    from tests.brain.llm_server import error, text

    client = LLMClient(MODEL, api_base=server.url, timeout=5, backoff_base=0.01)
    server.script(error(502, "bad gateway"), text("fine"))
    reply = await client.complete([{"role": "user", "content": "hi"}])
    assert reply.text == "fine" and len(server.requests) == 2


async def test_a_server_error_that_quotes_a_json_parser_is_still_a_server_error(server):
    from tests.brain.llm_server import error, text

    client = LLMClient(MODEL, api_base=server.url, timeout=5, backoff_base=0.01)
    server.script(error(500, "Expecting value: line 1 column 1 (char 0)"), text("fine"))
    reply = await client.complete([{"role": "user", "content": "hi"}])
    assert reply.text == "fine" and len(server.requests) == 2
