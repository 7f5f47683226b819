"""How a script reads its command line, and which code can see the parsed arguments.

The refactor merges new flags into an existing argparse parser only when every value it lifts
sits where the parsed `args` object is in scope; otherwise it adds its own parser that takes its
flags off `sys.argv` before the script's own command-line handling runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from aft_tui.target.flags import argument_dest, is_add_argument
from aft_tui.target.literals import dotted_name
from aft_tui.target.script import Script
from aft_tui.target.script_facts import uses_sys_argv

_OTHER_CLIS = {
    "transformers.HfArgumentParser": "HfArgumentParser",
    "click": "click",
    "typer": "typer",
    "fire": "fire",
    "absl": "absl flags",
    "docopt": "docopt",
    "hydra": "hydra",
    "jsonargparse": "jsonargparse",
    "simple_parsing": "simple_parsing",
    "tyro": "tyro",
    "ml_collections.config_flags": "absl flags",
    "omegaconf.OmegaConf.from_cli": "OmegaConf",
}
# Calls that read the command line wherever they are imported from.
_PARSE_METHODS = {"parse_args", "parse_known_args", "parse_args_into_dataclasses", "parse_intermixed_args"}
# Words in an imported local module that say it may read the command line when imported.
_CLI_WORDS = ("sys.argv", "argv", "parse_args", "parse_known_args", "tyro", "click", "typer", "fire", "absl")


@dataclass
class ArgparseInfo:
    parser_var: str
    create_stmt: cst.SimpleStatementLine
    anchor: cst.SimpleStatementLine  # new add_argument calls go right after this statement
    dests: set[str] = field(default_factory=set)
    options: set[str] = field(default_factory=set)
    underscores: bool = False
    args_var: str | None = None
    args_line: int = 0  # the parsed args exist from the line after this one
    args_scope: cst.CSTNode | None = None  # the FunctionDef (or Module) that holds args_var


def find_argparse(script: Script) -> ArgparseInfo | None:
    """The script's main argparse parser (the one with the most add_argument calls)."""
    best: ArgparseInfo | None = None
    best_count = -1
    add_calls = [c for c in script.find(cst.Call) if is_add_argument(c)]
    for call in script.find(cst.Call):
        qualified = script.qualified(dotted_name(call.func)) or ""
        if qualified != "argparse.ArgumentParser":
            continue
        assign = script.parent(call)
        stmt = script.parent(assign) if assign is not None else None
        if not isinstance(assign, cst.Assign) or not isinstance(stmt, cst.SimpleStatementLine):
            continue
        if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
            continue
        var = assign.targets[0].target.value
        scope = _scope_of(script, stmt)
        own = [c for c in add_calls if dotted_name(c.func) == f"{var}.add_argument" and _scope_of(script, c) is scope]
        if len(own) <= best_count:
            continue
        block = script.parent(stmt)
        anchor = stmt
        for c in own:
            line = script.statement_of(c)
            if isinstance(line, cst.SimpleStatementLine) and script.parent(line) is block and script.line(line) > script.line(anchor):
                anchor = line
        info = ArgparseInfo(parser_var=var, create_stmt=stmt, anchor=anchor)
        for c in add_calls:
            dest, options = argument_dest(c)
            if dest:
                info.dests.add(dest)
            info.options.update(options)
        multiword = [o for o in info.options if o.startswith("--") and ("_" in o or "-" in o[2:])]
        info.underscores = bool(multiword) and all("_" in o for o in multiword)
        _find_args(script, info, scope)
        best, best_count = info, len(own)
    return best


def _find_args(script: Script, info: ArgparseInfo, scope: cst.CSTNode) -> None:
    for call in script.find(cst.Call):
        name = dotted_name(call.func)
        if name not in (f"{info.parser_var}.parse_args", f"{info.parser_var}.parse_known_args"):
            continue
        if _scope_of(script, call) is not scope:
            continue
        parent = script.parent(call)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
            if isinstance(target, cst.Tuple) and target.elements:
                target = target.elements[0].value
            if isinstance(target, cst.Name):
                info.args_var = target.value
                info.args_line = script.line(parent)
                info.args_scope = scope
                return
        if isinstance(parent, cst.Return) and isinstance(scope, cst.FunctionDef):
            if _bind_from_callers(script, info, scope.name.value):
                return
        if isinstance(parent, cst.Arg):
            outer = script.parent(parent)
            if isinstance(outer, cst.Call) and _bind_from_parameter(script, info, outer, parent):
                return


def _bind_from_callers(script: Script, info: ArgparseInfo, func_name: str) -> bool:
    """`def get_args(): ... return parser.parse_args()` then `args = get_args()`."""
    for call in script.find(cst.Call):
        if dotted_name(call.func) != func_name:
            continue
        parent = script.parent(call)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
            info.args_var = parent.targets[0].target.value
            info.args_line = script.line(parent)
            info.args_scope = _scope_of(script, parent)
            return True
        if isinstance(parent, cst.Arg):
            outer = script.parent(parent)
            if isinstance(outer, cst.Call) and _bind_from_parameter(script, info, outer, parent):
                return True
    return False


def _bind_from_parameter(script: Script, info: ArgparseInfo, outer: cst.Call, arg: cst.Arg) -> bool:
    """`main(parser.parse_args())`: the parsed args are main's first parameter."""
    callee = dotted_name(outer.func)
    if arg.keyword is not None or callee is None:
        return False
    index = [a for a in outer.args].index(arg)
    for func in script.find(cst.FunctionDef):
        if func.name.value == callee and script.enclosing_function(func) is None:
            params = list(func.params.params)
            if index < len(params):
                info.args_var = params[index].name.value
                info.args_line = script.line(func.body)
                info.args_scope = func
                return True
    return False


def _scope_of(script: Script, node: cst.CSTNode) -> cst.CSTNode:
    return script.enclosing_function(node) or script.module


def other_cli(script: Script) -> str | None:
    """A command-line library the script uses besides plain argparse, if any."""
    for qualified in script.imports.values():
        for prefix, label in _OTHER_CLIS.items():
            if qualified == prefix or qualified.startswith(prefix + "."):
                return label
    if uses_sys_argv(script):
        return "sys.argv"
    return None


def reads_command_line(script: Script) -> bool:
    """Might the script (or code it runs: a configurator via exec, a local module) read sys.argv?

    When in doubt the answer is yes: AFT's parser then takes only its own flags off sys.argv and
    leaves the rest, which is what a script that reads nothing would have seen anyway.
    """
    if find_argparse(script) is not None or other_cli(script) is not None:
        return True
    return cli_statement_index(script) is not None


def cli_statement_index(script: Script) -> int | None:
    """The first module-level statement that may read the command line when it runs: it reads
    sys.argv, calls a parser or CLI entry point, exec()s other code, or imports a local module
    that mentions the command line. Code after it sees sys.argv as AFT leaves it."""
    local_cli = local_cli_modules(script)
    for index, stmt in enumerate(script.module.body):
        if may_read_command_line(script, stmt, local_cli):
            return index
    return None


def local_cli_modules(script: Script) -> set[str]:
    """Local modules the script imports whose text mentions the command line."""
    return {name for name, text in _local_module_texts(script).items() if any(w in text for w in _CLI_WORDS)}


def may_read_command_line(script: Script, stmt: cst.CSTNode, local_cli: set[str]) -> bool:
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Import):
                if any(script.code(a.name).split(".")[0] in local_cli for a in small.names):
                    return True
            elif isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
                if script.code(small.module).split(".")[0] in local_cli:
                    return True
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and not stmt.decorators:
        return False  # a definition runs nothing; calling it is a later statement
    for attr in _walk(stmt, cst.Attribute):
        if attr.attr.value == "argv" and script.qualified(dotted_name(attr.value)) == "sys":
            return True
    for call in _walk(stmt, cst.Call):
        name = dotted_name(call.func) or ""
        qualified = script.qualified(name) or name
        if name in ("exec", "execfile") or name.rsplit(".", 1)[-1] in _PARSE_METHODS:
            return True
        if any(qualified == prefix or qualified.startswith(prefix + ".") for prefix in _OTHER_CLIS):
            return True
    return False


def _walk(node: cst.CSTNode, kind: type) -> list:
    found: list = []

    class _Find(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            if isinstance(n, kind):
                found.append(n)
            return True

    node.visit(_Find())
    return found


def _local_module_texts(script: Script) -> dict[str, str]:
    folder = script.path.parent
    texts: dict[str, str] = {}
    for name in set(script.imports.values()):
        root = name.split(".")[0]
        for candidate in (folder / f"{root}.py", folder / root / "__init__.py"):
            if root not in texts and candidate.is_file():
                try:
                    texts[root] = candidate.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    pass
    return texts


def reachable(script: Script, info: ArgparseInfo, node: cst.CSTNode) -> bool:
    """Can code at `node` read `info.args_var` (bound, in scope, not shadowed) when it runs?"""
    if info.args_var is None or info.args_scope is None:
        return False
    line = script.line(node)
    deferred = _deferred_scopes(script, node)
    if isinstance(info.args_scope, cst.Module):
        if not deferred:
            return line > info.args_line
        # Function bodies run later and read the global, unless they bind the same name.
        return not any(isinstance(f, cst.FunctionDef) and _binds(f, info.args_var) for f in deferred)
    scope = info.args_scope
    if scope not in deferred:
        return False
    inner = deferred[: deferred.index(scope)]
    if any(isinstance(f, cst.FunctionDef) and _binds(f, info.args_var) for f in inner):
        return False
    return line > info.args_line


def _deferred_scopes(script: Script, node: cst.CSTNode) -> list[cst.CSTNode]:
    """Functions and lambdas whose *body* holds `node`, innermost first.

    Defaults and decorators run when the function is defined, and class bodies run at once,
    so only bodies count as code that runs later.
    """
    scopes: list[cst.CSTNode] = []
    child = node
    for anc in script.ancestors(node):
        if isinstance(anc, (cst.FunctionDef, cst.Lambda)) and child is anc.body:
            scopes.append(anc)
        child = anc
    return scopes


def _binds(func: cst.FunctionDef, name: str) -> bool:
    params = func.params
    all_params = [*params.posonly_params, *params.params, *params.kwonly_params]
    for extra in (params.star_arg, params.star_kwarg):
        if isinstance(extra, cst.Param):
            all_params.append(extra)
    if any(p.name.value == name for p in all_params):
        return True
    found = False

    def _names(target: cst.BaseExpression) -> list[str]:
        if isinstance(target, cst.Name):
            return [target.value]
        if isinstance(target, (cst.Tuple, cst.List)):
            return [n for el in target.elements for n in _names(el.value)]
        return []

    class _Assigns(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is func  # nested functions have their own scope

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            self._check(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            self._check(node.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            self._check(node.target)

        def visit_For(self, node: cst.For) -> None:
            self._check(node.target)

        def _check(self, target: cst.BaseExpression) -> None:
            nonlocal found
            if name in _names(target):
                found = True

    func.visit(_Assigns())
    return found
