"""porter review: where a patch (or series) lands in each target tree, and what it does to the tree's invariants.

A composition of what already exists, computed once and rendered by porter/review_render.py:

* placement: porter.planner.plan over every tree (the same ladder and the same common-patch search as
  `porter apply`), each hunk with its rung, target file:line, the function it lands in (parsed from the
  tree's post-image, so a function that moved or was renamed is named as the target has it), and notes
  (moved from another file, renamed, new definition placed below/above a neighbour);
* invariants: porter.lint over the tree before the series and after each of its patches, in memory (the
  planner's per-commit snapshots laid over the tree), sharing one prefilter index per tree; findings are
  labelled introduced / removed / unchanged per patch and for the whole series, and each rule gets a status;
* optionally porter.verify (`--verify`): build and boot each directory tree before and after the ported patch.

The result is plain data (`Review.to_dict()`), which is also the JSON output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from porter import cmodel
from porter.errors import PorterError
from porter.patch import Series
from porter.place.result import Placement
from porter.place.text import norm_ws
from porter.planner import Plan, plan
from porter.porting import HunkOutcome, PortResult, port
from porter.report import outcome_dict
from porter.structure import is_whole_definition_hunk
from porter.tree import Tree

# Rule status after the series, per tree.
HOLDS, FIXED, PRE_EXISTING, BROKEN, NOT_CHECKED = "holds", "fixed", "pre-existing", "broken", "not checked"


# ---------------------------------------------------------------------------------------------- data

@dataclass
class HunkReview:
    commit: int  # 1-based
    patch_file: str
    number: int
    header: str
    status: str  # placed | already-applied | refused
    section_function: str | None = None  # the function named by the hunk's @@ header (the author's tree)
    target_file: str | None = None
    line: int | None = None  # 1-based, in the final post-image of the tree
    function: str | None = None  # the definition the hunk lands in, in the target tree
    rung: str | None = None
    confidence: float | None = None
    evidence: str = ""
    relation: str = ""  # a new definition: "below memmap_init_zone" (the slot every tree accepted)
    notes: list[str] = field(default_factory=list)  # moved / renamed / relation
    reason: str = ""
    candidates: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class LintDelta:
    """Findings of one patch (or the series) on one tree, matched by rule and key."""

    checked: bool = False
    skipped: str = ""  # why not checked
    introduced: list = field(default_factory=list)  # porter.lint Finding
    removed: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {"checked": self.checked}
        if self.skipped:
            d["skipped"] = self.skipped
        for k in ("introduced", "removed", "unchanged"):
            d[k] = [f.to_dict() for f in getattr(self, k)]
        return d


@dataclass
class RuleStatus:
    id: str
    severity: str
    before: int
    after: int | None
    introduced: int = 0
    removed: int = 0
    status: str = NOT_CHECKED

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class PatchOnTree:
    tree: str
    hunks: list[HunkReview]
    lint: LintDelta

    @property
    def placed(self) -> int:
        return sum(1 for h in self.hunks if h.status != "refused")

    @property
    def ok(self) -> bool:
        return self.placed == len(self.hunks)


@dataclass
class TreeReview:
    name: str
    label: str
    error: str = ""  # the tree could not be reviewed at all (a file the patch changes is missing...)
    patches: list[PatchOnTree] = field(default_factory=list)  # one per commit
    lint: LintDelta = field(default_factory=LintDelta)  # the whole series
    rules: list[RuleStatus] = field(default_factory=list)
    verify: dict | None = None
    seconds: dict = field(default_factory=dict)

    @property
    def hunks(self) -> list[HunkReview]:
        return [h for p in self.patches for h in p.hunks]

    @property
    def refused(self) -> int:
        return sum(1 for h in self.hunks if h.status == "refused")

    @property
    def verdict(self) -> str:
        if self.error or self.refused or self.lint.introduced:
            return "FAIL"
        if self.verify is not None and self.verify.get("verdict") != "PASS":
            return "FAIL"
        return "PASS"

    @property
    def reasons(self) -> list[str]:
        out = []
        if self.error:
            out.append(self.error)
        if self.refused:
            out.append(f"{self.refused} of {len(self.hunks)} hunk{'s' if len(self.hunks) != 1 else ''} refused")
        if self.lint.introduced:
            n = len(self.lint.introduced)
            out.append(f"introduces {n} rule violation{'s' if n != 1 else ''}")
        if self.verify is not None and self.verify.get("verdict") != "PASS":
            out.append(f"verify {self.verify.get('verdict', 'FAIL')}"
                       + (f": {self.verify['error']}" if self.verify.get("error") else ""))
        return out

    def to_dict(self) -> dict:
        return {"tree": self.name, "label": self.label, "verdict": self.verdict, "reasons": self.reasons,
                "error": self.error or None,
                "hunks_placed": len(self.hunks) - self.refused, "hunks": len(self.hunks),
                "lint": self.lint.to_dict(), "rules": [r.to_dict() for r in self.rules],
                "verify": self.verify, "seconds": self.seconds}


@dataclass
class Review:
    source: str
    series: Series
    trees: list[TreeReview]
    common_patch: str | None = None
    common_reason: str = ""
    plan_notes: list[str] = field(default_factory=list)
    rules: list = field(default_factory=list)  # porter.lint Rule
    rules_error: str = ""
    seconds: dict = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "PASS" if self.trees and all(t.verdict == "PASS" for t in self.trees) else "FAIL"

    @property
    def split_files(self) -> list[str]:
        """Hunks that land in different files in different trees: why no single patch can serve them all."""
        where: dict[tuple, list[tuple[str, str]]] = {}
        for t in self.trees:
            for h in t.hunks:
                if h.status != "refused" and h.target_file:
                    where.setdefault((h.commit, h.patch_file, h.number), []).append((t.label, h.target_file))
        out = []
        for (c, path, n), places in where.items():
            if len({f for _, f in places}) > 1:
                label = f"{path} hunk {n}" + (f" of patch {c}" if len(self.series.commits) > 1 else "")
                out.append(f"{label} lands in " + ", ".join(f"{f} ({t})" for t, f in places))
        return out

    def commits(self) -> list[dict]:
        total = len(self.series.commits)
        out = []
        for i, c in enumerate(self.series.commits):
            n, m = c.number if c.number else (i + 1, total)
            out.append({"index": i + 1, "number": f"{n}/{m}", "subject": c.subject, "author": c.author})
        return out

    def to_dict(self) -> dict:
        patches = []
        for i, c in enumerate(self.commits()):
            patches.append(dict(c, trees=[
                {"tree": t.name, "label": t.label, "hunks_placed": t.patches[i].placed,
                 "hunks": len(t.patches[i].hunks), "placements": [h.to_dict() for h in t.patches[i].hunks],
                 "lint": t.patches[i].lint.to_dict()}
                for t in self.trees if i < len(t.patches)]))
        return {
            "tool": "porter review",
            "source": self.source,
            "notes": list(self.series.notes),
            "verdict": self.verdict,
            "common_patch": self.common_patch is not None,
            "common_reason": self.common_reason,
            "common_notes": list(self.plan_notes),
            "split_files": self.split_files,
            "rules": [{"id": r.id, "kind": r.kind, "severity": r.severity} for r in self.rules],
            "patches": patches,
            "trees": [t.to_dict() for t in self.trees],
            "seconds": self.seconds,
        }


# ---------------------------------------------------------------------------------------------- placement

def _focus_indexes(o: HunkOutcome, pl: Placement, limit: int = 6) -> list[int]:
    """Indexes, within the placement's replacement lines, of the first lines the hunk adds (or of where it
    removes lines): where the hunk "lands". Several, because the first added line may sit outside any
    definition (a blank line, an #ifdef above a new function)."""
    repl = pl.replacement
    if not repl:
        return [0]
    found: list[int] = []
    at = 0
    for ln in o.hunk.lines:
        if ln.kind != "+" or not ln.text.strip():
            continue
        want = norm_ws(ln.text)
        for i in range(at, len(repl)):
            if norm_ws(repl[i]) == want:
                found.append(i)
                at = i + 1
                break
        if len(found) >= limit:
            break
    if found:
        return found
    lead = 0
    for ln in o.hunk.lines:
        if ln.kind != " ":
            break
        lead += 1
    return [min(lead, len(repl) - 1)]


def _final_lines(result: PortResult) -> dict[tuple, list[int]]:
    """Outcome key -> 1-based candidate focus lines in the tree's final post-image. Placement.start is where
    the hunk went when it was applied; later hunks above it in the same file shift it (a new definition placed
    below its neighbour is often applied before a hunk higher up in the same file)."""
    regions: dict[str, list[list]] = {}  # file -> [[key, start, length, focus indexes]]
    for o in result.outcomes:
        pl = o.result
        if not isinstance(pl, Placement) or o.number == 0:
            continue
        regs = regions.setdefault(pl.file, [])
        if pl.rung == "already-applied":
            regs.append([o.key, pl.start, pl.length, [0]])
            continue
        delta = len(pl.replacement) - pl.length
        for r in regs:
            if r[1] >= pl.end:
                r[1] += delta
        regs.append([o.key, pl.start, len(pl.replacement), _focus_indexes(o, pl)])
    return {r[0]: [r[1] + f + 1 for f in r[3]] for regs in regions.values() for r in regs}


def hunk_reviews(result: PortResult) -> list[HunkReview]:
    lines = _final_lines(result)
    models: dict[str, cmodel.FileModel | None] = {}

    def model(path: str):
        if path not in models:
            data = result.after.get(path)
            models[path] = cmodel.parse_c(data, path) if data else None
        return models[path]

    out = []
    for o in result.outcomes:
        d = outcome_dict(o)
        h = HunkReview(commit=d["commit"], patch_file=o.patch_file, number=o.number, header=d["header"],
                       status=d["status"], section_function=o.hunk.section_function(), target_file=d["target_file"])
        if isinstance(o.result, Placement):
            pl = o.result
            h.rung, h.confidence, h.evidence, h.relation = pl.rung, d["confidence"], pl.evidence, pl.relation
            focus = lines.get(o.key, [pl.start + 1])
            h.line = focus[0]
            m = model(pl.file) if pl.file.endswith((".c", ".h")) else None
            if m is not None:
                for line in focus:
                    enc = m.enclosing(line)
                    if enc is not None:
                        h.line = line
                        h.function = enc.name if enc.kind == "function" else f"{enc.kind} {enc.name}"
                        break
            h.notes = _notes(o, pl, h)
        else:
            h.reason, h.candidates = o.result.reason, list(o.result.candidates)
        out.append(h)
    return out


def _notes(o: HunkOutcome, pl: Placement, h: HunkReview) -> list[str]:
    notes = []
    if pl.file != o.patch_file:
        notes.append(f"moved: {o.patch_file} -> {pl.file}")
    if pl.rung == "renamed" and h.section_function and h.function and h.section_function != h.function:
        notes.append(f"renamed: {h.section_function}() -> {h.function}()")
    whole_def = is_whole_definition_hunk(o.hunk)
    if whole_def and pl.relation == "as in the patch":
        notes.append("new definition, where the patch puts it")
    if not whole_def and pl.rung != "renamed" and h.section_function and h.function and \
            h.section_function != h.function and " " not in h.function:
        notes.append(f"the patch names {h.section_function}()")
    if pl.relation and pl.relation != "as in the patch":
        was = ""
        if "(was " in pl.evidence:
            was = " " + pl.evidence[pl.evidence.index("(was "):].split(")")[0] + ")"
        notes.append(f"placed {pl.relation}{was}")
    if pl.rung == "already-applied":
        notes.append("already applied")
    if pl.offset and pl.rung in ("offset", "fuzz", "whitespace") and pl.file == o.patch_file:
        pass  # the line number says it; offsets of mangled mail are noise
    return notes


# ---------------------------------------------------------------------------------------------- rules

def _delta(before: list, after: list) -> LintDelta:
    from porter.lint.patchmode import diff_findings

    labelled = diff_findings(before, after)
    d = LintDelta(checked=True)
    for f in labelled:
        getattr(d, f.state).append(f)
    return d


def _rule_status(rules, base: list, final: list | None, delta: LintDelta) -> list[RuleStatus]:
    out = []
    for r in rules:
        b = sum(1 for f in base if f.rule_id == r.id)
        if final is None:
            out.append(RuleStatus(r.id, r.severity, b, None))
            continue
        a = sum(1 for f in final if f.rule_id == r.id)
        intro = sum(1 for f in delta.introduced if f.rule_id == r.id)
        rem = sum(1 for f in delta.removed if f.rule_id == r.id)
        if intro:
            status = BROKEN
        elif a:
            status = PRE_EXISTING
        elif b:
            status = FIXED
        else:
            status = HOLDS
        out.append(RuleStatus(r.id, r.severity, b, a, intro, rem, status))
    return out


def lint_tree_review(tr: TreeReview, result: PortResult, rules, n_commits: int, words=None) -> None:
    """Lint the tree before the series and after each patch (in memory), and fill the per-patch and series
    deltas and the rule statuses. Patches after the first one with a refused hunk are not linted: their
    post-image is not what the author meant."""
    from porter.lint.engine import LintContext, run_rules
    from porter.lint.words import WordIndex

    t0 = time.monotonic()
    words = words or WordIndex(result.tree)
    base = run_rules(LintContext(result.tree, words=words), rules).findings
    prev = base
    last_ok = None
    for k in range(n_commits):
        p = tr.patches[k]
        if not all(pp.ok for pp in tr.patches[:k + 1]):
            p.lint = LintDelta(skipped="hunks refused" if not p.ok else "an earlier patch has refused hunks")
            continue
        snap = result.per_commit[k] if k < len(result.per_commit) else result.after
        # only files the series changed so far: a file porter read but left alone (the hunk went to the file
        # its function moved to) would only cost a rescan
        overlay = {path: data for path, data in snap.items() if result.before.get(path) != data}
        after = run_rules(LintContext(result.tree, overlay=overlay, words=words), rules).findings
        p.lint = _delta(prev, after)
        prev = last_ok = after
    if last_ok is not None and all(p.ok for p in tr.patches):
        tr.lint = _delta(base, last_ok)
        tr.rules = _rule_status(rules, base, last_ok, tr.lint)
    else:
        tr.lint = LintDelta(skipped="hunks refused: the series was not linted as a whole")
        tr.rules = _rule_status(rules, base, None, tr.lint)
    tr.seconds["lint"] = round(time.monotonic() - t0, 2)


# ---------------------------------------------------------------------------------------------- verify

def verify_tree(series: Series, result: PortResult, opts=None, progress=None) -> dict:
    """Build and boot the tree before and after its ported patch (porter verify --tree T --patch P)."""
    if not result.ok:
        return {"verdict": "SKIPPED", "error": "hunks refused: nothing to build"}
    if result.tree.root is None:
        return {"verdict": "SKIPPED", "error": "a git ref: verify builds directory trees only"}
    from porter.verify import report as vreport
    from porter.verify import runner

    opts = opts or runner.Options(modes=["legacy"])
    # The placement review already made (porter's ladder) is what gets built: no second apply by other rules.
    subject = series.commits[0].subject if series.commits else "patch"
    ported = runner.ported_from_result(subject, result)
    try:
        sides = runner.run(tree=result.tree.root, kernel=None, base=None, patch=ported, build_dir=None,
                           opts=opts, progress=progress)
    except PorterError as exc:
        return {"verdict": "ERROR", "error": str(exc)}
    out = {"verdict": vreport.overall(sides), "sides": []}
    for s in sides:
        out["sides"].append({"label": s.label, "verdict": s.verdict,
                             "modes": [runner.mode_summary(s, m) for m in opts.modes]})
    return out


# ---------------------------------------------------------------------------------------------- review

def tree_label(trees: list[Tree]) -> list[str]:
    """Short names for columns: the spec as given when short, else its last path component (unique)."""
    from pathlib import PurePath

    labels = [t.name if len(t.name) <= 24 else PurePath(t.name).name or t.name for t in trees]
    if len(set(labels)) != len(labels):
        labels = [t.name for t in trees]
    return labels


class _PrefilteredTree:
    """A Tree whose whole-word searches (the placement ladder's "where else is this function defined?") go
    through the tree's lint prefilter (porter.lint.words.WordIndex): answers remembered on disk per tree and
    valid while the tree's fingerprint holds, so a second review of the same tree greps nothing. Everything
    else is the tree itself."""

    def __init__(self, tree: Tree, words):
        self._tree = tree
        self._words = words

    def __getattr__(self, name):
        return getattr(self._tree, name)

    def grep_files(self, words: list[str], paths: list[str] | None = None,
                   suffixes: tuple[str, ...] = (".c", ".h"), under: str | None = None, **kw) -> list[str]:
        import re

        if kw or paths or not words or not set(suffixes) <= {".c", ".h"} or \
                not all(re.fullmatch(r"\w+", w) for w in words):
            return self._tree.grep_files(words, paths, suffixes, under=under, **kw) if (under or kw) else \
                self._tree.grep_files(words, paths, suffixes)
        found = set()
        for ps in self._words.files_with(words).values():
            found |= ps
        scope = (under or "").strip("/")
        scope = "" if scope == "." else scope
        return sorted(p for p in found if p.endswith(tuple(suffixes)) and (not scope or p.startswith(scope + "/")))


def _plan_with_errors(series: Series, trees: list[Tree]) -> tuple[Plan, dict[int, str]]:
    """plan() over the trees; a tree where porting raises (a file the patch changes is missing and its
    functions are nowhere) is reported as that tree's error, and the others are still planned together."""
    try:
        return plan(series, trees), {}
    except PorterError:
        pass
    errors: dict[int, str] = {}
    good = []
    for i, t in enumerate(trees):
        try:
            port(series, t)
            good.append(i)
        except PorterError as exc:
            errors[i] = str(exc)
    pl = plan(series, [trees[i] for i in good]) if good else Plan([])
    results: list[PortResult | None] = [None] * len(trees)
    for i, r in zip(good, pl.results):
        results[i] = r
    pl.results = results  # type: ignore[assignment]
    if errors:
        pl.common_patch = None
        pl.common_reason = "not every tree could be reviewed: " + "; ".join(
            f"{trees[i].name}: {e}" for i, e in errors.items())
    return pl, errors


def review(series: Series, trees: list[Tree], rules=None, source: str = "", verify: bool = False,
           verify_opts=None, progress=None) -> Review:
    """The whole review. `rules`: porter.lint Rule list (None or [] skips the invariants)."""
    t0 = time.monotonic()
    words = {}
    if rules:
        from porter.lint.words import WordIndex

        for t in trees:  # each tree's fingerprint (one `find` over a directory) runs while placement works
            words[t.name] = WordIndex(t)
            words[t.name].start()
    if not series.commits or not any(fp.hunks or fp.is_new or fp.is_delete
                                     for c in series.commits for fp in c.files):
        raise PorterError(f"{source or 'input'}: no patch found")
    targets = trees
    if words:
        for t in trees:  # answers from disk are used only once the fingerprint says the tree is unchanged
            words[t.name].fingerprint()
        targets = [_PrefilteredTree(t, words[t.name]) for t in trees]
    pl, errors = _plan_with_errors(series, targets)  # type: ignore[arg-type]
    t_plan = time.monotonic()
    labels = tree_label(trees)
    n = len(series.commits)
    reviews: list[TreeReview] = []
    for i, t in enumerate(trees):
        tr = TreeReview(t.name, labels[i])
        result = pl.results[i]
        if result is None:
            tr.error = errors.get(i, "not reviewed")
            tr.lint = LintDelta(skipped="not reviewed")
            tr.patches = [PatchOnTree(t.name, [], LintDelta(skipped="not reviewed")) for _ in range(n)]
        else:
            hs = hunk_reviews(result)
            tr.patches = [PatchOnTree(t.name, [h for h in hs if h.commit == k + 1], LintDelta()) for k in range(n)]
        reviews.append(tr)

    # one tree after the other: the C parser (tree-sitter) is shared and not thread-safe
    for i, t in enumerate(trees):
        if rules and pl.results[i] is not None:
            lint_tree_review(reviews[i], pl.results[i], rules, n, words.get(t.name))
    if not rules:
        for tr in reviews:
            tr.lint = LintDelta(skipped="no rules")
    t_lint = time.monotonic()
    if verify:
        for i, tr in enumerate(reviews):
            if pl.results[i] is None:
                tr.verify = {"verdict": "SKIPPED", "error": tr.error}
                continue
            tv = time.monotonic()
            tr.verify = verify_tree(series, pl.results[i], verify_opts, progress)
            tr.seconds["verify"] = round(time.monotonic() - tv, 1)
    rv = Review(source, series, reviews, pl.common_patch, pl.common_reason, list(pl.notes), list(rules or []))
    rv.seconds = {"plan": round(t_plan - t0, 2), "lint": round(t_lint - t_plan, 2),
                  "total": round(time.monotonic() - t0, 2)}
    return rv
