"""Test-only: a strict reader of well-formed `git diff` output with git's extended headers (rename/copy, modes,
`\\ No newline`), so writer tests can build FilePatch objects for input git itself produced, independently of
porter's tolerant mail intake."""

from __future__ import annotations

import re

from porter.patch import Commit, FilePatch, Hunk, Line, Series

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")


def read_git_diff(text: str, author: str = "Dev <dev@example.org>", subject: str = "test") -> Series:
    files: list[FilePatch] = []
    fp = None
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("diff --git "):
            a, b = re.match(r"^diff --git a/(\S+) b/(\S+)$", ln).groups()
            fp = FilePatch(old_path=a, new_path=b)
            files.append(fp)
        elif fp is not None and not fp.hunks and ln.startswith(("new file mode ", "deleted file mode ",
                                                                 "old mode ", "new mode ")):
            mode = ln.split()[-1]
            if ln.startswith("new file"):
                fp.old_path, fp.new_mode = None, mode
            elif ln.startswith("deleted"):
                fp.new_path, fp.old_mode = None, mode
            elif ln.startswith("old mode"):
                fp.old_mode = mode
            else:
                fp.new_mode = mode
        elif fp is not None and ln.startswith(("rename from ", "copy from ")):
            fp.rename, fp.copy = ln.startswith("rename"), ln.startswith("copy")
            fp.old_path = ln.split(" ", 2)[2]
        elif fp is not None and ln.startswith(("rename to ", "copy to ")):
            fp.new_path = ln.split(" ", 2)[2]
        elif fp is not None and ln.startswith("similarity index "):
            fp.similarity = int(ln.split()[-1].rstrip("%"))
        elif fp is not None and ln.startswith("index "):
            m = re.match(r"^index (\w+)\.\.(\w+)(?: (\d+))?$", ln)
            fp.old_index, fp.new_index = m.group(1), m.group(2)
            if m.group(3):
                fp.old_mode = fp.old_mode or m.group(3)
                fp.new_mode = fp.new_mode or m.group(3)
        elif ln.startswith("@@"):
            m = HUNK.match(ln)
            h = Hunk(int(m.group(1)), int(m.group(2) or 1), int(m.group(3)), int(m.group(4) or 1), m.group(5))
            fp.hunks.append(h)
        elif fp is not None and fp.hunks and ln[:1] in (" ", "+", "-") and not ln.startswith(("--- ", "+++ ")):
            fp.hunks[-1].lines.append(Line(ln[0], ln[1:]))
        elif ln.startswith("\\ No newline") and fp is not None and fp.hunks:
            fp.hunks[-1].lines[-1].no_newline = True
        i += 1
    return Series([Commit(subject=subject, author=author, date="Tue, 1 Oct 2024 10:00:00 +0000", files=files)])
