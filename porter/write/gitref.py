"""Commits onto a git ref: one commit per patch of the series on a new branch, built with a private index (the
user's checkout, index and HEAD are never touched). Modes are kept (an executable stays 100755) and set from
the patch. Works without a git identity: the committer is --committer, else the configured identity, else the
patch's author (as `b4 shazam` does)."""

from __future__ import annotations

import datetime
import email.utils
import os
import re
import subprocess
import tempfile

from porter.errors import PorterError
from porter.patch import Series
from porter.tree import Tree, _git
from porter.write.changes import REGULAR

ZERO = "0" * 40


def branch_name(subject: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", subject).strip("-").lower()[:50] or "patch"
    return f"porter/{slug}"


def parse_ident(text: str, what: str) -> tuple[str, str]:
    name, addr = email.utils.parseaddr(text or "")
    if not addr or "@" not in addr:
        raise PorterError(f"{what} {text!r} is not 'Name <mail@host>'")
    return name or addr.split("@")[0], addr


def _configured_committer(repo) -> bool:
    if os.environ.get("GIT_COMMITTER_NAME") and os.environ.get("GIT_COMMITTER_EMAIL"):
        return True
    got = []
    for key in ("user.name", "user.email"):
        proc = subprocess.run(["git", "config", "--get", key], cwd=repo, capture_output=True, check=False)
        got.append(proc.returncode == 0 and proc.stdout.strip())
    return all(got)


def identity_env(repo, author: str, committer: str | None) -> dict[str, str]:
    """GIT_AUTHOR_* from the patch, GIT_COMMITTER_* from --committer or (no identity configured) the author."""
    env: dict[str, str] = {}
    a = email.utils.parseaddr(author or "")
    if a[1]:
        env.update(GIT_AUTHOR_NAME=a[0] or a[1], GIT_AUTHOR_EMAIL=a[1])
    if committer:
        env["GIT_COMMITTER_NAME"], env["GIT_COMMITTER_EMAIL"] = parse_ident(committer, "--committer")
    elif not _configured_committer(repo):
        if not a[1]:
            raise PorterError("the patch names no author and git has no identity here: pass --committer "
                              "'Name <mail@host>'")
        env.update(GIT_COMMITTER_NAME=env["GIT_AUTHOR_NAME"], GIT_COMMITTER_EMAIL=env["GIT_AUTHOR_EMAIL"])
    if "GIT_AUTHOR_NAME" not in env and "GIT_COMMITTER_NAME" in env:
        env.update(GIT_AUTHOR_NAME=env["GIT_COMMITTER_NAME"], GIT_AUTHOR_EMAIL=env["GIT_COMMITTER_EMAIL"])
    return env


def rfc2822_date(date: str):
    try:
        return email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return None


def check_identities(tree: Tree, series: Series, committer: str | None = None) -> None:
    """Raise the identity refusals before build_commits writes any object. A plain diff, a mail with no author,
    or one with a date git cannot read is refused as git am refuses it: porter will not invent who wrote it,
    or when."""
    for n, commit in enumerate(series.commits, 1):
        what = f"patch {n} ({commit.subject or 'no subject'})"
        if not commit.mail and not commit.author:
            # A plain diff: a commit of it would carry an empty message and the user as its author.
            raise PorterError(f"{what}: a plain diff names no author and has no message to commit; git am "
                              "refuses it too (send it as a mail, e.g. from git format-patch, or apply it to a "
                              "directory)")
        if commit.mail and "@" not in email.utils.parseaddr(commit.author or "")[1]:
            raise PorterError(f"{what}: the mail names no author's address (From: {commit.author or 'none'}); "
                              "git am refuses it too")
        if commit.mail and commit.date.strip() and git_date(commit.date) is None:
            raise PorterError(f"{what}: the mail's Date {commit.date.strip()!r} is not a date git can read; "
                              "git am refuses it too")
        identity_env(tree.repo, commit.author, committer)


def git_date(date: str) -> tuple[int, str] | None:
    """(unix time, "+hhmm") of a mail's Date as git am reads it (git's own date parser, which also takes the
    archive forms like "Wed Sep 12 2018 - 11:48:28 EST"); None if git cannot read it either."""
    if not date or not date.strip():
        return None
    env = dict(os.environ, GIT_COMMITTER_NAME="porter", GIT_COMMITTER_EMAIL="porter@localhost",
               GIT_COMMITTER_DATE=date.strip(), LC_ALL="C")
    proc = subprocess.run(["git", "var", "GIT_COMMITTER_IDENT"], env=env, capture_output=True, check=False)
    parts = proc.stdout.decode(errors="replace").split()
    if proc.returncode or len(parts) < 2 or not parts[-2].isdigit():
        return None
    return int(parts[-2]), parts[-1]


def mail_date(date: str) -> str | None:
    """The mail's date for a format-patch header: verbatim when it is RFC 2822, else git's reading of it."""
    if date and rfc2822_date(date) is not None:
        return date
    parsed = git_date(date)
    if parsed is None:
        return None
    ts, tz = parsed
    sign = -1 if tz.startswith("-") else 1
    offset = datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
    return email.utils.format_datetime(datetime.datetime.fromtimestamp(ts, datetime.timezone(offset)))


def build_commits(tree: Tree, series: Series, result, committer: str | None = None) -> str:
    """Write the commits' objects (no ref changes) and return the last commit id."""
    repo = tree.repo
    parent = tree.commit
    modes_before = getattr(result, "modes_before", {})
    per_modes = getattr(result, "per_commit_modes", None) or [{} for _ in result.per_commit]
    with tempfile.TemporaryDirectory(prefix="porter-index-") as tmpdir:
        env = {"GIT_INDEX_FILE": os.path.join(tmpdir, "index")}
        _git(repo, "read-tree", parent, env=env)
        prev = dict(result.before)
        prev_modes = dict(modes_before)
        for commit, state, modes in zip(series.commits, result.per_commit, per_modes):
            for path, content in sorted(state.items()):
                mode = modes.get(path) or prev_modes.get(path) or REGULAR
                if content == prev.get(path) and (content is None or mode == prev_modes.get(path)):
                    continue
                if content is None:
                    _git(repo, "update-index", "--force-remove", "--", path, env=env)
                else:
                    sha = _git(repo, "hash-object", "-w", "--stdin", input=content).decode().strip()
                    _git(repo, "update-index", "--add", "--cacheinfo", f"{mode},{sha},{path}", env=env)
            prev.update(state)
            prev_modes.update({p: (m if state.get(p) is not None else None) for p, m in modes.items()})
            treeid = _git(repo, "write-tree", env=env).decode().strip()
            msg = commit.subject + ("\n\n" + commit.message if commit.message else "") + "\n"
            cenv = dict(env, **identity_env(repo, commit.author, committer))
            parsed = git_date(commit.date)
            if parsed is not None:
                cenv["GIT_AUTHOR_DATE"] = f"{parsed[0]} {parsed[1]}"
            parent = _git(repo, "commit-tree", treeid, "-p", parent, input=msg.encode(), env=cenv).decode().strip()
    return parent


def free_branch(tree: Tree, wanted: str | None, subject: str) -> str:
    branch = wanted or branch_name(subject)
    name, n = branch, 1
    while _ref_exists(tree, f"refs/heads/{name}"):
        if wanted:
            raise PorterError(f"--branch {wanted}: branch already exists in {tree.repo}")
        n += 1
        name = f"{branch}-{n}"
    check_branch_name(tree, name)
    return name


def check_branch_name(tree: Tree, name: str) -> None:
    if subprocess.run(["git", "check-ref-format", "--branch", name], cwd=tree.repo, capture_output=True,
                      check=False).returncode:
        raise PorterError(f"--branch {name}: not a valid branch name")


def _ref_exists(tree: Tree, ref: str) -> bool:
    return subprocess.run(["git", "rev-parse", "--verify", "--quiet", ref], cwd=tree.repo,
                          capture_output=True, check=False).returncode == 0


def create_branch(tree: Tree, name: str, sha: str) -> None:
    """Create-only: fails (instead of moving it) if the branch appeared meanwhile."""
    _git(tree.repo, "update-ref", "-m", "porter apply", f"refs/heads/{name}", sha, ZERO)


def delete_branch(tree: Tree, name: str, sha: str) -> None:
    _git(tree.repo, "update-ref", "-d", f"refs/heads/{name}", sha)


def commit_to_ref(tree: Tree, series: Series, result, branch: str | None = None,
                  committer: str | None = None) -> tuple[str, str]:
    """Build the commits and create the branch: (branch name, commit id)."""
    sha = build_commits(tree, series, result, committer)
    name = free_branch(tree, branch, series.commits[-1].subject if series.commits else "patch")
    create_branch(tree, name, sha)
    return name, sha
