#!/usr/bin/env python3
"""Porting benchmark: porter beside git am -3, git apply --3way, patch and wiggle, in one run.

    python3 bench/porting.py                          # every tool on every dev case
    python3 bench/porting.py --tools porter           # iterate on porter only; the peers' rows
                                                      #   come from their last stored run
    python3 bench/porting.py --tools porter --filter '^moved_' -v

Each tool is scored by the shared scorer, called by path (`<shared>/run_porting.py`, default
`<repo>/../shared/bench`, or $PORTER_SHARED_BENCH) on the cases that `<shared>/build_cases.sh`
builds in $BENCH (default ~/.cache/porter-bench).  Outcomes per case: exact / wrong (reported
success, differs from the ground truth: a silent mis-port) / failed (refused, conflict, timeout).

Prints one table, tools side by side: refresh split by diff_class (offsets_only, context_changed,
changes_changed) and by pair, moved, drifted; then median wall time per case and the ratio
porter : git am -3.  Results go outside the repo: --out (default ~/.cache/porter/bench/porting-
<time>/) holds results/<tool>.json (the scorer's per-case output) and summary.json; the latest
result of every tool is also kept in ~/.cache/porter/bench/latest/<cases-hash>/<tool>.json, which is where the
peers' rows come from when they are not rerun.

Wall times are measured one tool at a time (--jobs 1, the default) so that the tools do not
compete for the machine's cores; --jobs 2 runs two tools at once (faster, noisier timings).
"""
from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = Path(os.environ.get("PORTER_SHARED_BENCH") or REPO.parent / "shared" / "bench")
BENCH = Path(os.environ.get("BENCH") or Path.home() / ".cache" / "porter-bench")
RESULTS_HOME = Path(os.environ.get("PORTER_BENCH_RESULTS") or
                    Path.home() / ".cache" / "porter" / "bench")

PEER_ORDER = ["git-am-3way", "git-apply-3way", "git-apply", "patch-p1", "patch-F3", "wiggle"]
DEFAULT_TOOLS = ["porter", *PEER_ORDER]
DIFF_CLASSES = ("offsets_only", "context_changed", "changes_changed")


def porter_command() -> str:
    exe = shutil.which("porter")
    base = exe if exe else f"{sys.executable} -m porter"
    return f"{base} apply {{mbox}} --tree {{tree}}"


def tool_commands(shared: Path, porter_cmd: str | None) -> dict[str, str]:
    return {
        "porter": porter_cmd or porter_command(),
        "git-am-3way": "git am -3 {mbox}",
        "git-apply-3way": "git apply --3way {mbox}",
        "git-apply": "git apply {mbox}",
        "patch-p1": "patch -p1 --forward --batch --no-backup-if-mismatch -i {patch}",
        "patch-F3": "patch -p1 -F3 --forward --batch --no-backup-if-mismatch -i {patch}",
        "wiggle": f"python3 {shared / 'tools' / 'wiggle_apply.py'} {{patch}} {{tree}}",
    }


def load_cases(root: Path) -> dict[str, dict]:
    cases = {}
    for dirpath, dirs, files in os.walk(root):
        if "meta.json" in files:
            m = json.load(open(os.path.join(dirpath, "meta.json")))
            cases[m["id"]] = m
            dirs[:] = []
    return cases


def short_version(v: str) -> str:
    return ".".join(v.split(".")[:2])


def short_pair(pair: str) -> str:
    a, _, b = pair.partition("_to_")
    return f"{short_version(a)}→{short_version(b)}"


# ---------------------------------------------------------------- running


def run_tool(shared: Path, name: str, cmd: str, a, out_dir: Path, lane: int) -> tuple[str, int, Path]:
    res = out_dir / "results" / f"{name}.json"
    log = out_dir / "results" / f"{name}.log"
    argv = [sys.executable, str(shared / "run_porting.py"), "--name", name, "--tool", cmd,
            "--cases", str(a.cases), "--split", a.split, "--timeout", str(a.timeout),
            "--workdir", str(a.workdir / f"lane{lane}"), "--keep-worktrees",
            "--json", str(res)]
    if a.filter:
        argv += ["--filter", a.filter]
    env = dict(os.environ, BENCH=str(a.bench))
    with open(log, "w") as fh:
        rc = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, env=env).returncode
    return name, rc, res


def run_all(shared: Path, tools: list[str], cmds: dict[str, str], a, out_dir: Path) -> dict[str, dict]:
    (out_dir / "results").mkdir(parents=True, exist_ok=True)
    lanes: list[list[str]] = [[] for _ in range(max(1, a.jobs))]
    for i, t in enumerate(tools):
        lanes[i % len(lanes)].append(t)
    runs: dict[str, dict] = {}
    lock = threading.Lock()
    held: list = []

    def lane_main(i: int, names: list[str]) -> None:
        # a lane's worktrees may be used by one run at a time: take the first free lane directory
        # (a porter-only run while a full run is going gets its own worktrees)
        a.workdir.mkdir(parents=True, exist_ok=True)
        k = i
        while True:
            fh = open(a.workdir / f"lane{k}.lock", "w")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                fh.close()
                k += len(lanes)
        held.append(fh)
        for t in names:
            stamp = dt.datetime.now().strftime("%H:%M:%S")
            with lock:
                print(f"[{stamp}] {t}: {cmds[t]}  (progress: {out_dir / 'results' / (t + '.log')})",
                      file=sys.stderr, flush=True)
            name, rc, res = run_tool(shared, t, cmds[t], a, out_dir, k)
            with lock:
                if rc == 0 and res.exists():
                    runs[name] = json.load(open(res))
                    print(f"[{dt.datetime.now():%H:%M:%S}] {t}: done, "
                          f"{runs[name]['elapsed_s']:.0f}s", file=sys.stderr, flush=True)
                else:
                    print(f"[{dt.datetime.now():%H:%M:%S}] {t}: scorer FAILED (rc={rc}), see "
                          f"{res.with_suffix('.log')}", file=sys.stderr, flush=True)

    threads = [threading.Thread(target=lane_main, args=(i, names)) for i, names in enumerate(lanes)
               if names]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return runs


# ---------------------------------------------------------------- tables


def rows_for(results: list[dict], cases: dict[str, dict]) -> dict[str, list[dict]]:
    """Row label -> results of that row (a case falls in several rows)."""
    rows: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        m = cases.get(r["id"], {})
        cat = r["category"]
        rows[cat].append(r)
        if cat == "refresh":
            dc = m.get("diff_class", "?")
            rows[f"refresh  {dc}"].append(r)
            if dc in ("offsets_only", "context_changed"):
                rows["refresh  offsets_only+context_changed"].append(r)
            rows[f"refresh  {short_pair(r['pair'])}"].append(r)
        else:
            rows[f"{cat}  {short_pair(r['pair'])}"].append(r)
            if r.get("variant"):
                rows[f"{cat}  :{r['variant']}"].append(r)
        rows["ALL"].append(r)
    return rows


def row_order(labels) -> list[str]:
    def key(label: str):
        cat = label.split()[0]
        sub = label[len(cat):].strip()
        ci = {"refresh": 0, "moved": 1, "drifted": 2, "ALL": 9}.get(cat, 5)
        si = (0 if not sub else 1 if sub in DIFF_CLASSES else
              2 if sub.startswith("offsets_only+") else 3 if "→" in sub else 4)
        di = DIFF_CLASSES.index(sub) if sub in DIFF_CLASSES else 0
        return ci, si, di, sub
    return sorted(labels, key=key)


def cell(rs: list[dict]) -> str:
    if not rs:
        return "-"
    c = defaultdict(int)
    for r in rs:
        c[r["outcome"]] += 1
    return f"{c['exact']}/{c['wrong']}/{c['failed']}"


def summarize(runs: dict[str, dict], cases: dict[str, dict]) -> dict:
    table: dict[str, dict[str, dict]] = defaultdict(dict)
    timing: dict[str, dict] = {}
    for t, run in runs.items():
        for label, rs in rows_for(run["results"], cases).items():
            c = defaultdict(int)
            for r in rs:
                c[r["outcome"]] += 1
            table[label][t] = {"exact": c["exact"], "wrong": c["wrong"], "failed": c["failed"],
                               "n": len(rs)}
        w = [r["wall_s"] for r in run["results"]]
        timing[t] = {"median_s": round(statistics.median(w), 4) if w else None,
                     "mean_s": round(statistics.mean(w), 4) if w else None,
                     "max_s": max(w) if w else None, "total_s": round(sum(w), 2), "n": len(w)}
    ratio = None
    if "porter" in timing and "git-am-3way" in timing and timing["git-am-3way"]["median_s"]:
        ratio = timing["porter"]["median_s"] / timing["git-am-3way"]["median_s"]
    return {"table": {k: table[k] for k in row_order(table)}, "timing": timing,
            "ratio_porter_to_git_am_3way_median": None if ratio is None else round(ratio, 3)}


def print_report(runs: dict[str, dict], cases: dict[str, dict], summ: dict, stale: dict[str, str],
                 out=sys.stdout) -> None:
    tools = [t for t in DEFAULT_TOOLS if t in runs] + [t for t in runs if t not in DEFAULT_TOOLS]
    rows = rows_for([r for run in runs.values() for r in run["results"]], cases)
    n_of = {label: len({r["id"] for r in rs}) for label, rs in rows.items()}
    w0 = max([len(label) + 7 for label in rows] + [20])
    ws = [max(len(t), 9) for t in tools]
    print("\nexact/wrong/failed per category (cases: dev split of the shared benchmark)", file=out)
    if stale:
        for t, when in stale.items():
            print(f"  ({t}: stored result from {when}, not rerun)", file=out)
    print(f"{'category':{w0}s} " + " ".join(f"{t:>{w}s}" for t, w in zip(tools, ws)), file=out)
    per_tool = {t: rows_for(runs[t]["results"], cases) for t in tools}
    for label in row_order(rows):
        by_tool = {t: per_tool[t].get(label, []) for t in tools}
        name = f"{label} ({n_of[label]})"
        print(f"{name:{w0}s} " + " ".join(f"{cell(by_tool[t]):>{w}s}" for t, w in zip(tools, ws)),
              file=out)
    print(f"\n{'median wall s/case':{w0}s} " + " ".join(
        f"{summ['timing'][t]['median_s']:>{w}.3f}" for t, w in zip(tools, ws)), file=out)
    print(f"{'total wall s':{w0}s} " + " ".join(
        f"{summ['timing'][t]['total_s']:>{w}.1f}" for t, w in zip(tools, ws)), file=out)
    ratio = summ["ratio_porter_to_git_am_3way_median"]
    if ratio is not None:
        print(f"\nporter : git am -3 (median wall per case) = "
              f"{summ['timing']['porter']['median_s']:.3f} s : "
              f"{summ['timing']['git-am-3way']['median_s']:.3f} s = {ratio:.2f}", file=out)


def print_cases(runs: dict[str, dict], out=sys.stdout) -> None:
    tools = [t for t in DEFAULT_TOOLS if t in runs] + [t for t in runs if t not in DEFAULT_TOOLS]
    ids = sorted({r["id"] for run in runs.values() for r in run["results"]})
    by = {t: {r["id"]: r for r in runs[t]["results"]} for t in tools}
    print("\nper case (e=exact w=wrong f=failed):", file=out)
    print("  " + " ".join(f"{t[:9]:>9s}" for t in tools) + "  case", file=out)
    for i in ids:
        cells = [by[t][i]["outcome"][0] if i in by[t] else "-" for t in tools]
        print("  " + " ".join(f"{c:>9s}" for c in cells) + f"  {i}", file=out)


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                    help="the shared benchmark scripts (default: %(default)s)")
    ap.add_argument("--bench", type=Path, default=BENCH, help="benchmark data, $BENCH (default: %(default)s)")
    ap.add_argument("--cases", type=Path, help="cases directory (default: <bench>/cases)")
    ap.add_argument("--tools", default=",".join(DEFAULT_TOOLS),
                    help="comma-separated tools to run (default: %(default)s)")
    ap.add_argument("--porter-cmd", help="command template for porter "
                    "(default: 'porter apply {mbox} --tree {tree}')")
    ap.add_argument("--filter", help="regex on case ids (e.g. '^moved_', 'refresh')")
    ap.add_argument("--split", default="dev", choices=("dev", "heldout", "all"))
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--jobs", type=int, default=1, help="tools run at once (default 1: clean timings)")
    ap.add_argument("--out", type=Path, help="results directory (default: "
                    "~/.cache/porter/bench/porting-<time>)")
    ap.add_argument("--workdir", type=Path, help="worktrees, reused between runs "
                    "(default: ~/.cache/porter/bench/wt)")
    ap.add_argument("--no-stored", action="store_true",
                    help="show only the tools run now (not the peers' stored results)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the per-case outcome matrix")
    a = ap.parse_args(argv)

    a.shared = a.shared.resolve()
    a.cases = (a.cases or a.bench / "cases").resolve()
    a.workdir = (a.workdir or RESULTS_HOME / "wt").resolve()
    scorer = a.shared / "run_porting.py"
    if not scorer.is_file():
        ap.error(f"no scorer at {scorer} (use --shared DIR)")
    cases = load_cases(a.cases)
    if not cases:
        ap.error(f"no cases in {a.cases}: run `bash {a.shared}/build_cases.sh` first")
    cmds = tool_commands(a.shared, a.porter_cmd)
    tools = [t for t in a.tools.split(",") if t]
    unknown = [t for t in tools if t not in cmds]
    if unknown:
        ap.error(f"unknown tool(s) {', '.join(unknown)}; known: {', '.join(cmds)}")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = (a.out or RESULTS_HOME / f"porting-{stamp}").resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    runs = run_all(a.shared, tools, cmds, a, out_dir)

    # keep the latest result per tool, for later porter-only runs
    # (one directory per cases root, so that a run on other cases never replaces the reference)
    latest = RESULTS_HOME / "latest" / hashlib.sha1(str(a.cases).encode()).hexdigest()[:12]
    latest.mkdir(parents=True, exist_ok=True)
    for t, run in runs.items():
        run["_measured_at"] = stamp
        if not a.filter and a.split == "dev":      # only complete runs become the reference
            json.dump(run, open(latest / f"{t}.json", "w"))

    stale: dict[str, str] = {}
    if not a.no_stored:
        ids = {r["id"] for run in runs.values() for r in run["results"]}
        for t in DEFAULT_TOOLS:
            p = latest / f"{t}.json"
            if t in runs or not p.exists() or not ids:
                continue
            old = json.load(open(p))
            if os.path.realpath(old.get("cases_root", "")) != str(a.cases):
                continue
            old["results"] = [r for r in old["results"] if r["id"] in ids]
            if old["results"]:
                runs[t] = old
                stale[t] = old.get("_measured_at", "?")
    if not runs:
        print("no tool produced results", file=sys.stderr)
        return 1

    summ = summarize(runs, cases)
    print_report(runs, cases, summ, stale)
    if a.verbose:
        print_cases(runs)
    doc = {"measured_at": stamp, "shared": str(a.shared), "cases": str(a.cases), "split": a.split,
           "filter": a.filter, "jobs": a.jobs, "timeout_s": a.timeout,
           "commands": {t: runs[t].get("command", cmds.get(t)) for t in runs},
           "rerun": [t for t in runs if t not in stale], "stored": stale, **summ,
           "per_case": {i: {t: {"outcome": r["outcome"], "wall_s": r["wall_s"]}
                            for t in runs for r in runs[t]["results"] if r["id"] == i}
                        for i in sorted({r["id"] for run in runs.values() for r in run["results"]})}}
    json.dump(doc, open(out_dir / "summary.json", "w"), indent=1)
    print(f"\nwrote {out_dir / 'summary.json'} (per-tool results in {out_dir / 'results'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
