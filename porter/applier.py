"""Write a PortResult: into a directory (all-or-nothing), as a commit on a new branch of a git ref, or as a
ported patch (format-patch mbox with recomputed hunks and diffstat)."""

from __future__ import annotations

import email.utils
import os
import re
import subprocess
import tempfile
from pathlib import Path

from porter import linediff
from porter.errors import PorterError
from porter.patch import Commit, Series
from porter.porting import PortResult
from porter.tree import Tree, _git

# -- directories ------------------------------------------------------------------------------------------

def write_directory(tree: Tree, after: dict[str, bytes | None], before: dict[str, bytes | None]) -> list[str]:
    """Replace files atomically: every new content goes to a temp file first; renames happen only when all
    temp files are written; on any failure the renamed ones are restored from memory."""
    changed = [p for p in sorted(after) if after[p] != before.get(p)]
    staged: list[tuple[Path, Path | None, bytes | None]] = []
    try:
        for rel in changed:
            dest = tree._path(rel)
            if after[rel] is None:
                staged.append((dest, None, before.get(rel)))
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".porter-", dir=dest.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(after[rel])
            if dest.exists():
                os.chmod(tmp, dest.stat().st_mode & 0o7777)
            staged.append((dest, Path(tmp), before.get(rel)))
    except OSError as exc:
        for _, tmp, _ in staged:
            if tmp is not None and tmp.exists():
                tmp.unlink()
        raise PorterError(f"cannot write to {tree.name}: {exc}") from None
    done: list[tuple[Path, bytes | None]] = []
    try:
        for dest, tmp, old in staged:
            if tmp is None:
                dest.unlink()
            else:
                os.replace(tmp, dest)
            done.append((dest, old))
    except OSError as exc:
        for dest, old in done:
            if old is None:
                dest.unlink(missing_ok=True)
            else:
                dest.write_bytes(old)
        raise PorterError(f"writing {tree.name} failed, restored: {exc}") from None
    return changed


def write_rejects(tree: Tree, result: PortResult) -> list[str]:
    """For --partial: a `.rej` file per file with refused hunks, in unified format like patch(1)."""
    by_file: dict[str, list] = {}
    for o in result.outcomes:
        if not o.placed:
            by_file.setdefault(o.patch_file, []).append(o)
    written = []
    for path, outs in by_file.items():
        lines = [f"--- a/{path}", f"+++ b/{path}"]
        for o in outs:
            lines.append(o.hunk.header())
            lines += [ln.kind + ln.text for ln in o.hunk.lines]
        rej = tree._path(path + ".rej")
        rej.parent.mkdir(parents=True, exist_ok=True)
        rej.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogateescape")
        written.append(path + ".rej")
    return written


# -- git refs -----------------------------------------------------------------------------------------------

def _branch_name(subject: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", subject).strip("-").lower()[:50] or "patch"
    return f"porter/{slug}"


def commit_to_ref(tree: Tree, series: Series, result: PortResult, branch: str | None = None) -> tuple[str, str]:
    """One commit per patch of the series on a new branch, built with a private index: the user's checkout,
    index and HEAD are never touched."""
    repo = tree.repo
    parent = tree.commit
    with tempfile.TemporaryDirectory(prefix="porter-index-") as tmpdir:
        env = {"GIT_INDEX_FILE": os.path.join(tmpdir, "index")}
        _git(repo, "read-tree", parent, env=env)
        prev: dict[str, bytes | None] = dict(result.before)
        for commit, state in zip(series.commits, result.per_commit):
            for path, content in sorted(state.items()):
                if content == prev.get(path):
                    continue
                if content is None:
                    _git(repo, "update-index", "--force-remove", "--", path, env=env)
                else:
                    sha = _git(repo, "hash-object", "-w", "--stdin", input=content).decode().strip()
                    mode = "100644"
                    _git(repo, "update-index", "--add", "--cacheinfo", f"{mode},{sha},{path}", env=env)
            prev = dict(state)
            treeid = _git(repo, "write-tree", env=env).decode().strip()
            msg = commit.subject + ("\n\n" + commit.message if commit.message else "") + "\n"
            cenv = dict(env)
            name, addr = email.utils.parseaddr(commit.author)
            if name or addr:
                cenv.update(GIT_AUTHOR_NAME=name or addr, GIT_AUTHOR_EMAIL=addr or name)
            if commit.date:
                parsed = email.utils.parsedate_to_datetime(commit.date) if _rfc2822(commit.date) else None
                if parsed is not None:
                    cenv["GIT_AUTHOR_DATE"] = parsed.isoformat()
            parent = _git(repo, "commit-tree", treeid, "-p", parent, input=msg.encode(), env=cenv).decode().strip()
    branch = branch or _branch_name(series.commits[-1].subject if series.commits else "patch")
    name, n = branch, 1
    while _git_ok(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{name}"):
        n += 1
        name = f"{branch}-{n}"
    _git(repo, "update-ref", f"refs/heads/{name}", parent)
    return name, parent


def _rfc2822(date: str) -> bool:
    try:
        return email.utils.parsedate_to_datetime(date) is not None
    except (TypeError, ValueError):
        return False


def _git_ok(repo: Path, *args: str) -> bool:
    return subprocess.run(["git", *args], cwd=repo, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


# -- ported patch -----------------------------------------------------------------------------------------------

def _lines(data: bytes | None) -> list[str]:
    if not data:
        return []
    return data.decode("utf-8", "surrogateescape").splitlines(keepends=True)


def file_diff(path: str, old: bytes | None, new: bytes | None, context: int = 3) -> list[str]:
    """Unified diff lines (with newlines) of one file, git style, with '\\ No newline' markers."""
    a, b = _lines(old), _lines(new)
    if a == b:
        return []
    out = [f"diff --git a/{path} b/{path}\n"]
    if old is None:
        out.append("new file mode 100644\n")
    elif new is None:
        out.append("deleted file mode 100644\n")
    out.append(f"--- {'a/' + path if old is not None else '/dev/null'}\n")
    out.append(f"+++ {'b/' + path if new is not None else '/dev/null'}\n")
    for line in linediff.unified(a, b, n=context):
        m = HUNK_HEADER_RE.match(line)
        if m:
            line = line.rstrip("\n") + _section(a, int(m.group(1))) + "\n"
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return out


HUNK_HEADER_RE = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")
FUNCNAME_RE = re.compile(r"^[A-Za-z_$]")


def _section(old_lines: list[str], start: int) -> str:
    """git's default funcname for a hunk starting at old line `start`: the last line above it that begins
    with a letter, '_' or '$' (so reviewers and porter itself see the enclosing function)."""
    for i in range(min(start, len(old_lines)) - 2, -1, -1):
        if FUNCNAME_RE.match(old_lines[i]):
            return " " + old_lines[i].rstrip("\n")[:80].rstrip()
    return ""


def diffstat(files: list[tuple[str, int, int]]) -> str:
    width = max((len(p) for p, _, _ in files), default=0)
    lines = [f" {p.ljust(width)} | {a + d:3d} {'+' * min(a, 40)}{'-' * min(d, 40)}" for p, a, d in files]
    ins, dels = sum(a for _, a, _ in files), sum(d for _, _, d in files)
    lines.append(f" {len(files)} file{'s' if len(files) != 1 else ''} changed, {ins} insertion{'s' if ins != 1 else ''}"
                 f"(+), {dels} deletion{'s' if dels != 1 else ''}(-)")
    return "\n".join(lines)


def commit_diffs(before: dict[str, bytes | None], after: dict[str, bytes | None],
                 context: int = 3) -> tuple[str, list]:
    body, stats = [], []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path, before.get(path))
        d = file_diff(path, old, new, context)
        if d:
            body += d
            adds = sum(1 for ln in d[4:] if ln.startswith("+") and not ln.startswith("+++"))
            dels = sum(1 for ln in d[4:] if ln.startswith("-") and not ln.startswith("---"))
            stats.append((path, adds, dels))
    return "".join(body), stats


def format_series(series: Series, result: PortResult, context: int = 3) -> str:
    """The ported series as a git format-patch mbox: same authors, dates and messages, new hunks."""
    out = []
    total = len(series.commits)
    prev = dict(result.before)
    for i, (commit, state) in enumerate(zip(series.commits, result.per_commit), 1):
        body, stats = commit_diffs(prev, state, context)
        prev = {**prev, **state}
        out.append(format_message(commit, body, stats, i, total))
    return "".join(out)


def format_message(commit: Commit, body: str, stats: list, i: int, total: int) -> str:
    tag = "[PATCH]" if total == 1 else f"[PATCH {i}/{total}]"
    date = commit.date if _rfc2822(commit.date) else email.utils.formatdate(localtime=False)
    author = commit.author or "porter <porter@localhost>"
    msg = (commit.message.rstrip() + "\n") if commit.message.strip() else ""
    return (f"From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
            f"From: {author}\nDate: {date}\nSubject: {tag} {commit.subject}\n\n"
            f"{msg}---\n{diffstat(stats)}\n\n{body}-- \nporter\n\n")
