"""`aft tune train.py -- <the script's own arguments>`: the script runs the way its owner runs it.

The arguments go to every run (trials, the smoke run, a resume), their values are trial 1's
and the centre of each range, and a tuned flag replaces its occurrence instead of being passed
twice. Every launch of a fixture is recorded through a file it appends its argv to.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git
from tests.engine.helpers import aft, aft_env, results, session_ids

pytestmark = pytest.mark.slow

ARGPARSE_SCRIPT = '''\
import argparse, json, math, os, sys

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--lr", type=float, default=0.001)
args, rest = parser.parse_known_args()
for item in rest:  # `lr=0.5` overrides too, the way dotlist scripts take them
    key, value = item.split("=", 1)
    setattr(args, key, type(getattr(args, key))(value))
with open(os.environ["LAUNCHES"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
rows = open(args.data).read().split()
for epoch in range(3):
    print(f"epoch {epoch}: val_loss: {(math.log10(args.lr) - math.log10(0.2)) ** 2 + len(rows) / (epoch + 1):.6f}")
'''

CONSTANTS_SCRIPT = '''\
import argparse, json, os, sys

LR = 0.1
EPOCHS = 3

parser = argparse.ArgumentParser()
parser.add_argument("--base_model", required=True)
args = parser.parse_args()
assert os.path.isdir(args.base_model), args.base_model
with open(os.environ["LAUNCHES"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
loss = 1.0
for epoch in range(EPOCHS):
    loss = loss * (1 - LR) + abs(LR - 0.3) * 0.1
    print(f"epoch {epoch}: val_loss: {loss:.6f}")
'''


def _project(git_project, files: dict[str, str]) -> Path:
    project = git_project(commit=False)
    for name, text in files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "initial")
    return project


def _launches(path: Path) -> list[list[str]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _value_of(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_tune_runs_every_trial_with_the_persons_arguments(git_project, tmp_path: Path):
    project = _project(git_project, {"fit.py": ARGPARSE_SCRIPT, "d.csv": "1 2 3\n"})
    launches = tmp_path / "launches.txt"
    env = aft_env(LAUNCHES=str(launches))
    proc = aft(project, "tune", "fit.py", "--trials", "3", "--metric", "val_loss", "--yes", "--",
               "--data", "d.csv", "--lr", "0.5", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = results(project)
    assert [r["number"] for r in runs] == [1, 2, 3]
    argvs = _launches(launches)
    assert len(argvs) == 3
    for argv in argvs:
        assert _value_of(argv, "--data") == "d.csv"
        assert argv.count("--lr") == 1, argv  # replaced in place, never passed twice
    assert float(_value_of(argvs[0], "--lr")) == 0.5
    assert runs[0]["params"]["lr"] == 0.5
    assert "your own configuration" in runs[0]["rationale"] and "--lr 0.5" in runs[0]["rationale"]
    for r in runs:
        assert _value_of(r["command"], "--data") == "d.csv"
        assert r["command"].count("--lr") == 1
        assert r["script_args"] == ["--data", "d.csv", "--lr", "0.5"]

    # The range is centred on the typed 0.5, not on the source's 0.001.
    (sid,) = session_ids(project)
    state = json.loads((project / ".aft" / "sessions" / f"{sid}.json").read_text())
    assert state["args"] == ["--data", "d.csv", "--lr", "0.5"]
    (lr,) = [d for d in state["space"]["dims"] if d["name"] == "lr"]
    assert lr["default"] == 0.5 and lr["low"] == pytest.approx(0.05) and lr["high"] >= 0.5
    assert lr["extra"]["from_args"] is True

    # Recorded with every trial: the commit's params file, its message and note, metadata, runs.
    params_file = json.loads(git(project, "show", f"{runs[1]['commit']}:aft_params.json"))
    assert params_file["script_args"] == ["--data", "d.csv", "--lr", "0.5"]
    assert "Script arguments: --data d.csv --lr 0.5" in git(project, "log", "-1", "--format=%B", runs[1]["commit"])
    assert "d.csv" in git(project, "notes", "--ref", "aft", "show", runs[1]["commit"])
    meta = json.loads((project / "outputs" / "metadata.json").read_text())
    assert meta["script_args"] == ["--data", "d.csv", "--lr", "0.5"]
    listing = aft(project, "runs")
    assert "Script arguments: --data d.csv --lr 0.5" in listing.stdout, listing.stdout
    as_json = json.loads(aft(project, "runs", "--json").stdout)
    assert all(r["script_args"] == ["--data", "d.csv", "--lr", "0.5"] for r in as_json)
    log = (project / ".aft" / "sessions" / f"{sid}.jsonl").read_text()
    started = json.loads(log.splitlines()[0])
    assert started["settings"]["args"] == ["--data", "d.csv", "--lr", "0.5"]

    # A resume runs with the same arguments; other ones are refused, not silently used.
    refused = aft(project, "tune", "--resume", sid, "--trials", "4", "--yes", "--", "--data", "other.csv", env=env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--data d.csv --lr 0.5" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    resumed = aft(project, "tune", "--resume", sid, "--trials", "4", "--yes", env=env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    argvs = _launches(launches)
    assert len(argvs) == 4 and _value_of(argvs[-1], "--data") == "d.csv" and argvs[-1].count("--lr") == 1


def test_args_in_aft_toml_and_bad_ones(git_project, tmp_path: Path):
    project = _project(git_project, {"fit.py": ARGPARSE_SCRIPT, "d.csv": "1 2\n",
                                     "aft.toml": 'args = ["--data", "d.csv"]\n'})
    launches = tmp_path / "launches.txt"
    env = aft_env(LAUNCHES=str(launches))
    proc = aft(project, "tune", "fit.py", "--trials", "1", "--metric", "val_loss", "--yes", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _value_of(_launches(launches)[0], "--data") == "d.csv"
    # `--` on the command line wins over the file.
    (project / "e.csv").write_text("1\n")
    proc = aft(project, "tune", "fit.py", "--trials", "1", "--metric", "val_loss", "--yes", "--", "--data", "e.csv",
               env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _value_of(_launches(launches)[-1], "--data") == "e.csv"

    (project / "aft.toml").write_text('args = "--data d.csv"\n')
    bad = aft(project, "tune", "fit.py", "--trials", "1", "--yes", env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "must be a list of strings" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    wrong = aft(project, "runs", "--", "--data", "d.csv")
    assert wrong.returncode == 2 and "takes no script arguments" in wrong.stderr


def test_a_dotlist_argument_is_replaced_in_place(git_project, tmp_path: Path):
    project = _project(git_project, {"fit.py": ARGPARSE_SCRIPT, "d.csv": "1\n"})
    launches = tmp_path / "launches.txt"
    proc = aft(project, "tune", "fit.py", "--trials", "2", "--metric", "val_loss", "--yes", "--",
               "--data", "d.csv", "lr=0.5", env=aft_env(LAUNCHES=str(launches)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first, second = _launches(launches)
    assert first == ["--data", "d.csv", "--lr", "0.5"]  # lr=0.5 became AFT's rendering, at its place
    assert not any(t.startswith("lr=") for t in second) and second.count("--lr") == 1
    assert results(project)[0]["params"]["lr"] == 0.5


def test_pipeline_smoke_run_gets_the_required_argument(git_project, tmp_path: Path):
    project = _project(git_project, {"train.py": CONSTANTS_SCRIPT, "tiny-llama/config.json": "{}\n"})
    launches = tmp_path / "launches.txt"
    proc = aft(project, "pipeline", "train.py", "--trials", "2", "--metric", "val_loss", "--yes", "--",
               "--base_model", "./tiny-llama", env=aft_env(LAUNCHES=str(launches)), timeout=400)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Refactor committed" in proc.stdout, proc.stdout
    argvs = _launches(launches)
    assert all(_value_of(argv, "--base_model") == "./tiny-llama" for argv in argvs), argvs
    # The smoke run ran exactly the person's arguments: it is kept as trial 1, not trained again.
    assert argvs[0] == ["--base_model", "./tiny-llama"]
    assert len(argvs) == 2, argvs
    assert "Trial 1 is the smoke run" in proc.stdout
    runs = results(project)
    assert [r["status"] for r in runs] == ["ok", "ok"], [(r["status"], r["reason"]) for r in runs]


def test_chat_and_the_api_take_the_arguments(git_project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import argparse

    import aft_tui.api as api
    from aft_tui.cli import _flags, split_script_args
    from aft_tui.ui.launch import open_engine

    project = _project(git_project, {"fit.py": ARGPARSE_SCRIPT, "d.csv": "1\n"})
    monkeypatch.chdir(project)
    own, script_args = split_script_args(["chat", "fit.py", "--plain", "--", "--data", "d.csv", "--lr", "0.5"])
    assert own == ["chat", "fit.py", "--plain"] and script_args == ["--data", "d.csv", "--lr", "0.5"]
    args = argparse.Namespace(target="fit.py", resume=None, project=None, script_args=script_args)
    engine = open_engine(args, _flags(args))
    assert engine.script_args == ["--data", "d.csv", "--lr", "0.5"]
    assert engine.state.args == ["--data", "d.csv", "--lr", "0.5"]

    discovery = api.inspect("fit.py", args=["--data", "d.csv", "--lr", "0.5"])
    lr = discovery.param("lr")
    assert lr.default == 0.5 and lr.extra["from_args"] is True
    assert api.inspect("fit.py").param("lr").default == 0.001
    with pytest.raises(Exception, match="must be a list of strings"):
        api.inspect("fit.py", args="--lr 0.5")  # type: ignore[arg-type]


def test_the_smoke_run_passes_fixed_values_and_stays_trial_1(git_project, tmp_path: Path):
    project = _project(git_project, {"train.py": CONSTANTS_SCRIPT, "tiny-llama/config.json": "{}\n",
                                     "aft.toml": "[search.epochs]\nfixed = 2\n"})
    launches = tmp_path / "launches.txt"
    proc = aft(project, "pipeline", "train.py", "--trials", "2", "--metric", "val_loss", "--yes", "--",
               "--base_model", "./tiny-llama", env=aft_env(LAUNCHES=str(launches)), timeout=400)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    argvs = _launches(launches)
    # The smoke run of the refactored script already has the fixed value, so it is the run trial 1 would be.
    assert argvs[0] == ["--base_model", "./tiny-llama", "--epochs", "2"], argvs
    assert len(argvs) == 2 and "Trial 1 is the smoke run" in proc.stdout
    assert all(_value_of(argv, "--epochs") == "2" for argv in argvs)


async def test_the_chat_runs_command_shows_the_arguments(git_project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from aft_tui.ui.commands import CommandRouter
    from aft_tui.engine.engine import Engine
    from aft_tui.settings import load_settings
    from aft_tui.ui.session_view import SessionView

    project = _project(git_project, {"fit.py": ARGPARSE_SCRIPT, "d.csv": "1\n"})
    monkeypatch.chdir(project)
    monkeypatch.setenv("LAUNCHES", str(tmp_path / "launches.txt"))
    settings = load_settings(project, {"args": ["--data", "d.csv"], "metric": "val_loss", "yes": True})
    engine = Engine.open("fit.py", settings)
    await engine.start()
    try:
        router = CommandRouter(engine, SessionView(), save_setting=lambda k, v: None)
        assert (await router.run("/tune --trials 1")).kind == "done"
        runs = await router.run("/runs")
        assert "script arguments: --data d.csv" in runs.text, runs.text
    finally:
        engine.close("finished")
