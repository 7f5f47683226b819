"""From the sessions' trials to the numbers, the targets, the table and the plot.

Definitions (stated again in the generated document):

* **best known** value of a problem: for the synthetic curves, the noise-free optimum of the
  curve family over the search space (computed); for the real training tasks, which are
  deterministic for given parameters, the best value any trial of this benchmark reached.
* **gap** of a value: how far below the best known it is, relative to the best known, in %.
* **best so far** after n trials: the best value among the successful trials 1..n (pruned and
  failed trials never count as results). Trial 1 is always the script's defaults.
* **compute**: epochs actually run, summed over trials (a pruned trial counts the epochs it ran).
* **to reach 1%**: the trials (or compute) at which the best so far first came within 1% of the
  best known. A session that never got there counts as infinitely many, so a median can be
  "not reached".
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

REACH = 1.0  # percent


@dataclass
class Run:
    problem: str
    config: str
    seed: int
    values: list[float | None]  # per trial: the value when the trial succeeded, else None
    epochs: list[int]
    statuses: list[str]
    strategies: list[str]

    def best_so_far(self, direction: str) -> list[float | None]:
        out: list[float | None] = []
        best = None
        for v in self.values:
            if v is not None and (best is None or (v > best if direction == "max" else v < best)):
                best = v
            out.append(best)
        return out

    def compute(self) -> list[int]:
        total, out = 0, []
        for e in self.epochs:
            total += e
            out.append(total)
        return out


def runs_from(results: list[dict[str, Any]]) -> list[Run]:
    runs = []
    for res in results:
        trials = res.get("trials") or []
        if not trials:
            continue
        values = []
        for t in trials:
            v = t.get("value")
            ok = t.get("status") == "ok" and isinstance(v, (int, float)) and math.isfinite(v)
            values.append(float(v) if ok else None)
        runs.append(Run(res["problem"], res["config"], int(res["seed"]), values, [int(t.get("epochs") or 0) for t in trials],
                        [str(t.get("status")) for t in trials], [str(t.get("strategy")) for t in trials]))
    return runs


def gap(value: float | None, best_known: float, direction: str) -> float:
    """Percent below the best known (never negative); infinite when there is no value."""
    if value is None:
        return math.inf
    diff = (best_known - value) if direction == "max" else (value - best_known)
    return max(0.0, 100.0 * diff / abs(best_known)) if best_known else max(0.0, 100.0 * diff)


def median(values: list[float]) -> float:
    """Median that keeps infinities (sessions that never reached a level) in the ordering."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    n = len(ordered)
    mid = n // 2
    if n % 2:
        return ordered[mid]
    a, b = ordered[mid - 1], ordered[mid]
    return math.inf if math.isinf(a) or math.isinf(b) else (a + b) / 2


@dataclass
class Summary:
    """One configuration on one problem, over its seeds."""

    problem: str
    config: str
    seeds: int
    gap_by_trial: list[float]  # median gap of the best so far after n trials (index n-1)
    final_gap: float
    trials_to_reach: float
    compute_to_reach: float
    reached: int
    compute_total: float  # median epochs over the whole budget
    pruned_share: float
    failed_share: float
    never_worse_than_defaults: bool
    defaults_gap: float
    compute_curve: list[tuple[float, float]]  # (epochs, median gap) over the common compute range


def summarise(runs: list[Run], best_known: dict[str, float], direction: dict[str, str]) -> dict[tuple[str, str], Summary]:
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.problem, run.config), []).append(run)
    out = {}
    for (problem, config), group in sorted(groups.items()):
        bk, d = best_known[problem], direction[problem]
        n_max = max(len(r.values) for r in group)
        gaps = []
        for r in group:
            bsf = [gap(v, bk, d) for v in r.best_so_far(d)]
            gaps.append(bsf + [bsf[-1]] * (n_max - len(bsf)))
        by_trial = [median([g[i] for g in gaps]) for i in range(n_max)]
        reach_trials, reach_compute = [], []
        for r, g in zip(group, gaps):
            comp = r.compute()
            idx = next((i for i, x in enumerate(g[:len(comp)]) if x <= REACH), None)
            reach_trials.append(math.inf if idx is None else idx + 1)
            reach_compute.append(math.inf if idx is None else comp[idx])
        statuses = [s for r in group for s in r.statuses]
        defaults_ok = all(
            r.values[0] is None
            or (r.best_so_far(d)[-1] is not None and gap(r.best_so_far(d)[-1], bk, d) <= gap(r.values[0], bk, d))
            for r in group)
        out[(problem, config)] = Summary(
            problem, config, len(group), by_trial, by_trial[-1], median(reach_trials), median(reach_compute),
            sum(1 for x in reach_trials if math.isfinite(x)),
            statistics.median([r.compute()[-1] for r in group]),
            statuses.count("pruned") / max(1, len(statuses)), statuses.count("failed") / max(1, len(statuses)),
            defaults_ok, median([gap(r.values[0], bk, d) for r in group]), _compute_curve(group, gaps))
    return out


def _compute_curve(group: list[Run], gaps: list[list[float]]) -> list[tuple[float, float]]:
    """Median gap against epochs run, up to the compute every seed of the group used."""
    limit = min(r.compute()[-1] for r in group)
    if limit <= 0:
        return []
    points = sorted({c for r in group for c in r.compute() if c <= limit} | {limit})
    curve = []
    for x in points:
        at = []
        for r, g in zip(group, gaps):
            comp = r.compute()
            idx = max((i for i, c in enumerate(comp) if c <= x), default=None)
            at.append(math.inf if idx is None else g[idx])
        curve.append((float(x), median(at)))
    return curve


# --------------------------------------------------------------------------- targets


@dataclass
class Verdict:
    target: str
    met: bool | None  # None: cannot be judged from this run (a configuration is missing)
    detail: str
    share: tuple[int, int] | None = None  # problems where it holds, of those judged

    @property
    def label(self) -> str:
        if self.met is None:
            return "not measured"
        if self.met:
            return "met"
        if self.share and self.share[0]:
            return f"partly met ({self.share[0]} of {self.share[1]} problems)"
        return "not met"


def _fmt_num(x: float, unit: str = "") -> str:
    if math.isinf(x):
        return "not reached"
    if math.isnan(x):
        return "n/a"
    return f"{x:.0f}{unit}" if abs(x) >= 10 else f"{x:.1f}{unit}"


def verdicts(summaries: dict[tuple[str, str], Summary], problems: list[str], trials: int,
             default: str = "tpe", random_cfg: str = "random", unpruned: str = "tpe-no-pruning",
             coordinate: str = "coordinate", random_long: str = "random-long") -> list[Verdict]:
    out = []
    # 1. within 1% of the best known with at most half the compute of seeded random search
    #    (what random search needs is read from the long random sessions when they ran).
    parts, met_all, judged, held = [], True, False, []
    for p in problems:
        a, b = summaries.get((p, default)), summaries.get((p, random_long)) or summaries.get((p, random_cfg))
        if a is None or b is None:
            continue
        judged = True
        if math.isinf(a.compute_to_reach):
            ok, ratio = False, "tpe did not reach 1% in the median"
        elif math.isinf(b.compute_to_reach):
            bound = a.compute_to_reach / b.compute_total
            ok, ratio = bound <= 0.5, f"≤ {bound:.2f} (random did not reach 1% within {b.compute_total:.0f} epochs)"
        else:
            r = a.compute_to_reach / b.compute_to_reach
            ok, ratio = r <= 0.5, f"{r:.2f}"
        met_all &= ok
        held.append(ok)
        parts.append(f"{p}: {_fmt_num(a.compute_to_reach)} vs {_fmt_num(b.compute_to_reach)} epochs "
                     f"({b.reached}/{b.seeds} random sessions reached it), ratio {ratio}")
    never_worse = all(s.never_worse_than_defaults for (p, c), s in summaries.items() if c == default)
    out.append(Verdict("Default reaches within 1% of the best known with at most half the compute of seeded random search",
                       met_all if judged else None, "; ".join(parts) or "not measured", (sum(held), len(held))))
    out.append(Verdict("Default never ends worse than the user's defaults", never_worse if judged else None,
                       "every session's best is at least its trial 1 (the defaults)" if never_worse else
                       "a session ended below its defaults"))
    # 2. pruning saves compute.
    parts, judged, saved_any = [], False, []
    for p in problems:
        a, b = summaries.get((p, default)), summaries.get((p, unpruned))
        if a is None or b is None:
            continue
        judged = True
        total_saving = 1 - a.compute_total / b.compute_total if b.compute_total else 0.0
        if math.isfinite(a.compute_to_reach) and math.isfinite(b.compute_to_reach):
            saved = 1 - a.compute_to_reach / b.compute_to_reach
            reach = f"to reach 1%: {a.compute_to_reach:.0f} vs {b.compute_to_reach:.0f} epochs ({saved:.0%} saved)"
            saved_any.append(a.compute_to_reach < b.compute_to_reach)
        else:
            reach = f"to reach 1%: {_fmt_num(a.compute_to_reach)} vs {_fmt_num(b.compute_to_reach)} epochs"
            saved_any.append(math.isfinite(a.compute_to_reach) and not math.isfinite(b.compute_to_reach))
        parts.append(f"{p}: budget used {a.compute_total:.0f} vs {b.compute_total:.0f} epochs ({total_saving:.0%} saved), {reach}")
    out.append(Verdict("With pruning on, the compute to reach that value drops versus pruning off",
                       all(saved_any) if judged and saved_any else None, "; ".join(parts) or "not measured",
                       (sum(saved_any), len(saved_any))))
    # 3. default beats coordinate at every budget from 10 trials.
    parts, judged, met, held = [], False, True, []
    for p in problems:
        a, b = summaries.get((p, default)), summaries.get((p, coordinate))
        if a is None or b is None or trials < 10:
            continue
        judged = True
        worse = [n for n in range(10, trials + 1) if a.gap_by_trial[n - 1] > b.gap_by_trial[n - 1] + 1e-9]
        ties = [n for n in range(10, trials + 1) if abs(a.gap_by_trial[n - 1] - b.gap_by_trial[n - 1]) <= 1e-9]
        held.append(not worse)
        if worse:
            met = False
            parts.append(f"{p}: behind at {len(worse)} of {trials - 9} budgets ({_ranges(worse)})")
        elif ties:
            parts.append(f"{p}: never behind; tied at {_ranges(ties)}")
        else:
            parts.append(f"{p}: ahead at every budget")
    out.append(Verdict("Default beats coordinate (the original method) at every budget from 10 trials",
                       met if judged else None, "; ".join(parts) or "not measured (needs at least 10 trials)",
                       (sum(held), len(held))))
    return out


def _ranges(ns: list[int]) -> str:
    spans, start, prev = [], None, None
    for n in ns:
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            spans.append((start, prev))
            start = prev = n
    if start is not None:
        spans.append((start, prev))
    return ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in spans) + " trials"


# --------------------------------------------------------------------------- outputs


def _cpu_text(meta: dict[str, Any]) -> str:
    cpu = meta.get("cpu_minutes")
    if not cpu:
        return ""
    text = f", {cpu:.1f} CPU-minutes in all processes (so at least {cpu / meta['cpus']:.1f} minutes on {meta['cpus']} cores)"
    if (meta.get("parts") or 1) > 1:
        text += f", in {meta['parts']} parts (`--merge`), times added"
    load = meta.get("load")
    if load is not None and load > meta["cpus"] * 1.5:
        text += f"; the machine was shared with other work (load average up to {load:.1f}), which inflates the wall time"
    return text


def _cell(x: float, digits: int = 2) -> str:
    if math.isinf(x):
        return "—"
    return f"{x:.{digits}f}"


def seedless_notes(runs: list[Run], best_known: dict[str, float], direction: dict[str, str],
                   config: str = "coordinate") -> list[str]:
    """Problems on which every session of `config` followed the same trajectory (it uses no seed)."""
    notes = []
    for problem in sorted({r.problem for r in runs}):
        group = [r for r in runs if r.problem == problem and r.config == config]
        if len(group) < 2 or any(r.values != group[0].values for r in group[1:]):
            continue
        final = group[0].best_so_far(direction[problem])[-1]
        found = final is not None and gap(final, best_known[problem], direction[problem]) == 0.0
        notes.append(f"{problem}" + (" (where that one run found the best known value itself)" if found else ""))
    return notes


def markdown(summaries: dict[tuple[str, str], Summary], best_known: dict[str, float], problems: dict[str, Any],
             configs: dict[str, Any], verdict_list: list[Verdict], meta: dict[str, Any], png_name: str,
             notes: list[str] | None = None) -> str:
    lines = ["# Tuning benchmark", "",
             "How well each strategy tunes real training scripts through AFT's real trial protocol "
             "(subprocess trials, live metrics, pruning, git commits), at equal trial budgets, over several seeds.", "",
             f"Run: `{meta['command']}` — {meta['sessions']} sessions, {meta['trials']} trials each, "
             f"seeds 0–{meta['seeds'] - 1}, {meta['workers']} sessions at a time on {meta['cpus']} CPU cores: "
             f"{meta['minutes']:.1f} minutes of wall time" + _cpu_text(meta) + ".", ""]
    lines += ["## Targets", "", "| Target | Verdict | Evidence (medians over seeds) |", "|---|---|---|"]
    for v in verdict_list:
        lines.append(f"| {v.target} | **{v.label}** | {v.detail} |")
    lines += ["", f"![median best-so-far gap versus trials and versus epochs]({png_name})", ""]
    names = [c for c in configs if any((p, c) in summaries for p in problems)]
    for p, problem in problems.items():
        if not any((p, c) in summaries for c in names):
            continue
        first = next(summaries[(p, c)] for c in names if (p, c) in summaries)
        lines += [f"## {p}", "", f"{problem.description}. Best known {problem.metric}: {best_known[p]:.4f} "
                  f"({'noise-free optimum, computed' if problem.noisy else 'best value any trial reached'}); "
                  f"the defaults are {_cell(first.defaults_gap)}% below it.", "",
                  "| Strategy | Pruner | Gap after 5 / 10 / all trials (%) | Trials to 1% | Epochs to 1% | Reached 1% "
                  "| Epochs used | Pruned | Failed |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for c in names:
            s = summaries.get((p, c))
            if s is None:
                continue
            n = len(s.gap_by_trial)
            at = " / ".join(_cell(s.gap_by_trial[min(k, n) - 1]) for k in (5, 10, n))
            cfg = configs[c]
            label = f"**{c}**" if c == "tpe" else (f"{c} ({n} trials)" if n != len(first.gap_by_trial) else c)
            lines.append(f"| {label} | {cfg.pruner} | {at} | {_fmt_num(s.trials_to_reach)} | {_fmt_num(s.compute_to_reach)} | "
                         f"{s.reached}/{s.seeds} | {s.compute_total:.0f} | {s.pruned_share:.0%} | {s.failed_share:.0%} |")
        lines.append("")
    lines += ["## Configurations", ""]
    for c in names:
        cfg = configs[c]
        extra = "" if cfg.advice or cfg.strategy not in ("tpe", "gp", "cmaes") else ", without local moves"
        lines.append(f"- `{c}`: `--strategy {cfg.strategy} --pruner {cfg.pruner}`{extra}" + (f" — {cfg.note}" if cfg.note else ""))
    lines += ["", "## What the default does", "",
              "- `--strategy tpe` is Optuna's TPE sharing the trials with local moves from the best trial so far: "
              "first the move the curve analysis asks for (more epochs when a run was still improving at its last "
              "epoch, a lower learning rate after a divergence, fewer epochs when it overfitted), then coordinate "
              "steps around the best trial. Whichever side has produced new bests more often "
              "((improvements + 1) / (trials + 2)) proposes the next trial (`aft_tui/tuning/advice.py`). "
              "`tpe-plain` is TPE alone.",
              "- `--pruner median` prunes a trial whose best value so far is below the median of the other trials "
              "at the same step by more than the objective's epoch-to-epoch noise, never in the first third of a "
              "run, and counts every trial that reached the step, not only the survivors "
              "(`aft_tui/tuning/pruning.py`). A trial that the stop reaches as it finishes on its own keeps its result.",
              "- Failed trials (crash, out of memory, NaN) are told to the sampler as the worst value seen so far, "
              "so TPE, GP and CMA-ES avoid their region; rule-based proposals skip points within 5% of a failure "
              "(`aft_tui/tuning/failures.py`).", ""]
    lines += ["## Method", "",
              "- Every session is a real `aft tune` run through the engine: the script's parameters are discovered, "
              "trial 1 runs the defaults, each later trial is chosen by the strategy, committed on the session branch and "
              "run as a subprocess that reports its metric per epoch; pruning decisions are made on those live values.",
              "- Budgets are equal in trials (except `random-long`, which only measures what random search needs "
              "for the first target). A pruned trial counts as a trial and as the epochs it actually ran.",
              "- *Gap*: percent below the best known value. *Best so far* counts successful trials only. "
              "*To 1%*: the first trial (and the epochs run by then) at which the best so far is within 1% of the best "
              "known; a session that never gets there counts as infinite, so a median can be *not reached* (—).",
              "- Best known: for the synthetic curves, the noise-free optimum of the family over the search space "
              "(a trial's value carries noise, so it can be above it: the gap is then 0); for the real tasks, "
              "which are deterministic for given parameters, the best value any trial of the benchmark reached.",
              "- Medians are over seeds (the strategy's seed; the scripts' own seeds stay at their defaults)."
              + (f" `coordinate` uses no seed: on {' and '.join(notes)} all its sessions followed the same "
                 f"trajectory, so its median there is a single run (elsewhere its sessions differ: whether a trial "
                 f"stopped at its last evaluation had already finished, and so counts, depends on timing)."
                 if notes else ""),
              "- `llm` and `hybrid` run against a scripted stand-in model served over HTTP on the machine "
              "(`benchmarks/tuning/stand_in_model.py`): the whole path a real model takes (prompt, litellm, "
              "parsing, validation, fallback) runs, but the answers come from a fixed heuristic, so those rows "
              "measure the hooks, not a language model.",
              "- Reproduce with `python -m benchmarks.tuning` (add `--quick` for a one-minute smoke run). Every "
              "session's trials are in `tuning-benchmark.json.gz`; `--from-raw` re-renders this page and the plot "
              "from it.", ""]
    return "\n".join(lines)


def plot(summaries: dict[tuple[str, str], Summary], problems: list[str], configs: list[str], path: Any,
         baseline: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = [c for c in configs if c != "random-long"]  # a longer budget: it would squash the other curves
    shown = [p for p in problems if any((p, c) in summaries for c in configs)]
    fig, axes = plt.subplots(2, len(shown), figsize=(4.2 * len(shown), 7.2), squeeze=False)
    from matplotlib.ticker import FuncFormatter, NullFormatter

    styles = {"tpe": dict(color="black", lw=2.4, zorder=5), "random": dict(color="tab:gray", ls="--", lw=1.8),
              "coordinate": dict(color="tab:red", lw=1.8)}
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"]
    colours = {}
    for c in configs:
        if c not in styles:
            colours[c] = dict(color=palette[len(colours) % len(palette)], lw=1.2)
    floor = 0.01
    for j, p in enumerate(shown):
        top, bottom = axes[0][j], axes[1][j]
        for c in configs:
            s = summaries.get((p, c))
            if s is None:
                continue
            style = styles.get(c) or colours[c]
            ys = [max(floor, g) if math.isfinite(g) else math.nan for g in s.gap_by_trial]
            top.plot(range(1, len(ys) + 1), ys, label=c, **style)
            if s.compute_curve:
                xs = [x for x, _ in s.compute_curve]
                gs = [max(floor, g) if math.isfinite(g) else math.nan for _, g in s.compute_curve]
                bottom.step(xs, gs, where="post", label=c, **style)
        for ax in (top, bottom):
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.axhline(REACH, color="tab:green", ls=":", lw=1)
            if p in baseline and math.isfinite(baseline[p]):
                ax.axhline(max(floor, baseline[p]), color="tab:gray", ls="-.", lw=1)
            ax.grid(True, which="both", alpha=0.25)
        top.set_title(p)
        top.set_xlabel("trials")
        bottom.set_xlabel("epochs run (compute)")
        if j == 0:
            top.set_ylabel("median gap to best known (%)")
            bottom.set_ylabel("median gap to best known (%)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), frameon=False)
    fig.suptitle("Best so far, median over seeds (dotted: the 1% target; dash-dot: the defaults; "
                 "a gap of 0 is drawn at 0.01%)", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)
