#!/usr/bin/env python3
"""Time `porter locate NAME --tree A --tree B` against `git grep -w NAME` on the same trees.

    python3 bench/locate_speed.py                       # memmap_init_zone_device on 6.1 and 6.12
    python3 bench/locate_speed.py --tree DIR --tree DIR --symbol memmap_init_zone --repeat 7

Trees default to the shared benchmark's git repos ($BENCH/repos/6.1.*, 6.12.*), where porter's
Tree reads through `git grep`; `--dirs` uses the pristine extracted trees instead
(porter.kernel_sources.ensure_tree), where porter prefilters with `grep -rlw` and the baseline is
`git grep --no-index -w`.  The baseline is one `git grep -w` per tree, run one after another,
i.e. the plain-text answer to the same question.  Both are run once untimed (page cache), then
--repeat times alternately (porter with an empty PORTER_CACHE each time unless --warm-cache); the medians and
the ratio porter : git grep are printed and written
to ~/.cache/porter/bench/locate-speed-<time>.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import RESULTS_HOME, bench_repo, is_git_worktree, median, porter_argv, timed  # noqa: E402


def default_trees(dirs: bool) -> list[Path]:
    out = []
    for series in ("6.1", "6.12"):
        if dirs:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
            from porter.kernel_sources import ensure_tree
            out.append(ensure_tree(series))
        else:
            p = bench_repo(series)
            if p is None:
                sys.exit(f"no git repo for {series} under $BENCH/repos (build_cases.sh not done?); "
                         "use --dirs or --tree")
            out.append(p)
    return out


def git_grep_argv(tree: Path, symbol: str) -> list[str]:
    if is_git_worktree(tree):
        return ["git", "-C", str(tree), "grep", "-w", "-n", symbol]
    return ["git", "-C", str(tree), "grep", "--no-index", "-w", "-n", symbol]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", action="append", type=Path, help="a tree (give two or more)")
    ap.add_argument("--dirs", action="store_true", help="default trees: extracted dirs, not git repos")
    ap.add_argument("--symbol", default="memmap_init_zone_device")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warm-cache", action="store_true",
                    help="keep porter's cache between runs (default: every porter run starts with an "
                    "empty PORTER_CACHE, so no parse or index is reused)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    trees = [t.resolve() for t in a.tree] if a.tree else default_trees(a.dirs)
    porter = porter_argv() + ["locate", a.symbol]
    for t in trees:
        porter += ["--tree", str(t)]
    greps = [git_grep_argv(t, a.symbol) for t in trees]

    shared_cache = tempfile.mkdtemp(prefix="porter-locate-cache-")

    def run_porter():
        cache = shared_cache if a.warm_cache else tempfile.mkdtemp(prefix="porter-locate-cache-")
        try:
            return timed(porter, env=dict(os.environ, PORTER_CACHE=cache))
        finally:
            if cache != shared_cache:
                shutil.rmtree(cache, ignore_errors=True)

    def run_grep() -> float:
        # exit 1 = no match: still a valid answer
        return sum(timed(g, ok=(0, 1))[0] for g in greps)

    print("trees: " + ", ".join(f"{t} ({'git' if is_git_worktree(t) else 'dir'})" for t in trees))
    run_grep()                                    # warm the page cache
    porter_err = None
    try:
        _, r = run_porter()
        answer = r.stdout.decode(errors="replace")
    except RuntimeError as exc:
        porter_err, answer = str(exc), ""
    tp, tg = [], []
    for _ in range(a.repeat):
        tg.append(run_grep())
        if porter_err is None:
            tp.append(run_porter()[0])
    mg = median(tg)
    print(f"git grep -w {a.symbol} (x{len(trees)} trees): median {mg:.3f} s  runs "
          + " ".join(f"{x:.3f}" for x in tg))
    result = {"measured_at": dt.datetime.now().isoformat(timespec="seconds"), "symbol": a.symbol,
              "trees": [str(t) for t in trees], "git_grep_s": tg, "git_grep_median_s": mg,
              "porter_cmd": " ".join(porter)}
    if porter_err is None:
        mp = median(tp)
        print(f"porter locate {a.symbol} ({'warm' if a.warm_cache else 'cold'} cache): median {mp:.3f} s  runs "
              + " ".join(f"{x:.3f}" for x in tp))
        print(f"ratio porter : git grep = {mp / mg:.2f}  (goal <= 1.5)")
        print("porter's answer:\n" + "\n".join("  " + line for line in answer.splitlines()[:40]))
        result.update(porter_s=tp, porter_median_s=mp, ratio=round(mp / mg, 3), porter_output=answer)
    else:
        print(f"porter locate failed: {porter_err}")
        result.update(porter_error=porter_err)
    shutil.rmtree(shared_cache, ignore_errors=True)
    result["porter_cache"] = "warm" if a.warm_cache else "cold (empty PORTER_CACHE per run)"
    out = a.json or RESULTS_HOME / f"locate-speed-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    json.dump(result, open(out, "w"), indent=1)
    print(f"wrote {out}")
    return 0 if porter_err is None else 1


if __name__ == "__main__":
    sys.exit(main())
