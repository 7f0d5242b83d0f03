"""Unified diff hunks of two texts in linear time, computed by git's own diff (Myers, with git's heuristics).

difflib.SequenceMatcher is quadratic in the number of changed regions: a ported patch of 5,000 one-line hunks in
one file took minutes to print. git computes the same kind of diff in milliseconds, and its hunks are the ones
`git format-patch` would have written. The output imitates difflib.unified_diff without its two file header
lines: "@@ -a,b +c,d @@\\n" headers (no section; the caller adds its own), and a last line without a newline
where the file has none.
"""

from __future__ import annotations

import os
import subprocess
import tempfile

_NO_NEWLINE = "\\ No newline at end of file\n"


def unified(a: list[str], b: list[str], n: int = 3) -> list[str]:
    """Hunk lines (each ending in a newline, except a last line the text itself does not end) of a -> b."""
    if a == b:
        return []
    with tempfile.TemporaryDirectory(prefix="porter-diff-") as tmp:
        paths = [os.path.join(tmp, "a"), os.path.join(tmp, "b")]
        for path, lines in zip(paths, (a, b)):
            with open(path, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
                f.writelines(lines)
        env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C")
        proc = subprocess.run(["git", "diff", "--no-index", "--no-color", "--no-ext-diff", "--no-textconv",
                               f"-U{n}", "--text", *paths], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if proc.returncode not in (0, 1):
        raise RuntimeError("git diff --no-index failed: " + proc.stderr.decode(errors="replace").strip())
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.startswith("@@ ")), len(lines))
    out: list[str] = []
    for ln in lines[start:]:
        if ln.startswith("@@ "):
            ln = ln[:ln.index(" @@", 3) + 3] + "\n"  # drop git's section: the caller computes its own
        elif ln == _NO_NEWLINE:
            out[-1] = out[-1][:-1]
            continue
        out.append(ln)
    return out
