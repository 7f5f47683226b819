"""`aft chat --plain` as a real process with piped input, talking HTTP to the scripted server:
streamed answers, a tool call that waits for /approve, the spending under `aft runs`, and no
trace of the planted API key in anything AFT wrote."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.brain.llm_server import text, tool
from tests.llm_ui.conftest import MODEL, PLANTED_KEY, aft


def files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


def test_plain_chat_streams_waits_for_approval_and_never_writes_the_key(project, server):
    answer = "Nothing has run yet; the script already takes --lr and --epochs as flags."
    server.script(text(answer),
                  tool("tune", {"trials": 1, "reason": "a first measurement with the defaults"}),
                  text("Trial 1 finished with the defaults."))
    lines = ["what has run so far?", "run a single trial please", "/diff", "/approve", "/model", "/runs", "/quit"]
    proc = aft(project, "chat", "train.py", "--plain", "--metric", "val_acc", "--direction", "max",
               "--model", MODEL, "--api-base", server.url, stdin="\n".join(lines) + "\n")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"Assistant: {MODEL} at {server.url}" in out
    assert answer in out
    # The tool call became a proposal with a summary of what runs, and waited for /approve.
    assert "Proposal p1 (tune): Run 1 trial with the tpe strategy" in out
    assert "Runs train.py 1 time with these settings:" in out
    assert "Waiting for your decision on p1: /approve (or y), /reject [REASON] (or n)." in out
    assert out.index("Waiting for your decision") < out.index("Proposal p1 approved") < out.index("Trial 1 ok")
    assert out.index("Trial 1 ok") < out.index("Trial 1 finished with the defaults.")
    assert "Proposal p1 (tune, pending)" in out  # /diff while it waited
    assert f"Assistant model: {MODEL} at {server.url}. LLM: 54 tokens, price unknown ({MODEL}, 3 calls)" in out
    assert out.rindex("LLM: 54 tokens") > out.index("Assistant model:")  # said again when the session ends
    # Every request carried the key to the server, in its header only.
    assert len(server.requests) == 3
    assert all({k.lower(): v for k, v in r["headers"].items()}.get("authorization") == f"Bearer {PLANTED_KEY}"
               for r in server.requests)
    assert all(r["body"]["model"] == "test-model" for r in server.requests)

    # `aft runs` shows the spending without any model: it comes from the session's record.
    runs = aft(project, "runs")
    assert runs.returncode == 0, runs.stderr
    assert f"LLM: 54 tokens, price unknown ({MODEL}, 3 calls)" in runs.stdout
    assert "LLM: 54 tokens" in aft(project, "runs", "--all").stdout

    # The planted key is nowhere AFT wrote: session files, outputs, worktrees, git history, user config.
    config = Path(os.environ["XDG_CONFIG_HOME"])
    written = files_under(project / ".aft", project / "outputs", config)
    assert any(p.suffix == ".jsonl" for p in written) and any(p.name == "results.json" for p in written)
    assert [str(p) for p in written if PLANTED_KEY.encode() in p.read_bytes()] == []
    history = subprocess.run(["git", "log", "-p", "--all"], cwd=project, capture_output=True, text=True).stdout
    history += subprocess.run(["git", "notes", "--ref", "aft", "list"], cwd=project, capture_output=True,
                              text=True).stdout
    assert "trial 1" in history.lower() and PLANTED_KEY not in history
    assert PLANTED_KEY not in out and PLANTED_KEY not in proc.stderr and PLANTED_KEY not in runs.stdout


def test_model_switch_in_plain_chat_is_remembered_without_the_key(project, server):
    server.script(text("Hello from the scripted model."))
    lines = ["/model", f"/model {MODEL} --api-base {server.url}", "hello", "/model offline", "hello again", "/quit"]
    proc = aft(project, "chat", "train.py", "--plain", stdin="\n".join(lines) + "\n")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "Assistant: offline (no model configured)" in out
    assert "Assistant model: none: the offline assistant answers (set one with /model NAME" in out
    assert f"The assistant now uses {MODEL} at {server.url} (remembered)" in out
    assert "Hello from the scripted model." in out
    assert "The assistant is now the offline one (remembered)" in out
    assert "For free-form questions, configure a model: Set --model" in out.split("now the offline one", 1)[-1]
    assert len(server.requests) == 1
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "aft" / "config.toml"
    saved = config.read_text()
    assert 'model = ""' in saved and f'api_base = "{server.url}"' in saved and PLANTED_KEY not in saved
