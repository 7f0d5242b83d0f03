"""porter apply: place every hunk of a patch in one or more target trees and write the result atomically."""

from __future__ import annotations

import json
from pathlib import Path

import click

from porter.applier import commit_to_ref, write_directory, write_rejects
from porter.backport import flow as backport_flow
from porter.backport.cli import backport_options, backport_request, decorate_mail_series
from porter.intake import parse_series, read_input
from porter.planner import plan
from porter.report import result_dict, text_lines
from porter.tree import open_tree

EXIT_APPLIED, EXIT_REFUSED = 0, 1


@click.command("apply", context_settings={"ignore_unknown_options": True})
@click.argument("patch", metavar="PATCH|REV|A..B|-N", required=False)
@click.option("--tree", "trees", multiple=True, metavar="TREE",
              help="Target: a directory, a name from porter.toml, or a git ref (repeat for several trees).")
@click.option("--dry-run", is_flag=True, help="Place and report, write nothing.")
@click.option("--partial", is_flag=True, help="Write the hunks that were placed and .rej files for the rest.")
@click.option("--output", "output", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the ported patch (format-patch mbox) here; with several trees, one patch for all.")
@click.option("--branch", metavar="NAME", help="Branch to create when TREE is a git ref (default porter/<subject>).")
@click.option("--strict", is_flag=True, help="Refuse hunks whose added lines use names the target does not define.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@backport_options
def command(patch, trees, dry_run, partial, output, branch, strict, fmt, **bp):
    """Port PATCH (mbox, mail, plain diff, quoted reply; '-' for stdin) onto each TREE.

    Every hunk climbs the placement ladder: exact line, offset, reduced context, whitespace-insensitive,
    enclosing function (also when it moved to another file), renamed function; a hunk that adds a whole
    function is placed by its neighbours. A hunk no rung places with confidence is refused with the nearest
    candidates. Nothing is written unless every hunk is placed (or --partial). Exit status: 0 applied,
    1 refused or conflict, 2 bad input or usage.

    \b
    Commits as input (git am-like series onto git refs; see porter/backport/):
      porter apply REV|A..B|-N --tree T [--tree T2 ...] [--from REPO] [-x] [--upstream] [-s] [--junit FILE]
      porter apply --continue | --skip | --abort
    """
    request = backport_request(patch, trees, dry_run, partial, branch, strict, fmt, bp)
    if request is not None:  # revisions and series sessions: porter/backport/flow.py
        raise SystemExit(backport_flow.run(request))
    data = read_input(patch)
    series = decorate_mail_series(parse_series(data, patch), data, bp)
    targets = [open_tree(t) for t in trees]
    planned = plan(series, targets, strict=strict)
    all_ok = all(r.ok for r in planned.results)
    reports = []
    for result in planned.results:
        state = "ok" if result.ok else "refused"
        written: list[str] = []
        branch_note = ""
        if (result.ok or partial) and not dry_run and result.changed:
            if result.tree.is_ref:
                if result.ok:
                    name, sha = commit_to_ref(result.tree, series, result, branch)
                    branch_note = f"committed {sha[:12]} on branch {name}"
            else:
                written = write_directory(result.tree, result.after, result.before)
                if not result.ok:
                    written += write_rejects(result.tree, result)
            state = "applied" if result.ok else "partial"
        elif result.ok and not result.changed:
            state = "already-applied"
        elif result.ok:
            state = "placed (dry run)" if dry_run else state
        reports.append((result, state, written, branch_note))
    output_note = ""
    if output:
        if planned.common_patch is None:
            all_ok = False
            output_note = f"no ported patch written to {output}: {planned.common_reason or 'some hunks were refused'}"
        else:
            Path(output).write_text(planned.common_patch, encoding="utf-8", errors="surrogateescape")
            output_note = f"wrote ported patch {output}"
    if fmt == "json":
        doc = {"notes": series.notes, "trees": [dict(result_dict(series, r, s), written=w, branch=b)
                                                for r, s, w, b in reports],
               "common_patch": bool(planned.common_patch), "common_notes": planned.notes,
               "output": output_note}
        click.echo(json.dumps(doc, indent=2))
    else:
        for note in series.notes:
            click.echo(f"note: {note}")
        for r, s, w, b in reports:
            for line in text_lines(series, r):
                click.echo(line)
            placed = sum(1 for o in r.outcomes if o.placed)
            click.echo(f"  => {s}: {placed}/{len(r.outcomes)} hunks placed" + (f"; {b}" if b else "")
                       + (f"; wrote {', '.join(w)}" if w else ""))
        for note in planned.notes:
            click.echo(f"note: {note}")
        if output_note:
            click.echo(output_note)
    raise SystemExit(EXIT_APPLIED if all_ok else EXIT_REFUSED)
