"""porter review: the reviewer's one-screen answer for a patch across several trees."""

from __future__ import annotations

import os
import sys

import click

from porter.errors import PorterError

EXIT_PASS, EXIT_FAIL = 0, 1


@click.command("review")
@click.argument("patches", metavar="PATCH...", nargs=-1, required=True)
@click.option("--tree", "trees", multiple=True, required=True, metavar="TREE",
              help="A directory, a name from porter.toml, or a git ref (repeat for every tree you care about).")
@click.option("--rules", "rules_path", metavar="DIR", type=click.Path(),
              help="Rules directory (every *.toml) or one rule file [default: porter's rules/].")
@click.option("--no-rules", is_flag=True, help="Placement only: do not lint.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@click.option("--color/--no-color", "colour", default=None,
              help="Colour the text output [default: when stdout is a terminal and NO_COLOR is unset].")
@click.option("--verify", is_flag=True,
              help="Also build and boot each directory tree before and after the ported patch (porter verify).")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="With --verify: limit per boot, s.")
@click.option("-p", "strip", type=click.IntRange(0, 64), metavar="N",
              help="Strip N leading components from file names, like patch -pN (as porter apply).")
@click.option("--file", "target_file", metavar="PATH",
              help="The file that bare hunks (a .rej file, @@ hunks without a file header) change.")
def command(patches, trees, rules_path, no_rules, fmt, colour, verify, timeout, strip, target_file):
    """Where PATCH lands in each TREE and what it does to the tree's invariants.

    \b
    PATCH: mbox series, single mail, `b4 am` output, plain diff, a patch quoted in a reply, or '-'; several
    PATCHes make one series in argument order (as porter apply).
    For every patch of the series and every tree: each hunk's placement (rung, file:line, the function it
    lands in, moved / renamed / new-definition notes) or its refusal with the nearest candidates; the rule
    findings the patch introduces, removes and leaves; then a series summary: per-tree verdict, each rule's
    status after the series, and whether one common patch applies to every tree.

    Exit status: 0 when every tree places every hunk and no rule violation is introduced (and, with
    --verify, every tree boots PASS), 1 otherwise, 2 on bad input.
    """
    from porter.intake import Options, load_series
    from porter.review import review
    from porter.review_render import to_json, to_markdown, to_text
    from porter.tree import open_trees

    targets = open_trees(list(trees))
    rules = None
    if not no_rules:
        from porter.lint.rules import load_rules

        rules = load_rules(rules_path)
        if not rules:
            raise PorterError("no rules to run (all disabled?); use --no-rules for placement only")
    series = load_series(list(patches), Options(strip=strip, file=target_file))
    verify_opts = progress = None
    if verify:
        from porter.verify import runner
        from porter.verify.build import Progress

        verify_opts = runner.Options(modes=["legacy"], timeout=timeout)
        progress = Progress(enabled=True)
    rv = review(series, targets, rules, source=" ".join(patches), verify=verify, verify_opts=verify_opts,
                progress=progress)
    if fmt == "json":
        sys.stdout.write(to_json(rv))
    elif fmt == "markdown":
        _write(to_markdown(rv))
    else:
        if colour is None:
            colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        _write(to_text(rv, colour=colour))
    sys.stdout.flush()
    raise SystemExit(EXIT_PASS if rv.verdict == "PASS" else EXIT_FAIL)


def _write(text: str) -> None:
    """A file name that is not UTF-8 is kept surrogate-escaped: print its bytes, not a UnicodeEncodeError."""
    click.echo(text.encode("utf-8", "surrogateescape"), nl=False)
