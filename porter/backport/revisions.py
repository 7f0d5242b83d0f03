"""Commits of a repository as porter input: `REV`, `A..B` or `-N`, read into the porter.patch model.

A revision carries what a mail cannot: the exact author, date and message, and the parent's blobs. Every file's
`old_index` is the full blob id of the parent's version and `blob_repo` names the repository that holds it, so
the 3-way and function-anchor rungs always have the pre-image, whatever tree the commit is ported to.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from porter.errors import PorterError
from porter.intake import parse_series
from porter.patch import Commit
from porter.tree import _git

COUNT_RE = re.compile(r"^-(\d+)$")


@dataclass
class Revision:
    """One commit to port: its id, its parent, and the Commit model built from it."""

    sha: str
    parent: str | None
    commit: Commit
    notes: list[str] = field(default_factory=list)

    @property
    def short(self) -> str:
        return self.sha[:12]


def source_repo(from_repo: str | None, cwd: Path) -> Path | None:
    """The repository revisions are read from: --from REPO, else the current one (None when not in a repo)."""
    where = Path(from_repo) if from_repo else cwd
    proc = subprocess.run(["git", "rev-parse", "--git-dir"], check=False, cwd=where if where.is_dir() else cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if proc.returncode != 0 or not where.is_dir():
        if from_repo:
            raise PorterError(f"--from {from_repo}: not a git repository")
        return None
    return where.resolve()


def _verifies(repo: Path, rev: str) -> bool:
    if not rev or rev.startswith("-"):
        return False
    args = ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"]
    proc = subprocess.run(args, check=False,
                          cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc.returncode == 0


def is_revision(arg: str, repo: Path | None, cwd: Path) -> bool:
    """True when ARG names commits rather than a patch file: it is not an existing file, and git accepts it in
    the source repository (`-N`, `A..B` with both ends valid, or one commit)."""
    if repo is None or arg == "-" or (cwd / arg).exists():
        return False
    if COUNT_RE.match(arg):
        return True
    if ".." in arg and "..." not in arg:
        a, b = arg.split("..", 1)
        return _verifies(repo, a or "HEAD") and _verifies(repo, b or "HEAD")
    return _verifies(repo, arg)


def list_commits(repo: Path, spec: str) -> list[str]:
    """Commit ids the spec names, oldest first, merges left out (git am ports no merges either)."""
    m = COUNT_RE.match(spec)
    if m:
        n = int(m.group(1))
        if n == 0:
            raise PorterError(f"{spec}: asks for no commits")
        out = _git(repo, "rev-list", "--no-merges", f"--max-count={n}", "HEAD").decode().split()
        shas = list(reversed(out))
    elif ".." in spec:
        a, b = spec.split("..", 1)
        shas = _git(repo, "rev-list", "--reverse", "--no-merges", f"{a or 'HEAD'}..{b or 'HEAD'}").decode().split()
    else:
        shas = [_git(repo, "rev-parse", "--verify", f"{spec}^{{commit}}").decode().strip()]
        _refuse_merge(repo, spec, shas[0])
    if not shas:
        raise PorterError(f"{spec}: names no commits (nothing to port)")
    return shas


def _refuse_merge(repo: Path, spec: str, sha: str) -> None:
    """A merge named alone is refused, as git cherry-pick refuses it without -m: its diff against the first
    parent is the whole side branch, not one change (ranges and -N leave merges out instead)."""
    if len(_git(repo, "rev-list", "--parents", "-n1", sha).decode().split()) > 2:
        raise PorterError(f"{spec}: is a merge commit; porter ports single commits (git cherry-pick refuses a "
                          f"merge without -m): name the merged commits, e.g. {sha[:12]}^1..{sha[:12]}^2")


def _diff_text(repo: Path, sha: str, parent: str | None) -> str:
    """The commit's diff against its first parent with full blob ids. Every block is kept: a mode-only change
    is a change (git cherry-pick and git am apply it), and what intake cannot read (a binary diff) is refused
    there, never dropped."""
    args = ["diff-tree", "-p", "-r", "--full-index", "--no-renames", "--no-color", "--no-ext-diff"]
    args += [parent, sha] if parent else ["--root", sha]
    text = _git(repo, *args).decode("utf-8", "surrogateescape")
    if not parent:
        text = text.split("\n", 1)[1] if "\n" in text else ""  # --root prints the commit id first
    return text


def read_revision(repo: Path, sha: str) -> Revision:
    fmt = "%H%x00%P%x00%an%x00%ae%x00%aD%x00%s%x00%b"
    raw = _git(repo, "log", "-1", f"--format={fmt}", sha).decode("utf-8", "surrogateescape")
    full, parents, name, mail, date, subject, body = raw.split("\x00", 6)
    parent = parents.split()[0] if parents.split() else None
    commit = Commit(subject=subject, author=f"{name} <{mail}>", date=date, message=body.strip("\n"))
    text, notes = _diff_text(repo, full, parent), []  # notes: what intake says of the diff
    if text:
        series = parse_series(text.encode("utf-8", "surrogateescape"), f"commit {full[:12]}")
        commit.files = series.commits[0].files
        notes += series.notes
    for fp in commit.files:
        fp.blob_repo = str(repo)
    return Revision(full, parent, commit, notes)


def read_revisions(repo: Path, spec: str) -> list[Revision]:
    return [read_revision(repo, sha) for sha in list_commits(repo, spec)]
