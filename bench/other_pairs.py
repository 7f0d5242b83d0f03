#!/usr/bin/env python3
"""Cases on version pairs the shared benchmark's dev set does not use: porter's leave-one-pair-out check.

    python3 bench/other_pairs.py                    # build $BENCH/other/{cases,runrepos} once (~5 min)
    python3 bench/porting.py --cases $BENCH/other/cases --tools porter,git-am-3way,git-apply-3way,patch-p1

The dev set has refresh cases for 5.10->6.1, 6.1->6.12, 6.12->6.1 and moved/drifted cases for 6.1->6.12.
Porter's rules were written against those. This script builds, with the shared benchmark's own generators
(`<shared>/make_refresh_cases.py`, `make_moved_cases.py`, `prepare_run_repos.py`) and from the repositories
and trees its build left in $BENCH, the same kinds of cases for other pairs:

  refresh: 5.10->6.12, 6.12->5.10, 6.1->5.10        moved/drifted: 5.10->6.1, 6.12->6.1

Only the generators' "dev" split is kept (the split is a hash of the patch or function name): the held-out
names stay unseen here too. Nothing is written to the repository; everything goes under $BENCH/other.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PORTER_SHARED_BENCH") or REPO.parent / "shared" / "bench")
BENCH = Path(os.environ.get("BENCH") or Path.home() / ".cache" / "porter-bench")
REFRESH_PAIRS = [("5.10.223", "6.12.107"), ("6.12.107", "5.10.223"), ("6.1.176", "5.10.223")]
MOVED_PAIRS = [("5.10.223", "6.1.176"), ("6.12.107", "6.1.176")]


def run(*args: str) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True)


def keep_dev_split(cases: Path) -> dict[str, int]:
    """Delete every generated case whose split is not "dev"; count what is left per pair."""
    left: dict[str, int] = {}
    for meta in sorted(cases.glob("*/*/meta.json")):
        m = json.loads(meta.read_text())
        if m["split"] != "dev":
            shutil.rmtree(meta.parent)
        else:
            left[m["pair"]] = left.get(m["pair"], 0) + 1
    return left


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=Path, default=BENCH)
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--out", type=Path, help="default: $BENCH/other")
    ap.add_argument("--refresh", default=",".join(f"{o}:{n}" for o, n in REFRESH_PAIRS),
                    help="refresh pairs OLD:NEW,... (empty for none; default %(default)s)")
    ap.add_argument("--moved", default=",".join(f"{o}:{n}" for o, n in MOVED_PAIRS),
                    help="moved/drifted pairs OLD:NEW,... (default %(default)s)")
    a = ap.parse_args()
    repos, trees, out = a.bench / "repos", a.bench / "trees", a.out or a.bench / "other"
    refresh = [tuple(p.split(":")) for p in a.refresh.split(",") if p]
    moved = [tuple(p.split(":")) for p in a.moved.split(",") if p]
    for old, new in refresh + moved:
        for v in (old, new):
            if not (repos / f"{v}.series.json").exists():
                sys.exit(f"other_pairs: {repos}/{v}.series.json missing: build the shared benchmark first")
    cases = out / "cases"
    cases.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    for old, new in refresh:
        run(py, str(a.shared / "make_refresh_cases.py"), "--old", old, "--new", new,
            "--repos", str(repos), "--out", str(cases))
    for old, new in moved:
        run(py, str(a.shared / "make_moved_cases.py"), "--old", old, "--new", new,
            "--old-tree", str(trees / f"linux-{old}"), "--new-tree", str(trees / f"linux-{new}"),
            "--repos", str(repos), "--out", str(cases))
    left = keep_dev_split(cases)
    run(py, str(a.shared / "prepare_run_repos.py"), "--cases", str(cases), "--out", str(out / "runrepos"))
    for pair, n in sorted(left.items()):
        print(f"{pair}: {n} dev-split cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
