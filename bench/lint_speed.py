#!/usr/bin/env python3
"""Time `porter lint --tree T` on a whole Debian tree: cold (empty PORTER_CACHE) and warm.

    python3 bench/lint_speed.py                     # Debian 6.1 and 6.12 trees (ensure_tree)
    python3 bench/lint_speed.py --version 6.12 --warm 5
    python3 bench/lint_speed.py --tree DIR --rules rules/

Cold: a fresh, empty PORTER_CACHE directory (the OS page cache is warmed first with one
`git grep`, so "cold" means porter's own caches only).  Warm: the same command again with that
cache, --warm times (median reported).  Exit status 0 and 1 (findings) both count as a run;
2 is an error.  Goals (issue 4): < 30 s cold, < 3 s warm.  Results go to
~/.cache/porter/bench/lint-speed-<time>.json.
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
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _timing import REPO, RESULTS_HOME, median, porter_argv, timed  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", action="append", type=Path, help="tree(s) to lint")
    ap.add_argument("--version", action="append", help="Debian tree(s) by series (default 6.1, 6.12)")
    ap.add_argument("--rules", type=Path, default=REPO / "rules",
                    help="rules directory passed as --rules (default: %(default)s; '' for none)")
    ap.add_argument("--warm", type=int, default=3)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    trees = [t.resolve() for t in a.tree or []]
    if not trees:
        from porter.kernel_sources import ensure_tree
        trees = [ensure_tree(v) for v in (a.version or ["6.1", "6.12"])]
    results, status = [], 0
    for tree in trees:
        cmd = porter_argv() + ["lint", "--tree", str(tree)]
        if str(a.rules) not in ("", "."):
            cmd += ["--rules", str(a.rules)]
        timed(["git", "grep", "--no-index", "-q", "-w", "memmap_init_zone_device"], cwd=tree, ok=(0, 1))
        cache = Path(tempfile.mkdtemp(prefix="porter-lint-cache-"))
        env = dict(os.environ, PORTER_CACHE=str(cache))
        row = {"tree": str(tree), "cmd": " ".join(cmd)}
        try:
            cold, r = timed(cmd, env=env, ok=(0, 1))
            warm = [timed(cmd, env=env, ok=(0, 1))[0] for _ in range(a.warm)]
            n_findings = len([line for line in r.stdout.decode(errors="replace").splitlines() if line.strip()])
            row.update(cold_s=round(cold, 3), warm_s=[round(x, 3) for x in warm],
                       warm_median_s=round(median(warm), 3), exit=r.returncode,
                       output_lines=n_findings, output_head=r.stdout.decode(errors="replace")[:2000])
            print(f"{tree.name}: cold {cold:.2f} s (goal < 30), warm median {median(warm):.2f} s "
                  f"(goal < 3; runs {' '.join(f'{x:.2f}' for x in warm)}), exit {r.returncode}, "
                  f"{n_findings} output lines")
        except RuntimeError as exc:
            row.update(error=str(exc))
            print(f"{tree.name}: porter lint failed: {exc}")
            status = 1
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        results.append(row)
    out = a.json or RESULTS_HOME / f"lint-speed-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    json.dump({"measured_at": dt.datetime.now().isoformat(timespec="seconds"), "results": results},
              open(out, "w"), indent=1)
    print(f"wrote {out}")
    return status


if __name__ == "__main__":
    sys.exit(main())
