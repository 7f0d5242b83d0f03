"""The options `porter apply` gains for backporting, and the one decision it needs: is PATCH a revision?

Kept here so porter/commands/apply.py changes by a decorator and one branch at its top.
"""

from __future__ import annotations

from pathlib import Path

import click

from porter.backport.flow import Request
from porter.backport.revisions import COUNT_RE, is_revision, source_repo
from porter.backport.trailers import (
    TrailerOptions,
    committer_ident,
    decorate,
    message_id_for,
    message_ids,
)
from porter.errors import PorterError
from porter.patch import Series

OPTIONS = [
    click.option("--from", "from_repo", metavar="REPO", help="Read REV / A..B / -N from this repository."),
    click.option("--continue", "resume", is_flag=True, help="Go on with a stopped series (after fixing the hunk)."),
    click.option("--skip", is_flag=True, help="Skip the refused commit of a stopped series and go on."),
    click.option("--abort", is_flag=True, help="Stop the series: delete its branches and worktrees."),
    click.option("-x", "cherry_picked", is_flag=True, help="Add '(cherry picked from commit <sha>)'."),
    click.option("--upstream", is_flag=True, help="Start the body with 'commit <sha> upstream.' (stable trees)."),
    click.option("-s", "--signoff", is_flag=True, help="Add Signed-off-by: with the committer identity."),
    click.option("--link", is_flag=True, help="Add Link: from the mail's Message-Id."),
    click.option("--junit", metavar="FILE", type=click.Path(dir_okay=False),
                 help="Write a JUnit XML report: one test case per commit and tree."),
]


def backport_options(f):
    for opt in reversed(OPTIONS):
        f = opt(f)
    return f


def _trailers(bp: dict, repo: Path | None) -> TrailerOptions:
    return TrailerOptions(cherry_picked=bp["cherry_picked"], upstream=bp["upstream"],
                          signoff=committer_ident(repo) if bp["signoff"] else None, link=bp["link"])


def backport_request(patches, trees, dry_run, partial, branch, committer, strict, fmt, bp) -> Request | None:
    """A Request when this `porter apply` is about revisions or a stopped series, else None (patch files)."""
    for p in patches:
        if p.startswith("-") and p != "-" and not COUNT_RE.match(p):
            raise click.UsageError(f"No such option: {p}")
    patch = patches[0] if len(patches) == 1 else None
    actions = [a for a, on in (("continue", bp["resume"]), ("skip", bp["skip"]), ("abort", bp["abort"])) if on]
    if len(actions) > 1:
        raise click.UsageError("--continue, --skip and --abort exclude each other")
    cwd = Path.cwd()
    if actions:
        if patches or trees:
            raise click.UsageError(f"--{actions[0]} takes no PATCH or --tree: it resumes the series in progress")
        return Request(None, trees, None, actions[0], fmt=fmt, junit=bp["junit"])
    if not patches:
        raise click.UsageError("Missing argument 'PATCH...|REV|A..B|-N'.")
    if not patch:
        if bp["from_repo"] or any(COUNT_RE.match(p) for p in patches):
            raise click.UsageError("one revision argument (REV, A..B or -N) at a time")
        if not trees:
            raise click.UsageError("Missing option '--tree'.")
        return None
    repo = source_repo(bp["from_repo"], cwd) if (bp["from_repo"] or not (cwd / patch).exists()) else None
    if not is_revision(patch, repo, cwd):
        if bp["from_repo"] and not (cwd / patch).exists():
            raise PorterError(f"{patch}: not a file, and not a revision in {bp['from_repo']}")
        if not trees:
            raise click.UsageError("Missing option '--tree'.")
        if bp["cherry_picked"] or bp["upstream"]:
            raise PorterError("-x and --upstream need a commit as input (REV, A..B or -N), not a patch file")
        return None
    return Request(patch, trees, bp["from_repo"], None, dry_run, partial, branch, committer, strict, fmt,
                   bp["junit"], _trailers(bp, repo))


def decorate_mail_series(series: Series, patches, bp: dict) -> Series:
    """-s and --link on mails: Link: from each message's Message-Id, Signed-off-by from git's identity."""
    if not (bp["signoff"] or bp["link"]):
        return series
    opts = TrailerOptions(signoff=committer_ident(None) if bp["signoff"] else None, link=bp["link"])
    ids: dict[str, str] = {}
    for p in patches if bp["link"] else []:
        if p == "-" or not Path(p).is_file():
            raise PorterError(f"--link reads Message-Ids from mail files: {p} is not one")
        ids.update(message_ids(Path(p).read_bytes()))
    series.commits = [decorate(c, opts, message_id=message_id_for(c, ids)) for c in series.commits]
    return series



