"""Benchmark 3: start-up.

`aft --help` is timed against the bare interpreter (`python -c pass`), and `aft chat train.py`
to its first rendered screen against the smallest Textual app that shows a footer, both in
a real pseudo-terminal (160x48), until the footer's "Quit" has been drawn. Runs alternate
and the figures are medians. Bytecode is cached in a scratch folder first, as an installed
package would have it.

The import check lists what `aft --help` imports (`python -X importtime`) and which modules
are loaded once `aft chat` has drawn its first screen, and fails on any heavy one.

    python -m benchmarks.startup [--runs 10] [--json out.json]
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

from benchmarks.common import TRIVIAL_SCRIPT, Report, child_env, finish, make_project, median, parser, python

HELP_TARGET_S = 0.3
CHAT_TARGET_S = 1.0
HEAVY = ("torch", "transformers", "litellm", "peft", "optuna", "mlflow", "libcst", "datasets", "accelerate",
         "sklearn", "pandas", "scipy")
"""Never imported before the first screen (and not at all by `aft --help`)."""
CHAT_HEAVY = HEAVY + ("prompt_toolkit",)
"""The full-screen app does not need the plain REPL's toolkit (half a second of imports)."""
HELP_HEAVY = HEAVY + ("textual", "git", "rich", "numpy", "psutil", "pynvml", "prompt_toolkit")
"""`aft --help` needs argparse only; these belong to the commands that use them."""

MINIMAL_APP = """\
from textual.app import App
from textual.widgets import Footer, Static


class Minimal(App):
    BINDINGS = [("ctrl+q", "quit", "Quit")]

    def compose(self):
        yield Static("ready")
        yield Footer()


Minimal().run()
"""

SCREEN_MARKER = b"Quit"


def _env(cache: Path, **extra: str) -> dict[str, str]:
    env = child_env(PYTHONPYCACHEPREFIX=str(cache), TERM="xterm-256color", **extra)
    for key in ("PYTHONDONTWRITEBYTECODE", "COLUMNS", "LINES", "PYTHONPROFILEIMPORTTIME"):
        env.pop(key, None)
    return env


def _time_command(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - began


def time_to_screen(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 60.0) -> float:
    """Seconds from starting `argv` in a 160x48 pseudo-terminal to SCREEN_MARKER being drawn."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    began = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, start_new_session=True)
    os.close(slave)
    seen = b""
    drawn: float | None = None
    try:
        while time.perf_counter() - began < timeout:
            ready, _, _ = select.select([master], [], [], 0.01)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:
                break
            seen = (seen + chunk)[-4096:]
            if SCREEN_MARKER in seen:
                drawn = time.perf_counter() - began
                break
        if drawn is None:
            raise RuntimeError(f"{' '.join(argv)} drew no screen within {timeout:g} s; last output: {seen[-500:]!r}")
        os.write(master, b"\x11")  # ctrl+q
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            pass
        return drawn
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)


def import_times(argv: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """`python -X importtime` of a command: total, the costliest top-level imports, heavy ones."""
    out = subprocess.run([python(), "-X", "importtime", *argv], cwd=cwd, env=env, capture_output=True, text=True)
    rows = []
    for line in out.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match[1]), int(match[2]), len(match[3]) // 2, match[4]))
    top = sorted(((cum, name) for _, cum, depth, name in rows if depth == 0), reverse=True)[:8]
    # Whole packages (their cumulative time includes what they import themselves).
    packages = sorted(((cum, name) for _, cum, _, name in rows if "." not in name and not name.startswith("_")),
                      reverse=True)[:10]
    loaded = {name.split(".")[0] for _, _, _, name in rows}
    return {
        "total_ms": sum(own for own, _, _, _ in rows) / 1000,
        "top": [(name, cum / 1000) for cum, name in top],
        "packages": [(name, cum / 1000) for cum, name in packages],
        "modules": len(rows),
        "heavy": sorted(loaded & set(HELP_HEAVY)),
    }


CHAT_MODULES_PROBE = """\
import asyncio, json, sys
from pathlib import Path
from aft_tui.cli import build_parser
from aft_tui.ui.launch import open_engine, _start_sampler
from aft_tui.ui.app import AftApp

args = build_parser().parse_args(["chat", "train.py"])
engine = open_engine(args, {})

async def main():
    started = asyncio.Event()
    engine.subscribe(lambda event: started.set() if event.kind == "session_started" else None)
    app = AftApp(engine, start_sampler=_start_sampler)  # as `aft chat` starts it: after the first screen
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        print(json.dumps(sorted(sys.modules)))
        await asyncio.wait_for(started.wait(), 60)  # leave once the engine's start-up is over
        await pilot.pause()
    if app.sampler is not None:
        app.sampler.stop()
    engine.close("quit")

asyncio.run(main())
"""


CHAT_IMPORTS = "import aft_tui.cli, aft_tui.ui.launch, aft_tui.ui.app, aft_tui.engine.engine"
"""The modules `aft chat` imports before its first screen (telemetry starts after it)."""


def chat_modules(cwd: Path, env: dict[str, str]) -> list[str]:
    """Top-level packages loaded once `aft chat` has drawn its first screen (headless)."""
    out = subprocess.run([python(), "-c", CHAT_MODULES_PROBE], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"the chat import probe failed:\n{out.stderr[-2000:]}")
    names = json.loads(out.stdout.strip().splitlines()[-1])
    return sorted({name.split(".")[0] for name in names})


def measure(runs: int = 10, chat: bool = True, workdir: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="aft-bench-startup-", dir=workdir) as tmp:
        tmp_path = Path(tmp)
        project = make_project(tmp_path, {"train.py": TRIVIAL_SCRIPT})
        (tmp_path / "minimal_app.py").write_text(MINIMAL_APP, encoding="utf-8")
        env = _env(tmp_path / "pycache")
        bare = [python(), "-c", "pass"]
        help_argv = [python(), "-m", "aft_tui", "--help"]
        chat_argv = [python(), "-m", "aft_tui", "chat", "train.py"]
        minimal_argv = [python(), str(tmp_path / "minimal_app.py")]
        # Warm-up: bytecode for every module into the scratch cache, files into the page cache.
        _time_command(help_argv, project, env)
        if chat:
            time_to_screen(chat_argv, project, env)
            time_to_screen(minimal_argv, project, env)
        samples: dict[str, list[float]] = {"bare": [], "help": [], "chat": [], "minimal_app": []}
        for _ in range(runs):
            samples["bare"].append(_time_command(bare, project, env))
            samples["help"].append(_time_command(help_argv, project, env))
            if chat:
                samples["minimal_app"].append(time_to_screen(minimal_argv, project, env))
                samples["chat"].append(time_to_screen(chat_argv, project, env))
        help_imports = import_times(["-m", "aft_tui", "--help"], project, env)
        bare_imports = import_times(["-c", "pass"], project, env)
        help_imports["beyond_bare_ms"] = help_imports["total_ms"] - bare_imports["total_ms"]
        loaded = chat_modules(project, env) if chat else []
        chat_imports = import_times(["-c", CHAT_IMPORTS], project, env) if chat else None
    result: dict[str, Any] = {"runs": runs, "samples": samples, "help_imports": help_imports,
                              "chat_loaded": loaded, "chat_heavy": sorted(set(loaded) & set(CHAT_HEAVY)),
                              "chat_imports": chat_imports}
    for key, values in samples.items():
        result[key] = median(values) if values else float("nan")
    return result


def report(result: dict[str, Any], command: str) -> Report:
    r = Report(f"Benchmark 3: start-up (median of {result['runs']})", command)
    r.add("python -c pass", result["bare"] * 1000, "ms")
    r.add("aft --help", result["help"] * 1000, "ms", f"<= {HELP_TARGET_S * 1000:g} ms", result["help"] <= HELP_TARGET_S)
    r.add("ratio aft --help / python -c pass", result["help"] / result["bare"], "x")
    imports = result["help_imports"]
    r.add("aft --help: imports beyond the bare interpreter's (-X importtime)", imports["beyond_bare_ms"], "ms")
    r.add("aft --help: heavy modules imported", len(imports["heavy"]), "", "0", not imports["heavy"])
    if result["samples"]["chat"]:
        r.add("minimal Textual app to first screen", result["minimal_app"] * 1000, "ms")
        r.add("aft chat train.py to first screen", result["chat"] * 1000, "ms", f"<= {CHAT_TARGET_S * 1000:g} ms",
              result["chat"] <= CHAT_TARGET_S)
        r.add("ratio aft chat / minimal Textual app", result["chat"] / result["minimal_app"], "x")
        r.add("aft chat: heavy modules loaded by the first screen", len(result["chat_heavy"]), "", "0",
              not result["chat_heavy"])
    r.note("costliest imports of aft --help: " + ", ".join(f"{n} {ms:.0f} ms" for n, ms in imports["top"][:5]))
    chat_imports = result.get("chat_imports")
    if chat_imports:
        r.add("aft chat: time in imports before the first screen (-X importtime)", chat_imports["total_ms"], "ms")
        r.note("aft chat, costliest packages (cumulative): "
               + ", ".join(f"{n} {ms:.0f} ms" for n, ms in chat_imports["packages"][:8]))
    if imports["heavy"]:
        r.note("aft --help imported: " + ", ".join(imports["heavy"]))
    if result["chat_heavy"]:
        r.note("aft chat loaded before its first screen: " + ", ".join(result["chat_heavy"]))
    r.data = result
    return r


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--no-chat", action="store_true", help="time `aft --help` only")
    args = p.parse_args(argv)
    result = measure(args.runs, chat=not args.no_chat)
    flags = f"--runs {args.runs}" + (" --no-chat" if args.no_chat else "")
    return finish(report(result, f"python -m benchmarks.startup {flags}"), args.json)


if __name__ == "__main__":
    sys.exit(main())
