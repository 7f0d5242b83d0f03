"""Rung 5: the function the hunk changes, found in the target — in its file, or wherever it moved.

Principle: a hunk changes one function; its name (from the pre-image blob, from a definition inside the hunk,
or git's @@ section) is evidence the text around the change cannot give when the file drifted. Inside that
one function, a shorter context is still unique enough to trust, so the context rungs run again on the
function's range, with deeper edge fuzz. A name found in the tree settles the question: if the hunk does not
fit there, it is refused, not tried elsewhere.
"""

from __future__ import annotations

from porter import cmodel
from porter.patch import Hunk
from porter.place.codes import Reason, Rung
from porter.place.context import HunkContext
from porter.place.result import Placement, Refusal, refuse
from porter.place.search import Search
from porter.place.text import MAX_FUZZ, build_replacement, find_windows, has_unique_anchor
from porter.structure import FileState


def _function_search(hunk: Hunk, state: FileState, fn: cmodel.Definition, expected: int) -> Search:
    # The hunk's context may reach above the signature and below the closing brace.
    lo = max(fn.start_line - 1 - hunk.leading_context, 0)
    hi = min(fn.end_line + len(hunk.old_lines), len(state.lines))
    return Search(hunk, state.lines, state.path, expected, lo=lo, hi=hi)


def context_in_function(hunk: Hunk, state: FileState, fn: cmodel.Definition, expected: int) -> Placement | Refusal:
    """The context rungs inside `fn` only, with their own limits (no deep fuzz)."""
    from porter.place.ladder import place_by_context  # the ladder holds the context rungs' order

    return place_by_context(_function_search(hunk, state, fn, expected))


def align_in_function(hunk: Hunk, state: FileState, fn: cmodel.Definition, rung: Rung, evidence: str,
                      expected: int) -> Placement | Refusal:
    """Place the hunk inside `fn` (line range), allowing as much edge fuzz as the hunk has context."""
    from porter.place.ladder import place_by_context  # the ladder holds the context rungs' order

    search = _function_search(hunk, state, fn, expected)
    pl = place_by_context(search)
    if isinstance(pl, Refusal):
        pl = _deep_fuzz(search)
    if isinstance(pl, Placement) and pl.rung != Rung.ALREADY_APPLIED:
        pl.notes.append(f"was rung {pl.rung}")
        pl.evidence = f"{evidence}; {pl.evidence}"
        pl.rung = rung
        pl.confidence = min(pl.confidence, 0.85)
    elif isinstance(pl, Placement):
        pl.evidence = f"{evidence}; {pl.evidence}"
    return pl


def _deep_fuzz(s: Search) -> Placement | Refusal:
    """Within one function: drop edge context beyond MAX_FUZZ, keeping at least one non-blank line next to
    every change, whitespace-insensitive; the match must be unique in the function."""
    pre, n, lead, trail = s.pre, len(s.pre), s.lead, s.trail
    for fuzz in range(MAX_FUZZ + 1, max(lead, trail) + 1):
        found = {}
        for dl in range(0, min(fuzz, lead) + 1):
            for dt in range(0, min(fuzz, trail) + 1):
                # One side may lose all its context, never both: the change stays anchored on the other.
                if max(dl, dt) != fuzz or (lead and trail and dl >= lead and dt >= trail):
                    continue
                core = s.npre[dl:n - dt]
                if sum(1 for c in core if c) < 2:
                    continue
                for pos in find_windows(s.ntarget, core, s.lo, s.hi):
                    if (s.at_end and pos + len(core) + dt != len(s.lines)) or (s.at_start and pos - dl != 0):
                        continue
                    if has_unique_anchor(s.lines, pre, pos - dl, (dl, dt), s.lo, s.hi):
                        found.setdefault(pos - dl, (dl, dt))
        if len(found) == 1:
            pick, (dl, dt) = next(iter(found.items()))
            mapping = [None if (i < dl or i >= n - dt) else pick + i for i in range(n)]
            start, length, repl = build_replacement(s.hunk, s.lines, mapping, s.hunk.mangled)
            return Placement(s.path, Rung.FUZZ, start, length, repl, confidence=0.7,
                             evidence=f"fuzz {fuzz} inside the function: {dl} leading / {dt} trailing lines ignored")
        if len(found) > 1:
            return refuse(s.path, Reason.AMBIGUOUS_IN_FUNCTION, s.where(sorted(found)), rung=Rung.FUZZ,
                          count=len(found))
    return refuse(s.path, Reason.CONTEXT_NOT_FOUND, rung=Rung.FUZZ)


class FunctionAnchor:
    rung = Rung.FUNCTION_ANCHOR

    def applies(self, ctx: HunkContext) -> bool:
        return not ctx.whole_definition or not ctx.state.exists

    def place(self, ctx: HunkContext):
        state, hunk = ctx.state, ctx.hunk
        for name in ctx.names:
            here = [(state.path, d) for d in ctx.function_defs(state, name)]
            paths = sorted({p for p, _ in ctx.files.definitions(name, state.path) if p != state.path})
            # Line numbers come from the current state: earlier hunks may have shifted them.
            where = here or [(p, d) for p in paths for d in ctx.function_defs(ctx.files.state(p), name)]
            if not where:
                continue
            placed, refusals = [], []
            for path, d in where:
                target = ctx.files.state(path)
                moved = path != state.path
                evidence = (f"{name}() moved: {state.path} -> {path}:{d.start_line}" if moved
                            else f"inside {name}() at {path}:{d.start_line}")
                res = align_in_function(hunk, target, d, self.rung, evidence, 0 if moved else ctx.expected)
                if isinstance(res, Placement):
                    if moved:
                        res.notes.append(f"moved from {state.path}")
                    placed.append(res)
                else:
                    refusals.append(res)
            if len(placed) == 1:
                return placed[0]
            if len(placed) > 1:
                return refuse(state.path, Reason.AMBIGUOUS_FUNCTION, [f"{p.file}:{p.start + 1}" for p in placed],
                              rung=self.rung, final=True, name=name, count=len(placed))
            first = refusals[0]
            sites = ", ".join(f"{p}:{d.start_line}" for p, d in where[:3])
            if first.code.ambiguous:
                first.final = True
                first.candidates = first.candidates or [sites]
                return first
            return refuse(first.file, Reason.NOT_FOUND_IN_FUNCTION, first.candidates, rung=self.rung, final=True,
                          name=name, where=sites)
        if not ctx.names:
            return None
        return refuse(state.path, Reason.FUNCTION_NOT_FOUND, rung=self.rung, name=ctx.names[0], tree=ctx.tree.name)

