#!/usr/bin/env python3
"""Time `porter verify` on a real tree: cold build, warm-ccache build, rebuild after touching
mm/page_alloc.c, and boot-to-verdict.

    python3 bench/verify_times.py                      # Debian 6.1 tree (porter.kernel_sources.ensure_tree)
    python3 bench/verify_times.py --tree DIR --boots 5
    python3 bench/verify_times.py --skip-cold          # warm/touch/boot only, with porter's shared ccache

The tree is copied once (untimed) to a scratch directory, because the "after touch" step changes a
file's mtime and porter never touches the user's tree. Steps, all through the CLI
(`porter verify --tree COPY --build-dir O --format json`):

  cold          fresh O= directory, fresh empty CCACHE_DIR (configure + make bzImage)
  warm-ccache   another fresh O= directory, same (now warm) CCACHE_DIR
  after-touch   `touch mm/page_alloc.c` in the copy, rebuild in the warm-ccache O= directory
  boot          `porter verify --kernel bzImage --boots N` (legacy pmem): wall time per boot until
                the verdict, median; also the ZONE_DEVICE init line's ms (median)

Build time is the wall time of `make` (configure reported apart). Goals (issue 5, 2 cores):
cold <= 8 min, after-touch <= 15 s, boot-to-verdict <= 6 s.
Results: ~/.cache/porter/bench/verify-times-<time>.json ($PORTER_BENCH_RESULTS).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import RESULTS_HOME, porter_argv  # noqa: E402

GOALS = {"cold": 480.0, "after-touch": 15.0, "boot": 6.0}


def run_verify(args: list[str], env: dict) -> tuple[float, dict]:
    argv = porter_argv() + ["verify", *args, "--format", "json", "-q"]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    return wall, json.loads(proc.stdout)


def build_step(name: str, tree: Path, build_dir: Path, env: dict) -> dict:
    print(f"[{name}] building {tree} in {build_dir} ...", flush=True)
    wall, out = run_verify(["--tree", str(tree), "--build-dir", str(build_dir)], env)
    side = out["sides"][0]
    row = {"step": name, "build_s": side["build"]["seconds"], "config_s": side["build"]["config_seconds"],
           "wall_s": round(wall, 1), "verdict": out["verdict"],
           "boot_s": side["modes"][0]["boot_seconds_median"],
           "init_pages": side["modes"][0]["init_pages"], "init_ms": side["modes"][0]["init_ms_median"]}
    print(f"[{name}] make {row['build_s']:.1f}s (+config {row['config_s']:.1f}s), verdict {row['verdict']}, "
          f"init {row['init_pages']} pages in {row['init_ms']} ms", flush=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", type=Path, help="kernel tree (default: ensure_tree('6.1'))")
    ap.add_argument("--boots", type=int, default=5, help="boots for the boot-to-verdict median")
    ap.add_argument("--skip-cold", action="store_true", help="no cold build; use porter's shared ccache")
    ap.add_argument("--scratch", type=Path, default=Path.home() / ".cache" / "porter" / "bench" / "verify-work")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copy and build dirs")
    a = ap.parse_args()

    tree = a.tree
    if tree is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from porter.kernel_sources import ensure_tree
        tree = ensure_tree("6.1")
    tree = tree.resolve()
    scratch = a.scratch.resolve()
    copy = scratch / "linux"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    print(f"copying {tree} -> {copy} (untimed)", flush=True)
    subprocess.run(["cp", "-a", "--", str(tree), str(copy)], check=True)

    env = dict(os.environ)
    if not a.skip_cold:
        env["CCACHE_DIR"] = str(scratch / "ccache")
    rows = []
    try:
        if not a.skip_cold:
            rows.append(build_step("cold", copy, scratch / "build-cold", env))
        warm_dir = scratch / "build-warm"
        rows.append(build_step("warm-ccache", copy, warm_dir, env))
        os.utime(copy / "mm" / "page_alloc.c")
        rows.append(build_step("after-touch", copy, warm_dir, env))
        bz = warm_dir / "arch" / "x86" / "boot" / "bzImage"
        print(f"[boot] {a.boots} boots of {bz} ...", flush=True)
        _wall, out = run_verify(["--kernel", str(bz), "--boots", str(a.boots)], env)
        mode = out["sides"][0]["modes"][0]
        boot = {"step": "boot", "boots": mode["boot_seconds"], "boot_median_s": mode["boot_seconds_median"],
                "init_ms": mode["init_ms"], "init_ms_median": mode["init_ms_median"],
                "init_pages": mode["init_pages"], "verdict": out["verdict"]}
        rows.append(boot)
    finally:
        if not a.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(f"porter verify times on {tree} ({os.cpu_count()} CPUs)")
    for r in rows:
        if r["step"] == "boot":
            goal = GOALS["boot"]
            print(f"  {'boot-to-verdict':<16} median {r['boot_median_s']:.1f} s of {r['boots']}  "
                  f"(goal <= {goal:g} s) init {r['init_pages']} pages, ms {r['init_ms']}")
        else:
            goal = GOALS.get(r["step"])
            g = f"(goal <= {goal:g} s)" if goal else ""
            print(f"  {r['step']:<16} make {r['build_s']:7.1f} s  +config {r['config_s']:5.1f} s  {g}")
    RESULTS_HOME.mkdir(parents=True, exist_ok=True)
    out_path = RESULTS_HOME / f"verify-times-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out_path.write_text(json.dumps({"tree": str(tree), "cpus": os.cpu_count(), "rows": rows}, indent=2))
    print(f"results: {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
