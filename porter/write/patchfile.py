"""The ported patch: a git format-patch mbox with the same authors, dates, subjects (with the original
`[PATCH vN n/m]` prefix) and messages, new hunks, and real `index` lines (blob ids before/after, with the mode),
so that `git am -3` can fall back to a 3-way merge with it later. Renames, copies and mode changes are written
with git's extended headers."""

from __future__ import annotations

import difflib
import email.utils
import re

from porter import linediff
from porter.intake.names import quote_c
from porter.tree import git_blob_id
from porter.write.changes import REGULAR
from porter.write.gitref import mail_date

ABBREV = 12  # the kernel's customary abbreviation (core.abbrev=12): unique in any kernel repository
NULL_ID = "0" * ABBREV
HUNK_HEADER_RE = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")
FUNCNAME_RE = re.compile(r"^[A-Za-z_$]")


def _lines(data: bytes | None) -> list[str]:
    if not data:
        return []
    return data.decode("utf-8", "surrogateescape").splitlines(keepends=True)


def _blob(data: bytes | None) -> str:
    return git_blob_id(data)[:ABBREV] if data is not None else NULL_ID


def _similarity(old: bytes, new: bytes) -> int:
    if old == new:
        return 100
    return int(difflib.SequenceMatcher(None, _lines(old), _lines(new), autojunk=False).ratio() * 100)


def file_diff(path: str, old: bytes | None, new: bytes | None, context: int = 3, old_mode: str | None = None,
              new_mode: str | None = None, old_path: str | None = None, copy: bool = False) -> list[str]:
    """The git diff of one file (lines with newlines), '\\ No newline' markers included. `old_path` makes it
    a rename (or with `copy`, a copy) from that path."""
    src = old_path or path
    old_mode = old_mode or (REGULAR if old is not None else None)
    new_mode = new_mode or (old_mode if new is not None else None) or (REGULAR if new is not None else None)
    hunks = _hunks(_lines(old), _lines(new), context) if old != new else []
    moved = old_path is not None and old_path != path
    if not hunks and not moved and old_mode == new_mode and (old is None) == (new is None):
        return []
    out = [f"diff --git {quote_c('a/' + src)} {quote_c('b/' + path)}\n"]
    if old is None:
        out.append(f"new file mode {new_mode}\n")
    elif new is None:
        out.append(f"deleted file mode {old_mode}\n")
    else:
        if old_mode != new_mode:
            out += [f"old mode {old_mode}\n", f"new mode {new_mode}\n"]
        if moved:
            kind = "copy" if copy else "rename"
            out += [f"similarity index {_similarity(old, new)}%\n", f"{kind} from {quote_c(src)}\n",
                    f"{kind} to {quote_c(path)}\n"]
    if old != new or old is None or new is None:
        same_mode = old is not None and new is not None and old_mode == new_mode
        out.append(f"index {_blob(old)}..{_blob(new)}" + (f" {new_mode}" if same_mode else "") + "\n")
    if hunks:
        out.append(f"--- {quote_c('a/' + src) if old is not None else '/dev/null'}\n")
        out.append(f"+++ {quote_c('b/' + path) if new is not None else '/dev/null'}\n")
        out += hunks
    return out


def _hunks(a: list[str], b: list[str], context: int) -> list[str]:
    out = []
    for line in linediff.unified(a, b, n=context):
        m = HUNK_HEADER_RE.match(line)
        if m:
            line = line.rstrip("\n") + _section(a, int(m.group(1))) + "\n"
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return out


def _section(old_lines: list[str], start: int) -> str:
    """git's default funcname for a hunk starting at old line `start`: the last line above it that begins
    with a letter, '_' or '$' (so reviewers and porter itself see the enclosing function)."""
    for i in range(min(start, len(old_lines)) - 2, -1, -1):
        if FUNCNAME_RE.match(old_lines[i]):
            return " " + old_lines[i].rstrip("\n")[:80].rstrip()
    return ""


def diffstat(files: list[tuple[str, int, int]], summary: list[str] | None = None) -> str:
    """git's --stat block, then its --summary lines (create/delete mode, mode change, rename, copy)."""
    width = max((len(p) for p, _, _ in files), default=0)
    lines = [f" {p.ljust(width)} | {a + d:3d} {'+' * min(a, 40)}{'-' * min(d, 40)}".rstrip() for p, a, d in files]
    ins, dels = sum(a for _, a, _ in files), sum(d for _, _, d in files)
    lines.append(f" {len(files)} file{'s' if len(files) != 1 else ''} changed, {ins} insertion{'s' if ins != 1 else ''}"
                 f"(+), {dels} deletion{'s' if dels != 1 else ''}(-)")
    return "\n".join(lines + (summary or []))


def rename_name(old: str, new: str) -> str:
    """git's compact form of a rename: common leading and trailing directories outside braces,
    `mm/{internal.h => mm_internal.h}`; names git must quote are shown whole, each quoted."""
    if quote_c(old) != old or quote_c(new) != new:
        return f"{quote_c(old)} => {quote_c(new)}"
    pfx = 0
    for i, (a, b) in enumerate(zip(old, new)):
        if a != b:
            break
        if a == "/":
            pfx = i + 1
    sfx = 0
    for i in range(1, min(len(old), len(new)) - pfx + 1):
        if old[-i] != new[-i]:
            break
        if old[-i] == "/":
            sfx = i
    if not pfx and not sfx:
        return f"{old} => {new}"
    end_a, end_b = len(old) - sfx, len(new) - sfx
    return f"{old[:pfx]}{{{old[pfx:end_a]} => {new[pfx:end_b]}}}{old[end_a:]}"


def _summary(path: str, src: str | None, kind: str, old: bytes | None, new: bytes | None, old_mode, new_mode,
             similarity: int | None) -> list[str]:
    if old is None:
        return [f" create mode {new_mode} {quote_c(path)}"]
    if new is None:
        return [f" delete mode {old_mode} {quote_c(path)}"]
    out = []
    if src:
        out.append(f" {kind} {rename_name(src, path)} ({similarity}%)")
    if old_mode and new_mode and old_mode != new_mode:
        out.append(f" mode change {old_mode} => {new_mode} {quote_c(path)}")
    return out


def commit_diffs(before: dict[str, bytes | None], after: dict[str, bytes | None], context: int = 3,
                 modes_before: dict | None = None, modes_after: dict | None = None,
                 moves: dict[str, tuple[str, str]] | None = None, summary: list[str] | None = None) -> tuple[str, list]:
    """The diff from `before` to `after`; `moves` maps a new path to (old path, "rename" | "copy"). git's
    --summary lines are appended to `summary` when given."""
    modes_before, modes_after, moves = modes_before or {}, modes_after or {}, moves or {}
    renamed_away = {old for old, kind in moves.values() if kind == "rename"}
    body, stats = [], []
    summary = summary if summary is not None else []
    for path in sorted(set(before) | set(after)):
        if path in renamed_away and after.get(path, before.get(path)) is None:
            continue  # shown as the rename's source
        new = after.get(path, before.get(path))
        src, kind = moves.get(path, (None, ""))
        old = before.get(src) if src else before.get(path)
        old_mode = modes_before.get(src or path)
        d = file_diff(path, old, new, context, old_mode, modes_after.get(path), src, kind == "copy")
        if d:
            body += d
            start = next((i for i, ln in enumerate(d) if ln.startswith("+++ ")), len(d)) + 1
            adds = sum(1 for ln in d[start:] if ln.startswith("+"))
            dels = sum(1 for ln in d[start:] if ln.startswith("-"))
            stats.append((rename_name(src, path) if src else quote_c(path), adds, dels))
            new_mode = modes_after.get(path) or old_mode
            sim = _similarity(old, new) if src and old is not None and new is not None else None
            summary += _summary(path, src, kind, old, new, old_mode or "100644", new_mode or "100644", sim)
    return "".join(body), stats


def format_series(series, result, context: int = 3) -> str:
    """The ported series as a git format-patch mbox."""
    out = []
    total = len(series.commits)
    prev = dict(result.before)
    prev_modes = dict(getattr(result, "modes_before", {}))
    per_modes = getattr(result, "per_commit_modes", None) or [{} for _ in result.per_commit]
    moves = getattr(result, "moves", [])
    for i, (commit, state, modes) in enumerate(zip(series.commits, result.per_commit, per_modes), 1):
        mine = {new: (old, kind) for ci, old, new, kind in moves if ci == i - 1}
        summary: list[str] = []
        body, stats = commit_diffs(prev, state, context, prev_modes, modes, mine, summary)
        prev = {**prev, **state}
        prev_modes = {**prev_modes, **modes}
        out.append(format_message(commit, body, stats, i, total, summary))
    return "".join(out)


def subject_tag(commit, i: int, total: int) -> str:
    """The mail's own `[PATCH v2 3/4]` (intake keeps it as Commit.subject_prefix), else [PATCH n/m]."""
    prefix = (getattr(commit, "subject_prefix", None) or "").strip().strip("[]").strip()
    if prefix:
        return f"[{prefix}]"
    return "[PATCH]" if total == 1 else f"[PATCH {i}/{total}]"


def format_message(commit, body: str, stats: list, i: int, total: int, summary: list[str] | None = None) -> str:
    date = mail_date(commit.date) or email.utils.formatdate(localtime=False)
    author = commit.author or "porter <porter@localhost>"
    msg = (commit.message.rstrip() + "\n") if commit.message.strip() else ""
    return (f"From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
            f"From: {author}\nDate: {date}\nSubject: {subject_tag(commit, i, total)} {commit.subject}\n\n"
            f"{msg}---\n{diffstat(stats, summary)}\n\n{body}-- \nporter\n\n")
