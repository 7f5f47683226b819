"""No secret leaves the machine in a prompt, whatever part of the prompt quotes it."""

from __future__ import annotations

import json

from aft_tui.redaction import refresh_from_environment
from tests.brain.llm_server import text

SECRET = "prompt-planted-secret-2c9e41"
SHAPED = "hf_PromptPlantedShapedToken0123456789"


async def test_the_model_never_receives_a_secret_from_the_context_or_the_message(brain, server, monkeypatch):
    monkeypatch.setenv("DEPLOY_TOKEN", SECRET)
    refresh_from_environment()
    server.script(text("Noted."))
    context = {"target": "train.py", "last_failure": {"tail": [f"RuntimeError: 401 token={SECRET}", f"login {SHAPED}"]}}
    reply = await brain.chat(f"why does it say {SECRET}?", context, lambda _: None, None)
    assert reply == "Noted."
    sent = json.dumps(server.requests[-1]["body"]["messages"])
    assert SECRET not in sent and SHAPED not in sent
    assert "why does it say [redacted]?" in sent and "token=[redacted]" in sent
