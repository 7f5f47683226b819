"""Adam -> AdamW: the same optimizer with weight decay decoupled from the gradient step."""

from __future__ import annotations

import libcst as cst

from aft_tui.target.cst_tools import append_item
from aft_tui.target.literals import keyword_arg, literal_of, positional_args
from aft_tui.target.recipes.base import RecipeEdit
from aft_tui.target.recipes.rewrite import SourceEdit, parse
from aft_tui.target.recipes.training import calls_to

_ADAM = ("torch.optim.Adam", "torch.optim.adam.Adam")
_WEIGHT_DECAY_POSITION = 4  # Adam(params, lr, betas, eps, weight_decay, ...), the same in AdamW
DEFAULT_DECAY = 0.01  # torch's own default for AdamW


class AdamW:
    id = "adamw"
    title = "Adam -> AdamW with decoupled weight decay"
    needs_gpu = False

    def apply(self, source: str) -> RecipeEdit | None:
        script = parse(source)
        if script is None:
            return None
        calls = calls_to(script, *_ADAM)
        if not calls:
            return None
        edit = SourceEdit(script)
        constants: dict[str, str] = {}  # the weight decay's source text -> its constant
        for call in calls:
            new_func = self._adamw_func(edit, call)
            if new_func is None:
                return None
            edit.replace[call] = call.with_changes(func=new_func, args=self._args(edit, call, constants))
        new = edit.render()
        if new is None:
            return None
        return RecipeEdit(
            self.id,
            self.title,
            "AdamW applies weight decay directly to the weights instead of through Adam's adaptive "
            "gradient scaling, which regularises as intended and usually generalises better.",
            new,
            edit.knobs,
            self.needs_gpu,
            # A weight decay set elsewhere (a flag) that defaults to 0 would make AdamW plain Adam.
            run_with={"weight_decay": DEFAULT_DECAY},
        )

    def _adamw_func(self, edit: SourceEdit, call: cst.Call) -> cst.BaseExpression | None:
        func = call.func
        if isinstance(func, cst.Attribute):
            return func.with_changes(attr=cst.Name("AdamW"))
        # `Adam` imported from torch.optim: import AdamW beside it (the Adam import may have other uses).
        local = edit.script.imports.get("AdamW")
        if local == "torch.optim.AdamW":
            return cst.Name("AdamW")
        if local is not None or "AdamW" in {n.value for n in edit.script.find(cst.Name)}:
            spelled = edit.spell("torch.optim.AdamW")
            return edit.expression(spelled) if spelled else None
        for imp in edit.script.find(cst.ImportFrom):
            module = edit.script.code(imp.module) if imp.module is not None else ""
            if module == "torch.optim" and not isinstance(imp.names, cst.ImportStar) and edit.script.parent(edit.script.parent(imp)) is edit.module:
                names = append_item(imp.names, cst.ImportAlias(name=cst.Name("AdamW")), None)
                edit.replace[imp] = imp.with_changes(names=names)
                return cst.Name("AdamW")
        return None

    def _args(self, edit: SourceEdit, call: cst.Call, constants: dict[str, str]) -> list[cst.Arg]:
        """The call's arguments with the weight decay a knob: the script's own literal value as
        its default, or 0.01 where it passed none (or 0, which would make AdamW plain Adam)."""
        if _every_group_sets_decay(call):
            return list(call.args)  # a top-level weight decay would be dead: each group overrides it
        existing = keyword_arg(call, "weight_decay")
        if existing is None:
            positional = positional_args(call)
            if len(positional) > _WEIGHT_DECAY_POSITION:
                existing = positional[_WEIGHT_DECAY_POSITION]
        lit = literal_of(existing.value, edit.module) if existing is not None else None
        if existing is not None and (lit is None or lit.type not in ("int", "float")):
            return list(call.args)  # set elsewhere (a flag, a constant): AdamW keeps it
        value, code = (float(lit.value), lit.code) if lit is not None and lit.value != 0 else (DEFAULT_DECAY, "0.01")
        if code not in constants:
            constants[code] = edit.knob("WEIGHT_DECAY", value, code)
        name = cst.Name(constants[code])
        if existing is not None:
            return [a.with_changes(value=name) if a is existing else a for a in call.args]
        arg = cst.Arg(keyword=cst.Name("weight_decay"), value=name, equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
        return append_item(call.args, arg, call.whitespace_before_args)


def _every_group_sets_decay(call: cst.Call) -> bool:
    """Adam([dict(params=..., weight_decay=...), {...}], ...): parameter groups that each name their
    own weight decay, so AdamW keeps theirs (now decoupled) and a knob beside them would tune nothing."""
    given = keyword_arg(call, "params")
    positional = positional_args(call)
    groups = given.value if given is not None else (positional[0].value if positional else None)
    if not isinstance(groups, (cst.List, cst.Tuple)) or not groups.elements:
        return False
    return all(_group_sets_decay(element.value) for element in groups.elements)


def _group_sets_decay(group: cst.BaseExpression) -> bool:
    if isinstance(group, cst.Call) and isinstance(group.func, cst.Name) and group.func.value == "dict":
        return keyword_arg(group, "weight_decay") is not None
    if isinstance(group, cst.Dict):
        return any(isinstance(item, cst.DictElement) and isinstance(item.key, cst.SimpleString)
                   and item.key.evaluated_value == "weight_decay" for item in group.elements)
    return False
