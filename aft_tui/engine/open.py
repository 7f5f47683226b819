"""Opening an engine the one way every front end does: a new session on a script, or a saved
one resumed. `aft` commands, `aft chat` and the Python API differ only in the words they use
(the message when no script is given, where the settings came from), passed in as arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aft_tui.errors import UserError

if TYPE_CHECKING:
    from aft_tui.engine.engine import Engine


def open_session(target: str | Path | None, flags: Mapping[str, Any], *, resume: str | None = None,
                 project: str | Path | None = None, source: str = "the command line",
                 no_target: str = "No target given; pass your training script, e.g. `aft tune train.py`.") -> Engine:
    """The engine for a new session on `target`, or for the saved session `resume`.

    A new session's settings are the project's (aft.toml, [tool.aft], user config, AFT_* env)
    overridden by `flags`; a resumed one keeps its saved settings and takes only the `flags`
    given now (said to come from `source`), so "more trials" works on a resume. Flags set to
    None are not given. `no_target` is the sentence when there is neither a target nor a
    session to resume, in the words of the caller ("aft chat needs your training script ...").
    """
    from aft_tui.engine.engine import Engine
    from aft_tui.settings import Settings, load_settings

    given = {k: v for k, v in flags.items() if v is not None}
    root = Path(project).resolve() if project else None
    if resume:
        settings = Settings()
        settings.update(given, source)
        engine = Engine.open(None, settings, session_id=resume, resume=True, project=root)
        engine.connect_cluster()  # the saved session's cluster, reached before anything runs
        return engine
    if target is None:
        raise UserError(no_target)
    from aft_tui.engine.target_info import resolve_target

    info = resolve_target(target, project=root)
    settings = load_settings(info.project, given)
    plan = None
    if settings.cluster:  # reach the cluster before anything is created: no session for a cluster that is not there
        from aft_tui.runs.cluster.plan import plan_cluster

        plan = plan_cluster(settings, info.project)
    engine = Engine.open(target, settings, project=root)
    engine.cluster_plan = plan
    return engine
