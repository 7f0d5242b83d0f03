"""`porter lint --patch P`: lint the tree and the tree with P applied, and say what the patch changes.

P is placed by porter's own apply (porter.porting.port: the same placement ladder as `porter apply`), and the
patched files are laid over the tree in memory: nothing is written, nothing is copied. Both lints share one
prefilter index, so the second costs little more than parsing the touched files. Findings are matched on their
rule and key (what they are about, not their line numbers, which the patch shifts): a finding only after is
introduced, only before is removed, in both is unchanged.
"""

from __future__ import annotations

from collections import Counter

from porter.errors import PorterError
from porter.lint.engine import LintContext, run_rules
from porter.lint.findings import Finding, with_state
from porter.lint.words import WordIndex


def patched_overlay(tree, patch_spec: str) -> tuple[dict[str, bytes | None], list[str]]:
    """Contents of the files P changes once porter has applied it to `tree`; (overlay, touched paths)."""
    from porter.intake import load_series
    from porter.porting import port

    series = load_series([patch_spec])
    result = port(series, tree)
    if not result.ok:
        refused = [o for o in result.outcomes if not o.placed]
        first = refused[0]
        reason = getattr(first.result, "reason", "not placed")
        raise PorterError(f"--patch {patch_spec}: {len(refused)} hunk(s) could not be placed in {tree.name} "
                          f"(first: {first.patch_file} hunk {first.number}: {reason}); nothing linted")
    return dict(result.after), sorted(result.after)


def diff_findings(before: list[Finding], after: list[Finding]) -> list[Finding]:
    """Label findings introduced / removed / unchanged by matching (rule, key) as multisets."""
    left = Counter((f.rule_id, f.key) for f in before)
    out = []
    for f in after:
        k = (f.rule_id, f.key)
        if left[k] > 0:
            left[k] -= 1
            out.append(with_state(f, "unchanged"))
        else:
            out.append(with_state(f, "introduced"))
    right = Counter((f.rule_id, f.key) for f in after)
    for f in before:
        k = (f.rule_id, f.key)
        if right[k] > 0:
            right[k] -= 1
        else:
            out.append(with_state(f, "removed"))
    order = {"introduced": 0, "removed": 1, "unchanged": 2}
    return sorted(out, key=lambda f: (order[f.state], f.sort_key()))


def lint_patch(tree, rules, patch_spec: str, paths: list[str] | None = None, overlay=None,
               words: WordIndex | None = None):
    """(labelled findings, touched paths). `overlay` may be given instead of applying P (tests)."""
    if overlay is None:
        overlay, touched = patched_overlay(tree, patch_spec)
    else:
        touched = sorted(overlay)
    words = words or WordIndex(tree)
    before = run_rules(LintContext(tree, words=words), rules, paths)
    after = run_rules(LintContext(tree, overlay=overlay, words=words), rules, paths)
    return diff_findings(before.findings, after.findings), touched
