"""A small kernel-like git repository with a mainline and two stable branches, for backport tests.

    base ── c1 (alpha) ── c2 (beta) ── c3 (gamma) ── c4 (delta)     branch `mainline`
      ├── stable-1: c4's change already cherry-picked                 (c4 is already applied there)
      └── stable-2: beta() rewritten, lines added above alpha()     (c2 is refused there, the rest moves)
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ENV = {"GIT_AUTHOR_NAME": "Porter Test", "GIT_AUTHOR_EMAIL": "test@example.org",
       "GIT_COMMITTER_NAME": "Stable Maint", "GIT_COMMITTER_EMAIL": "stable@example.org",
       "GIT_AUTHOR_DATE": "2024-01-02T03:04:05+0100", "GIT_COMMITTER_DATE": "2024-02-03T04:05:06+0000",
       "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str, env: dict | None = None, check: bool = True) -> str:
    e = {**os.environ, **ENV, **(env or {})}
    proc = subprocess.run(["git", *args], check=False, cwd=repo, env=e, capture_output=True)
    if check and proc.returncode:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr.decode()}")
    return proc.stdout.decode()


def func(name: str, body: list[str]) -> str:
    return f"int {name}(int x)\n{{\n" + "".join(f"\t{b}\n" for b in body) + "\treturn x;\n}\n\n"


BODIES = {
    "alpha": ["x += 1;", "x *= 2;", "x -= 3;", "pr_info(\"alpha\");"],
    "beta": ["x += 10;", "x *= 20;", "x -= 30;", "pr_info(\"beta\");"],
    "gamma": ["x += 100;", "x *= 200;", "x -= 300;", "pr_info(\"gamma\");"],
    "delta": ["x += 1000;", "x *= 2000;", "x -= 3000;", "pr_info(\"delta\");"],
}


def source(bodies: dict[str, list[str]], header: str = "") -> str:
    return "// SPDX-License-Identifier: GPL-2.0\n#include <linux/kernel.h>\n\n" + header + \
        "".join(func(n, b) for n, b in bodies.items())


def commit_all(repo: Path, message: str, **env) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD").strip()


def make_repo(root: Path) -> dict[str, str]:
    """Create the repository at root; return name -> commit id (base, c1..c4, stable-1, stable-2)."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "mainline")
    (root / "Makefile").write_text("obj-y += mm/\n")
    (root / "include/linux").mkdir(parents=True)
    (root / "include/linux/kernel.h").write_text("#define pr_info(x) 0\n")
    (root / "mm").mkdir()
    bodies = {k: list(v) for k, v in BODIES.items()}
    (root / "mm/a.c").write_text(source(bodies))
    ids = {"base": commit_all(root, "base")}
    git(root, "tag", "base")
    changes = [("c1", "alpha", 1, "x += 2;", "mm: alpha: add two", "Alpha Author <alpha@example.org>"),
               ("c2", "beta", 1, "x *= 21;", "mm: beta: multiply by 21", "Beta Author <beta@example.org>"),
               ("c3", "gamma", 2, "x -= 301;", "mm/gamma: subtract one more", "Gamma Author <gamma@example.org>"),
               ("c4", "delta", 3, "pr_info(\"delta!\");", "mm: delta: louder", "Delta Author <delta@example.org>")]
    for cid, fn, idx, new, subject, author in changes:
        bodies[fn][idx] = new
        (root / "mm/a.c").write_text(source(bodies))
        name, mail = author.split(" <")
        ids[cid] = commit_all(root, f"{subject}\n\nWhy {cid} matters.\n\nSigned-off-by: {author}",
                              GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=mail.rstrip(">"),
                              GIT_AUTHOR_DATE=f"2024-03-0{cid[1]}T10:00:00+0200")
    # stable-1: only c4's change, cherry-picked long ago.
    git(root, "checkout", "-q", "-b", "stable-1", ids["base"])
    s1 = {k: list(v) for k, v in BODIES.items()}
    s1["delta"][3] = "pr_info(\"delta!\");"
    (root / "mm/a.c").write_text(source(s1))
    ids["stable-1"] = commit_all(root, "mm: delta: louder (stable)")
    # stable-2: beta() rewritten (c2 cannot apply), two functions above alpha() (everything else moves).
    git(root, "checkout", "-q", "-b", "stable-2", ids["base"])
    s2 = {k: list(v) for k, v in BODIES.items()}
    s2["beta"] = ["x = beta_helper(x);", "pr_info(\"beta v2\");"]
    extra = func("early", ["x ^= 7;"]) + func("beta_helper", ["x <<= 1;"])
    (root / "mm/a.c").write_text(source(s2, extra))
    ids["stable-2"] = commit_all(root, "mm: rework beta")
    git(root, "checkout", "-q", "mainline")
    return ids


def isolated_repo(tmp_path: Path, monkeypatch, name: str = "repo") -> tuple[Path, dict[str, str]]:
    """make_repo() under tmp_path/NAME, with the test identity in the environment and an empty HOME (no user
    git config): what every backport test's repository fixture needs."""
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = tmp_path / name
    return root, make_repo(root)
