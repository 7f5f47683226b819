"""Ray is optional: never imported without --cluster, and every way of not having a cluster is
one sentence, before anything is created."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.cluster.project import make_project
from tests.conftest import ROOT
from tests.engine.helpers import aft, aft_env

NO_RAY_IMPORTED = r'''
import sys
from aft_tui.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))
print("RAY-MODULES:", heavy)
sys.exit(code)
'''


def test_a_local_session_runs_as_before_and_imports_no_ray_module(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    done = subprocess.run([sys.executable, "-c", NO_RAY_IMPORTED, "tune", "train.py", "--trials", "2", "--metric",
                           "val_loss", "--direction", "min", "--yes", "--", "--epochs", "2", "--sleep", "0"],
                          cwd=project, capture_output=True, text=True, timeout=180, env=aft_env())
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "RAY-MODULES: []" in done.stdout
    import json

    records = json.loads((project / "outputs" / "results.json").read_text())
    assert [r["status"] for r in records] == ["ok", "ok"]
    assert all("node" not in r for r in records)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_cluster_at_the_address_is_one_sentence_and_nothing_is_created(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    port = _closed_port()
    done = aft(project, "tune", "train.py", "--cluster", f"127.0.0.1:{port}", "--yes", timeout=60)
    assert done.returncode == 2
    assert f"Could not reach a Ray cluster at 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) <= 3
    assert not (project / ".aft").exists() and not (project / "outputs").exists()


def test_without_ray_installed_cluster_says_how_to_get_it(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    # Ray cannot be uninstalled for one test: a package that fails to import stands in for its absence.
    blocker = tmp_path / "blocker" / "ray"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    env = aft_env()
    env["PYTHONPATH"] = f"{blocker.parent}:{ROOT}"
    done = aft(project, "tune", "train.py", "--cluster", "ray", "--yes", env=env, timeout=60)
    assert done.returncode == 2
    assert "--cluster needs Ray, which is not installed" in done.stderr and "aft-tui[ray]" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (project / ".aft").exists()


def test_cluster_settings_in_the_wrong_form_are_refused_in_one_sentence(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / "aft.toml").write_text('cluster = "slurm"\n')
    done = aft(project, "tune", "train.py", "--yes", timeout=60)
    assert done.returncode == 2 and "cluster must be 'ray'" in done.stderr
    (project / "aft.toml").write_text('memory_per_trial = "lots"\n')
    done = aft(project, "tune", "train.py", "--yes", timeout=60)
    assert done.returncode == 2 and "memory_per_trial must be a size such as 8G" in done.stderr
    (project / "aft.toml").unlink()
    done = aft(project, "tune", "train.py", "--cluster", "ray", "--ship", "nowhere", "--yes", timeout=60)
    assert done.returncode == 2 and "--ship nowhere: there is no" in done.stderr
    assert not (project / ".aft").exists()


def test_shipped_folders_over_the_limit_are_refused_with_their_size(tmp_path: Path) -> None:
    from aft_tui.errors import UserError
    from aft_tui.runs.cluster.bundle import ship_folders

    project = make_project(tmp_path)
    (project / "data" / "big.bin").write_bytes(b"x" * 5000)
    shipped = ship_folders(project, ["data"], limit=10_000)
    assert shipped == (("data", (project / "data").resolve()),)
    try:
        ship_folders(project, ["data"], limit=4096)
    except UserError as exc:
        assert "--ship data is 4.9 KiB, more than the 4.0 KiB" in str(exc) and "filesystem every node mounts" in str(exc)
    else:
        raise AssertionError("a folder over the limit was accepted")
    try:
        ship_folders(project, [".."], limit=10_000)
    except UserError as exc:
        assert "not a folder inside the project" in str(exc)
    else:
        raise AssertionError("a folder outside the project was accepted")


def test_a_nodes_next_trial_removes_only_the_folders_of_dead_actors(tmp_path: Path) -> None:
    import os

    from aft_tui.runs.cluster.worker import LEFT_NAME, OWNER_NAME, sweep_abandoned

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()  # a pid that has exited
    for name, owner, left in (("dead", gone, False), ("running", str(os.getpid()), False),
                              ("kept", gone, True), ("unknown", None, False)):
        folder = tmp_path / f"aft-trial-{name}"
        (folder / "run").mkdir(parents=True)
        if owner is not None:
            (folder / OWNER_NAME).write_text(owner)
        if left:
            (folder / LEFT_NAME).write_text("")
    sweep_abandoned(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aft-trial-kept", "aft-trial-running", "aft-trial-unknown"]
