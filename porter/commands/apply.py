"""porter apply: place every hunk of a patch in one or more target trees and write the result atomically."""

from __future__ import annotations

import json

import click

from porter.backport import flow as backport_flow
from porter.backport.cli import backport_options, backport_request, decorate_mail_series
from porter.errors import PorterError
from porter.intake import Options, load_series
from porter.intake.names import quote_c
from porter.planner import plan
from porter.report import result_dict, text_lines
from porter.tree import open_trees
from porter.write.changes import changes_of
from porter.write.rejects import reject_changes
from porter.write.transaction import TreeWrite, check_output, write_all

EXIT_APPLIED, EXIT_REFUSED = 0, 1


@click.command("apply", context_settings={"ignore_unknown_options": True})
@click.argument("patches", metavar="PATCH...|REV|A..B|-N", nargs=-1)
@click.option("--tree", "trees", multiple=True, metavar="TREE",
              help="Target: a directory, a name from porter.toml, or a git ref (repeat for several trees).")
@click.option("--dry-run", is_flag=True, help="Place and report; write nothing at all (no tree, file or branch).")
@click.option("--partial", is_flag=True, help="Write the hunks that were placed and .rej files for the rest.")
@click.option("--output", "output", metavar="FILE",
              help="Write the ported patch (format-patch mbox) here ('-': stdout, the report then goes to "
                   "stderr); with several trees, one patch for all.")
@click.option("--branch", metavar="NAME", help="Branch to create when TREE is a git ref (default porter/<subject>).")
@click.option("--committer", metavar="'NAME <MAIL>'",
              help="Committer of commits on a git ref (default: git's identity, else the patch's author).")
@click.option("--strict", is_flag=True, help="Refuse hunks whose added lines use names the target does not define.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-p", "strip", type=click.IntRange(0, 64), metavar="N",
              help="Strip N leading components from file names, like patch -pN [default: 1; 0 for a plain "
                   "diff whose names have no '/'].")
@click.option("--file", "target_file", metavar="PATH",
              help="The file that bare hunks (a .rej file, @@ hunks without a file header) change.")
@click.option("--scissors", is_flag=True,
              help="A '-- >8 --' line in a mail ends the discussion above it, as git am --scissors (default: "
                   "part of the message, as git am).")
@backport_options
def command(patches, trees, dry_run, partial, output, branch, committer, strict, fmt, strip, target_file,
            scissors, **bp):
    """Port PATCH (mbox, mail, Maildir, plain or context diff, .rej, quoted reply; '-' for stdin; several
    PATCHes make one series in argument order) onto each TREE.

    Every hunk climbs the placement ladder: exact line, offset, reduced context, whitespace-insensitive,
    enclosing function (also when it moved to another file), renamed function; a hunk that adds a whole
    function is placed by its neighbours. A hunk no rung places with confidence is refused with the nearest
    candidates. Nothing is written unless every hunk in every tree is placed (or --partial); then every tree
    is written, or none. Exit status: 0 applied, 1 refused or conflict, 2 bad input or usage.

    \b
    Commits as input (a git am-like series onto git refs; see porter/backport/):
      porter apply REV|A..B|-N --tree T [--tree T2 ...] [--from REPO] [-x] [--upstream] [-s] [--junit FILE]
      porter apply --continue | --skip | --abort
    """
    request = backport_request(patches, trees, dry_run, partial, branch, committer, strict, fmt, bp)
    if request is not None:  # revisions and series sessions: porter/backport/flow.py
        raise SystemExit(backport_flow.run(request))
    check_output(output)
    if partial and output:
        # a ported patch holds every hunk or none; --partial would be silently dropped
        raise PorterError("--partial and --output do not go together: a ported patch needs every hunk placed")
    series = decorate_mail_series(load_series(list(patches), Options(strip=strip, file=target_file,
                                                                       scissors=scissors)), patches, bp)
    targets = open_trees(list(trees), write=not dry_run)
    planned = plan(series, targets, strict=strict)
    all_ok = all(r.ok for r in planned.results)
    to_stdout = output == "-"
    echo = _echo_to(err=to_stdout)
    output_note = ""
    if output and planned.common_patch is None:
        all_ok = False
        output_note = f"no ported patch written to {output}: {planned.common_reason or 'some hunks were refused'}"
    # All or nothing: a refusal in any tree (or a patch that cannot be written) means no tree is written.
    writing = not dry_run and (all_ok or (partial and not (output and planned.common_patch is None)))
    writes = [_tree_write(r, partial) for r in planned.results]
    if writing:
        write_all(writes, series, output=output, output_text=planned.common_patch, branch=branch,
                  committer=committer)
        if output and not to_stdout and planned.common_patch is not None:
            output_note = f"wrote ported patch {output}"
    held = "no common patch" if output and planned.common_patch is None and all(r.ok for r in planned.results) \
        else "another tree refused"
    reports = [(w.result, _state(w, writing, dry_run, held), w.written,
                f"committed {w.commit[:12]} on branch {w.branch}" if writing and w.branch else "") for w in writes]
    if to_stdout and planned.common_patch is not None:
        # Bytes: the diff is kept as the mail's bytes (a Latin-1 line stays Latin-1), which text stdout refuses.
        click.echo(planned.common_patch.encode("utf-8", "surrogateescape"), nl=False)
    if fmt == "json":
        doc = {"notes": series.notes, "trees": [dict(result_dict(series, r, s), written=w, branch=b)
                                                for r, s, w, b in reports],
               "common_patch": bool(planned.common_patch), "common_notes": planned.notes,
               "output": output_note, "ported_patch": planned.common_patch}
        echo(json.dumps(doc, indent=2))
    else:
        for note in series.notes:
            echo(f"note: {note}")
        for r, s, w, b in reports:
            for line in text_lines(series, r):
                echo(line)
            placed = sum(1 for o in r.outcomes if o.placed)
            echo(f"  => {s}: {placed}/{len(r.outcomes)} hunks placed" + (f"; {b}" if b else "")
                 + (f"; wrote {', '.join(quote_c(p) for p in w)}" if w else ""))
        for note in planned.notes:
            echo(f"note: {note}")
        if output_note:
            echo(output_note)
    raise SystemExit(EXIT_APPLIED if all_ok else EXIT_REFUSED)


def _echo_to(err: bool):
    """Report lines may hold a file name that is not UTF-8 (kept surrogate-escaped): print its bytes."""
    return lambda line: click.echo(line.encode("utf-8", "surrogateescape"), err=err)


def _tree_write(result, partial: bool) -> TreeWrite:
    if result.ok:
        return TreeWrite(result, changes_of(result))
    if not partial or result.tree.is_ref:  # a half-ported commit on a branch helps nobody
        return TreeWrite(result, [])
    return TreeWrite(result, changes_of(result) + reject_changes(result.tree, result))


def _state(w: TreeWrite, writing: bool, dry_run: bool, held: str) -> str:
    """`held`: why a tree that placed every hunk is not written (another tree refused, or no common patch)."""
    r = w.result
    if r.ok and not w.changes:
        return "already-applied"
    if not writing:
        return ("placed (dry run)" if dry_run else f"not written ({held})") if r.ok else "refused"
    return "applied" if r.ok else "partial"
