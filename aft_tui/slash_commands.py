"""The slash commands a person types (`/tune --trials 3`): their names, usage and parsing.

The views' router (`ui/commands.py`) acts on them; the offline assistant lists them when asked
for help, so both say the same. Knows nothing about who runs a command.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from aft_tui.errors import UserError


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str
    help: str
    aliases: tuple[str, ...] = ()
    read_only: bool = False  # works in replay (no engine)
    workflow: bool = False  # a long step: one at a time, runs in the background of a view
    options: tuple[str, ...] = ()


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("pipeline", "/pipeline [--trials N]", "refactor, repair, then tune: the whole workflow", workflow=True,
                options=("--trials",)),
    CommandSpec("refactor", "/refactor", "propose exposing the script's hyperparameters as flags", workflow=True),
    CommandSpec("repair", "/repair", "propose a fix until the refactored script runs like the original", workflow=True),
    CommandSpec("tune", "/tune [--trials N]", "run trials and keep the best", aliases=("finetune",), workflow=True,
                options=("--trials",)),
    CommandSpec("research", "/research [--hours H] [--experiment-time T] [--experiments N] | pause | resume | "
                "steer TEXT | report", "experiments on the numbers and the code until the budget is spent; pause, "
                "resume or steer it while it runs; report: the latest session's leaderboard, kept diff and plot",
                workflow=True, options=("--hours", "--experiment-time", "--experiments")),
    CommandSpec("stop", "/stop", "cancel the running trials and stop tuning"),
    CommandSpec("approve", "/approve [ID]", "approve the pending proposal"),
    CommandSpec("reject", "/reject [ID] [REASON]", "reject the pending proposal, optionally saying why"),
    CommandSpec("edit", "/edit [ID]", "edit the pending proposal's diff in $EDITOR, then approve the edited diff"),
    CommandSpec("runs", "/runs", "list the trials: params, metric, status, duration, commit", read_only=True),
    CommandSpec("status", "/status", "session, branch, best so far, progress", read_only=True),
    CommandSpec("compare", "/compare A B", "parameter, metric and code differences between two trials"),
    CommandSpec("rollback", "/rollback TRIAL", "make a trial's state the branch head (a new commit)"),
    CommandSpec("diff", "/diff", "show the latest proposal's diff", read_only=True),
    CommandSpec("theme", "/theme NAME", "switch the colour theme (remembered)", read_only=True),
    CommandSpec("model", "/model [NAME] [--api-base URL]", "show or set the assistant's LLM (any litellm model string; "
                "'offline' for none), remembered", options=("--api-base",)),
    CommandSpec("help", "/help", "list commands and keys", read_only=True),
    CommandSpec("quit", "/quit", "leave AFT (a running tune is stopped and can be resumed)", aliases=("exit",),
                read_only=True),
)

BY_NAME: dict[str, CommandSpec] = {}  # names and aliases
for _spec in COMMANDS:
    BY_NAME[_spec.name] = _spec
    for _alias in _spec.aliases:
        BY_NAME[_alias] = _spec


RESEARCH_CONTROLS = ("pause", "resume", "steer")
"""/research words that act on a running research session instead of starting one."""


def is_research_control(parsed: "ParsedCommand") -> bool:
    return parsed.spec.name == "research" and bool(parsed.args) and parsed.args[0].lower() in RESEARCH_CONTROLS


def is_research_report(parsed: "ParsedCommand") -> bool:
    """`/research report`: reads the latest research session, starts nothing."""
    return parsed.spec.name == "research" and [a.lower() for a in parsed.args] == ["report"]


@dataclass
class ParsedCommand:
    spec: CommandSpec
    args: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


def parse(line: str) -> ParsedCommand:
    """Split '/tune --trials 3' into the command, its arguments and its options."""
    body = line.strip()
    if not body.startswith("/"):
        raise UserError("Commands start with '/'; type /help to list them.")
    try:
        words = shlex.split(body[1:])
    except ValueError as exc:
        raise UserError(f"Could not read that command ({exc}); check the quotes.") from None
    if not words:
        raise UserError("Type a command after '/', e.g. /help.")
    name = words[0].lower()
    spec = BY_NAME.get(name)
    if spec is None:
        import difflib

        close = difflib.get_close_matches(name, list(BY_NAME), n=1)
        hint = f" (did you mean /{close[0]}?)" if close else ""
        raise UserError(f"Unknown command /{name}{hint}; type /help to list commands.")
    parsed = ParsedCommand(spec)
    rest = words[1:]
    i = 0
    while i < len(rest):
        word = rest[i]
        if word.startswith("--") and len(word) > 2:
            key, eq, value = word[2:].partition("=")
            if not eq:
                if i + 1 >= len(rest):
                    raise UserError(f"--{key} needs a value, e.g. {spec.usage}.")
                value = rest[i + 1]
                i += 1
            if f"--{key}" not in spec.options:
                allowed = ", ".join(spec.options) or "none"
                raise UserError(f"/{spec.name} has no option --{key} (options: {allowed}); usage: {spec.usage}.")
            parsed.options[key] = value
        else:
            parsed.args.append(word)
        i += 1
    return parsed


def help_text() -> str:
    width = max(len(s.usage) for s in COMMANDS)
    lines = ["Commands (free text goes to the assistant):"]
    for spec in COMMANDS:
        alias = f" (alias /{', /'.join(spec.aliases)})" if spec.aliases else ""
        lines.append(f"  {spec.usage:<{width}}  {spec.help}{alias}")
    return "\n".join(lines)
