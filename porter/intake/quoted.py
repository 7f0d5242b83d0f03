"""A patch quoted in a reply (`> `, `> > `), possibly with the reviewer's comments written between its lines.

The quoted region runs from the quoted text just above the first quoted diff header to the last line quoted
at least as deep. Inside it, lines quoted less deeply or not at all are the reviewer's comments: they are
skipped and named in a note — and series.py refuses the input when, with them skipped, the hunks do not add
up (a comment that replaced patch lines must not silently cut the patch short).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

QUOTED_DIFF_RE = re.compile(r"^((?:[ \t]*>)+)[ \t]?(diff --git |--- |Index: )")
_QUOTE_RE = re.compile(r"^((?:[ \t]*>)+)")
_DIFF_BODY = re.compile(r"^(?:[-+ \\]|@@ |diff --git |index |Index: |$)")


@dataclass
class Quoted:
    depth: int
    outer: list[str]  # the reply's own lines before the quoted region
    lines: list[str] = field(default_factory=list)  # the quoted region, unquoted, comments removed
    comments: list[int] = field(default_factory=list)  # 1-based input line numbers of skipped comment lines


def depth(line: str) -> int:
    m = _QUOTE_RE.match(line)
    return m.group(1).count(">") if m else 0


def unquote(line: str, levels: int) -> str:
    return re.sub(rf"^(?:[ \t]*>){{{levels}}} ?", "", line, count=1)


def find_quoted(lines: list[str], first_line: int = 1) -> Quoted | None:
    start = None
    for i, ln in enumerate(lines):
        m = QUOTED_DIFF_RE.match(ln)
        if not m:
            continue
        d = m.group(1).count(">")
        if m.group(2) != "--- " or (i + 1 < len(lines) and unquote(lines[i + 1], d).startswith("+++ ")):
            start = i
            break
    if start is None:
        return None
    d = depth(lines[start])
    begin = start
    while begin > 0 and depth(lines[begin - 1]) >= d:
        begin -= 1
    end = max(k for k in range(start, len(lines)) if depth(lines[k]) >= d) + 1
    # Comments count only up to the last quoted line that still looks like diff text.
    last_diff = max(k for k in range(start, end) if depth(lines[k]) >= d and _DIFF_BODY.match(unquote(lines[k], d)))
    q = Quoted(depth=d, outer=lines[:begin])
    for k in range(begin, end):
        if depth(lines[k]) >= d:
            q.lines.append(unquote(lines[k], d))
        elif lines[k].strip() and k < last_diff:
            q.comments.append(k + first_line)
    return q


def spans(numbers: list[int]) -> str:
    """'12-13, 20' for [12, 13, 20]."""
    out, run = [], []
    for n in numbers:
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [n]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(out)
