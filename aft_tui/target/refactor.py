"""The deterministic refactor: lift discovered values to command-line flags and make the script
report its metrics, changing nothing else.

The plan is computed on the libcst tree, so comments and formatting survive and every line the
refactor does not need to touch stays byte-identical. Before a plan is returned it is checked
with `check_static`: removing what was added and putting each flag's default back must give the
original tree, so `python train.py` with no flags runs exactly the code it ran before.
"""

from __future__ import annotations

import keyword
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import libcst as cst

from aft_tui.errors import UserError
from aft_tui.target import hooks
from aft_tui.target.cli_structure import ArgparseInfo, cli_statement_index, find_argparse, other_cli, reachable, reads_command_line
from aft_tui.target.config_files import ConfigSite, config_sites
from aft_tui.target.constants import module_assignments
from aft_tui.target.cst_tools import append_item
from aft_tui.target.discover import Discovery
from aft_tui.target.edits import confine, unified_diff
from aft_tui.target.equivalence import check_static
from aft_tui.target.literals import keyword_arg, last_part
from aft_tui.target.metric_sites import metric_prints
from aft_tui.target.names import flag_for, identifier
from aft_tui.target.params import Param
from aft_tui.target.script import Script, load_script
from aft_tui.target.script_facts import trainer_calls

LIFTABLE_SOURCES = ("constant", "kwarg", "training_args", "lora_config", "loop")
# none: no flag added; new: a parser after the imports; merged: into the script's argparse parser;
# pass_through: a parser that takes AFT's flags off sys.argv before the script's own CLI reads it.
ParserMode = Literal["none", "new", "merged", "pass_through"]


@dataclass
class FlagBinding:
    """How one new flag replaced the original code, so the change can be undone for checking.

    mode "value": the literal itself was replaced by `args.dest`.
    mode "name": reads of the module constant `constant` were replaced by `args.dest` (used when
    the constant is defined before the script parses its arguments).
    mode "fallback": an expression E became `(E if args.dest is None else args.dest)`; the flag's
    default is None (used for config paths computed around a bare file name).
    """

    dest: str
    flag: str
    args_name: str
    mode: str
    original: str
    constant: str | None = None


@dataclass
class RefactorPlan:
    path: Path
    original: str
    new_source: str
    diff: str
    rationale: str
    lifted: list[Param] = field(default_factory=list)
    reporting: str = ""
    config_flag: str | None = None
    parser_mode: ParserMode = "none"
    bindings: list[FlagBinding] = field(default_factory=list)
    not_lifted: list[tuple[str, str]] = field(default_factory=list)
    unchanged_files: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new_source != self.original

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        data["lifted"] = [p.to_dict() for p in self.lifted]
        data["not_lifted"] = [list(x) for x in self.not_lifted]
        return data


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
        self.replace: dict[cst.CSTNode, cst.BaseExpression] = {}
        self.wrap: dict[cst.CSTNode, tuple[str, str]] = {}  # node -> (args name, dest) of a fallback flag
        self.before: dict[cst.CSTNode, list[cst.BaseStatement]] = {}
        self.after: dict[cst.CSTNode, list[cst.BaseStatement]] = {}
        self.callback_calls: set[cst.Call] = set()
        self.header: list[cst.BaseStatement] = []  # helper defs, placed after the imports
        self.header_imports: list[str] = []
        self.header_parser: list[str] = []
        self.pass_through = False
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

        reporting = self._reporting()
        self._apply_lifts(lifts, mode, info)
        new_source = self._render()

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
        plan.rationale = _rationale(plan, self.script.name, info, self.notes)
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
            dest = _free_name(_dest_for(param, taken), taken)
            taken.add(dest)
            flag = _free_flag(flag_for(dest, underscores), options)
            options.add(flag)
            spec = hooks.FlagSpec(dest, flag, param.type, self.script.code(nodes[0]), _help(param))
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
        dest = _free_name("config", taken)
        flag = _free_flag(flag_for(dest, underscores), options)
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
                    self.wrap[node] = (args_name, lift.spec.dest)
                else:
                    self.replace[node] = access
        specs = [l.spec for l in lifts]
        if mode == "merged" and info is not None:
            self.after.setdefault(info.anchor, []).extend(
                hooks.statement(hooks.add_argument_code(info.parser_var, s), self.module) for s in specs
            )
            return
        pass_through = self.pass_through = mode == "pass_through"
        if not _imports_plainly(self.module, "argparse"):
            self.header_imports.append("import argparse")
        if pass_through and not _imports_plainly(self.module, "sys"):
            self.header_imports.append("import sys")
        self.header_parser = hooks.parser_lines(specs, pass_through)

    def _reporting(self) -> str:
        if self.discovery.reports_aft_metrics:
            return f"{self.script.name} already writes AFT_METRICS; its reporting is left as it is."
        trainers = trainer_calls(self.script)
        if trainers:
            return self._callback_reporting(trainers)
        prints = metric_prints(self.script)
        if not prints:
            return "No printed metric was found to hook; AFT will read metrics from the script's output."
        described = []
        for mp in prints:
            pairs = [(name, self.script.code(expr)) for name, expr in mp.metrics]
            # The epoch as the print numbers it, so the curve's axis matches the log (Epoch 1, 2, ...).
            epoch = self.script.code(mp.epoch_shown) if mp.epoch_shown is not None else mp.epoch_var
            hook = hooks.statement(hooks.loop_hook_code(pairs, epoch), self.module)
            self.after.setdefault(mp.statement, []).append(hook)
            names = ", ".join(n for n, _ in mp.metrics)
            described.append(f"{names} ({mp.location}{', per epoch' if mp.epoch_var else ''})")
        self.header.append(hooks.statement(hooks.REPORT_HELPER, self.module, blank_lines=2))
        return (
            "Appends one JSON line per report to the file named by AFT_METRICS, right after the print "
            f"that shows it: {'; '.join(described)}. Nothing is written when AFT_METRICS is unset."
        )

    def _callback_reporting(self, trainers: list[tuple[cst.Call, str]]) -> str:
        kind = trainers[0][1]
        attached = []
        for call, call_kind in trainers:
            if call_kind != kind:
                continue
            callbacks = keyword_arg(call, "callbacks")
            if callbacks is not None and not isinstance(callbacks.value, cst.List):
                self.notes.append(f"The callbacks of the Trainer at {self.script.loc(call)} are not a list literal, so no callback was added there.")
                continue
            if callbacks is not None and isinstance(callbacks.value, cst.List) and not callbacks.value.elements:
                self.notes.append(f"The Trainer at {self.script.loc(call)} passes an empty callbacks list, so no callback was added there.")
                continue
            self.callback_calls.add(call)
            attached.append(self.script.loc(call))
        if not attached:
            return "The Trainer's callbacks could not be extended; AFT will read metrics from the script's output."
        root = "pytorch_lightning" if self.script.imports_module("pytorch_lightning") else "lightning"
        self.header_imports.append(hooks.callback_import(kind, root))
        self.header.append(hooks.statement(hooks.REPORT_HELPER, self.module, blank_lines=2))
        template = hooks.HF_CALLBACK if kind == "hf_trainer" else hooks.LIGHTNING_CALLBACK
        self.header.append(hooks.statement(template, self.module, blank_lines=2))
        what = "a TrainerCallback whose on_evaluate" if kind == "hf_trainer" else "a Lightning Callback whose on_validation_end"
        return (
            f"Adds {what} appends each evaluation's metrics to the file named by AFT_METRICS, passed via "
            f"callbacks=[...] to the Trainer at {', '.join(attached)}. Nothing is written when AFT_METRICS is unset."
        )

    # ---- rendering ---------------------------------------------------------------------------

    def _render(self) -> str:
        header = self._header_statements()
        tail: list[cst.BaseStatement] = []
        if header:
            index = self._header_index()
            if index == 0 and hasattr(header[0], "leading_lines"):
                # At the very top of the file: no blank line above the first added statement.
                header[0] = header[0].with_changes(leading_lines=())
            if index < len(self.module.body):
                self.before.setdefault(self.module.body[index], [])[:0] = header
            else:
                tail = header
        rewriter = _Rewriter(self.replace, self.wrap, self.before, self.after, self.callback_calls, tail)
        return self.module.visit(rewriter).code

    def _header_statements(self) -> list[cst.BaseStatement]:
        """Added imports, then helper definitions, then the parser: one block after the imports."""
        header = [hooks.statement(code, self.module) for code in sorted(self.header_imports, key=_import_order)]
        header.extend(self.header)
        for i, code in enumerate(self.header_parser):
            blank = (2 if self.header else 1) if i == 0 else 0
            header.append(hooks.statement(code, self.module, blank_lines=blank))
        if header and not header[0].leading_lines:
            header[0] = header[0].with_changes(leading_lines=[cst.EmptyLine()])
        return header

    def _header_index(self) -> int:
        """After the leading imports, and before the first statement the refactor touches."""
        touched = [*self.replace, *self.wrap, *self.after, *self.callback_calls]
        indices = [self.script.top_level_index(n) for n in touched]
        first_use = min([i for i in indices if i is not None], default=len(self.module.body))
        index = 0
        for i, stmt in enumerate(self.module.body[:first_use]):
            if _is_import(stmt) or (i == 0 and _is_docstring(stmt)):
                index = i + 1
        index = min(index, first_use)
        if self.header_parser and self.pass_through:
            # AFT's flags come off sys.argv before anything that may read it runs.
            cli = cli_statement_index(self.script)
            if cli is not None:
                index = min(index, cli)
        return index

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


class _Rewriter(cst.CSTTransformer):
    def __init__(self, replace, wrap, before, after, callback_calls, tail) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.replace = replace
        self.wrap = wrap
        self.before = before
        self.after = after
        self.callback_calls = callback_calls
        self.tail = tail

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def, override]
        if original_node in self.replace:
            new = self.replace[original_node]
            return new.with_changes(lpar=getattr(updated_node, "lpar", ()), rpar=getattr(updated_node, "rpar", ()))
        if original_node in self.wrap:
            return hooks.fallback_expression(updated_node, *self.wrap[original_node])
        if isinstance(original_node, cst.Call) and original_node in self.callback_calls:
            return _attach_callback(updated_node)
        if isinstance(original_node, (cst.Module, cst.IndentedBlock)):
            body: list[cst.CSTNode] = []
            for orig, upd in zip(original_node.body, updated_node.body):
                body.extend(self.before.get(orig, []))
                body.append(upd)
                body.extend(self.after.get(orig, []))
            if isinstance(original_node, cst.Module):
                body.extend(self.tail)
            return updated_node.with_changes(body=body)
        return updated_node


def _attach_callback(call: cst.Call) -> cst.Call:
    instance = cst.parse_expression(f"{hooks.CALLBACK}()")
    existing = keyword_arg(call, "callbacks")
    if existing is None:
        arg = cst.parse_expression(f"f(callbacks=[{hooks.CALLBACK}()])").args[0]  # type: ignore[attr-defined]
        return call.with_changes(args=append_item(call.args, arg, call.whitespace_before_args))
    assert isinstance(existing.value, cst.List)
    lst = existing.value
    elements = append_item(lst.elements, cst.Element(instance), lst.lbracket.whitespace_after)
    new_arg = existing.with_changes(value=lst.with_changes(elements=elements))
    return call.with_changes(args=[new_arg if a is existing else a for a in call.args])


def _import_order(code: str) -> tuple[int, str]:
    return (0 if code.startswith("import ") else 1, code)


def _help(param: Param) -> str:
    where = param.location
    if param.extra.get("keyword") == "betas":
        index = 0 if param.name.endswith("1") else 1
        return f"betas[{index}] of {last_part(param.extra.get('call'))}() at {where}"
    origin = param.extra.get("origin")
    more = len(param.extra.get("sites") or ()) - 1
    also = f" and {more} more place{'s' if more > 1 else ''}" if more > 0 else ""
    if origin == "dataclass_default":
        return f"default of {param.extra.get('dataclass')}.{param.extra.get('field')} at {where}"
    if origin == "dict_key":
        return f"{param.extra.get('key')!r} of the {param.extra.get('dict') or 'parameter'} dict at {where}"
    if origin == "update_step":
        return f"learning rate of the update step at {where}{also}"
    if origin == "module_value" and not param.extra.get("constant"):
        return f"{param.help} at {where}"
    if param.source == "constant":
        return f"{param.extra.get('constant')} (module constant at {where})"
    if param.source == "loop":
        return f"number of epochs (bound of the epoch loop at {where})"
    call = last_part(param.extra.get("call"))
    return f"{param.extra.get('keyword')} of {call}() at {where}{also}"


def _dest_for(param: Param, taken: set[str]) -> str:
    """The flag's name: the parameter's, or, when the script already has a flag of that name
    (a dead `--lr` next to the literal that decides), the parameter's prefixed name."""
    name = identifier(param.name)
    prefix = param.extra.get("prefix")
    if name in taken and prefix:
        return identifier(f"{prefix}_{name}")
    return name


def _free_name(name: str, taken: set[str]) -> str:
    if keyword.iskeyword(name):
        name += "_"
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    return candidate


def _free_flag(flag: str, options: set[str]) -> str:
    candidate, n = flag, 2
    while candidate in options:
        candidate, n = f"{flag}-{n}", n + 1
    return candidate


def _is_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _imports_plainly(module: cst.Module, name: str) -> bool:
    """Is there a module-level `import name` (no alias) the added code can rely on?"""
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    if alias.asname is None and isinstance(alias.name, cst.Name) and alias.name.value == name:
                        return True
    return False


def _rationale(plan: RefactorPlan, name: str, info: ArgparseInfo | None, notes: list[str]) -> str:
    parts: list[str] = []
    if plan.lifted or plan.config_flag:
        flags = ", ".join(f"{p.flag} (default {b.original})" for p, b in zip(plan.lifted, plan.bindings))
        if plan.lifted:
            how = {
                "merged": f"added to the script's existing argparse parser `{info.parser_var if info else 'parser'}`",
                "new": "declared by a small argparse parser after the imports",
                "pass_through": "declared by a small argparse parser that takes them off the command line before the script's own argument handling runs",
            }.get(plan.parser_mode, "declared")
            parts.append(
                f"Exposes {len(plan.lifted)} value{'s' if len(plan.lifted) != 1 else ''} of {name} as command-line "
                f"flags ({flags}), {how}; each default is the value the script used, so `python {name}` with no "
                "flags runs exactly as before."
            )
        if plan.config_flag:
            parts.append(f"The config file path is taken from {plan.config_flag}, so each trial can read its own config.")
    else:
        parts.append(f"No value of {name} needs to become a flag.")
    parts.extend(notes)
    if plan.reporting:
        parts.append(plan.reporting)
    if plan.not_lifted:
        parts.append("Not changed: " + "; ".join(f"{n}: {why}" for n, why in plan.not_lifted) + ".")
    if plan.unchanged_files:
        parts.append("Only " + name + " is edited; " + ", ".join(plan.unchanged_files) + " (imported) stay unchanged.")
    return " ".join(parts)
