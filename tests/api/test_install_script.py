"""scripts/install.sh chooses where torch comes from with one short probe of the CPU-only index.

Where that index cannot be reached, pip used to retry it for every dependency before falling
back (minutes on each fresh install and CI run). The script is run for real with a stand-in
`python` that records each pip command instead of installing; the probe itself runs in the real
interpreter against servers on 127.0.0.1 (a live one, a closed port, one that never answers).
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="a bash script")

FAKE_PYTHON = """#!/usr/bin/env bash
# Stand-in interpreter: torch is missing, pip commands are recorded, anything else runs for real.
if [ "$1" = "-c" ]; then exit 1; fi
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "${*:3}" >> "$PIP_LOG"; exit 0; fi
exec "$REAL_PYTHON" "$@"
"""


def _install(tmp_path: Path, index: str) -> tuple[list[str], float]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python").write_text(FAKE_PYTHON)
    (bin_dir / "nvidia-smi").write_text("#!/usr/bin/env bash\nexit 1\n")  # this box has no GPU, whatever runs the test
    for name in ("python", "nvidia-smi"):
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "pip.log"
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(tmp_path),
           "PIP_LOG": str(log), "REAL_PYTHON": sys.executable, "AFT_TORCH_CPU_INDEX": index,
           "HOME": str(tmp_path)}
    started = time.monotonic()
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "install.sh")], env=env, capture_output=True, text=True,
                          timeout=60)
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line for line in log.read_text().splitlines() if " torch" in f" {line}"], took


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Index(http.server.BaseHTTPRequestHandler):
    """A package index's root page, quietly."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's spelling)
        body = b"<html><body><a href='torch/'>torch</a></body></html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_reachable_index_is_used_for_torch(tmp_path: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        index = f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
        torch_installs, _ = _install(tmp_path, index)
    finally:
        server.shutdown()
    assert torch_installs == [f"install --quiet torch --index-url {index}"]


def test_an_unreachable_index_is_skipped_at_once(tmp_path: Path):
    torch_installs, took = _install(tmp_path, f"http://127.0.0.1:{_free_port()}/whl/cpu")
    assert torch_installs == ["install --quiet torch"]  # straight to the default index, never the dead one
    assert took < 10


def test_an_index_that_never_answers_costs_one_short_wait(tmp_path: Path):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (the kernel does), never answers
    try:
        torch_installs, took = _install(tmp_path, f"http://127.0.0.1:{silent.getsockname()[1]}/whl/cpu")
    finally:
        silent.close()
    assert torch_installs == ["install --quiet torch"]
    assert 4 <= took < 15  # the 5-second probe, once
