"""`aft doctor`: what AFT can use on this machine, and what is missing, in plain sentences.

Key *names* are reported as present or absent; key values are never read out or printed.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

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
    rows = [("llm keys", True, ("present: " + ", ".join(present)) if present
             else "no LLM API key in the environment: the offline brain will be used (set e.g. OPENAI_API_KEY and --model to add the assistant)")]
    models, api_base, problem = _configured_models()
    if problem:
        rows.append(("llm model", False, problem))
    if not models:
        rows.append(("llm model", True, "none configured: the offline brain answers; set --model (e.g. "
                                        "openai/gpt-4o-mini or ollama/llama3.1), AFT_MODEL or `model` in aft.toml"))
    for label, model, origin in models:
        ok, text = model_status(model, api_base)
        rows.append((label, ok, f"{model} ({origin}): {text}"))
    return rows


def _configured_models() -> tuple[list[tuple[str, str, str]], str | None, str]:
    """(label, model, where it was set) for the assistant and the small model, plus api_base."""
    from aft_tui.engine.target_info import git_toplevel
    from aft_tui.errors import UserError
    from aft_tui.settings import load_settings

    cwd = Path.cwd()
    try:
        settings = load_settings(git_toplevel(cwd) or cwd)
    except UserError as exc:
        return [], None, f"the settings could not be read: {exc.message}"
    origin = "AFT_MODEL" if os.environ.get("AFT_MODEL") else "settings"
    models = []
    if settings.model:
        models.append(("llm model", settings.model, origin))
    if settings.small_model and settings.small_model != settings.model:
        models.append(("llm small", settings.small_model, "settings"))
    return models, settings.api_base, ""


def model_status(model: str, api_base: str | None, probe_timeout: float = 2.0) -> tuple[bool, str]:
    """Whether `model` can be used from here and why not; names key variables, never their values."""
    from aft_tui.brain.providers import model_access, probe_url

    access = model_access(model, api_base)
    where = f" via {access.api_base}" if access.api_base else ""
    if access.local or api_base:
        if not access.api_base:
            return False, (f"{access.provider} needs the server's address; set --api-base (e.g. http://localhost:8000/v1)")
        reached, detail = _probe(probe_url(access.api_base, access.provider), probe_timeout)
        if not reached:
            return False, f"no answer from {access.api_base} within {probe_timeout:g} s ({detail}); start the server or fix --api-base"
        key_note = ""
        if access.key_vars and access.key_present is None and not access.local:
            key_note = f"; {access.key_vars[0]} is not set (a local server usually accepts any value)"
        return True, f"usable: the {access.provider} server{where} answered{key_note}"
    if access.needs_key and access.key_present is None:
        names = " or ".join(access.key_vars)
        return False, f"not usable: {names} is not set; export it in the environment (AFT never stores keys)"
    notes = f" ({'; '.join(access.notes)})" if access.notes else ""
    if access.key_present:
        return True, f"usable: {access.provider} credentials found in {access.key_present}{notes}"
    return True, f"{access.provider} model; no key check possible{notes}"


def _probe(url: str, timeout: float) -> tuple[bool, str]:
    """GET `url` without credentials; any HTTP answer (even 401) means a server is listening."""
    import urllib.error
    import urllib.request

    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # local servers: no proxy
        with opener.open(urllib.request.Request(url, method="GET"), timeout=timeout) as response:
            return True, f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return True, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, str(reason)[:120]


def cluster_checks(address: str) -> list[tuple[str, bool, str]]:
    """The Ray cluster: reachable or not (in the sentence --cluster would say), then each live node."""
    from aft_tui.errors import UserError
    from aft_tui.settings import cluster_kind

    if cluster_kind(address) is None:
        return [("cluster", False, f"--cluster {address!r} is not an address; use ray, ray://HOST:PORT or HOST:PORT")]
    from aft_tui.runs.cluster.connect import connect, import_ray, nodes

    try:
        reached = connect(address)
        live = nodes()
    except UserError as exc:
        return [("cluster", False, str(exc))]
    ray = import_ray()
    out = [("cluster", True, f"Ray {ray.__version__} cluster at {reached}: {len(live)} live node"
                             f"{'s' if len(live) != 1 else ''}")]
    for node in live:
        gpus = f"{node.gpus:g} GPU" + (f" ({', '.join(_gpu_types(node))})" if _gpu_types(node) else "")
        out.append(("node", True, f"{node.ip} {node.hostname}: {node.cpus:g} CPU, {gpus}, "
                                  f"{node.memory / 1024 ** 3:.1f} GiB memory (id {node.node_id[:12]})"))
    return out


def _gpu_types(node: Any) -> list[str]:
    """Ray labels a node's GPUs with a resource such as accelerator_type:H100."""
    return [key.split(":", 1)[1] for key in node.resources if key.startswith("accelerator_type:")]


def run_doctor(cluster: str | None = None) -> int:
    from rich.console import Console

    console = Console(highlight=False)
    failed = False
    found = checks() + (cluster_checks(cluster) if cluster else [])
    for name, ok, text in found:
        mark = "[green]ok[/]" if ok else "[red]!![/]"
        failed |= not ok
        console.print(f"{mark} {name:10} {text}")
    return 1 if failed else 0
