"""Small helpers shared by the speed scripts in bench/ (timing a command, locating trees)."""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("BENCH") or Path.home() / ".cache" / "porter-bench")
RESULTS_HOME = Path(os.environ.get("PORTER_BENCH_RESULTS") or
                    Path.home() / ".cache" / "porter" / "bench")


def porter_argv() -> list[str]:
    exe = shutil.which("porter")
    return [exe] if exe else [sys.executable, "-m", "porter"]


def timed(argv: list[str], cwd: str | os.PathLike | None = None, env: dict | None = None,
          ok=(0,)) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    r = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL)
    dt = time.perf_counter() - t0
    if r.returncode not in ok:
        err = (r.stderr or r.stdout).decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"{' '.join(map(str, argv))}: exit {r.returncode}: "
                           f"{err[-1] if err else ''}")
    return dt, r


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def is_git_worktree(path: Path) -> bool:
    r = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return r.returncode == 0 and Path(r.stdout.strip()).resolve() == path.resolve()


def bench_repo(series: str) -> Path | None:
    """The shared benchmark's git repo of a series (repos/<full version>), newest first."""
    root = BENCH / "repos"
    hits = [p for p in root.glob(f"{series}.*") if p.is_dir() and (p / ".git").exists()
            and p.name.count(".") == series.count(".") + 1]
    return max(hits, key=lambda p: tuple(int(x) for x in p.name.split(".")), default=None)
