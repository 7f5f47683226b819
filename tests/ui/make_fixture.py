"""Writes fixtures/session.jsonl: a fixed, deterministic session for the UI tests and snapshots.

Run `python tests/ui/make_fixture.py` to regenerate it after an event type changes. Times are
fixed, paths are relative, so screenshots taken from it are the same on every machine.
"""

from __future__ import annotations

import json
from pathlib import Path

from aft_tui.engine import events as ev

T0 = 1_750_000_000.0
SID = "20250615-120000-abc"


def events() -> list[ev.Event]:
    t = [T0]

    def at(dt: float) -> float:
        t[0] += dt
        return t[0]

    out: list[ev.Event] = [
        ev.SessionStarted(session_id=SID, target="mlp_classifier.py", project="proj", branch=f"aft/{SID}",
                          worktree="wt", settings={"trials": 3, "metric": "val_acc", "direction": "max"}, ts=at(0)),
        ev.UserMessage(text="Get the best validation accuracy out of this MLP.", ts=at(1)),
        ev.AssistantMessage(text="I will expose the **learning rate**, ", message_id="m1", final=False, ts=at(0.5)),
        ev.AssistantMessage(text="hidden size and dropout as flags, then tune them.", message_id="m1", final=False,
                            ts=at(0.5)),
        ev.AssistantMessage(text="I will expose the **learning rate**, hidden size and dropout as flags, then tune them.",
                            message_id="m1", final=True, ts=at(0.1)),
        ev.Proposal(proposal_id="p1", proposal_kind="refactor", title="Expose lr, hidden and dropout as flags",
                    rationale="These literals control training; flags keep the defaults and let AFT vary them.",
                    diff="--- a/mlp_classifier.py\n+++ b/mlp_classifier.py\n@@ -10,3 +10,5 @@\n-LR = 1e-3\n+parser.add_argument('--lr', type=float, default=1e-3)\n+parser.add_argument('--hidden', type=int, default=64)\n HIDDEN = 64\n",
                    files=["mlp_classifier.py"], ts=at(1)),
        ev.Decision(proposal_id="p1", approved=True, ts=at(2)),
        ev.CommitMade(sha="a" * 40, message="refactor", branch=f"aft/{SID}", ts=at(0.1)),
        ev.Info(text="Search space: lr in [1e-4, 1e-1] (log), hidden in {32, 64, 128}, dropout in [0, 0.5].", ts=at(0.2)),
    ]
    params = [{"lr": 0.001, "hidden": 64, "dropout": 0.1}, {"lr": 0.0123, "hidden": 128, "dropout": 0.05},
              {"lr": 0.2, "hidden": 32, "dropout": 0.4}]
    finals = [(0.842, "ok"), (0.915, "ok"), (0.41, "pruned")]
    best = None
    for i, (p, (value, status)) in enumerate(zip(params, finals), start=1):
        run_id = f"{SID}-t{i:03d}"
        out.append(ev.TrialStarted(run_id=run_id, number=i, params=p, command=["python", "mlp_classifier.py"],
                                   commit=f"{i}" * 40, rationale="the script's defaults" if i == 1 else "tpe sampler",
                                   ts=at(0.3)))
        epochs = 4 if status == "ok" else 2
        for e in range(1, epochs + 1):
            acc = round(value * (0.6 + 0.4 * e / epochs), 4)
            out.append(ev.TrialLog(run_id=run_id, lines=[f"epoch {e} step {j} loss {1.0 / (e + j):.4f}" for j in range(5)]
                                   + [f"epoch {e}: val_acc={acc}"], ts=at(0.2)))
            out.append(ev.TrialMetric(run_id=run_id, epoch=float(e), values={"val_acc": acc, "val_loss": round(1 - acc, 4)},
                                      ts=at(0.05)))
        reason = "val_acc 0.3075 at step 2 is worse than earlier trials" if status == "pruned" else ""
        out.append(ev.TrialFinished(run_id=run_id, number=i, status=status, value=value if status == "ok" else None,
                                    reason=reason, duration=12.5 * i,
                                    result={"params": p, "metric": "val_acc", "direction": "max", "commit": f"{i}" * 40},
                                    ts=at(0.2)))
        if status == "ok" and (best is None or value > best):
            best = value
            out.append(ev.BestUpdated(run_id=run_id, value=value, params=p, metric="val_acc", ts=at(0.01)))
        out.append(ev.TuneProgress(done=i, total=3, best=best, metric="val_acc", ts=at(0.01)))
    out.append(ev.Analysis(run_id=f"{SID}-t002", findings=[{"code": "still_improving",
                                                            "sentence": "val_acc was still rising at the last epoch; more epochs may help."}],
                           ts=at(0.1)))
    out.append(ev.Proposal(proposal_id="p2", proposal_kind="params", title="Try lr=0.02, hidden=128",
                           rationale="Trial 2 was still improving; a slightly higher learning rate may converge faster.",
                           diff='--- a/.aft-trial.json\n+++ b/.aft-trial.json\n@@ -1 +1 @@\n-{"lr": 0.0123, "hidden": 128}\n+{"lr": 0.02, "hidden": 128}\n',
                           ts=at(0.5)))
    return out


def write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for event in events():
            fh.write(json.dumps(event.to_dict()) + "\n")


if __name__ == "__main__":
    write(Path(__file__).parent / "fixtures" / "session.jsonl")
