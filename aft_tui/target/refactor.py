"""The deterministic refactor: lift discovered values to command-line flags and make the script
report its metrics, changing nothing else.

The plan is computed on the libcst tree, so comments and formatting survive and every line the
refactor does not need to touch stays byte-identical. Before a plan is returned it is checked
with `check_static`: removing what was added and putting each flag's default back must give the
original tree, so `python train.py` with no flags runs exactly the code it ran before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libcst as cst

from aft_tui.errors import UserError
from aft_tui.target import hooks
from aft_tui.target.cli_structure import ArgparseInfo, find_argparse, other_cli, reachable, reads_command_line
from aft_tui.target.config_files import ConfigSite, config_sites
from aft_tui.target.constants import module_assignments
from aft_tui.target.discover import Discovery
from aft_tui.target.edits import confine, unified_diff
from aft_tui.target.equivalence import check_static
from aft_tui.target.names import flag_for
from aft_tui.target.new_flags import dest_for, free_flag, free_name, help_for
from aft_tui.target.params import Param
from aft_tui.target.refactor_plan import FlagBinding, ParserMode, RefactorPlan, rationale
from aft_tui.target.refactor_render import Edits, imports_plainly, render
from aft_tui.target.report_hooks import add_reporting
from aft_tui.target.script import Script, load_script

__all__ = ["LIFTABLE_SOURCES", "FlagBinding", "ParserMode", "RefactorPlan", "plan_refactor"]

LIFTABLE_SOURCES = ("constant", "kwarg", "training_args", "lora_config", "loop")


@dataclass
class _Lift:
    """One flag to add and the nodes it replaces."""

    param: Param | None  # None for the config-file flag
    spec: hooks.FlagSpec
    mode: str
    nodes: list[cst.CSTNode]
    constant: str | None = None


def plan_refactor(
    path: Path,
    discovery: Discovery,
    chosen: list[str] | None = None,
    *,
    project_root: Path | None = None,
) -> RefactorPlan:
    """Propose the refactor of `path` (nothing is written; the plan carries the new source)."""
    path = Path(path)
    root = Path(project_root) if project_root is not None else _project_root(path)
    target = confine(path, root)
    script = load_script(target)
    rel = target.relative_to(root.resolve()).as_posix()
    return _Planner(script, discovery, chosen, rel, root.resolve()).plan()


def _project_root(path: Path) -> Path:
    """The enclosing git work tree, or the script's own folder when there is none."""
    start = path.absolute().parent
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


class _Planner:
    def __init__(self, script: Script, discovery: Discovery, chosen: list[str] | None, rel: str, root: Path) -> None:
        self.script = script
        self.discovery = discovery
        self.chosen = chosen
        self.rel = rel
        self.root = root
        self.module = script.module
        self.not_lifted: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self.edits = Edits()
        self.info: ArgparseInfo | None = None

    # ---- selection -------------------------------------------------------------------------

    def _selected(self) -> tuple[list[Param], bool]:
        """Params to lift, and whether config-file keys were asked for."""
        params = self.discovery.params
        if self.chosen is None:
            chosen = [p for p in params if p.source in LIFTABLE_SOURCES and p.extra.get("tunable", True)]
            wants_config = any(p.source == "config_file" for p in params)
            return chosen, wants_config
        by_name = {p.name: p for p in params}
        unknown = [name for name in self.chosen if name not in by_name]
        if unknown:
            known = ", ".join(sorted(by_name)) or "none"
            raise UserError(
                f"{self.script.name} has no parameter named {', '.join(unknown)}; choose from: {known}."
            )
        selected = []
        wants_config = False
        for name in self.chosen:
            param = by_name[name]
            if param.source in LIFTABLE_SOURCES:
                selected.append(param)
            elif param.source == "config_file":
                wants_config = True
            else:
                self.not_lifted.append((name, f"already a command-line flag ({param.flag})"))
        return selected, wants_config

    # ---- locating nodes ----------------------------------------------------------------------

    def _sites(self, param: Param) -> list[cst.BaseExpression]:
        """Every node the parameter's value is written at (one knob repeated is lifted together)."""
        sites = param.extra.get("sites") or [param.extra.get("site") or {}]
        return [self._node_at(param, site) for site in sites]

    def _node_at(self, param: Param, site: dict[str, Any]) -> cst.BaseExpression:
        want = (site.get("line"), site.get("col"))
        for node in self.script.find(cst.BaseExpression):
            if self.script.pos(node) == want and self.script.code(node) == site.get("code"):
                return node
        raise UserError(
            f"{self.script.name} changed since it was read (no `{site.get('code')}` at "
            f"{site.get('location') or param.location}); run discovery again."
        )

    def _constant_uses(self, name: str) -> list[cst.Name] | None:
        """Reads of a module constant across the script; None when scope analysis cannot tell."""
        stmt = next((s for n, _, s in module_assignments(self.module) if n == name), None)
        if stmt is None:
            return None
        scope = self.script.scopes.get(stmt.body[0])
        if scope is None:
            return None
        uses: list[cst.Name] = []
        for assignment in scope.assignments[name]:
            for access in assignment.references:
                if isinstance(access.node, cst.Name):
                    uses.append(access.node)
        return uses

    # ---- planning ----------------------------------------------------------------------------

    def plan(self) -> RefactorPlan:
        selected, wants_config = self._selected()
        info = self.info = find_argparse(self.script)
        other = other_cli(self.script)
        blocking_cli = other not in (None, "sys.argv")

        sites = {p.name: self._sites(p) for p in selected}
        config_found, config_flag = self._config(wants_config)

        mode: ParserMode = "none"
        lifts: list[_Lift] = []
        if sites or config_found:
            merged = None
            if info is not None and info.args_var and not blocking_cli:
                merged = self._lifts(selected, sites, config_found, info)
                if merged is None:
                    self.notes.append(
                        f"Some values are outside the reach of `{info.args_var}`, so a separate parser takes "
                        "AFT's flags off the command line before the script's own parser runs."
                    )
            if merged is not None:
                mode, lifts = "merged", merged
            else:
                # Whatever reads the command line after AFT's parser must see it without AFT's flags.
                mode = "pass_through" if reads_command_line(self.script) else "new"
                lifts = self._lifts(selected, sites, config_found, None) or []
        if not config_flag:
            config_flag = next((l.spec.flag for l in lifts if l.param is None), None)

        reporting = add_reporting(self.script, self.discovery, self.edits, self.notes)
        self._apply_lifts(lifts, mode, info)
        new_source = render(self.script, self.edits)

        bindings = [
            FlagBinding(
                dest=l.spec.dest,
                flag=l.spec.flag,
                args_name=info.args_var if mode == "merged" and info and info.args_var else hooks.ARGS,
                mode=l.mode,
                original=l.spec.default_code,
                constant=l.constant,
            )
            for l in lifts
        ]
        lifted = [
            Param.from_dict({**l.param.to_dict(), "flag": l.spec.flag, "extra": {**l.param.extra, "dest": l.spec.dest}})
            for l in lifts
            if l.param is not None
        ]
        plan = RefactorPlan(
            path=self.script.path,
            original=self.script.text,
            new_source=new_source,
            diff=unified_diff(self.script.text, new_source, self.rel),
            rationale="",
            lifted=lifted,
            reporting=reporting,
            config_flag=config_flag,
            parser_mode=mode,
            bindings=bindings,
            not_lifted=self.not_lifted,
            unchanged_files=self._local_imports(),
        )
        plan.rationale = rationale(plan, self.script.name, info, self.notes)
        self._verify(plan)
        return plan

    def _config(self, wants_config: bool) -> tuple[list[ConfigSite], str | None]:
        if not wants_config:
            return [], None
        for param in self.discovery.params:
            if param.extra.get("config_flag"):
                return [], param.flag  # the script already takes its config path as a flag
        sites = [s for s in config_sites(self.script) if s.path in self.discovery.config_files]
        if not sites:
            return [], None
        first = sites[0].path
        return [s for s in sites if s.path == first], None

    def _lifts(
        self,
        selected: list[Param],
        sites: dict[str, list[cst.BaseExpression]],
        config_sites_: list[ConfigSite],
        info: ArgparseInfo | None,
    ) -> list[_Lift] | None:
        """Flags and the nodes they replace; None when merging into `info` cannot reach a value."""
        existing = self.info
        taken = set(existing.dests) if existing else set()
        taken |= {p.name for p in self.discovery.params if p.source in ("argparse", "hf_dataclass")}
        # Flags the script already understands stay its own, whichever parser AFT uses.
        options = set(existing.options) if existing else set()
        options |= {p.flag for p in self.discovery.params if p.flag}
        underscores = bool(existing and existing.underscores)
        lifts: list[_Lift] = []
        for param in selected:
            nodes = sites[param.name]
            dest = free_name(dest_for(param, taken), taken)
            taken.add(dest)
            flag = free_flag(flag_for(dest, underscores), options)
            options.add(flag)
            spec = hooks.FlagSpec(dest, flag, param.type, self.script.code(nodes[0]), help_for(param))
            constant = param.extra.get("constant") if param.source == "constant" else None
            if info is None or all(reachable(self.script, info, node) for node in nodes):
                lifts.append(_Lift(param, spec, "value", list(nodes)))
                continue
            if constant is None:
                return None
            uses = self._constant_uses(constant)
            if not uses or not all(reachable(self.script, info, use) for use in uses):
                return None
            lifts.append(_Lift(param, spec, "name", list(uses), constant))
        if config_sites_:
            lift = self._config_lift(config_sites_, taken, options, underscores)
            if lift is not None:
                if info is not None and not all(reachable(self.script, info, n) for n in lift.nodes):
                    return None
                lifts.append(lift)
        return lifts

    def _config_lift(self, sites: list[ConfigSite], taken: set[str], options: set[str], underscores: bool) -> _Lift | None:
        """The flag that names the config file: its default is the original literal, or, where the
        path is computed around a bare name (`with_name`), None meaning "the original expression"."""
        dest = free_name("config", taken)
        flag = free_flag(flag_for(dest, underscores), options)
        path = sites[0].path
        if all(s.fallback is None for s in sites):
            spec = hooks.FlagSpec(dest, flag, "str", self.script.code(sites[0].node), f"config file to read (originally {path})")
            return _Lift(None, spec, "value", [s.node for s in sites])
        path_type = self._path_type()
        if path_type is None:
            self.notes.append(f"The path of {path} is computed without pathlib.Path in scope, so no --config flag was added.")
            return None
        spec = hooks.FlagSpec(dest, flag, "str", "None", f"config file to read instead of {path}", type_code=path_type)
        return _Lift(None, spec, "fallback", [s.fallback or s.node for s in sites])

    def _path_type(self) -> str | None:
        for local, full in self.script.imports.items():
            if full == "pathlib.Path":
                return local
        for local, full in self.script.imports.items():
            if full == "pathlib":
                return f"{local}.Path"
        return None

    def _apply_lifts(self, lifts: list[_Lift], mode: str, info: ArgparseInfo | None) -> None:
        if not lifts:
            return
        args_name = info.args_var if mode == "merged" and info and info.args_var else hooks.ARGS
        for lift in lifts:
            access = cst.parse_expression(f"{args_name}.{lift.spec.dest}")
            for node in lift.nodes:
                if lift.mode == "fallback":
                    self.edits.wrap[node] = (args_name, lift.spec.dest)
                else:
                    self.edits.replace[node] = access
        specs = [l.spec for l in lifts]
        if mode == "merged" and info is not None:
            self.edits.after.setdefault(info.anchor, []).extend(
                hooks.statement(hooks.add_argument_code(info.parser_var, s), self.module) for s in specs
            )
            return
        pass_through = self.edits.pass_through = mode == "pass_through"
        if not imports_plainly(self.module, "argparse"):
            self.edits.header_imports.append("import argparse")
        if pass_through and not imports_plainly(self.module, "sys"):
            self.edits.header_imports.append("import sys")
        self.edits.header_parser = hooks.parser_lines(specs, pass_through)

    def _verify(self, plan: RefactorPlan) -> None:
        if not plan.changed:
            return
        try:
            compile(plan.new_source, self.script.name, "exec", dont_inherit=True)
        except SyntaxError as exc:  # pragma: no cover - a bug in the templates, not user input
            raise UserError(f"AFT produced an invalid refactor of {self.script.name} ({exc.msg}); please report this.") from None
        report = check_static(plan.original, plan.new_source, plan)
        if not report.ok:
            raise UserError(
                f"AFT could not prove its refactor of {self.script.name} keeps the original behaviour "
                f"({'; '.join(report.problems)}); please report this."
            )

    def _local_imports(self) -> list[str]:
        folder = self.script.path.parent
        found: list[str] = []
        for node in self.script.find(cst.Import, cst.ImportFrom):
            names: list[str] = []
            if isinstance(node, cst.Import):
                names = [self.script.code(a.name).split(".")[0] for a in node.names]
            elif node.module is not None and not node.relative:
                names = [self.script.code(node.module).split(".")[0]]
            for name in names:
                for candidate in (folder / f"{name}.py", folder / name / "__init__.py"):
                    if candidate.is_file():
                        try:
                            shown = candidate.resolve().relative_to(self.root).as_posix()
                        except ValueError:
                            shown = str(candidate)
                        if shown not in found:
                            found.append(shown)
        return found
