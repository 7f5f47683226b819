"""Undoing AFT's additions on a syntax tree, the heart of the static proof (equivalence.py):
each `args.<dest>` of a lifted flag back to its value, and every `_aft` statement, helper,
callback and added flag removed, each checked to be code AFT adds (or held by the original).
"""

from __future__ import annotations

import libcst as cst

from aft_tui.target.additions import is_add_argument_statement, is_allowed_definition, is_allowed_statement
from aft_tui.target.cst_tools import remove_item
from aft_tui.target.flags import argument_dest, is_add_argument
from aft_tui.target.hooks import CALLBACK, is_aft_name


class Undo(cst.CSTTransformer):
    def __init__(
        self,
        substitutions: dict[tuple[str, str], cst.BaseExpression],
        added_dests: set[str],
        drop_imports: set[str],
        fallbacks: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
        known: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> None:
        super().__init__()
        self.known = known  # AFT's additions the original already held (their code, whitespace-normalised)
        self.removed: set[str] = set()
        self.substitutions = substitutions
        self.fallbacks = fallbacks
        self.added_dests = added_dests
        self.drop_imports = drop_imports
        self.problems: list[str] = []
        self._depth = 0  # 0 while visiting module-level statements

    def _removed(self, node: cst.CSTNode, allowed: bool) -> cst.RemovalSentinel:
        code = " ".join(_code(node).split())
        self.removed.add(code)
        if not allowed and code not in self.known:
            self.problems.append(f"`{code[:80]}` is not code AFT adds, yet it is named like AFT's additions")
        return cst.RemoveFromParent()

    # One pass tracks whether each simple statement mentions an `_aft` name (after substitution).
    _mentions: list[bool]

    def visit_Module(self, node: cst.Module) -> None:
        self._mentions = []

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._mentions.append(False)

    def visit_Name(self, node: cst.Name) -> None:
        if self._mentions and is_aft_name(node.value):
            self._mentions[-1] = True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        # A substituted `args.dest` is not a mention: it is about to become the original value.
        return not (isinstance(node.value, cst.Name) and (node.value.value, node.attr.value) in self.substitutions)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._depth += 1

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock) -> cst.IndentedBlock:
        self._depth -= 1
        return updated_node

    def visit_IfExp(self, node: cst.IfExp) -> bool:
        return not self._is_fallback(node)  # removed whole in leave_IfExp

    def leave_IfExp(self, original_node: cst.IfExp, updated_node: cst.IfExp) -> cst.BaseExpression:
        return original_node.body if self._is_fallback(original_node) else updated_node

    def _is_fallback(self, node: cst.IfExp) -> bool:
        """`(E if args.dest is None else args.dest)` for a fallback flag."""
        key = _attribute_key(node.orelse)
        if key is None or key not in self.fallbacks or len(node.lpar) != 1:
            return False
        test = node.test
        return (
            isinstance(test, cst.Comparison)
            and _attribute_key(test.left) == key
            and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].operator, cst.Is)
            and isinstance(test.comparisons[0].comparator, cst.Name)
            and test.comparisons[0].comparator.value == "None"
        )

    def visit_Element(self, node: cst.Element) -> bool:
        return not _is_aft_call(node.value)  # an added callback, removed in leave_Call

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        if isinstance(updated_node.value, cst.Name):
            key = (updated_node.value.value, updated_node.attr.value)
            if key in self.substitutions:
                value = self.substitutions[key]
                if updated_node.lpar and not getattr(value, "lpar", None):
                    return value.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)
                return value
        return updated_node

    def leave_SimpleStatementLine(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        if self._mentions.pop():
            return self._removed(original_node, is_allowed_statement(_code(original_node)))
        if len(updated_node.body) == 1:
            small = updated_node.body[0]
            if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and is_add_argument(small.value):
                dest, _ = argument_dest(small.value)
                if dest in self.added_dests:
                    return self._removed(original_node, is_add_argument_statement(_code(original_node)))
            if isinstance(small, cst.Import) and len(small.names) == 1 and self._depth == 0:
                alias = small.names[0]
                if alias.asname is None and isinstance(alias.name, cst.Name) and alias.name.value in self.drop_imports:
                    return cst.RemoveFromParent()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return not is_aft_name(node.name.value)  # removed whole, checked against the template

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return not is_aft_name(node.name.value)

    def leave_FunctionDef(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        if is_aft_name(updated_node.name.value):
            return self._removed(original_node, is_allowed_definition(_code(original_node)))
        return updated_node

    def leave_ClassDef(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        if is_aft_name(updated_node.name.value):
            return self._removed(original_node, is_allowed_definition(_code(original_node)))
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        args = list(updated_node.args)
        for index in range(len(args) - 1, -1, -1):
            value = args[index].value
            if not isinstance(value, cst.List):
                continue
            elements = list(value.elements)
            added = [i for i, el in enumerate(elements) if _is_aft_call(el.value)]
            if not added:
                continue
            for i in reversed(added):
                elements = remove_item(elements, i)
            if not elements and args[index].keyword is not None and args[index].keyword.value == "callbacks":
                args = remove_item(args, index)
            else:
                args[index] = args[index].with_changes(value=value.with_changes(elements=elements))
        return updated_node.with_changes(args=args)


def _attribute_key(node: cst.BaseExpression) -> tuple[str, str] | None:
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and not node.lpar:
        return (node.value.value, node.attr.value)
    return None


def _is_aft_call(node: cst.BaseExpression) -> bool:
    """The added callback instance: `_AftMetricsCallback()` with no arguments."""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == CALLBACK and not node.args


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
