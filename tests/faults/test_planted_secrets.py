"""Secrets a training script prints are found nowhere AFT writes or commits.

A script that prints its token, or fails with `RuntimeError("401 token=" + HF_TOKEN)`, is run by
the real `aft tune`; afterwards every file under the project (.aft/ with the session log, the
Optuna journal and the worktree; outputs/ with the run logs and results; .git/ as plain files)
and everything git holds (all refs with their patches, the notes, the tags) is searched for the
secrets.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.engine.helpers import aft, aft_env, results, session_ids

pytestmark = pytest.mark.slow

HF_TOKEN = "Zq8-planted-hf-secret-41d2"  # not shaped like a token: only its variable's name marks it
SERVICE_KEY = "planted-service-key-93be1c07"
QUOTED_KEY = 'wb"planted\\key-5521aa'  # escaped inside every JSON file: the escaped form must go too
# Shaped like a Hugging Face token and printed by the script, but in no variable: the script
# builds it from pieces, so its source (committed in the session's snapshot) does not hold it.
LITERAL_TOKEN = "hf_Qw3rTyPlantedLiteralZx9876543210ab"

SCRIPT = textwrap.dedent('''\
    import argparse, os
    from pathlib import Path

    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--epochs", type=int, default=2)
    a = p.parse_args()
    literal = "hf_" + "Qw3rTy" + "PlantedLiteral" + "Zx98" + "76543210ab"
    print("HF_TOKEN is", os.environ["HF_TOKEN"], flush=True)
    print("service key:", os.environ["MY_SERVICE_API_KEY"], "wandb:", os.environ["WANDB_API_KEY"])
    print("logged in with", literal)
    print("Authorization: Bearer " + os.environ["HF_TOKEN"])
    counter = Path(os.environ["PLANTED_COUNTER"])
    number = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(number))
    if number == 2:
        raise RuntimeError("401 token=" + os.environ["HF_TOKEN"] + " key " + os.environ["MY_SERVICE_API_KEY"]
                           + " " + os.environ["WANDB_API_KEY"] + " " + literal)
    for e in range(1, a.epochs + 1):
        print(f"epoch {e} val_loss: {abs(a.lr - 0.05) + 1.0 / e:.4f}", flush=True)
    ''')


def _forms(secret: str) -> set[str]:
    """The secret as it would appear in a plain file or inside a JSON string."""
    return {secret, json.dumps(secret)[1:-1]}


SECRETS = sorted(set().union(*(_forms(s) for s in (HF_TOKEN, SERVICE_KEY, QUOTED_KEY, LITERAL_TOKEN))))


def _git(project: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, errors="replace")
    assert done.returncode == 0, done.stderr
    return done.stdout


def _everything_git_holds(project: Path) -> str:
    parts = [_git(project, "log", "--all", "-p", "--format=%H%n%B"),
             _git(project, "for-each-ref"),
             _git(project, "reflog", "--all", "--format=%gs")]
    notes = _git(project, "notes", "--ref", "aft", "list").split()
    assert notes, "the trials left no notes to search"
    for note_object in notes[::2]:  # pairs: note object, annotated commit
        parts.append(_git(project, "cat-file", "-p", note_object))
    tags = _git(project, "tag", "-l").split()
    assert tags, "the trials left no tags to search"
    for tag in tags:
        parts.append(_git(project, "show", "--format=%H%n%B", tag))
    return "\n".join(parts)


def _leaks(text: str | bytes) -> list[str]:
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return [s for s in SECRETS if s.encode() in data]


def test_secrets_printed_by_a_trial_are_found_nowhere(git_project, tmp_path: Path):
    src = tmp_path / "src" / "train.py"
    src.parent.mkdir()
    src.write_text(SCRIPT)
    project = git_project(src)
    (project / "aft.toml").write_text("[search.lr]\nlow = 0.001\nhigh = 0.1\nlog = true\n[search.epochs]\nfixed = 2\n")
    env = aft_env(HF_TOKEN=HF_TOKEN, MY_SERVICE_API_KEY=SERVICE_KEY, WANDB_API_KEY=QUOTED_KEY,
                  PLANTED_COUNTER=str(tmp_path / "counter"), COLUMNS="2000")

    proc = aft(project, "tune", "train.py", "--trials", "3", "--metric", "val_loss", "--strategy", "random",
               "--yes", env=env)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = results(project)
    assert [r["status"] for r in runs] == ["ok", "failed", "ok"], [(r["status"], r.get("reason")) for r in runs]
    # The secrets reached AFT (the test would catch a leak) and were replaced, not dropped.
    assert "RuntimeError: 401 token=[redacted]" in runs[1]["reason"], runs[1]["reason"]
    (sid,) = session_ids(project)
    first_log = (project / "outputs" / runs[0]["run_id"] / f"{runs[0]['run_id']}.log").read_text()
    assert "HF_TOKEN is [redacted]" in first_log and "logged in with [redacted]" in first_log
    assert "Authorization: Bearer [redacted]" in first_log
    session_log = (project / ".aft" / "sessions" / f"{sid}.jsonl").read_text()
    assert "HF_TOKEN is [redacted]" in session_log

    files = [p for p in project.rglob("*") if p.is_file() and not p.is_symlink()]
    searched = {p.relative_to(project).parts[0] for p in files}
    assert {".aft", "outputs", ".git"} <= searched
    assert any("journal" in p.name for p in files if p.relative_to(project).parts[0] == ".aft"), \
        sorted(str(p) for p in files)
    assert any(p.name == f"{sid}.jsonl" for p in files)
    leaks = {str(p.relative_to(project)): _leaks(p.read_bytes()) for p in files}
    assert {k: v for k, v in leaks.items() if v} == {}

    assert _leaks(_everything_git_holds(project)) == []
    assert _leaks(proc.stdout) == [] and _leaks(proc.stderr) == []


def test_the_writers_redact_whatever_reaches_them(git_project, monkeypatch):
    """The second line of defence: text that reaches a writer without passing the launcher
    (an exception, a model's reply, a rationale) is redacted by the session log, the commit,
    the parameters file and the note themselves."""
    from aft_tui.engine.events import Info
    from aft_tui.engine.session_log import SessionLog
    from aft_tui.redaction import refresh_from_environment
    from aft_tui.vcs.workspace import PARAMS_FILE, Workspace

    secret = 'writer-"planted"\\secret-6d01f2'  # JSON files hold it escaped
    monkeypatch.setenv("DEPLOY_TOKEN", secret)
    refresh_from_environment()
    project = git_project()
    log_file = project / ".aft" / "sessions" / "w1.jsonl"
    with SessionLog(log_file) as log:
        log.append(Info(text=f"the model said {secret} and {LITERAL_TOKEN}"))
    ws = Workspace.create(project, "w1")
    sha = ws.commit(f"trial 1: lr=0.1\n\nChosen by: llm. it saw {secret}",
                    files={PARAMS_FILE: json.dumps({"rationale": f"because {LITERAL_TOKEN}", "script_args":
                                                    ["--token", secret]})})
    ws.add_note(sha, {"reason": f"RuntimeError: 401 token={secret}", "said": f"{secret} ({LITERAL_TOKEN})"})
    ws.tag(ws.trial_tag(1), sha)
    ws.rollback(sha, f"Roll back to trial 1 ({secret})")

    planted = _forms(secret) | _forms(LITERAL_TOKEN)
    written = log_file.read_text()
    assert "[redacted]" in written and [s for s in planted if s in written] == []
    history = _everything_git_holds(project)
    assert "[redacted]" in history and [s for s in planted if s in history] == []
    assert ws.read_note(sha)["reason"] == "RuntimeError: 401 token=[redacted]"
    assert ws.params_at(sha) == {"rationale": "because [redacted]", "script_args": ["--token", "[redacted]"]}


def test_an_internal_error_report_holds_no_secret(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """The crash report is the file people attach to a bug report; the one-line message goes to a terminal log."""
    from aft_tui import cli
    from aft_tui.redaction import refresh_from_environment

    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    refresh_from_environment()

    def explode(args: object) -> int:
        raise RuntimeError("401 token=" + HF_TOKEN)

    monkeypatch.setitem(cli.COMMANDS, "sessions", explode)
    assert cli.main(["sessions"]) == 70
    line = capsys.readouterr().err
    assert "internal error" in line and HF_TOKEN not in line
    report = Path(line.split("details in ")[1].split(". Please")[0])
    try:
        text = report.read_text()
        assert "RuntimeError" in text and HF_TOKEN not in text
    finally:
        report.unlink()
