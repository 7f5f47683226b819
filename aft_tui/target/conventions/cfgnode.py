"""Config-node trees merged from the command line (minGPT's CfgNode, yacs-like objects).

The script builds a tree by attribute assignment (`C.trainer = Trainer.get_default_config()`,
`C.trainer.learning_rate = 5e-4`) and hands `sys.argv` to `merge_from_args`, which takes
`--trainer.learning_rate=5e-4` and `literal_eval`s the value. The defaults live in the builder
functions, often in other modules of the project, so the builders are read (never run) by
following the script's imports; later assignments override earlier ones exactly as at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import libcst as cst

from aft_tui.target.conventions.project_modules import ProjectModules
from aft_tui.target.conventions.values import Value, param_type, trailing_comment, value_of
from aft_tui.target.knobs import is_knob
from aft_tui.target.literals import compact, dotted_name
from aft_tui.target.names import prefers_float, words
from aft_tui.target.params import Param
from aft_tui.target.script import Script

Skipped = tuple[str, str, str]
_MAX_DEPTH = 6
# Names of settings whose None placeholder stands for a count.
_COUNT_WORDS = frozenset({"iters", "iterations", "steps", "epochs", "layer", "layers", "head", "heads", "embd", "size", "dim", "batch"})


@dataclass
class Leaf:
    """One setting: its value (None when computed), where it was last assigned, its help."""

    value: Value | None
    code: str
    where: Script
    statement: cst.CSTNode
    help: str | None


@dataclass
class Tree:
    children: dict[str, Union["Tree", Leaf]] = field(default_factory=dict)


def cfgnode_params(script: Script) -> tuple[list[Param], list[Skipped]]:
    """The settings of every config tree the script merges `sys.argv` into."""
    params: list[Param] = []
    skipped: list[Skipped] = []
    for call in script.find(cst.Call):
        receiver = _merge_receiver(script, call)
        if receiver is None:
            continue
        builder = _Builder(ProjectModules(script))
        tree, after = builder.run_until(script, call, receiver)
        if tree is None:
            skipped.append((receiver, script.loc(call), f"could not read how `{receiver}` is built"))
            continue
        for key, leaf in _flatten(tree, ()):
            if key in after:
                skipped.append((key, script.loc(after[key]), "set by the script after it reads the command line"))
                continue
            param = _param(script, key, leaf, builder.modules)
            if param is None:
                skipped.append((key, _location(script, leaf, builder.modules), f"`{compact(leaf.code, 60)}` is computed, not a literal"))
            else:
                params.append(param)
    return params, skipped


def _merge_receiver(script: Script, call: cst.Call) -> str | None:
    """`config` in `config.merge_from_args(sys.argv[1:])`."""
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value != "merge_from_args" or not call.args:
        return None
    if "argv" not in script.code(call.args[0].value):
        return None
    return func.value.value if isinstance(func.value, cst.Name) else None


class _Builder:
    """Replays the attribute assignments that build a tree, following builder calls."""

    def __init__(self, modules: ProjectModules) -> None:
        self.modules = modules

    def run_until(self, script: Script, call: cst.Call, receiver: str) -> tuple[Tree | None, dict[str, cst.CSTNode]]:
        """The tree `receiver` holds when `call` runs, and the keys assigned after it."""
        env: dict[str, Tree] = {}
        chain = [a for a in script.ancestors(call) if isinstance(a, (cst.SimpleStatementLine, cst.BaseCompoundStatement))]
        merge_stmt = chain[0] if chain else None
        blocks = [script.module.body] + [
            list(a.body.body) for a in reversed(chain[1:]) if isinstance(getattr(a, "body", None), cst.IndentedBlock)
        ]
        for block in blocks:
            for stmt in block:
                if stmt is merge_stmt or any(stmt is a for a in chain):
                    break
                self._statement(stmt, script, env, 0)
        after: dict[str, cst.CSTNode] = {}
        last = blocks[-1] if blocks else []
        if merge_stmt is not None and any(s is merge_stmt for s in last):
            for stmt in last[[id(s) for s in last].index(id(merge_stmt)) + 1 :]:
                for target in _assigned_paths(stmt):
                    if target and target[0] == receiver and len(target) > 1:
                        after.setdefault(".".join(target[1:]), stmt)
        return env.get(receiver), after

    def build(self, fn: cst.FunctionDef, where: Script, depth: int) -> Tree | None:
        """The tree a builder function returns, or None when it returns something else."""
        if depth > _MAX_DEPTH or not isinstance(fn.body, cst.IndentedBlock):
            return None
        env: dict[str, Tree] = {}
        for stmt in fn.body.body:
            returned = self._statement(stmt, where, env, depth)
            if returned is not None:
                return returned if isinstance(returned, Tree) else None
        return None

    def _statement(self, stmt: cst.CSTNode, where: Script, env: dict[str, Tree], depth: int) -> Tree | bool | None:
        """Apply one statement; a `return` gives its tree (or False when it returns no tree)."""
        if not isinstance(stmt, cst.SimpleStatementLine):
            return None
        for small in stmt.body:
            if isinstance(small, cst.Return):
                tree = self._tree(small.value, where, env, depth) if small.value is not None else None
                return tree if tree is not None else False
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                self._assign(small.targets[0].target, small.value, stmt, where, env, depth)
            elif isinstance(small, cst.AnnAssign) and small.value is not None:
                self._assign(small.target, small.value, stmt, where, env, depth)
        return None

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression, stmt: cst.CSTNode, where: Script,
                env: dict[str, Tree], depth: int) -> None:
        path = _path(target)
        if not path:
            return
        tree = self._tree(value, where, env, depth)
        if len(path) == 1:
            if tree is not None:
                env[path[0]] = tree
            else:
                env.pop(path[0], None)
            return
        node = env.get(path[0])
        for part in path[1:-1]:
            child = node.children.get(part) if node is not None else None
            node = child if isinstance(child, Tree) else None
        if node is None:
            return
        leaf_name = path[-1]
        if tree is not None:
            node.children[leaf_name] = tree
            return
        earlier = node.children.get(leaf_name)
        help_text = trailing_comment(stmt) or (earlier.help if isinstance(earlier, Leaf) else None)
        node.children[leaf_name] = Leaf(value_of(value, where.module), where.code(value), where, stmt, help_text)

    def _tree(self, expr: cst.BaseExpression | None, where: Script, env: dict[str, Tree], depth: int) -> Tree | None:
        """The tree an expression evaluates to: an alias, a node constructor or a builder call."""
        if isinstance(expr, cst.Name):
            return env.get(expr.value)
        if not isinstance(expr, cst.Call):
            return None
        name = dotted_name(expr.func)
        if name is None:
            return None
        found = self.modules.lookup(name, where)
        if found is not None and isinstance(found.node, cst.FunctionDef):
            return self.build(found.node, found.script, depth + 1)
        if found is None and "." in name and name.split(".")[0] in env:
            return None  # a method of a tree: not a node
        if found is None and not _looks_like_node_class(name):
            return None
        tree = Tree()
        for arg in expr.args:
            if arg.keyword is not None:
                tree.children[arg.keyword.value] = Leaf(value_of(arg.value, where.module), where.code(arg.value), where,
                                                        where.statement_of(arg) or arg, None)
        return tree


def _looks_like_node_class(name: str) -> bool:
    """An unresolvable constructor is a node only when named like one (CN, CfgNode, ConfigDict)."""
    last = name.rsplit(".", 1)[-1]
    return last in ("CN", "Namespace", "SimpleNamespace", "EasyDict", "edict", "AttrDict") or any(
        w in ("cfg", "config", "node", "dict") for w in words(last)
    )


def _path(target: cst.BaseExpression) -> list[str]:
    dotted = dotted_name(target)
    return dotted.split(".") if dotted else []


def _assigned_paths(stmt: cst.CSTNode) -> list[list[str]]:
    if not isinstance(stmt, cst.SimpleStatementLine):
        return []
    paths = []
    for small in stmt.body:
        if isinstance(small, cst.Assign):
            paths += [_path(t.target) for t in small.targets]
        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
            paths.append(_path(small.target))
    return paths


def _flatten(tree: Tree, prefix: tuple[str, ...]):
    for key, child in tree.children.items():
        path = (*prefix, key)
        if isinstance(child, Tree):
            yield from _flatten(child, path)
        else:
            yield ".".join(path), child


def _param(script: Script, key: str, leaf: Leaf, modules: ProjectModules) -> Param | None:
    value = leaf.value
    if value is None:
        return None
    extra: dict[str, object] = {"syntax": "equals", "bool_format": "python", "key": key}
    ptype = param_type(value)
    if value.type == "none":
        ptype = _type_of_placeholder(key)
        extra["default_none"] = True
    if value.type == "tuple":
        extra["value_kind"] = "tuple"
    extra["tunable"] = value.type not in ("none", "tuple") and is_knob(key, ptype, value.value, kind="exposed")
    return Param(
        name=key,
        type=ptype,  # type: ignore[arg-type]
        default=value.value,
        source="cfgnode",
        flag=f"--{key}",
        location=_location(script, leaf, modules),
        help=leaf.help,
        extra=extra,
    )


def _type_of_placeholder(key: str) -> str:
    """A None default says nothing of its type; the name may (`max_iters` counts)."""
    leaf = key.rsplit(".", 1)[-1]
    if prefers_float(leaf):
        return "float"
    if set(words(leaf)) & _COUNT_WORDS:
        return "int"
    return "str"


def _location(script: Script, leaf: Leaf, modules: ProjectModules) -> str:
    if leaf.where is script:
        return script.loc(leaf.statement)
    return f"{modules.shown(leaf.where.path)}:{leaf.where.line(leaf.statement)}"
