"""`aft doctor`: what AFT can use on this machine, and what is missing, in plain sentences.

Key *names* are reported as present or absent; key values are never read out or printed.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys

KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY", "GROQ_API_KEY",
            "DEEPSEEK_API_KEY", "UPSTAGE_API_KEY", "OPENROUTER_API_KEY", "AZURE_API_KEY", "TOGETHERAI_API_KEY")


def checks() -> list[tuple[str, bool, str]]:
    out: list[tuple[str, bool, str]] = []
    ok_py = sys.version_info >= (3, 10)
    out.append(("python", ok_py, f"Python {platform.python_version()} at {sys.executable}"
                + ("" if ok_py else " (AFT needs 3.10 or newer)")))
    git = shutil.which("git")
    if git:
        version = subprocess.run([git, "--version"], capture_output=True, text=True).stdout.strip()
        out.append(("git", True, version))
    else:
        out.append(("git", False, "git is not installed; install it (AFT records every trial as a commit)"))
    out.append(_torch())
    out.extend(_gpus())
    out.extend(_llm())
    return out


def _torch() -> tuple[str, bool, str]:
    code = ("import torch,json;print(json.dumps([torch.__version__, torch.cuda.is_available(), "
            "torch.version.cuda, torch.cuda.device_count() if torch.cuda.is_available() else 0]))")
    try:
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return ("torch", False, "importing torch took over 60 s")
    if res.returncode != 0:
        return ("torch", True, "torch is not installed in AFT's environment (fine: trials use your script's interpreter)")
    import json

    version, cuda, cuda_version, count = json.loads(res.stdout.strip().splitlines()[-1])
    if cuda:
        return ("torch", True, f"torch {version}, CUDA {cuda_version}, {count} device(s)")
    return ("torch", True, f"torch {version} (CPU only: no CUDA device available)")


def _gpus() -> list[tuple[str, bool, str]]:
    from aft_tui.telemetry.nvml import read_gpus

    gpus = read_gpus()
    if not gpus:
        return [("gpu", True, "no NVIDIA GPU found (NVML unavailable); trials run on the CPU")]
    rows = []
    for g in gpus:
        mem = f"{(g.mem_total or 0) / 2**30:.0f} GiB" if g.mem_total else "memory unknown"
        rows.append((f"gpu{g.index}", True, f"{g.name}, {mem}"))
    return rows


def _llm() -> list[tuple[str, bool, str]]:
    present = [name for name in KEY_VARS if os.environ.get(name)]
    model = os.environ.get("AFT_MODEL")
    rows = [("llm keys", True, ("present: " + ", ".join(present)) if present
             else "no LLM API key in the environment: the offline brain will be used (set e.g. OPENAI_API_KEY and --model to add the assistant)")]
    if model:
        rows.append(("llm model", True, f"AFT_MODEL={model}"))
    return rows


def run_doctor() -> int:
    from rich.console import Console

    console = Console(highlight=False)
    failed = False
    for name, ok, text in checks():
        mark = "[green]ok[/]" if ok else "[red]!![/]"
        failed |= not ok
        console.print(f"{mark} {name:10} {text}")
    return 1 if failed else 0
