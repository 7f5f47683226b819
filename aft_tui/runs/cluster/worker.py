"""The worker side of a cluster trial: a Ray actor that unpacks the trial's commit, runs the
script in its own process group and hands its output back piece by piece.

This module travels to the cluster by value (see executor.py), so the nodes need Ray and the
script's own environment, not AFT: it imports the standard library only. The driver calls
`start` once, `poll` every fraction of a second (output and AFT_METRICS lines since the last
call, and the exit code once there is one), `signal` to stop the trial, and `finish` for the
files the run left. Calls are served one at a time and each returns at once.

A trial never outlives its actor: Ray ends the actor when the driver (AFT) dies, and a small
guard process started beside the script kills the script's group, and removes the trial's folder,
as soon as the actor's end of a pipe closes without the word that the trial finished, whatever
killed the actor. Ray may end the guard with the actor; then the node's next trial removes the
folder (sweep_abandoned).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

# Placeholders in the command and the environment, filled in with this node's own paths.
CODE, RUN, PYTHON = "{aft_code}", "{aft_run}", "{aft_python}"
OUT_NAME = "aft-output.log"
METRICS_NAME = "aft-metrics.jsonl"
OWNER_NAME = "aft-owner"  # the pid of the actor process whose trial the folder holds
LEFT_NAME = "aft-left"    # files left on the node on purpose (--cluster-artifacts leave)

# Reads stdin until it closes (the actor is gone), then kills the trial's whole group.
_GUARD = (
    "import os, shutil, signal, sys\n"
    "pgid, root = int(sys.argv[1]), sys.argv[2]\n"
    "said = sys.stdin.buffer.read()\n"
    "try:\n"
    "    os.killpg(pgid, signal.SIGKILL)\n"
    "except OSError:\n"
    "    pass\n"
    "if said != b'done':\n"  # the actor died without finishing: its folder has no one to collect it
    "    shutil.rmtree(root, ignore_errors=True)\n"
)


def sweep_abandoned(tmp: Path) -> None:
    """Remove the trial folders of actors that died unfinished. Ray kills whatever a dead actor
    started, the guard included, so the folder of a trial whose driver died stays behind; the
    node's next trial removes it (not one kept on purpose, nor one whose actor still runs)."""
    for folder in tmp.glob("aft-trial-*"):
        try:
            owner = int((folder / OWNER_NAME).read_text())
        except (OSError, ValueError):
            continue
        if (folder / LEFT_NAME).exists() or _alive(owner):
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    return True


def _fill(text: str, code: str, run: str) -> str:
    return text.replace(CODE, code).replace(RUN, run).replace(PYTHON, sys.executable)


def _safe_extract(data: bytes, dest: Path) -> None:
    """Unpack a tar from the driver; members that would land outside `dest` are refused."""
    root = dest.resolve()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar.getmembers():
            target = (dest / member.name).resolve()
            if target != root and root not in target.parents:
                raise ValueError(f"refusing {member.name!r}: it points outside the trial's folder")
        tar.extractall(dest)  # noqa: S202 (every member checked above)


def _default_signals() -> None:
    """In the script's process before it starts: a Ray worker blocks or ignores SIGINT, and both
    survive exec, so without this a script on a node would never see Ctrl-C (a prune's first,
    gentle stop: Python's KeyboardInterrupt) and would only stop at SIGTERM, seconds later."""
    stops = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
    for sig in stops:
        signal.signal(sig, signal.SIG_DFL)


def _peak_rss() -> int | None:
    """The largest resident size any finished process of this trial reached (the actor starts
    one trial, so its children are this trial's): the script's memory, for research's results.tsv."""
    try:
        import resource

        kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    except (ImportError, OSError):
        return None
    return int(kib) * (1 if sys.platform == "darwin" else 1024) or None


class TrialWorker:
    """One trial on one node; created per trial with the resources the trial asked for."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.guard: subprocess.Popen[bytes] | None = None
        self.root: Path | None = None
        self.code: Path | None = None
        self.run_dir: Path | None = None
        self.started = 0.0
        self.offsets = {"out": 0, "metrics": 0}

    def node(self) -> dict[str, Any]:
        """Where this actor runs: Ray's node id, the node's address and host name."""
        import ray

        return {"node_id": ray.get_runtime_context().get_node_id(), "node_ip": ray.util.get_node_ip_address(),
                "hostname": socket.gethostname()}

    def start(self, code_tar: bytes, links: dict[str, str], ship_paths: list[str], command: list[str],
              rel_cwd: str, env: dict[str, str], *ship_data: bytes) -> dict[str, Any]:
        """Unpack the commit, relink the data, unpack the shipped folders, start the script.
        Returns where it runs. (The folders come last, each its own argument, so Ray hands over
        the one copy in its object store instead of a copy per trial.)"""
        shipped = list(zip(ship_paths, ship_data))
        sweep_abandoned(Path(tempfile.gettempdir()))
        self.root = Path(tempfile.mkdtemp(prefix="aft-trial-"))
        (self.root / OWNER_NAME).write_text(str(os.getpid()))
        self.code = self.root / "code"
        self.run_dir = self.root / "run"
        self.code.mkdir()
        self.run_dir.mkdir()
        _safe_extract(code_tar, self.code)
        for rel, target in links.items():  # data left out of the commit, at the same absolute path
            link = self.code / rel
            if not os.path.lexists(link):
                link.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(target, link)
        for rel, data in shipped:  # folders the person shipped replace their links
            dest = self.code / rel
            if os.path.islink(dest):
                os.unlink(dest)
            dest.mkdir(parents=True, exist_ok=True)
            _safe_extract(data, dest)
        code, run = str(self.code), str(self.run_dir)
        argv = [_fill(a, code, run) for a in command]
        child_env = dict(os.environ)
        child_env.update({k: _fill(v, code, run) for k, v in env.items()})
        child_env["AFT_RUN_DIR"] = run
        child_env["AFT_METRICS"] = str(self.run_dir / METRICS_NAME)
        cwd = self.code / rel_cwd
        out = open(self.root / OUT_NAME, "wb")
        self.started = time.time()
        try:
            self.proc = subprocess.Popen(argv, cwd=str(cwd), env=child_env, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_default_signals)
        except OSError as exc:
            out.write(f"Could not start the trial on this node with {argv[0]!r}: {exc.strerror or exc}.\n".encode())
            out.close()
            return {**self.node(), "workdir": str(self.root), "error": f"{argv[0]!r}: {exc.strerror or exc}"}
        out.close()
        self.guard = subprocess.Popen([sys.executable, "-c", _GUARD, str(self.proc.pid), str(self.root)],
                                      stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        return {**self.node(), "workdir": str(self.root), "pid": self.proc.pid}

    def _read(self, key: str, path: Path, limit: int) -> bytes:
        try:
            with open(path, "rb") as fh:
                fh.seek(self.offsets[key])
                data = fh.read(limit)
        except OSError:
            return b""
        self.offsets[key] += len(data)
        return data

    def poll(self, limit: int = 1 << 20) -> dict[str, Any]:
        """Output and metrics lines written since the last call, and the exit code once the
        script has exited and everything it wrote was handed over."""
        assert self.root is not None and self.run_dir is not None
        returncode = self.proc.poll() if self.proc is not None else -1
        out = self._read("out", self.root / OUT_NAME, limit)
        metrics = self._read("metrics", self.run_dir / METRICS_NAME, limit)
        full = len(out) >= limit or len(metrics) >= limit
        return {"out": out, "metrics": metrics, "returncode": None if full else returncode}

    def signal(self, signum: int) -> bool:
        """Signal the trial's process group; False once nothing of it runs."""
        if self.proc is None:
            return False
        try:
            os.killpg(self.proc.pid, signum)
        except OSError:
            return False
        return True

    def finish(self, copy_limit: int, keep: bool) -> dict[str, Any]:
        """The files the run wrote (its run folder, and new or changed files beside the code),
        packed for the driver when they fit `copy_limit` bytes; else (or with `keep`) they stay
        here, listed with their sizes. The trial's folder is removed unless something stays."""
        assert self.root is not None and self.code is not None and self.run_dir is not None
        self.stop_leftovers()
        found: list[tuple[str, Path]] = []
        for base, prefix in ((self.run_dir, "run"), (self.code, "code")):
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = [d for d in dirnames if d not in (".git", "__pycache__")
                               and not os.path.islink(os.path.join(dirpath, d))]
                for name in filenames:
                    path = Path(dirpath) / name
                    if path.is_symlink() or (base == self.run_dir and name == METRICS_NAME):
                        continue
                    try:
                        if prefix == "code" and path.stat().st_mtime < self.started - 1:
                            continue
                    except OSError:
                        continue
                    found.append((f"{prefix}/{path.relative_to(base).as_posix()}", path))
        sizes = {rel: path.stat().st_size for rel, path in found}
        total = sum(sizes.values())
        small = {rel for rel, size in sizes.items() if size <= 1 << 20}
        sent = set(sizes) if (total <= copy_limit and not keep) else small
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for rel, path in found:
                if rel in sent:
                    tar.add(str(path), arcname=rel, recursive=False)
        left = {rel: sizes[rel] for rel in sizes if rel not in sent}
        if not left:
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            (self.root / LEFT_NAME).write_text("")
        return {"tar": buffer.getvalue(), "left": left, "workdir": str(self.root), "total": total,
                "peak_rss_bytes": _peak_rss()}

    def stop_leftovers(self) -> None:
        """Whatever the script left running in its group (workers holding GPU memory), and the guard."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        if self.guard is not None and self.guard.stdin is not None:
            with contextlib.suppress(OSError):
                self.guard.stdin.write(b"done")  # finished: the folder is collected (or left on purpose)
            with contextlib.suppress(OSError):
                self.guard.stdin.close()  # the guard's group-kill is a no-op now; it exits
            try:
                self.guard.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.guard.kill()
