import sys, tempfile
from pathlib import Path
sys.path.insert(0, "/work/main")
from benchmarks.common import make_project, TRIVIAL_SCRIPT, python
from benchmarks.startup import time_to_screen, _env
import os
tmp = Path(tempfile.mkdtemp())
project = make_project(tmp, {"train.py": TRIVIAL_SCRIPT})
env = _env(tmp / "pycache", PYTHONPATH="/work/main", **({"PROF": "1"} if len(sys.argv) > 1 else {}))
for i in range(3):
    t = time_to_screen([python(), "/tmp/prof/wrap.py"], project, env)
    print(f"screen at {t*1000:.0f} ms")
    print(open("/tmp/prof/marks.txt").read())
