"""Making a script report its metrics to AFT: a line appended to the AFT_METRICS file right after
each print that shows a metric, or a callback on the Trainer that evaluates.

Nothing is written when AFT_METRICS is unset, so the script run by hand behaves as before.
"""

from __future__ import annotations

import libcst as cst

from aft_tui.target import hooks
from aft_tui.target.discover import Discovery
from aft_tui.target.literals import keyword_arg
from aft_tui.target.metric_sites import metric_prints
from aft_tui.target.refactor_render import Edits
from aft_tui.target.script import Script
from aft_tui.target.script_facts import trainer_calls


def add_reporting(script: Script, discovery: Discovery, edits: Edits, notes: list[str]) -> str:
    """Hook the script's metric reports into AFT_METRICS (edits added to `edits`); the sentence that says how."""
    if discovery.reports_aft_metrics:
        return f"{script.name} already writes AFT_METRICS; its reporting is left as it is."
    trainers = trainer_calls(script)
    if trainers:
        return _callback_reporting(script, trainers, edits, notes)
    prints = metric_prints(script)
    if not prints:
        return "No printed metric was found to hook; AFT will read metrics from the script's output."
    described = []
    for mp in prints:
        pairs = [(name, script.code(expr)) for name, expr in mp.metrics]
        # The epoch as the print numbers it, so the curve's axis matches the log (Epoch 1, 2, ...).
        epoch = script.code(mp.epoch_shown) if mp.epoch_shown is not None else mp.epoch_var
        hook = hooks.statement(hooks.loop_hook_code(pairs, epoch), script.module)
        edits.after.setdefault(mp.statement, []).append(hook)
        names = ", ".join(n for n, _ in mp.metrics)
        described.append(f"{names} ({mp.location}{', per epoch' if mp.epoch_var else ''})")
    edits.header.append(hooks.statement(hooks.REPORT_HELPER, script.module, blank_lines=2))
    return (
        "Appends one JSON line per report to the file named by AFT_METRICS, right after the print "
        f"that shows it: {'; '.join(described)}. Nothing is written when AFT_METRICS is unset."
    )


def _callback_reporting(script: Script, trainers: list[tuple[cst.Call, str]], edits: Edits, notes: list[str]) -> str:
    kind = trainers[0][1]
    attached = []
    for call, call_kind in trainers:
        if call_kind != kind:
            continue
        callbacks = keyword_arg(call, "callbacks")
        if callbacks is not None and not isinstance(callbacks.value, cst.List):
            notes.append(f"The callbacks of the Trainer at {script.loc(call)} are not a list literal, so no callback was added there.")
            continue
        if callbacks is not None and isinstance(callbacks.value, cst.List) and not callbacks.value.elements:
            notes.append(f"The Trainer at {script.loc(call)} passes an empty callbacks list, so no callback was added there.")
            continue
        edits.callback_calls.add(call)
        attached.append(script.loc(call))
    if not attached:
        return "The Trainer's callbacks could not be extended; AFT will read metrics from the script's output."
    root = "pytorch_lightning" if script.imports_module("pytorch_lightning") else "lightning"
    edits.header_imports.append(hooks.callback_import(kind, root))
    edits.header.append(hooks.statement(hooks.REPORT_HELPER, script.module, blank_lines=2))
    template = hooks.HF_CALLBACK if kind == "hf_trainer" else hooks.LIGHTNING_CALLBACK
    edits.header.append(hooks.statement(template, script.module, blank_lines=2))
    what = "a TrainerCallback whose on_evaluate" if kind == "hf_trainer" else "a Lightning Callback whose on_validation_end"
    return (
        f"Adds {what} appends each evaluation's metrics to the file named by AFT_METRICS, passed via "
        f"callbacks=[...] to the Trainer at {', '.join(attached)}. Nothing is written when AFT_METRICS is unset."
    )
