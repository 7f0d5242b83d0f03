"""The placement ladder: the ordered rungs, and the loop that climbs them for one hunk.

Read top to bottom, this is porter's placement policy (DESIGN.md, "Placement ladder"):
(a) the hunk's own context decides where it anchors uniquely (CONTEXT_RUNGS, run on the whole file and again
    inside one function by the function rungs) — at the stated line first; found anywhere else, only after
(b) the repository's history, when the patch's pre-image blob is available (3-way), has had its say: a
    placement that history puts elsewhere is refused (history-disagrees);
(c) the C structure — the enclosing function, wherever it moved or however it was renamed, and the
    neighbours of a new definition — only when context and history do not decide;
(d) otherwise refuse, naming the candidates.
Every placement, from any rung, then passes the guards (guards.py: the function and the #if nesting the
pre-image blob gives the change) and git's start/end-of-file rule.
Each rung module's docstring states why a placement it makes is safe.

A context rung returns a Placement, a Refusal or None (did not apply / found nothing); within the context
group the first answer wins (a refusal there is an ambiguity that reduced context can only make worse). A
ladder rung's Refusal is kept and the climb goes on, unless the rung marks it final (it settled the
question); the refusal reported is the most telling one: an ambiguity, else the last one given.
"""

from __future__ import annotations

from porter.place import guards
from porter.place.already_applied import AlreadyApplied, AlreadyDefined
from porter.place.codes import Reason, Rung
from porter.place.context import HunkContext
from porter.place.exact import Exact
from porter.place.function_anchor import FunctionAnchor
from porter.place.fuzz import ChangedLine, DeletedContext, EdgeFuzz, RemovedLines
from porter.place.nesting import PreprocessorGap
from porter.place.new_declaration import NewDeclaration
from porter.place.new_definition import NewDefinition
from porter.place.renamed import Renamed
from porter.place.result import Placement, Refusal, refuse
from porter.place.search import Search, must_end_at_eof, must_start_at_bof
from porter.place.threeway import ThreeWay
from porter.place.tree_search import TreeSearch
from porter.place.whitespace import Whitespace

# (a) The hunk's own context, most evidence first.
CONTEXT_RUNGS = [
    Exact(),  # exact.py: the pre-image at the stated line or, unique, at an offset
    AlreadyApplied(),  # already_applied.py: the post-image where the pre-image would be
    EdgeFuzz(),  # fuzz.py: up to 3 edge lines dropped, the rest unique
    ChangedLine(),  # fuzz.py: one context line edited in place, the rest where it was
    Whitespace(),  # whitespace.py: the pre-image ignoring whitespace
    AlreadyApplied(whitespace=True),
    EdgeFuzz(whitespace=True),
    DeletedContext(),  # fuzz.py: an interior context line deleted in the target
    RemovedLines(),  # fuzz.py: the removed lines, once, as the anchor
]


class ContextRungs:
    """(a) on the patch's own file, as one ladder rung."""

    rung = Rung.EXACT

    def __init__(self, rungs: list | None = None):
        self.rungs = rungs  # None: all of CONTEXT_RUNGS

    def applies(self, ctx: HunkContext) -> bool:
        return ctx.state.exists and not (ctx.forced and ctx.whole_definition)

    def place(self, ctx: HunkContext):
        res = place_by_context(ctx.file_search(), self.rungs)
        if isinstance(res, Placement):
            if ctx.whole_definition and res.rung != Rung.ALREADY_APPLIED:
                res.relation = "as in the patch"
        return res


HISTORY_NEAR = 3  # lines between where the 3-way merge landed and a placement that still count as one place

# (b) history: the 3-way merge from the pre-image blob (threeway.py), after the hunk's own context.
THREE_WAY = ThreeWay()
# The tree as evidence: the pre-image found once elsewhere in the tree, for hunks that name no function.
TREE_SEARCH = TreeSearch()

# The whole ladder, in order. None entries are empty slots.
LADDER = [
    AlreadyDefined(),  # already_applied.py: a new definition the target already has (same body) or refuse
    # (a) the whole pre-image at the stated line, or already applied: the hunk's own text decides.
    ContextRungs([Exact(stated_only=True), AlreadyApplied()]),
    # (b) before the pre-image found elsewhere and before any reduced context: the pre-image blob's history
    # says where the code went, where an offset match may be a copy beside the edited original and fuzz would
    # guess (measured on the porting benchmark and the drift fuzzer: git apply --3way never took a copy).
    THREE_WAY,
    ContextRungs(),  # (a) with reduced context, whitespace-insensitive, deleted context, removed lines
    PreprocessorGap(),  # nesting.py: (a) context split by #if lines: the side with the pre-image's nesting
    NewDefinition(),  # new_definition.py: (c) by its neighbours, only when its context anchors nowhere
    NewDeclaration(),  # new_declaration.py: (c) new prototypes below the declaration the patch put them under
    FunctionAnchor(),  # function_anchor.py: (c) inside the function it changes, here or where it moved
    TREE_SEARCH,
    Renamed(),  # renamed.py: (c) inside the function it was renamed to
]


def place_by_context(search: Search, rungs: list | None = None) -> Placement | Refusal:
    """Climb the context rungs on one range of one file: the first answer wins."""
    for rung in CONTEXT_RUNGS if rungs is None else rungs:
        res = rung.place(search)
        if res is not None:
            return res
    return refuse(search.path, Reason.CONTEXT_NOT_FOUND)


def climb(ctx: HunkContext) -> Placement | Refusal:
    """Place one hunk: the first rung that places it wins; otherwise the most telling refusal."""
    refusals: list[Refusal] = []
    if not ctx.state.exists:
        refusals.append(refuse(ctx.state.path, Reason.FILE_MISSING, path=ctx.state.path, tree=ctx.tree.name))
    for rung in LADDER:
        if rung is None or (hasattr(rung, "applies") and not rung.applies(ctx)):
            continue
        res = rung.place(ctx)
        if res is None:
            continue
        if isinstance(res, Placement):
            refusal = _edge_rule(ctx, res) or _history_disagrees(ctx, refusals, res) or guards.check(ctx, res)
            if refusal is None:
                return res
            res = refusal
        refusals.append(res)
        if res.final:
            break
    return _most_telling(refusals, ctx)


def _history_disagrees(ctx: HunkContext, refusals: list[Refusal], pl: Placement) -> Refusal | None:
    """The 3-way merge from the pre-image blob conflicted where the code the hunk changes is still there,
    edited around the change, or merged cleanly at a place its text did not anchor uniquely; and a later rung
    places the hunk where the placed window does not even meet that place: history says one place, text
    another (a copy of the context beside the original the target edited). Refuse, naming both. Only the
    conflict that holds the hunk's own change counts: one elsewhere in the file (a 5.10 scheduler with 6.1's
    blob) says nothing about where this hunk goes."""
    for r in refusals:
        if r.code not in (Reason.THREE_WAY_CONFLICT, Reason.THREE_WAY_OFF_CONTEXT) or r.file != pl.file or \
                "at" not in r.params or pl.already_applied:
            continue
        # apart: the placed window (context and change) and the conflict's lines do not even meet
        if pl.end + HISTORY_NEAR <= r.params["at"] or pl.start >= r.params["at_end"] + HISTORY_NEAR:
            here = f"{pl.file}:{pl.start + 1}"
            return refuse(pl.file, Reason.HISTORY_DISAGREES, [r.params["where"], here], rung=pl.rung,
                          history=r.params["where"], where=here)
    return None


def _edge_rule(ctx: HunkContext, pl: Placement) -> Refusal | None:
    """git's rule for every rung: no trailing context -> only at the end of the file; no leading context on a
    hunk that starts at line 1 -> only at the start."""
    lines = ctx.files.state(pl.file).lines
    if must_end_at_eof(ctx.hunk) and pl.end != len(lines):
        return refuse(pl.file, Reason.NO_TRAILING_CONTEXT, [f"{pl.file}:{pl.start + 1}"], rung=pl.rung)
    if must_start_at_bof(ctx.hunk) and pl.start != 0:
        return refuse(pl.file, Reason.NO_LEADING_CONTEXT, [f"{pl.file}:{pl.start + 1}"], rung=pl.rung)
    return None


def _most_telling(refusals: list[Refusal], ctx: HunkContext) -> Refusal:
    if not refusals:
        return refuse(ctx.state.path, Reason.CONTEXT_NOT_FOUND)
    # A new definition no single tree can place is the planner's to decide: keep that code visible.
    if ctx.whole_definition:
        for r in reversed(refusals):
            if r.code.new_definition:
                return r
    for r in refusals:
        if r.code.ambiguous:
            return r
    return refusals[-1]
