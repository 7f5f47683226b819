"""Where code experiments come from: the offline catalogue of recipe edits and, when a model is
configured, the LLM. Each is an arm of the bandit while it still has ideas.

Both are prepared against the script as it is now in the session's worktree and come back as a
`CodeChange` whose files are complete new texts, so nothing is written until the person (or
--yes) approves and the loop commits it.
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from pathlib import Path
from typing import Any

from aft_tui.engine.research import journal
from aft_tui.engine.research.approvals import still_applies
from aft_tui.engine.research.code_changes import CodeChange, next_recipe, read_text, unified_diff
from aft_tui.engine.research.context import ResearchRun
from aft_tui.engine.research.verdicts import blocked_recipes
from aft_tui.target.source_text import temporarily

LLM_FAILURES_TOLERATED = 3
"""The LLM arm rests after this many answers in a row that could not be used."""


class CodeSources:
    def __init__(self, loop: ResearchRun) -> None:
        self.loop = loop
        self.engine = loop.engine
        self.llm_failures = 0
        self._installed: dict[str, bool] = {}
        self._catalogue_empty_at: str | None = None  # the script (and recipes tried) when the catalogue had nothing left

    # -- arms --------------------------------------------------------------------------------
    def any_code_source(self) -> bool:
        """Whether code experiments can come at all: a model is configured, or a recipe applies now."""
        if self.has_llm():
            return True
        from aft_tui.target.recipes.catalogue import applicable

        try:
            source = read_text(self.engine.work_script)
        except OSError:
            return False
        return bool(applicable(source, gpu=self.loop.options.gpu, tried=blocked_recipes(self.loop)))

    def has_llm(self) -> bool:
        return callable(getattr(self.engine.brain, "code_experiment", None))

    async def available(self) -> list[str]:
        arms = ["numeric"]
        if self._catalogue_empty_at != await asyncio.to_thread(self._code_state):
            arms.append("catalogue")
        if self.has_llm() and self.llm_failures < LLM_FAILURES_TOLERATED:
            arms.append("llm")
        return arms

    async def next_change(self, arm: str, *, waiting: list[str] = (), skip: list[str] = ()) -> CodeChange | None:
        """The arm's next idea; `skip`/`waiting`: recipes and titles already waiting for approval."""
        if arm == "catalogue":
            change = await asyncio.to_thread(self._next_recipe, list(skip))
            if change is None and not skip:
                self._catalogue_empty_at = await asyncio.to_thread(self._code_state)
            return change
        if arm == "llm":
            return await self._llm_change(_waiting_note(waiting))
        return None

    async def refresh(self, change: CodeChange) -> CodeChange | None:
        """An approved change, as it applies to the code now: unchanged when nothing was kept since
        it was written; a recipe applied again to the new code; a model's diff checked again."""
        if still_applies(self.loop, change):
            return change
        engine = self.engine
        if change.recipe:
            fresh = await asyncio.to_thread(self._next_recipe, [], change.recipe)
            if fresh is not None:
                fresh.title, fresh.repairs = change.title + " (applied again to the current code)", change.repairs
                return fresh
        else:
            from aft_tui.target.patch_scope import check_patch

            editable = self.loop.options.editable or [str(engine.info.rel_script)]
            check = await asyncio.to_thread(check_patch, change.diff, engine.work_root, editable=editable,
                                            read_only=self.loop.options.read_only, is_installed=self.is_installed)
            if check.ok:
                change.files, change.base = dict(check.files), ""
                return change
        engine.info_message(f"The approved change '{change.title}' no longer applies to the code (a change was kept "
                            "since it was proposed); it was not run.")
        self.loop.store.append_journal(journal.note(f"'{change.title}' no longer applied when its turn came."))
        return None

    def _code_state(self) -> str:
        """What decides whether the catalogue has something new: the script's text and the recipes
        tried (every trial commits, so the branch head says nothing about it)."""
        digest = hashlib.sha256(self.engine.work_script.read_bytes())
        digest.update("\0".join(blocked_recipes(self.loop)).encode())
        return digest.hexdigest()

    # -- the offline catalogue --------------------------------------------------------------------
    def _next_recipe(self, skip: list[str], only: str | None = None) -> CodeChange | None:
        engine = self.engine
        tried = [*blocked_recipes(self.loop), *skip]
        return next_recipe(engine.work_script, str(engine.info.rel_script), engine.work_root,
                           gpu=self.loop.options.gpu, tried=tried, expose=self.expose,
                           prefer=self.loop.rstate.steer, only=only)

    def expose(self, script: Path, new_source: str, knobs: dict[str, Any]) -> tuple[str, list[str]]:
        """Lift a recipe's new constants into flags with the session's own refactor, so the
        optimizer can tune them; the recipe alone when the refactor cannot."""
        from aft_tui.target.refactor import plan_refactor

        wanted = {name.lower() for name in knobs}
        with temporarily(script, new_source):
            discovery = self.engine.discover()
            names = [p.name for p in discovery.params
                     if not p.flag and (p.name.lower() in wanted or str(p.extra.get("constant") or "").lower() in wanted)]
            if not names:
                return new_source, []
            try:
                plan = plan_refactor(script, discovery, names, project_root=self.engine.work_root)
            except Exception:  # a refactor that cannot be planned leaves the recipe's constants as they are
                return new_source, []
        if not plan.changed:
            return new_source, []
        return plan.new_source, [p.name for p in plan.lifted]

    # -- repairs ---------------------------------------------------------------------------------------
    async def repair(self, change: CodeChange, reason: str, attempt: int, *,
                     waiting: list[str] = ()) -> CodeChange | None:
        """A crashed code change, repaired once more (at most twice in all): offline, the recipe
        without its new flags (bisecting the change into the edit and the exposure of its knobs);
        with a model, the model's fix of its own or the recipe's change, told how it crashed."""
        if change.source == "catalogue" and change.knobs and attempt == 1:
            fixed = await asyncio.to_thread(self._recipe_alone, change)
            if fixed is not None:
                return fixed
        if not self.has_llm():
            return None
        note = (f"The code change '{change.title}' crashed: {reason}. Its diff was:\n{change.diff[:6000]}\n"
                "Propose a corrected version of that change (against the files as they are now).")
        repaired = await self._llm_change([note, *_waiting_note(waiting)])
        if repaired is not None:
            repaired.title = f"repair {attempt} of '{change.title}': {repaired.title}"
        return repaired

    def _recipe_alone(self, change: CodeChange) -> CodeChange | None:
        from aft_tui.target.recipes.catalogue import applicable

        rel = str(self.engine.info.rel_script)
        original = read_text(self.engine.work_script)
        for edit in applicable(original, gpu=self.loop.options.gpu):
            if edit.recipe == change.recipe:
                return CodeChange(source="catalogue", title=f"repair 1 of '{change.title}': without its new flags",
                                  rationale=f"{edit.rationale} Its new values stay constants in the script: exposing "
                                            "them as flags is the part left out.",
                                  files={rel: edit.new_source}, diff=unified_diff(rel, original, edit.new_source),
                                  recipe=change.recipe)
        return None

    # -- the LLM --------------------------------------------------------------------------------------
    async def _llm_change(self, extra_steer: list[str] | None = None) -> CodeChange | None:
        from aft_tui.brain.code_experiments import CodeExperimentRequest, llm_code_experiment

        loop, engine = self.loop, self.engine
        editable = loop.options.editable or [str(engine.info.rel_script)]
        files = {}
        for rel in editable:
            try:
                files[rel] = read_text(engine.work_root / rel)
            except OSError:
                continue
        request = CodeExperimentRequest(
            script=str(engine.info.rel_script), files=files, read_only=list(loop.options.read_only),
            metric=loop.metric or "", direction=loop.direction or "max",
            journal=journal.for_model(loop.experiments, loop.metric or "value", loop.store.journal()),
            steer=[*loop.rstate.steer, *(extra_steer or [])], experiment_time=loop.options.experiment_time)
        answer = await llm_code_experiment(engine.brain, request, engine.work_root, editable,
                                           loop.options.read_only, self.is_installed)
        if isinstance(answer, str):
            self.llm_failures += 1
            engine.info_message(answer)
            loop.store.append_journal(journal.note(f"Refused an LLM code change before running it: {answer}"))
            return None
        self.llm_failures = 0
        idea, check = answer
        diff = "".join(unified_diff(rel, files.get(rel, ""), text) for rel, text in check.files.items())
        deleted = list(getattr(check, "deleted", []) or [])
        diff += "".join(unified_diff(rel, files.get(rel, ""), "") for rel in deleted)
        return CodeChange(source="llm", title=idea.title, rationale=idea.rationale, files=dict(check.files), diff=diff,
                          removed=deleted)

    def is_installed(self, module: str) -> bool:
        """Whether the trials' interpreter can import `module` (a change needing more is refused)."""
        if module not in self._installed:
            command = self.engine.interpreter.command(
                "-c", ["import importlib.util, sys; sys.exit(0 if importlib.util.find_spec(sys.argv[1]) else 1)", module])
            try:
                done = subprocess.run(command, capture_output=True, timeout=30, cwd=self.engine.trial_cwd)
                self._installed[module] = done.returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                self._installed[module] = False
        return self._installed[module]


def _waiting_note(titles: list[str]) -> list[str]:
    """Ideas already waiting for the person's approval: the model should not propose them again."""
    return [f"Already proposed and waiting for approval (do not repeat): {'; '.join(titles)}."] if titles else []
