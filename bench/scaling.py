#!/usr/bin/env python3
"""How porter apply scales with the number of hunks in one file, beside patch -p1 and git apply.

    python3 bench/scaling.py                    # 100 / 1,000 / 5,000 one-line hunks
    python3 bench/scaling.py --hunks 100 1000   # other sizes
    python3 bench/scaling.py --markdown         # the table as README shows it

A synthetic kernel-style C file holds 8 lines per hunk (so 1,000 hunks -> an 8,000-line file): functions of 16
lines, two of whose body lines change. The patch is `git diff` of that change (git's own hunks, `@@` sections
naming the functions, an `index` line whose blob the target does not have). Each tool applies it to its own
fresh copy of the tree, outside any git repository; every result is compared with the expected file. Wall time
and peak memory (maximum resident set size, from GNU time) are measured per run, with a cold parse cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TIME = "/usr/bin/time"  # GNU time (Debian package "time")
LINES_PER_FUNCTION = 16  # header, '{', 11 body lines, return, '}', blank
CHANGED = (0, 8)  # body lines that change: 7 unchanged lines between changes keep git's hunks apart


def c_file(functions: int, changed: bool) -> str:
    out = ["// SPDX-License-Identifier: GPL-2.0", ""]
    for n in range(functions):
        out += [f"static int scale_fn_{n}(int x)", "{"]
        for k in range(11):
            value = k + 1 if changed and k in CHANGED else k
            out.append(f"\tint v{n}_{k} = x * {value} + {n};")
        out += ["\treturn x;", "}", ""]
    return "\n".join(out[:-1]) + "\n"


def make_case(root: Path, hunks: int) -> tuple[Path, Path, bytes]:
    """A pristine tree, the patch, and the expected file content after applying it."""
    functions = (hunks + len(CHANGED) - 1) // len(CHANGED)
    tree = root / "tree"
    (tree / "mm").mkdir(parents=True)
    (tree / "Makefile").write_text("# synthetic tree for bench/scaling.py\n")
    (tree / "Kbuild").write_text("")
    target = tree / "mm" / "scale.c"
    before, after = c_file(functions, False), c_file(functions, True)
    # drop the surplus change when hunks is odd: the last function keeps its second line
    if hunks % len(CHANGED):
        a_lines, b_lines = before.split("\n"), after.split("\n")
        last_change = max(i for i, (x, y) in enumerate(zip(a_lines, b_lines)) if x != y)
        b_lines[last_change] = a_lines[last_change]
        after = "\n".join(b_lines)
    target.write_text(before)
    repo = root / "repo"
    shutil.copytree(tree, repo)
    env = git_env()
    run(["git", "init", "-q"], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "before"], repo, env)
    (repo / "mm" / "scale.c").write_text(after)
    patch = root / "scale.patch"
    patch.write_bytes(run(["git", "diff"], repo, env).stdout)
    count = patch.read_bytes().count(b"\n@@ ")
    if count != hunks:
        raise SystemExit(f"bench/scaling.py: generated {count} hunks, wanted {hunks}")
    return tree, patch, after.encode()


def git_env() -> dict[str, str]:
    """No user configuration, a fixed identity, and no repository above the scratch directories."""
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_AUTHOR_NAME="bench",
               GIT_AUTHOR_EMAIL="bench@example.invalid", GIT_COMMITTER_NAME="bench",
               GIT_COMMITTER_EMAIL="bench@example.invalid")
    env["GIT_CEILING_DIRECTORIES"] = tempfile.gettempdir()
    return env


def run(argv, cwd, env) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def measure(argv: list[str], cwd: Path, stdin: Path | None, env) -> tuple[float, float, int, int, bytes]:
    """(wall seconds, CPU seconds, peak RSS in KiB, exit status, stderr) of one command. CPU time (user + system)
    says what the run costs when other work shares the machine. The peak comes from GNU time (%M),
    whose child is forked from a small process: the rusage of a child forked from this Python would count
    this interpreter's pages it inherited before exec."""
    with tempfile.NamedTemporaryFile(prefix="porter-time-") as out:
        t0 = time.perf_counter()
        with open(stdin or os.devnull, "rb") as fin:
            proc = subprocess.run([TIME, "-f", "%M %U %S", "-o", out.name, *argv], cwd=cwd, env=env, stdin=fin,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
        rss, user, system = Path(out.name).read_text().split()[-3:]
    return wall, float(user) + float(system), int(rss), proc.returncode, proc.stderr


def porter_argv() -> list[str]:
    exe = shutil.which("porter")
    return [exe] if exe else [sys.executable, "-m", "porter"]


def tools(patch: Path) -> dict[str, tuple[list[str], Path | None]]:
    return {
        "porter apply": ([*porter_argv(), "apply", str(patch), "--tree", "."], None),
        "patch -p1": (["patch", "-p1", "-s", "--no-backup-if-mismatch"], patch),
        "git apply": (["git", "apply", str(patch)], None),
    }


def bench(hunks: int, scratch: Path, cache: Path) -> dict[str, tuple[float, float, int]]:
    case = scratch / f"h{hunks}"
    tree, patch, expected = make_case(case, hunks)
    env = git_env()
    env["PORTER_CACHE"] = str(cache)  # cold parse cache of its own: nothing from earlier runs
    results = {}
    for name, (argv, stdin) in tools(patch).items():
        work = case / name.replace(" ", "_")
        shutil.copytree(tree, work)
        wall, cpu, rss, rc, err = measure(argv, work, stdin, env)
        got = (work / "mm" / "scale.c").read_bytes()
        if rc != 0 or got != expected:
            last = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise SystemExit(f"bench/scaling.py: {name} on {hunks} hunks: exit {rc}, "
                             f"{'right' if got == expected else 'wrong'} result: {last[0]}")
        results[name] = (wall, cpu, rss)
        print(f"  {hunks:>5} hunks  {name:<13} {wall:8.2f} s wall {cpu:8.2f} s CPU {rss / 1024:7.1f} MB",
              file=sys.stderr)
    return results


def table(rows: dict[int, dict[str, tuple[float, float, int]]], markdown: bool) -> str:
    names = list(next(iter(rows.values())))
    head = ["hunks (file lines)"] + [f"{n}: wall s / CPU s / MB" for n in names]
    head += ["wall ratio porter : patch", "porter : git apply", "porter CPU ms per hunk"]
    lines = []
    for hunks, res in rows.items():
        p, pa, ga = res["porter apply"][0], res["patch -p1"][0], res["git apply"][0]
        cells = [f"{hunks:,} ({hunks * LINES_PER_FUNCTION // len(CHANGED):,})"]
        cells += [f"{w:.2f} / {c:.2f} / {r / 1024:.0f}" for w, c, r in res.values()]
        cells += [f"{p / max(pa, 0.001):.0f}", f"{p / max(ga, 0.001):.0f}",
                  f"{res['porter apply'][1] / hunks * 1000:.1f}"]
        lines.append(cells)
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(c) + " |" for c in lines]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in [head, *lines])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hunks", type=int, nargs="+", default=[100, 1000, 5000])
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    for tool in ("patch", "git", TIME):
        if not shutil.which(tool):
            raise SystemExit(f"bench/scaling.py: {tool} not found (apt-get install patch git time)")
    with tempfile.TemporaryDirectory(prefix="porter-scaling-") as tmp:
        scratch = Path(tmp)
        rows = {h: bench(h, scratch, scratch / "cache") for h in args.hunks}
    print(table(rows, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
