"""`python -m benchmarks.tuning`: run the tuning benchmark and write its table and plot.

    python -m benchmarks.tuning                 # the default suite (docs/tuning-benchmark.md + .png)
    python -m benchmarks.tuning --quick --out /tmp/bench   # a smoke run in well under a minute
    python -m benchmarks.tuning --from-raw docs/tuning-benchmark.json.gz   # re-render without re-running
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.tuning import report
from benchmarks.tuning.runner import Job, run_jobs, scratch_root
from benchmarks.tuning.suite import (CONFIGS, DEFAULT_CONFIGS, DEFAULT_PROBLEMS, PROBLEMS, QUICK_CONFIGS,
                                     QUICK_PROBLEMS, curves_optimum)

ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tuning", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: one problem, three strategies, 2 seeds, 6 trials")
    parser.add_argument("--seeds", type=int, help="seeds per configuration (default 10; quick 2)")
    parser.add_argument("--trials", type=int, help="trials per session (default 20; quick 6)")
    parser.add_argument("--problems", help=f"comma-separated, from: {', '.join(PROBLEMS)}")
    parser.add_argument("--configs", help=f"comma-separated, from: {', '.join(CONFIGS)}")
    parser.add_argument("--workers", type=int, help="sessions at a time (default: 3 per CPU core)")
    parser.add_argument("--out", help="folder for tuning-benchmark.md/.png/.json.gz (default docs/; quick: a temp folder)")
    parser.add_argument("--from-raw", help="re-render the report from a saved tuning-benchmark.json.gz")
    parser.add_argument("--merge", action="store_true",
                        help="add these sessions to the tuning-benchmark.json.gz already in --out (same trial budget "
                             "and seeds; sessions of the same problem, configuration and seed are replaced)")
    return parser.parse_args(argv)


RAW_NAME = "tuning-benchmark.json.gz"


def read_raw(path: Path) -> dict:
    import gzip

    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return json.loads(data.decode("utf-8"))


def write_raw(path: Path, raw: dict) -> None:
    """Every session's trials, gzipped (mtime 0, so the same results give the same bytes)."""
    import gzip

    text = json.dumps(raw, separators=(",", ":"), default=str) + "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    os.replace(tmp, path)


def _pick(text: str | None, default: list[str], known: dict, what: str) -> list[str]:
    if not text:
        return list(default)
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"Unknown {what}: {', '.join(unknown)}; choose from {', '.join(known)}.")
    return names


def best_known(results: list[dict], problems: list[str]) -> dict[str, float]:
    out = {}
    for p in problems:
        problem = PROBLEMS[p]
        if problem.noisy:
            out[p] = curves_optimum(problem.search["variant"]["fixed"])
            continue
        values = [t["value"] for r in results if r["problem"] == p for t in r.get("trials") or []
                  if t.get("status") == "ok" and isinstance(t.get("value"), (int, float)) and math.isfinite(t["value"])]
        if values:
            out[p] = max(values) if problem.direction == "max" else min(values)
    return out


def render(raw: dict, out: Path) -> Path:
    results, meta = raw["results"], raw["meta"]
    problems = [p for p in meta["problems"] if p in PROBLEMS]
    configs = [c for c in CONFIGS if c in meta["configs"]]  # the suite's order, also after --merge
    known = best_known(results, problems)
    runs = report.runs_from(results)
    summaries = report.summarise([r for r in runs if r.problem in known], known,
                                 {p: PROBLEMS[p].direction for p in problems})
    verdict_list = report.verdicts(summaries, problems, meta["trials"])
    out.mkdir(parents=True, exist_ok=True)
    png = out / "tuning-benchmark.png"
    baseline = {p: next((s.defaults_gap for (pp, c), s in summaries.items() if pp == p), math.nan) for p in problems}
    report.plot(summaries, problems, configs, png, baseline)
    notes = report.seedless_notes(runs, known, {p: PROBLEMS[p].direction for p in problems})
    text = report.markdown(summaries, known, {p: PROBLEMS[p] for p in problems}, {c: CONFIGS[c] for c in configs},
                           verdict_list, meta, png.name, notes)
    md = out / "tuning-benchmark.md"
    tmp = md.with_suffix(".md.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, md)
    return md


def _merge(old: dict, results: list[dict], meta: dict) -> tuple[list[dict], dict]:
    """Earlier sessions plus these (same budget and seeds required); the run's cost adds up."""
    before = old["meta"]
    if before["trials"] != meta["trials"] or before["seeds"] != meta["seeds"]:
        sys.exit(f"--merge needs the same --trials and --seeds as the saved run ({before['trials']} trials, "
                 f"{before['seeds']} seeds).")
    fresh = {(r["problem"], r["config"], r["seed"]) for r in results}
    kept = [r for r in old["results"] if (r["problem"], r["config"], r["seed"]) not in fresh]
    merged = dict(before)
    merged["problems"] = list(dict.fromkeys(before["problems"] + meta["problems"]))
    merged["configs"] = list(dict.fromkeys(before["configs"] + meta["configs"]))
    merged["sessions"] = len(kept) + len(results)
    for key in ("minutes", "cpu_minutes"):
        merged[key] = (before.get(key) or 0) + (meta.get(key) or 0)
    merged["errors"] = (before.get("errors") or 0) + meta["errors"]
    merged["parts"] = (before.get("parts") or 1) + 1
    merged["load"] = max(before.get("load") or 0, meta.get("load") or 0)
    merged["command"] = before["command"]
    return kept + results, merged


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_raw:
        raw = read_raw(Path(args.from_raw))
        md = render(raw, Path(args.out) if args.out else Path(args.from_raw).parent)
        print(f"wrote {md}")
        return 0
    problems = _pick(args.problems, QUICK_PROBLEMS if args.quick else DEFAULT_PROBLEMS, PROBLEMS, "problem")
    configs = _pick(args.configs, QUICK_CONFIGS if args.quick else DEFAULT_CONFIGS, CONFIGS, "configuration")
    seeds = args.seeds or (2 if args.quick else 10)
    trials = args.trials or (6 if args.quick else 20)
    cpus = os.cpu_count() or 1
    workers = args.workers or 3 * cpus
    out = Path(args.out) if args.out else (Path(tempfile.mkdtemp(prefix="aft-bench-")) if args.quick else ROOT / "docs")
    if args.quick:
        os.environ.setdefault("CURVES_EPOCH_SECONDS", "0.005")
    workdir = Path(tempfile.mkdtemp(prefix="aft-tuning-bench-", dir=scratch_root()))
    model = None
    if any(CONFIGS[c].strategy in ("llm", "hybrid") for c in configs):
        from benchmarks.tuning.stand_in_model import StandInModel

        model = StandInModel().start()
    url = model.url if model else None
    jobs = [Job(p, c, s, trials * CONFIGS[c].trials_factor, str(workdir), url)
            for s in range(seeds) for p in problems for c in configs]
    # Long sessions first, so the pool is not left waiting on one of them at the end.
    jobs.sort(key=lambda j: (-j.trials, CONFIGS[j.config].strategy not in ("gp", "cmaes"), j.seed))
    started = time.time()

    def progress(done: int, total: int, result: dict) -> None:
        note = f" ERROR {result['error']}" if result.get("error") else ""
        print(f"[{done}/{total}] {result['problem']} {result['config']} seed {result['seed']} "
              f"({time.time() - started:.0f}s){note}", file=sys.stderr, flush=True)

    import resource

    cpu_before = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                     for f in ("ru_utime", "ru_stime"))
    try:
        results = run_jobs(jobs, workers, progress)
    finally:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
        if model is not None:
            model.stop()
    errors = [r for r in results if r.get("error")]
    command = "python -m benchmarks.tuning" + (" --quick" if args.quick else "") + \
        "".join(f" {flag} {value}" for flag, value in (("--problems", args.problems), ("--configs", args.configs),
                                                      ("--seeds", args.seeds), ("--trials", args.trials)) if value)
    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime")) - cpu_before
    meta = {"command": command, "problems": problems, "configs": configs, "seeds": seeds, "trials": trials,
            "workers": workers, "cpus": cpus, "sessions": len(jobs), "minutes": (time.time() - started) / 60,
            "cpu_minutes": cpu / 60, "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "errors": len(errors)}
    out.mkdir(parents=True, exist_ok=True)
    raw_path = out / RAW_NAME
    if args.merge and raw_path.is_file():
        results, meta = _merge(read_raw(raw_path), results, meta)
    raw = {"meta": meta, "results": sorted(results, key=lambda r: (r["problem"], r["config"], r["seed"]))}
    write_raw(raw_path, raw)
    md = render(raw, out)
    print(f"wrote {md}, {md.with_suffix('.png')} and {raw_path} in {meta['minutes']:.1f} minutes"
          + (f"; {len(errors)} sessions failed: {errors[0]['error']}" if errors else ""))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
