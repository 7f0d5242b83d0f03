"""porter lint: check tree invariants kept as rule files (rules/*.toml)."""

from __future__ import annotations

import sys
import time

import click

from porter.errors import PorterError

EXIT_CLEAN, EXIT_FINDINGS = 0, 1


def _tree_relative(tree, path: str) -> str:
    """PATHS are tree-relative; a path that exists from the current directory (or is absolute) inside a directory
    tree is made relative to the tree's root, so `cd linux/mm && porter lint --tree .. memremap.c` works."""
    import os
    from pathlib import Path

    if tree.root is not None:
        cand = Path(path) if os.path.isabs(path) else Path.cwd() / path
        if cand.exists():
            root, real = tree.root.resolve(), cand.resolve()
            if real == root:
                return "."
            if root in real.parents:
                return real.relative_to(root).as_posix()
    return path.strip("/") if path not in (".", "./") else "."


def _checked_path(tree, path: str) -> str:
    """A PATH that is not a glob must name something inside the tree: a typo, a path outside the tree or in
    .git is one error line, not a silently clean (empty) selection."""
    import os

    from porter.tree import check_relative_path

    rel = _tree_relative(tree, path)
    if rel == "." or any(c in rel for c in "*?["):
        return rel
    check_relative_path(rel)
    if tree.root is not None and not os.path.lexists(tree.root / rel):
        raise PorterError(f"{path}: no such file or directory in {tree.name}")
    return rel


@click.command("lint")
@click.argument("paths", nargs=-1, metavar="[PATHS]...")
@click.option("--tree", required=True, metavar="TREE",
              help="Tree to lint: a directory, a name from porter.toml, or a git ref.")
@click.option("--rules", "rules_path", metavar="DIR", type=click.Path(),
              help="Rules directory (every *.toml) or one rule file [default: porter's rules/].")
@click.option("--rule", "only", multiple=True, metavar="ID", help="Run only this rule (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
@click.option("--patch", "patches", metavar="P.mbox", multiple=True,
              help="Lint the tree and the tree with P applied (porter's placement); report what P introduces, "
                   "removes and leaves. Repeat for a series (applied in order, as porter apply's PATCH...).")
@click.option("-p", "strip", type=click.IntRange(0, 64), metavar="N",
              help="With --patch: strip N leading components from file names, like patch -pN.")
@click.option("--file", "target_file", metavar="PATH",
              help="With --patch: the file that bare hunks (a .rej file, @@ hunks without a header) change.")
def command(paths, tree, rules_path, only, fmt, patches, strip, target_file):
    """Check the invariants of rule files against TREE.

    PATHS (files, directories or globs, relative to the tree) limit where findings are reported; rules that
    follow calls still read the files they need. Output: `file:line:col: severity: message [rule-id]`, or
    --format json / sarif (SARIF 2.1.0). Exit status: 0 clean, 1 findings (with --patch: findings the patch
    introduces), 2 error, also when a C file could not be read (each is named on stderr).
    """
    from porter.lint.words import WordIndex
    from porter.tree import open_tree

    t0 = time.monotonic()
    target = open_tree(tree, require_kernel=False)
    words = WordIndex(target)
    words.start()  # the tree's fingerprint (a walk of its C files) runs while the rest loads

    from porter.lint.engine import lint_tree
    from porter.lint.output import format_json, format_sarif, format_text, summary
    from porter.lint.rules import load_rules

    rules = load_rules(rules_path, list(only) or None)
    if not rules:
        raise PorterError("no rules to run (all disabled?)")
    sel = [_checked_path(target, p) for p in paths]
    if (strip is not None or target_file) and not patches:
        raise PorterError("-p and --file only apply with --patch")
    patch = patches[0] if len(patches) == 1 else list(patches)  # JSON: one name, or the list of a series
    if patches:
        from porter.intake import Options
        from porter.lint.patchmode import lint_patch

        findings, touched = lint_patch(target, rules, list(patches), sel or None, words=words,
                                       options=Options(strip=strip, file=target_file))
        failing = [f for f in findings if f.state == "introduced"]
        extra = {"patch": patch, "touched": touched}
    else:
        result = lint_tree(target, rules, sel or None, words=words)
        findings = result.findings
        failing = findings
        extra = {"stats": dict(result.stats, seconds=round(result.seconds, 3))}
    if words.unreadable:
        extra["unreadable"] = sorted(words.unreadable)
    root_uri = target.root.as_uri() + "/" if target.root is not None else None
    if fmt == "json":
        sys.stdout.write(format_json(findings, rules, target.name, patch_mode=bool(patch), extra=extra))
    elif fmt == "sarif":
        sys.stdout.write(format_sarif(findings, rules, target.name, root_uri))
    else:
        sys.stdout.write(format_text(findings, patch_mode=bool(patch)))
        s = summary(findings)
        parts = [f"{s[k]} {k}{'s' if s[k] != 1 else ''}" for k in ("error", "warning", "note") if s[k]]
        what = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}" + (
            f" ({', '.join(parts)})" if parts else "")
        if patch:
            what += f"; introduced {s.get('introduced', 0)}, removed {s.get('removed', 0)}, " \
                    f"unchanged {s.get('unchanged', 0)}"
        click.echo(f"porter lint: {what}, {len(rules)} rules, {target.name}, {time.monotonic() - t0:.1f}s", err=True)
    sys.stdout.flush()
    if words.unreadable:
        # an unread file may hold a violation: the result is incomplete, so it is not a clean exit
        for path in sorted(words.unreadable):
            click.echo(f"porter lint: cannot read {path}: not linted", err=True)
        n = len(words.unreadable)
        raise PorterError(f"{n} file{'s' if n != 1 else ''} unreadable: the lint result is incomplete")
    raise SystemExit(EXIT_FINDINGS if failing else EXIT_CLEAN)
