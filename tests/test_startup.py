"""Start-up stays light: no heavy library is imported by `import aft_tui` or `aft --help`."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.engine.helpers import aft_env

HEAVY = ("torch", "transformers", "litellm", "peft", "optuna", "mlflow", "textual", "git", "libcst", "pynvml")


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=aft_env(), check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_aft_tui_is_light():
    loaded = _modules_after("import aft_tui")
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def test_help_is_light():
    code = ("import sys, io, contextlib\nfrom aft_tui.cli import main\n"
            "buf = io.StringIO()\nwith contextlib.redirect_stdout(buf):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n")
    loaded = _modules_after(code)
    heavy = {m for m in loaded if m.split(".")[0] in HEAVY}
    assert not heavy, heavy


def test_subcommand_help_is_light():
    for command in ("tune", "pipeline", "runs"):
        code = ("import io, contextlib\nfrom aft_tui.cli import main\nbuf = io.StringIO()\n"
                "with contextlib.redirect_stdout(buf):\n    try:\n"
                f"        main(['{command}', '--help'])\n    except SystemExit:\n        pass\n")
        loaded = _modules_after(code)
        assert not {m for m in loaded if m.split(".")[0] in HEAVY}, command


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "aft_tui", "--help"], capture_output=True, text=True, env=aft_env())
    assert out.returncode == 0
    for command in ("tune", "runs", "compare", "rollback", "sessions", "doctor", "inspect", "pipeline"):
        assert command in out.stdout


def test_doctor_reports_without_secrets():
    env = aft_env(OPENAI_API_KEY="sk-test-doctor-SECRET-999")
    out = subprocess.run([sys.executable, "-m", "aft_tui", "doctor"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert "python" in out.stdout and "git" in out.stdout
    assert "OPENAI_API_KEY" in out.stdout
    assert "SECRET-999" not in out.stdout + out.stderr
    assert "no NVIDIA GPU" in out.stdout or "gpu0" in out.stdout
