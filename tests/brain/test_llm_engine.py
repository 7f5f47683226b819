"""The LLM brain inside a real session: chat with tools through the engine (proposals wait for
approval), the `llm` strategy driving real trials, and no trace of the API key anywhere."""

from __future__ import annotations

import asyncio
import json
import subprocess

from aft_tui.engine import events as ev
from tests.brain.conftest import MODEL, PLANTED_KEY, read_events
from tests.brain.llm_server import error, text, tool


def _decide_proposals(engine, approve: bool, feedback: str = "") -> list[ev.Proposal]:
    """Answer every proposal the way a person at the keyboard would, once it is pending."""
    seen: list[ev.Proposal] = []

    def on_event(event: ev.Event) -> None:
        if isinstance(event, ev.Proposal):
            seen.append(event)
            asyncio.get_running_loop().call_soon(engine.decide, event.proposal_id, approve, feedback)

    engine.subscribe(on_event)
    return seen


async def test_chat_streams_and_read_only_tools_run_at_once(engine_factory, server):
    engine = await engine_factory(model=MODEL, api_base=server.url)
    server.script(tool("runs", {"limit": 5}), text("No trials have run yet; type /tune to start."))
    reply = await engine.chat("what has run so far?")
    assert reply == "No trials have run yet; type /tune to start."
    tool_message = server.requests[1]["body"]["messages"][-1]
    assert tool_message["role"] == "tool" and "No trials yet" in tool_message["content"]
    events = read_events(engine)
    chunks = [e for e in events if e["kind"] == "assistant_message" and not e["final"]]
    final = [e for e in events if e["kind"] == "assistant_message" and e["final"]]
    assert len(chunks) > 1 and final[-1]["text"] == reply
    assert not [e for e in events if e["kind"] == "proposal"]
    assert engine.brain.usage["prompt_tokens"] == 22


async def test_a_tune_tool_call_is_a_proposal_and_runs_only_when_approved(engine_factory, server):
    engine = await engine_factory(model=MODEL, api_base=server.url)
    proposals = _decide_proposals(engine, approve=True)
    server.script(tool("tune", {"trials": 2, "strategy": "random", "reason": "a quick look at the landscape"}),
                  text("Two trials ran; the defaults were the best so far."))
    reply = await engine.chat("run two random trials")
    assert reply.startswith("Two trials ran")
    (proposal,) = proposals
    assert proposal.proposal_kind == "tune" and proposal.title == "Run 2 trials with the random strategy"
    assert "a quick look at the landscape" in proposal.rationale and "strategy: tpe -> random" in proposal.rationale
    assert engine.settings.strategy == "random"
    runs = engine.runs()
    assert [r["status"] for r in runs] == ["ok", "ok"]
    result = json.loads(server.requests[1]["body"]["messages"][-1]["content"])
    assert result["finished"] is True and result["trials"] == 2 and result["best_value"] is not None
    decisions = [e for e in read_events(engine) if e["kind"] == "decision"]
    assert decisions and decisions[0]["approved"] is True and decisions[0]["by"] == "user"


async def test_a_rejected_action_changes_nothing_and_the_model_hears_why(engine_factory, server):
    engine = await engine_factory(model=MODEL, api_base=server.url)
    proposals = _decide_proposals(engine, approve=False, feedback="not now")
    server.script(tool("tune", {"trials": 1}), text("Understood, nothing was started."))
    reply = await engine.chat("tune it")
    assert reply == "Understood, nothing was started." and len(proposals) == 1
    assert engine.runs() == []
    assert "rejected the proposal" in server.requests[1]["body"]["messages"][-1]["content"]
    assert "not now" in server.requests[1]["body"]["messages"][-1]["content"]


async def test_llm_strategy_runs_valid_proposals_and_falls_back_on_bad_ones(engine_factory, server, tiny_project):
    engine = await engine_factory(model=MODEL, api_base=server.url, strategy="llm", trials=4)
    server.script(
        # Ask 1 is skipped: trial 1 runs the script's defaults.
        text(json.dumps({"params": {"lr": 0.01, "batch_size": 32}, "rationale": "lr=0.1 overshoots; try 0.01."})),
        text("lr 0.003 might be good"),  # malformed
        text(json.dumps({"params": {"lr": 7.5}, "rationale": "bigger steps"})),  # out of space
    )
    summary = await engine.tune()
    runs = sorted(engine.runs(), key=lambda r: r["number"])
    assert [r["status"] for r in runs] == ["ok"] * 4
    assert runs[0]["strategy"] == "defaults"
    assert runs[1]["params"] == {"lr": 0.01, "batch_size": 32, "epochs": runs[1]["params"]["epochs"]}
    assert runs[1]["strategy"] == "llm" and "lr=0.1 overshoots" in runs[1]["rationale"]
    assert summary["best"]["number"] == 2
    for fallback in runs[2:]:
        assert fallback["strategy"] == "llm:tpe"
        assert fallback["rationale"].startswith("proposed by the tpe sampler (The model's parameter proposal was rejected")
    assert "no JSON object" in runs[2]["rationale"] and "lr=7.5 is outside" in runs[3]["rationale"]
    infos = [e["text"] for e in read_events(engine) if e["kind"] == "info"]
    assert any("rejected before running" in t and "lr=7.5" in t for t in infos)
    # The rationale is in the trial's commit message.
    log = subprocess.run(["git", "log", "--format=%B", engine.workspace.branch], cwd=tiny_project,
                         capture_output=True, text=True).stdout
    assert "Chosen by: llm. proposed by openai/test-model: lr=0.1 overshoots; try 0.01." in log


async def test_no_trace_of_the_api_key_in_anything_aft_wrote(engine_factory, server, tiny_project):
    engine = await engine_factory(model=MODEL, api_base=server.url, strategy="hybrid", trials=4)
    server.script(error(401, "Incorrect API key provided", echo_auth=True))
    reply = await engine.chat("hello")
    assert "rejected the credentials" in reply and PLANTED_KEY not in reply
    server.script(error(400, f"bad request from key {PLANTED_KEY}"))
    await engine.chat("again")
    server.script(text(json.dumps({"action": "override", "params": {"lr": 0.02}, "rationale": "closer to 0.01"})))
    await engine.tune()
    engine.close("done")

    written = []
    for folder in (tiny_project / ".aft", tiny_project / "outputs"):
        written += [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".jsonl" for p in written)
    leaks = [str(p) for p in written if PLANTED_KEY.encode() in p.read_bytes()]
    assert leaks == []
    history = subprocess.run(["git", "log", "-p", "--all"], cwd=tiny_project, capture_output=True, text=True).stdout
    history += subprocess.run(["git", "notes", "--ref", "aft", "list"], cwd=tiny_project, capture_output=True,
                              text=True).stdout
    assert "trial 4" in history and "closer to 0.01" in history and PLANTED_KEY not in history
    # The key did reach the server (so the test would have caught a leak), in the request headers only.
    assert any(PLANTED_KEY in v for r in server.requests for k, v in r["headers"].items() if k.lower() == "authorization")
    assert server.remaining == 0  # the hybrid override was asked for and used (trial 4)


async def test_explain_compare_and_an_approved_rollback(engine_factory, server):
    from tests.brain.llm_server import Step

    engine = await engine_factory(model=MODEL, api_base=server.url, trials=2)
    await engine.tune()
    proposals = _decide_proposals(engine, approve=True)
    server.script(
        Step(tool_calls=[{"name": "explain_run", "arguments": {"trial": "2"}},
                         {"name": "compare", "arguments": {"a": "1", "b": "2"}}]),
        tool("rollback", {"trial": "1", "reason": "trial 1 was better"}),
        tool("explain_run", {"trial": "99"}),
        text("Rolled back to trial 1."),
    )
    reply = await engine.chat("explain trial 2, compare it with 1 and go back to 1")
    assert reply == "Rolled back to trial 1."
    second = server.requests[1]["body"]["messages"]
    explained, compared = json.loads(second[-2]["content"]), second[-1]["content"]
    assert explained["number"] == 2 and explained["history_length"] == explained["params"]["epochs"] and "rationale" in explained
    assert compared.startswith("Comparing ") and "Parameters" in compared
    assert [p.proposal_kind for p in proposals] == ["rollback"]
    assert "trial 1 was better" in proposals[0].rationale
    assert any(e["kind"] == "rollback" for e in read_events(engine))
    assert "No trial '99'" in server.requests[3]["body"]["messages"][-1]["content"]
    assert [c["name"] for c in engine.brain.tool_log] == ["explain_run", "compare", "rollback", "explain_run"]


async def test_the_workflow_repairs_with_the_model_under_the_same_checks(engine_factory, server, tiny_project):
    """A failed smoke run reaches the LLM brain's repair hook; its fix must pass the static check
    (a first fix that changes a default is sent back), then the workflow smoke-runs and commits it."""
    from aft_tui.engine.trial import TrialOutcome
    from aft_tui.engine.workflow import SmokeResult
    from aft_tui.target.refactor import plan_refactor

    engine = await engine_factory("const_train.py", model=MODEL, api_base=server.url, yes=True,
                                  metric="val_loss", direction="min")
    discovery = engine.workflow.inspect()
    chosen = [p.name for p in discovery.params]
    rule = plan_refactor(engine.work_script, discovery, chosen, project_root=engine.work_root)
    lr_line = next(line for line in rule.new_source.splitlines() if '"--lr"' in line)

    def edit(new_line: str, why: str) -> str:
        return (f"const_train.py\n<<<<<<< SEARCH\n{lr_line}\n=======\n{new_line}\n>>>>>>> REPLACE\n\n"
                f"Rationale: {why}\n")

    server.script(text(edit(lr_line.replace("default=0.1", "default=0.5"), "a larger default")),
                  text(edit(lr_line.replace('help="', 'help="learning rate; '), "name the flag plainly")))
    traceback = ["Traceback (most recent call last):", '  File "const_train.py", line 30, in <module>',
                 "ValueError: math domain error"]
    failed = SmokeResult(False, TrialOutcome(status="failed", reason="exit code 1", tail=["epoch 0", *traceback]),
                         "the smoke run failed: exit code 1")
    assert await engine.workflow._repair(discovery, chosen, failed, 1) is True

    first, second = (r["body"]["messages"] for r in server.requests)
    assert "ValueError: math domain error" in first[-1]["content"] and "_aft_parser" in first[-1]["content"]
    assert "The edit applied but" in second[-1]["content"] and "0.5" in second[-1]["content"]
    committed = engine.work_script.read_text()
    assert "learning rate; " in committed and "default=0.1" in committed
    log = subprocess.run(["git", "log", "--format=%B", "-n1", engine.workspace.branch], cwd=tiny_project,
                         capture_output=True, text=True).stdout
    assert log.startswith("repair: expose --lr, --epochs") and "openai/test-model repaired the refactor" in log
    proposal = next(e for e in read_events(engine) if e["kind"] == "proposal")
    assert proposal["proposal_kind"] == "repair" and "+_aft_parser.add_argument(\"--lr\"" in proposal["diff"]


async def test_a_model_written_refactor_plan_goes_through_the_workflows_proof_and_smoke_run(
        engine_factory, server, tiny_project):
    from aft_tui.target.equivalence import check_static
    from aft_tui.target.hooks import REPORT_HELPER

    engine = await engine_factory("const_train.py", model=MODEL, api_base=server.url, yes=True,
                                  metric="val_loss", direction="min")
    reply = ("const_train.py\n<<<<<<< SEARCH\nimport math\n=======\nimport math\nimport argparse\n\n\n"
             + REPORT_HELPER +
             "\n\n_aft_parser = argparse.ArgumentParser(description=\"Tunable hyperparameters.\")\n"
             "_aft_parser.add_argument(\"--lr\", type=float, default=0.1, help=\"learning rate\")\n"
             "_aft_args = _aft_parser.parse_args()\n>>>>>>> REPLACE\n\n"
             "const_train.py\n<<<<<<< SEARCH\nLR = 0.1\n=======\nLR = _aft_args.lr\n>>>>>>> REPLACE\n\n"
             "const_train.py\n<<<<<<< SEARCH\n    print(f\"epoch {epoch} val_loss: {val_loss}\")\n=======\n"
             "    print(f\"epoch {epoch} val_loss: {val_loss}\")\n"
             "    _aft_report({\"epoch\": epoch, \"val_loss\": val_loss})\n>>>>>>> REPLACE\n\n"
             "Rationale: expose the learning rate and report val_loss.\n")
    server.script(text(reply))
    discovery = engine.workflow.inspect()
    plan = await engine.brain.refactor_plan(engine, discovery, "expose the learning rate")
    assert plan is not None, engine.brain.last_problem
    assert [(p.name, p.flag, p.default) for p in plan.lifted] == [("lr", "--lr", 0.1)]
    assert check_static(plan.original, plan.new_source, plan).ok
    assert await engine.workflow._propose_and_prove(discovery, plan, ["lr"], "refactor", 0, "") is True
    log = subprocess.run(["git", "log", "--format=%B", "-n1", engine.workspace.branch], cwd=tiny_project,
                         capture_output=True, text=True).stdout
    assert log.startswith("refactor: expose --lr") and "Written by openai/test-model" in log
