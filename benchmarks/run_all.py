"""Run the five performance benchmarks one after another with their default sizes.

    python -m benchmarks.run_all [--json-dir DIR]

Each benchmark prints its own report; with --json-dir each also saves `<name>.json` there.
The exit status is 0 when every target was met.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks import passthrough, session_log, startup, telemetry, trial_overhead
from benchmarks.common import finish

BENCHMARKS = (
    ("trial_overhead", trial_overhead),
    ("passthrough", passthrough),
    ("startup", startup),
    ("session_log", session_log),
    ("telemetry", telemetry),
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json-dir", help="save each benchmark's figures as <name>.json in this folder")
    p.add_argument("--only", help="comma-separated names to run: " + ", ".join(name for name, _ in BENCHMARKS))
    args = p.parse_args(argv)
    wanted = {n.strip() for n in args.only.split(",")} if args.only else {name for name, _ in BENCHMARKS}
    status = 0
    for name, module in BENCHMARKS:
        if name not in wanted:
            continue
        json_path = str(Path(args.json_dir) / f"{name}.json") if args.json_dir else None
        if json_path:
            Path(args.json_dir).mkdir(parents=True, exist_ok=True)
        result = module.measure()
        status |= finish(module.report(result, f"python -m benchmarks.{name}"), json_path)
        print()
    return status


if __name__ == "__main__":
    sys.exit(main())
