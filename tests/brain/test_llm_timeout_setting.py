"""AFT_LLM_TIMEOUT reaches every request, ranked like the other AFT_* variables.

The timeout message tells the person to set AFT_LLM_TIMEOUT; it must then take effect: it beats
the built-in 60 s and aft.toml, and loses only to a value given explicitly for this run.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aft_tui.brain import get_brain
from aft_tui.brain.client import DEFAULT_TIMEOUT, LLMClient, load_litellm
from aft_tui.errors import UserError
from aft_tui.settings import load_settings
from tests.brain.conftest import MODEL
from tests.brain.llm_server import text
from tests.engine.helpers import aft, aft_env


async def test_aft_llm_timeout_abandons_a_slow_request_made_through_the_settings(server, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("AFT_LLM_TIMEOUT", "1")
    settings = load_settings(tmp_path, {"model": MODEL, "api_base": server.url})
    brain = get_brain(settings)
    brain.client.backoff_base = 0.01
    server.script(text("too late", sleep=3.0))
    load_litellm()  # its first import takes seconds; only the request is timed
    started = time.monotonic()
    reply = await brain.chat("hello", {}, lambda _: None, None)
    assert time.monotonic() - started < 2.8, reply
    assert "did not answer within 1 s" in reply and "AFT_LLM_TIMEOUT" in reply


def test_the_variable_beats_the_default_and_aft_toml_and_a_flag_beats_the_variable(monkeypatch, tmp_path: Path):
    assert load_settings(tmp_path).llm_timeout is None  # nothing set: the client's default applies
    assert LLMClient(MODEL).timeout == DEFAULT_TIMEOUT
    (tmp_path / "aft.toml").write_text("llm_timeout = 30\n")
    assert load_settings(tmp_path).llm_timeout == 30
    monkeypatch.setenv("AFT_LLM_TIMEOUT", "7.5")
    assert load_settings(tmp_path).llm_timeout == 7.5
    assert load_settings(tmp_path, {"llm_timeout": 3}).llm_timeout == 3
    # A client made without settings (the LLM strategy, the API) reads the variable itself...
    assert LLMClient(MODEL).timeout == 7.5
    # ...and an explicit value still wins.
    assert LLMClient(MODEL, timeout=2).timeout == 2


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan", "inf"])
def test_a_bad_value_is_refused_in_a_sentence_naming_the_variable(monkeypatch, tmp_path: Path, value: str):
    monkeypatch.setenv("AFT_LLM_TIMEOUT", value)
    with pytest.raises(UserError) as caught:
        load_settings(tmp_path)
    assert "AFT_LLM_TIMEOUT must be a positive number of seconds" in str(caught.value)
    assert repr(value) in str(caught.value)


def test_the_command_refuses_a_bad_value_with_exit_code_2(git_project):
    project = git_project()
    (project / "train.py").write_text("print('val_loss: 0.5')\n")
    proc = aft(project, "tune", "train.py", "--trials", "1", "--yes", env=aft_env(AFT_LLM_TIMEOUT="soon"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "AFT_LLM_TIMEOUT must be a positive number of seconds" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
