"""Unified diffs: which files one names, how many lines it changes, and its result, computed
in a scratch folder so nothing in the project is written.

`git apply` does the applying (AFT needs git anyway, and its reading of a diff is the one
people and models write for); `--recount` forgives the wrong hunk counts models often send.
The headers are read here as well, so a caller can refuse a diff by the files it names before
any of them is read, and the scratch folder is compared before and after so a diff cannot
change a file its headers do not name.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class PatchError(ValueError):
    """A diff that does not parse or does not apply; the message says which part and why."""


@dataclass(frozen=True)
class FilePatch:
    """One file's part of a diff, with the paths as the diff writes them (prefix removed)."""

    old: str | None  # None: the diff creates the file
    new: str | None  # None: the diff deletes the file
    added: int = 0
    removed: int = 0

    @property
    def paths(self) -> list[str]:
        return [p for p in dict.fromkeys((self.old, self.new)) if p is not None]


@dataclass(frozen=True)
class ParsedPatch:
    files: list[FilePatch]
    strip: int  # the -p level `git apply` needs: 1 for a/ b/ prefixes, else 0
    text: str = ""  # the diff alone, its hunks counted again: what is applied

    @property
    def changed_lines(self) -> int:
        return sum(f.added + f.removed for f in self.files)


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$")
_DEV_NULL = "/dev/null"
_GIT_EXTRAS = ("old mode ", "new mode ", "new file mode ", "deleted file mode ", "similarity index ",
               "dissimilarity index ", "rename from ", "rename to ", "copy from ", "copy to ", "index ")


def parse_patch(diff: str) -> ParsedPatch:
    """The files a unified diff names and the lines it adds and removes, with its hunks counted
    again (models miscount them); PatchError when it has no file headers, a file without hunks,
    or a binary part. Text around the diff (a model's prose) is left out."""
    lines = diff.splitlines()
    sections: list[dict] = []
    current: dict | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("diff --git "):
            current = _section(git=line)
            sections.append(current)
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            if current is None or current["old"] is not None or current["hunks"]:
                current = _section()
                sections.append(current)
            current.update(old=_header_path(line[4:]), new=_header_path(lines[i + 1][4:]))
            current["head"] += [line, lines[i + 1]]
            i += 1
        elif line.startswith("GIT binary patch") or line.startswith("Binary files "):
            raise PatchError("it holds a binary patch, and only text changes are accepted")
        elif current is not None and current["git"] and current["old"] is None and line.startswith(_GIT_EXTRAS):
            current["extras"].append(line)
        elif (match := _HUNK.match(line)) is not None:
            if current is None or current["old"] is None:
                raise PatchError(f"line {i + 1} starts a hunk before any ---/+++ file header")
            i = _read_hunk(lines, i + 1, match, current) - 1
        i += 1
    if not sections:
        raise PatchError("it has no file headers (--- a/path and +++ b/path)")
    return _parsed(sections)


def _section(git: str = "") -> dict:
    return {"git": git, "extras": [], "old": None, "new": None, "head": [], "hunks": [], "added": 0, "removed": 0}


def _read_hunk(lines: list[str], i: int, match: re.Match[str], section: dict) -> int:
    """The hunk's lines from `i` to its end (the next header, or a line no hunk holds); returns that end."""
    body: list[str] = []
    while i < len(lines):
        line = lines[i]
        if line.startswith(("diff --git ", "@@ ")) or (line.startswith("--- ") and i + 1 < len(lines)
                                                       and lines[i + 1].startswith("+++ ")):
            break
        if line == "":
            line = " "  # a blank context line whose space was trimmed
        if line[0] not in " +-\\":
            break
        body.append(line)
        i += 1
    while body and body[-1] == " " and lines[i - 1] == "":  # blank lines after the diff, not context
        body.pop()
        i -= 1
    old = sum(1 for b in body if b[0] in " -")
    new = sum(1 for b in body if b[0] in " +")
    section["added"] += sum(1 for b in body if b[0] == "+")
    section["removed"] += sum(1 for b in body if b[0] == "-")
    section["hunks"].append([f"@@ -{match.group(1)},{old} +{match.group(2)},{new} @@{match.group(3)}", *body])
    return i


def _parsed(sections: list[dict]) -> ParsedPatch:
    olds = [s["old"] for s in sections if s["old"] not in (None, _DEV_NULL)]
    news = [s["new"] for s in sections if s["new"] not in (None, _DEV_NULL)]
    gits = [s["git"][len("diff --git "):] for s in sections if s["git"]]
    strip = 1 if (all(p.startswith("a/") for p in olds) and all(p.startswith("b/") for p in news)
                  and all(g.startswith("a/") for g in gits)) else 0
    files, text = [], []
    for s in sections:
        renamed = {key: e[len(key):] for e in s["extras"] for key in ("rename from ", "rename to ")
                   if e.startswith(key)}
        if s["old"] is not None:
            old = None if s["old"] == _DEV_NULL else _strip(s["old"], strip)
            new = None if s["new"] == _DEV_NULL else _strip(s["new"], strip)
            if not s["hunks"]:
                raise PatchError(f"the part for {new or old} has file headers but no @@ hunk")
        elif renamed:
            old, new = renamed.get("rename from "), renamed.get("rename to ")
        else:  # a git header alone: an empty file created or deleted, or a mode change
            names = _git_header_paths(s["git"][len("diff --git "):])
            if names is None:
                raise PatchError(f"its header '{s['git']}' names no files this diff can be applied to")
            old, new = (_strip(n, strip) for n in names)
            if any(e.startswith("new file mode") for e in s["extras"]):
                old = None
            if any(e.startswith("deleted file mode") for e in s["extras"]):
                new = None
        if old is None and new is None:
            raise PatchError("one part of it goes from /dev/null to /dev/null")
        files.append(FilePatch(old, new, s["added"], s["removed"]))
        text += ([s["git"]] if s["git"] else []) + s["extras"] + s["head"] + [line for h in s["hunks"] for line in h]
    return ParsedPatch(files, strip, "\n".join(text) + "\n")


def _header_path(text: str) -> str:
    name = text.split("\t", 1)[0].rstrip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
    return name


def _git_header_paths(text: str) -> tuple[str, str] | None:
    parts = text.split(" ")
    if len(parts) % 2 == 0:
        half = len(parts) // 2
        old, new = " ".join(parts[:half]), " ".join(parts[half:])
        if old[2:] == new[2:]:
            return old, new
    return None


def _strip(path: str, strip: int) -> str:
    return path.split("/", strip)[strip] if strip and "/" in path else path


def apply_patch(parsed: ParsedPatch, originals: dict[str, str]) -> dict[str, str | None]:
    """Each file the diff names, as the diff leaves it (None: deleted), from `originals` (the current
    text of every file it names that exists), computed in a scratch folder; PatchError when
    `git apply` refuses it or it changes a file it does not name."""
    with tempfile.TemporaryDirectory(prefix="aft-patch-") as tmp:
        root = Path(tmp) / "tree"
        root.mkdir()
        for rel, text in originals.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
        before = _tree(root)
        patch = Path(tmp) / "change.diff"
        patch.write_text(parsed.text, encoding="utf-8", newline="")
        done = subprocess.run(["git", "apply", f"-p{parsed.strip}", "--whitespace=nowarn", str(patch)],
                              cwd=root, capture_output=True, text=True)
        if done.returncode != 0:
            raise PatchError(_first_line(done.stderr))
        after = _tree(root)
    named = {p for f in parsed.files for p in f.paths}
    strays = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p) and p not in named)
    if strays:
        raise PatchError(f"it changes {strays[0]}, which its file headers do not name")
    return {p: after.get(p) for p in sorted(named)}


def _tree(root: Path) -> dict[str, str]:
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            found[path.relative_to(root).as_posix()] = path.read_bytes().decode("utf-8", errors="replace")
    return found


def _first_line(stderr: str) -> str:
    text = stderr.strip()
    return text.splitlines()[0].removeprefix("error: ") if text else "git apply failed"


def apply_unified_diff(original: str, diff: str, name: str) -> str:
    """Apply a unified diff of one file to `original` with `git apply` (in a scratch folder)."""
    with tempfile.TemporaryDirectory(prefix="aft-edit-") as tmp:
        path = Path(tmp) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(original, encoding="utf-8")
        patch = Path(tmp) / ".edited.diff"
        patch.write_text(diff if diff.endswith("\n") else diff + "\n", encoding="utf-8")
        errors = []
        for strip in ("-p1", "-p0"):
            done = subprocess.run(["git", "apply", strip, "--recount", "--whitespace=nowarn", str(patch)], cwd=tmp,
                                  capture_output=True, text=True)
            if done.returncode == 0:
                return path.read_text(encoding="utf-8")
            errors.append(done.stderr.strip().splitlines()[0] if done.stderr.strip() else "git apply failed")
        raise ValueError(errors[0])
