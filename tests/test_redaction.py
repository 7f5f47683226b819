"""What redaction removes, what it leaves alone, and what it costs per line of output."""

from __future__ import annotations

import json
import time

import pytest

from aft_tui.redaction import (
    REDACTED,
    is_secret_name,
    redact,
    redact_data,
    redact_lines,
    refresh_from_environment,
    remember_environment,
)


@pytest.mark.parametrize("name", ["HF_TOKEN", "WANDB_API_KEY", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "MY_SERVICE_KEY",
                                  "DB_PASSWORD", "PGPASSWORD", "OPENAI_API_KEY", "CLIENT_SECRET", "GH_TOKEN",
                                  "HUGGING_FACE_HUB_TOKEN", "AWS_SESSION_TOKEN", "SLACK_AUTH", "npm_token"])
def test_secret_names(name: str):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PWD", "OLDPWD", "HOME", "PATH", "SSH_AUTH_SOCK", "TOKENIZERS_PARALLELISM",
                                  "CUDA_VISIBLE_DEVICES", "HF_HUB_OFFLINE", "KEYBOARD_LAYOUT", "MONKEY"])
def test_names_that_are_not_secrets(name: str):
    assert not is_secret_name(name)


def test_environment_secrets_are_redacted_and_short_values_are_not(monkeypatch):
    monkeypatch.setenv("PLANTED_UNIT_TOKEN", "unit-token-value-9a7c")
    monkeypatch.setenv("PLANTED_UNIT_KEY", "1")
    refresh_from_environment()
    assert redact("auth with unit-token-value-9a7c, try 1 of 3") == f"auth with {REDACTED}, try 1 of 3"


def test_a_trials_own_environment_is_remembered():
    remember_environment({"TRIAL_ONLY_SECRET": "trial-only-secret-55e1", "LR": "0.1"})
    assert redact("it printed trial-only-secret-55e1") == f"it printed {REDACTED}"
    remember_environment({})  # the set only grows: later writes about the trial stay clean
    assert REDACTED in redact("trial-only-secret-55e1")


def test_escaped_and_multi_line_values():
    value = 'quoted"and\\back-slashed-3f'
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----"
    accented = "clé-secrète-48ab"
    remember_environment({"ESCAPED_TOKEN": value, "SERVICE_PRIVATE_KEY": pem, "ACCENTED_PASSWORD": accented})
    assert value not in redact(f"raw {value}")
    for dumped in (json.dumps({"reason": f"a {value} b"}), json.dumps({"reason": f"a {accented} b"}),
                   json.dumps({"reason": f"a {accented} b"}, ensure_ascii=False)):
        cleaned = redact(dumped)
        assert json.loads(cleaned) == {"reason": f"a {REDACTED} b"}, cleaned
    lines = pem.split("\n") + ["epoch 1 loss: 0.5"]
    cleaned = redact_lines(lines)
    assert len(cleaned) == len(lines) and cleaned[-1] == "epoch 1 loss: 0.5"
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in "\n".join(cleaned)


@pytest.mark.parametrize("text,expected", [
    ("login hf_Qw3rTyUnitLiteralZx9876543210ab ok", f"login {REDACTED} ok"),
    ("key sk-proj-0123456789abcdefABCD", f"key {REDACTED}"),
    ("ghp_" + "a1" * 18, REDACTED),
    ("pat github_pat_11ABCDEFG0123456789_abcdefghijkl", f"pat {REDACTED}"),
    ("aws AKIAIOSFODNN7EXAMPLE", f"aws {REDACTED}"),
    ("slack xoxb-1234567890-abcdefghij", f"slack {REDACTED}"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     f"jwt {REDACTED}"),
    ("Authorization: Bearer abc.def-123456", f"Authorization: Bearer {REDACTED}"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", f"Authorization: Basic {REDACTED}"),
    ("RuntimeError: 401 token=abcdef123456", f"RuntimeError: 401 token={REDACTED}"),
    ('{"api_key": "abcdef123456"}', f'{{"api_key": "{REDACTED}"}}'),
    ("HF_TOKEN=abcdef123456 python train.py", f"HF_TOKEN={REDACTED} python train.py"),
    ("password: hunter22", f"password: {REDACTED}"),
    ("db postgres://bob:s3cretpw@db:5432/x", f"db postgres://bob:{REDACTED}@db:5432/x"),
])
def test_credential_shapes(text: str, expected: str):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "epoch 3 tokens: 1234567 tokens_per_sec: 1234.5 val_loss: 0.123",
    "max_new_tokens=256 pad_token: <pad> eos_token: </s>",
    "token embeddings dim 768",
    "KeyError: 'token'",
    "monkey: abcdefgh",
    "sk-learn-compatible estimator",
    "https://huggingface.co/bert-base-uncased",
    "basic training loop with a bearer of news",
    "task-0123456789abcdef0123 finished",
])
def test_ordinary_training_output_is_left_alone(text: str):
    assert redact(text) is text


def test_data_is_redacted_throughout():
    data = {"reason": "token=abcdef123456", "tail": ["ok", "Bearer abcdefgh12"], "value": 0.5}
    assert redact_data(data) == {"reason": f"token={REDACTED}", "tail": ["ok", f"Bearer {REDACTED}"], "value": 0.5}


def test_the_cost_per_line_of_output_is_small():
    # Measured at about 1 microsecond per line in batches of 50 (the launcher redacts one pipe
    # read at a time); the bound leaves room for a slow, shared machine.
    remember_environment({"COST_TOKEN": "cost-token-value-01"})
    lines = [f"epoch {i} step {i * 10} loss: 0.{i:06d} val_acc: 0.9123 lr: 0.001 tokens: {i * 512}"
             for i in range(100_000)]
    started = time.perf_counter()
    for i in range(0, len(lines), 50):
        assert redact_lines(lines[i:i + 50]) is not None
    assert time.perf_counter() - started < 3.0
