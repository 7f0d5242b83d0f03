"""Stable-tree conventions on a ported commit's message: `commit <sha> upstream.` (--upstream),
`(cherry picked from commit <sha>)` (-x), `Link:` from a mail's Message-Id (--link) and Signed-off-by (-s).

git decides where a trailer goes (same paragraph as an existing trailer block, or after a blank line), so the
trailer block is asked of `git interpret-trailers` and the -x line follows git cherry-pick's own rule.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from porter.errors import PorterError
from porter.patch import Commit

LINK_BASE = "https://lore.kernel.org/r/"
CHERRY_PICKED = "(cherry picked from commit {sha})"
UPSTREAM = "commit {sha} upstream."


@dataclass(frozen=True)
class TrailerOptions:
    cherry_picked: bool = False  # -x
    upstream: bool = False  # --upstream
    signoff: str | None = None  # -s: "Name <email>" of the committer
    link: bool = False  # --link: Link: from the mail's Message-Id

    @property
    def any(self) -> bool:
        return self.cherry_picked or self.upstream or bool(self.signoff) or self.link


def _interpret(message: str, *args: str) -> str:
    env = dict(os.environ, LC_ALL="C")
    data = message.encode("utf-8", "surrogateescape")
    proc = subprocess.run(["git", "interpret-trailers", *args], check=False, input=data,
                          capture_output=True, env=env)
    if proc.returncode != 0:
        raise PorterError(f"git interpret-trailers failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode("utf-8", "surrogateescape")


def has_trailer_block(full_message: str) -> bool:
    """git's "conforming footer": the last paragraph is a trailer block (Signed-off-by:, Cc:, ...)."""
    text = full_message if full_message.endswith("\n") else full_message + "\n"
    if not _interpret(text, "--parse").strip():
        return False
    # --parse also reads a subject-only message as "trailers" when it looks like `key: value`: git never
    # treats the subject paragraph as the footer.
    return "\n\n" in text.strip("\n")


def _full(commit: Commit) -> str:
    return commit.subject + ("\n\n" + commit.message.strip("\n") if commit.message.strip() else "") + "\n"


def _split(full: str) -> tuple[str, str]:
    subject, _, body = full.partition("\n\n")
    return subject.strip("\n"), body.strip("\n")


def add_trailer(full: str, key: str, value: str) -> str:
    """One trailer, where git puts it; an identical trailer right above is not repeated (as `git commit -s`)."""
    return _interpret(full, "--if-exists", "addIfDifferentNeighbor", "--trailer", f"{key}: {value}")


def add_cherry_picked(full: str, sha: str) -> str:
    """git cherry-pick -x: the line joins an existing trailer block, else gets a blank line of its own."""
    if not full.endswith("\n"):
        full += "\n"
    if not has_trailer_block(full):
        full += "\n"
    return full + CHERRY_PICKED.format(sha=sha) + "\n"


def add_upstream(full: str, sha: str) -> str:
    """The stable tree's first body line, `commit <sha> upstream.`, followed by the original body."""
    subject, body = _split(full)
    return f"{subject}\n\n{UPSTREAM.format(sha=sha)}\n" + (f"\n{body}\n" if body else "")


def decorate(commit: Commit, opts: TrailerOptions, sha: str | None = None,
             message_id: str | None = None) -> Commit:
    """A copy of `commit` whose message carries the requested conventions, in the order stable maintainers
    use: upstream line on top; Link, cherry-picked and Signed-off-by at the end. The subject (with its
    subsystem prefix) is kept as it is."""
    if not opts.any:
        return commit
    full = _full(commit)
    if opts.upstream and sha:
        full = add_upstream(full, sha)
    if opts.link and message_id:
        full = add_trailer(full, "Link", LINK_BASE + message_id.strip().strip("<>"))
    if opts.cherry_picked and sha:
        full = add_cherry_picked(full, sha)
    if opts.signoff:
        full = add_trailer(full, "Signed-off-by", opts.signoff)
    _subject, body = _split(full)
    return replace(commit, subject=commit.subject, message=body)


def committer_ident(repo: Path | None) -> str:
    """`Name <email>` git would record as committer, for -s."""
    proc = subprocess.run(["git", "var", "GIT_COMMITTER_IDENT"], check=False, cwd=repo or Path.cwd(),
                          capture_output=True)
    if proc.returncode != 0:
        raise PorterError("-s needs a committer identity (set user.name/user.email or GIT_COMMITTER_NAME/EMAIL)")
    ident = proc.stdout.decode("utf-8", "replace").strip()
    return re.sub(r"\s+\d+\s+[+-]\d{4}$", "", ident)


def message_ids(data: bytes) -> dict[str, str]:
    """Subject -> Message-Id of every mail in an mbox (or a single mail), for --link."""
    found: dict[str, str] = {}
    chunks = re.split(rb"(?m)^From \S+.*\n", data) if data.startswith(b"From ") else [data]
    for chunk in chunks:
        if not chunk.strip():
            continue
        msg = email.message_from_bytes(chunk, policy=email.policy.default)
        mid, subject = msg.get("Message-Id"), msg.get("Subject")
        if mid and subject:
            found[re.sub(r"^\s*(\[[^\]]*\]\s*)+", "", " ".join(str(subject).split()))] = str(mid).strip()
    return found


def message_id_for(commit: Commit, ids: dict[str, str]) -> str | None:
    return ids.get(" ".join(commit.subject.split()))
