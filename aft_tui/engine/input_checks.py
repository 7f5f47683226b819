"""Checks of a session's inputs made before anything is created.

A session is a branch, a worktree and a state file; a typo in a flag or a broken script must not
leave one behind. Everything that can be judged from the person's own files and settings is
judged here, with the same sentences the later stages would say. What can only be known once
the session exists (what the refactored script exposes, say) is handled when the session ends
(`Engine.close`): a session that did nothing is removed, one that did something is marked failed.
"""

from __future__ import annotations

from typing import Any

from aft_tui.engine.target_info import TargetInfo
from aft_tui.errors import UserError
from aft_tui.target.source_text import check_syntax, read_source


# What a strategy's sampler imports when it first samples (as `strategies.make_sampler` checks).
_BACKENDS = {"gp": (("torch", "pip install torch scipy"), ("scipy", "pip install scipy")),
             "cmaes": (("cmaes", "pip install cmaes"),)}


def check_new_session(info: TargetInfo, settings: Any) -> None:
    """Refuse, in one sentence, inputs a new session on `info` would fail on."""
    check_syntax(read_source(info.script), info.script.name)
    check_settings(settings)
    if settings.params or settings.search:
        _check_names_and_ranges(info, settings)


def check_settings(settings: Any) -> None:
    """Checks that need no script: also made when a session is resumed with new flags."""
    from aft_tui.tuning.base import check_strategy
    from aft_tui.tuning.strategies import _require

    check_strategy(settings.strategy)
    for module, fix in _BACKENDS.get(settings.strategy, ()):
        _require(module, settings.strategy, fix)
    if settings.params is not None and not settings.params:
        raise UserError("params names no parameter; list the ones to tune, e.g. --params lr,batch_size, "
                        "or leave it out to tune every parameter found.")


def _check_names_and_ranges(info: TargetInfo, settings: Any) -> None:
    """`params` and `[search.X]` name parameters the script has, with ranges that can be searched.

    Discovery of the person's script is what the session would start from (its worktree is a
    snapshot of the same files). A script where discovery finds nothing is left to the session:
    a configured model may still find parameters there.
    """
    from aft_tui.target.script_args import discover_with_args
    from aft_tui.tuning.space import build_space

    discovery = discover_with_args(info.script, list(settings.args or []), info.project / info.rel_cwd)
    if not discovery.params:
        return
    known = {p.name for p in discovery.params}
    unknown = [name for name in settings.params or [] if name not in known]
    if unknown:
        raise UserError(f"{info.script.name} has no parameter named {', '.join(unknown)}; "
                        f"choose from: {', '.join(sorted(known))}.")
    build_space(list(discovery.params), settings.search, settings.params)
