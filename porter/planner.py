"""One consistent placement across every target tree, and one ported patch that applies to all of them.

Each tree is placed independently first. Where trees disagree about where a new definition goes, the planner
tries each slot relation ("below memmap_init_zone", ...) that every tree accepts, and keeps the first one whose
ported patch `git apply --check`s on every tree: the seed author's manual fix, automated.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from porter.patch import Series
from porter.place.codes import Reason
from porter.place.result import Placement, Refusal
from porter.porting import PortResult, port
from porter.tree import Tree
from porter.write.patchfile import format_series


@dataclass
class Plan:
    results: list[PortResult]
    common_patch: str | None = None
    common_reason: str = ""
    notes: list[str] = field(default_factory=list)


def applies_cleanly(patch_text: str, result: PortResult) -> tuple[bool, str]:
    """`git apply` of patch_text to a temp copy of the files `result` touched in its tree, and the outcome must be
    exactly what porter placed there: a patch that applies, but elsewhere, does not count."""
    with tempfile.TemporaryDirectory(prefix="porter-check-") as tmp:
        root = Path(tmp)
        for path, data in result.before.items():
            if data is not None:
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_bytes(data)
        (root / ".porter.patch").write_text(patch_text, encoding="utf-8", errors="surrogateescape")
        proc = subprocess.run(["git", "apply", ".porter.patch"], cwd=root,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        if proc.returncode != 0:
            return False, err[0] if err else "git apply failed"
        for path, data in result.after.items():
            got = (root / path).read_bytes() if (root / path).exists() else None
            if got != data:
                return False, f"{path} would not get porter's placement"
        return True, ""


def _relations(results: list[PortResult]) -> tuple[dict, dict]:
    """New-definition hunks and the slot relation each tree chose: key -> [relation per tree]; and the slots
    a tree that could not decide on its own offered: key -> [relation, ...]."""
    rel: dict = {}
    offered: dict = {}
    for i, r in enumerate(results):
        for o in r.outcomes:
            if isinstance(o.result, Placement) and o.result.relation:
                rel.setdefault(o.key, [None] * len(results))[i] = o.result.relation
            elif isinstance(o.result, Refusal) and o.result.code.new_definition:
                rel.setdefault(o.key, [None] * len(results))
                if o.result.code == Reason.NEIGHBOURS_UNDECIDED:
                    offered.setdefault(o.key, []).extend(o.result.candidates)
    return rel, offered


def _common_patch(series: Series, results: list[PortResult], least: int = 1) -> tuple[str | None, str, int]:
    """The first of each tree's ported patch, with 3 then fewer context lines (context that drifted between the
    trees is what keeps one patch from applying to both), that `git apply --check`s on every tree; and the
    number of context lines it needed."""
    reasons = []
    for context in range(3, least - 1, -1):
        for base in results:
            text = format_series(series, base, context)
            failures = []
            for other in results:
                if other is base:
                    continue
                ok, err = applies_cleanly(text, other)
                if not ok:
                    failures.append(f"{other.tree.name}: {err}")
            if not failures:
                return text, "", context
            reasons.append(f"the patch ported to {base.tree.name} does not apply to " + "; ".join(failures))
    return None, reasons[0] if reasons else "no result", 0


def plan(series: Series, trees: list[Tree], strict: bool = False) -> Plan:
    results = [port(series, t, strict=strict) for t in trees]
    if len(trees) == 1:
        r = results[0]
        return Plan(results, format_series(series, r) if r.ok else None,
                    "" if r.ok else "some hunks were refused")
    pl = Plan(results)
    if not all(r.ok for r in results):
        pl.common_reason = "some hunks were refused in " + ", ".join(r.tree.name for r in results if not r.ok)
    rels, offered = _relations(results)
    agree = all(len(set(v)) == 1 and None not in v for v in rels.values())
    if all(r.ok for r in results) and agree:
        pl.common_patch, pl.common_reason, _ = _common_patch(series, results)
        if pl.common_patch:
            return pl
    # Try one relation per new definition, the same in every tree.
    for key, per_tree in rels.items():
        options = []
        for v in per_tree:
            if v and v != "as in the patch" and v not in options:
                options.append(v)
        for v in offered.get(key, []):
            if v not in options:
                options.append(v)
        names = [v.split(" ", 1)[1] for v in options]
        for n in names:
            for cand in (f"below {n}", f"above {n}"):
                if cand not in options:
                    options.append(cand)
        # Every slot whose one patch applies to every tree with porter's own result qualifies; the one that
        # needs the most context lines wins (more unchanged text around it in every tree: the same place in
        # each), the first offered among equals.
        best = None
        for relation in options:
            forced = {key: relation}
            trial = [port(series, t, forced=forced, strict=strict) for t in trees]
            if not all(r.ok for r in trial):
                continue
            text, reason, context = _common_patch(series, trial, least=best[0] + 1 if best else 1)
            if text:
                best = (context, relation, trial, text)
                if context == 3:
                    break
            elif not best:
                pl.notes.append(f"{key[1]} hunk {key[2]}: {relation} is valid in every tree but {reason}")
        if best:
            context, relation, trial, text = best
            pl.results, pl.common_patch, pl.common_reason = trial, text, ""
            pl.notes.append(f"{key[1]} hunk {key[2]}: new definition placed {relation} in every tree so that "
                            f"one patch applies to {', '.join(t.name for t in trees)} ({context} context lines)")
            return pl
    if pl.common_patch is None and not pl.common_reason:
        pl.common_reason = "no placement gives one patch that applies to every tree"
    return pl
