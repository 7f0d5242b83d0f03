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


def backport_request(patch, trees, dry_run, partial, branch, strict, fmt, bp) -> Request | None:
    """A Request when this `porter apply` is about revisions or a stopped series, else None (a patch file)."""
    actions = [a for a, on in (("continue", bp["resume"]), ("skip", bp["skip"]), ("abort", bp["abort"])) if on]
    if len(actions) > 1:
        raise click.UsageError("--continue, --skip and --abort exclude each other")
    if patch and patch.startswith("-") and patch != "-" and not COUNT_RE.match(patch):
        raise click.UsageError(f"No such option: {patch}")
    cwd = Path.cwd()
    if actions:
        return Request(patch, trees, bp["from_repo"], actions[0], fmt=fmt, junit=bp["junit"])
    if not patch:
        raise click.UsageError("Missing argument 'PATCH|REV|A..B|-N'.")
    repo = source_repo(bp["from_repo"], cwd) if (bp["from_repo"] or not (cwd / patch).exists()) else None
    if not is_revision(patch, repo, cwd):
        if bp["from_repo"] and not (cwd / patch).exists():
            raise PorterError(f"{patch}: not a file, and not a revision in {bp['from_repo']}")
        if not trees:
            raise click.UsageError("Missing option '--tree'.")
        if bp["cherry_picked"] or bp["upstream"]:
            raise PorterError("-x and --upstream need a commit as input (REV, A..B or -N), not a patch file")
        return None
    return Request(patch, trees, bp["from_repo"], None, dry_run, partial, branch, strict, fmt, bp["junit"],
                   _trailers(bp, repo))


def decorate_mail_series(series: Series, data: bytes, bp: dict) -> Series:
    """-s and --link on a mail or mbox: Link: from each message's Message-Id, Signed-off-by from git."""
    if not (bp["signoff"] or bp["link"]):
        return series
    opts = TrailerOptions(signoff=committer_ident(None) if bp["signoff"] else None, link=bp["link"])
    ids = message_ids(data) if bp["link"] else {}
    series.commits = [decorate(c, opts, message_id=message_id_for(c, ids)) for c in series.commits]
    return series



