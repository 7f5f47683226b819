"""Code experiments from a model, through the real scripted server on 127.0.0.1: what the model
is told, and which answers become a checked experiment and which are refused before running."""

from __future__ import annotations

import difflib
import json
import textwrap
from pathlib import Path

import pytest

from aft_tui.brain.code_experiments import CodeExperimentIdea, CodeExperimentRequest, llm_code_experiment
from aft_tui.redaction import refresh_from_environment
from tests.brain.llm_server import error, text
from tests.conftest import git

SECRET = "journal-planted-secret-7f3a92"
TRAIN = textwrap.dedent("""\
    import json
    import os

    LR = 0.1
    WIDTH = 16
    for epoch in range(3):
        val_loss = 1.0 / (1 + LR * WIDTH * (epoch + 1))
        print(json.dumps({"epoch": epoch, "val_loss": val_loss}))
    """)
DATA = textwrap.dedent("""\
    def batches():
        return [1, 2, 3]
    """)
JOURNAL = textwrap.dedent("""\
    # Research journal
    - baseline: val_loss 0.38
    - experiment 2 (cosine schedule): val_loss 0.36, kept
    - experiment 3 (dropout 0.3): val_loss 0.41, discarded
    """)
STEER = ["try larger models next", "never touch the data loader"]


def diff_of(path: str, before: str, after: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        f"a/{path}", f"b/{path}"))


def answer(diff: str, title: str = "Wider network", rationale: str = "A wider model fits better in 5 minutes.") -> str:
    return f"Title: {title}\nRationale: {rationale}\n\n```diff\n{diff}```\n"


@pytest.fixture
def project(git_project) -> Path:
    root = git_project()
    (root / "train.py").write_text(TRAIN)
    (root / "data.py").write_text(DATA)
    git(root, "add", "train.py", "data.py")
    git(root, "commit", "-q", "-m", "the project")
    return root


def request_for(root: Path, journal: str = JOURNAL, steer: list[str] | None = None) -> CodeExperimentRequest:
    return CodeExperimentRequest(script="train.py", files={"train.py": (root / "train.py").read_text()},
                                 read_only=["data.py"], metric="val_loss", direction="min", journal=journal,
                                 steer=STEER if steer is None else steer, experiment_time=300.0)


async def run(brain, root: Path, **kw):
    def is_installed(name: str) -> bool:
        return False

    return await llm_code_experiment(brain, kw.pop("request", None) or request_for(root), root,
                                     editable=kw.pop("editable", ["train.py"]), read_only=["data.py"],
                                     is_installed=is_installed)


def untouched(root: Path) -> bool:
    return git(root, "status", "--porcelain") == "" and (root / "train.py").read_text() == TRAIN


def user_message(server, index: int = -1) -> str:
    return server.requests[index]["body"]["messages"][1]["content"]


async def test_a_good_diff_is_returned_checked_and_nothing_is_written(brain, server, project, monkeypatch):
    monkeypatch.setenv("DEPLOY_TOKEN", SECRET)
    refresh_from_environment()
    wider = TRAIN.replace("WIDTH = 16", "WIDTH = 64")
    server.script(text("I looked at the journal.\n\n" + answer(diff_of("train.py", TRAIN, wider))))
    request = request_for(project, journal=JOURNAL + f"- note: the run printed token {SECRET}\n",
                          steer=STEER + [f"the key is {SECRET}"])
    result = await run(brain, project, request=request)
    assert not isinstance(result, str), result
    idea, check = result
    assert idea == CodeExperimentIdea("Wider network", "A wider model fits better in 5 minutes.",
                                      diff_of("train.py", TRAIN, wider))
    assert check.ok and check.files == {"train.py": wider} and check.changed_lines == 2
    assert untouched(project)
    sent = user_message(server)
    assert "experiment 3 (dropout 0.3): val_loss 0.41, discarded" in sent
    assert "- try larger models next" in sent and "- never touch the data loader" in sent
    assert "Each experiment runs for 5 minutes" in sent and "val_loss, lower is better" in sent
    assert "Read-only files (never change them): data.py" in sent and "WIDTH = 16" in sent
    body = json.dumps(server.requests[-1]["body"]["messages"])
    assert SECRET not in body and "token [redacted]" in body and "the key is [redacted]" in body
    assert brain.usage["requests"] == 1 and brain.usage["prompt_tokens"] == 11
    assert brain.last_problem is None


async def test_a_diff_that_does_not_apply_is_refused(brain, server, project):
    stale = TRAIN.replace("LR = 0.1", "LR = 0.2")
    server.script(text(answer(diff_of("train.py", stale, stale.replace("WIDTH = 16", "WIDTH = 64")))))
    reason = await run(brain, project)
    assert reason.startswith("The model's code experiment 'Wider network' was refused before running: "
                             "The diff does not apply to the current files (")
    assert untouched(project)


async def test_a_diff_that_applies_but_does_not_compile_is_refused(brain, server, project):
    server.script(text(answer(diff_of("train.py", TRAIN, TRAIN.replace("WIDTH = 16", "WIDTH = (16")))))
    reason = await run(brain, project)
    assert "refused before running: train.py does not compile after the diff (line 5" in reason
    assert untouched(project)


async def test_a_diff_of_a_file_that_is_not_editable_is_refused(brain, server, project):
    (project / "model.py").write_text("UNITS = 4\n")
    server.script(text(answer(diff_of("model.py", "UNITS = 4\n", "UNITS = 8\n"))))
    reason = await run(brain, project)
    assert reason == ("The model's code experiment 'Wider network' was refused before running: The diff changes "
                      "model.py, which is not among the editable files (train.py); change only those.")
    assert (project / "model.py").read_text() == "UNITS = 4\n"


async def test_a_diff_of_a_read_only_file_is_refused(brain, server, project):
    server.script(text(answer(diff_of("data.py", DATA, DATA.replace("[1, 2, 3]", "[3, 2, 1]")))))
    reason = await run(brain, project, editable=["train.py", "data.py"])
    assert "refused before running: data.py is read-only in these experiments" in reason
    assert (project / "data.py").read_text() == DATA


async def test_a_diff_that_climbs_out_of_the_project_is_refused(brain, server, project):
    server.script(text(answer(diff_of("../train.py", TRAIN, TRAIN.replace("16", "64")))))
    reason = await run(brain, project, editable=["train.py", "../train.py"])
    assert "refused before running: The diff names ../train.py, which uses '..' to leave its folder" in reason
    assert untouched(project)


async def test_a_new_dependency_is_refused(brain, server, project):
    server.script(text(answer(diff_of("train.py", TRAIN, TRAIN.replace("import os\n", "import os\nimport lightning_fancy\n")),
                              title="Fancy trainer")))
    reason = await run(brain, project)
    assert reason == ("The model's code experiment 'Fancy trainer' was refused before running: train.py now imports "
                      "lightning_fancy, a new dependency (not in the standard library, not imported by the project "
                      "and not installed); use only what the project already has.")


async def test_a_huge_diff_is_refused(brain, server, project):
    huge = TRAIN + "".join(f"LAYER_{i} = {i}\n" for i in range(320))
    server.script(text(answer(diff_of("train.py", TRAIN, huge))))
    reason = await run(brain, project)
    assert "refused before running: The diff changes 320 lines, more than the limit of 300" in reason


async def test_an_answer_without_a_diff_is_asked_again_once_then_given_up(brain, server, project):
    server.script(text("Title: Wider\nRationale: make it wider."), text("Just set WIDTH to 64, please."))
    reason = await run(brain, project)
    assert reason == "The model's answer held no usable diff after one retry (the reply has no diff)."
    assert len(server.requests) == 2 and server.remaining == 0
    retry = server.requests[1]["body"]["messages"]
    assert retry[-2] == {"role": "assistant", "content": "Title: Wider\nRationale: make it wider."}
    assert retry[-1]["content"].startswith("Your reply has no diff.")
    assert brain.last_problem == reason and reason in brain.infos
    assert untouched(project)


async def test_a_diff_sent_after_the_retry_is_used(brain, server, project):
    wider = TRAIN.replace("WIDTH = 16", "WIDTH = 32")
    server.script(text("--- a/train.py\n+++ b/train.py\nno hunks here"), text(answer(diff_of("train.py", TRAIN, wider))))
    result = await run(brain, project)
    assert not isinstance(result, str), result
    assert result[1].files == {"train.py": wider}
    assert "does not parse (the part for train.py has file headers but no @@ hunk)" in \
        server.requests[1]["body"]["messages"][-1]["content"]
    assert brain.usage["requests"] == 2


async def test_the_model_may_decline(brain, server, project):
    server.script(text("No experiment: every recipe idea in reach is already in the journal."))
    reason = await run(brain, project)
    assert reason == "The model proposed no code experiment: every recipe idea in reach is already in the journal."
    assert len(server.requests) == 1


async def test_a_failed_request_is_the_reason(brain, server, project):
    server.script(error(401, "Incorrect API key provided"))
    reason = await run(brain, project)
    assert "rejected the credentials for openai/test-model" in reason
    assert reason.endswith("No code experiment from the model this time.")
    assert brain.last_problem == reason


async def test_a_request_too_long_is_retried_with_the_end_of_the_journal(brain, server, project):
    long_journal = "# Research journal\n" + "".join(f"- experiment {i}: discarded\n" for i in range(400))
    wider = TRAIN.replace("WIDTH = 16", "WIDTH = 64")
    server.script(error(400, "maximum context length is 8192 tokens", code="context_length_exceeded"),
                  text(answer(diff_of("train.py", TRAIN, wider))))
    result = await run(brain, project, request=request_for(project, journal=long_journal))
    assert not isinstance(result, str), result
    first, second = user_message(server, 0), user_message(server, 1)
    assert "- experiment 0: discarded" in first and "- experiment 0: discarded" not in second
    assert "- experiment 399: discarded" in second and "WIDTH = 16" in second
    assert any("too long" in info for info in brain.infos)


async def test_the_offline_brain_writes_no_code_experiments(project):
    from aft_tui.brain.offline import OfflineBrain

    reason = await run(OfflineBrain(), project)
    assert reason.startswith("The offline brain writes no code experiments")
