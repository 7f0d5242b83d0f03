"""Rung 5: the function the hunk changes, found in the target — in its file, or wherever it moved.

Principle: a hunk changes one function; its name (from the pre-image blob, from a definition inside the hunk,
or git's @@ section) is evidence the text around the change cannot give when the file drifted. Inside that
one function, a shorter context is still unique enough to trust, so the context rungs run again on the
function's range, with deeper edge fuzz. A name found in the tree settles the question: if the hunk does not
fit there, it is refused, not tried elsewhere.

One shape needs no context at all: lines added right after the function's closing brace (the pre-image blob
says the line before them ends the function; without it, git's @@ section names the function and the last
leading line is a brace in column 0) — `EXPORT_SYMBOL_GPL(can_nice);` after can_nice(). They belong after
that function's end wherever it is now, whatever its body and its next neighbour became; unless the target
already has one of those lines (an export twice is an error), which is refused. Nothing in such a hunk tells
one function of that name from another, so in another file a definition is taken only when the pre-image blob
shows it is the same function (the rename scorer's threshold); a static namesake elsewhere is refused.
"""

from __future__ import annotations

from porter import cmodel
from porter.patch import Hunk
from porter.place.codes import Reason, Rung
from porter.place.context import HunkContext
from porter.place.result import Placement, Refusal, refuse
from porter.place.search import Search
from porter.place.similarity import RENAME_MIN_SCORE, rank_functions
from porter.place.text import (
    MAX_FUZZ,
    build_replacement,
    find_windows,
    git_position,
    has_unique_anchor,
    is_single_insertion,
)
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
        state = ctx.state
        for name in ctx.names:
            here = [(state.path, d) for d in ctx.function_defs(state, name)]
            where = here or self._elsewhere(ctx, name, near=state.path)
            if not where:
                continue
            placed, refusals = self._try(ctx, name, where)
            if not placed and not here and not any(r.code.ambiguous for r in refusals):
                # Nothing in the nearest directories took it: a static namesake next door must not hide the
                # function that moved further away, so the whole tree is asked (only then: it costs a tree grep).
                wider = [w for w in self._elsewhere(ctx, name, near=None) if w[0] not in {p for p, _ in where}]
                if wider:
                    more_placed, more_refusals = self._try(ctx, name, wider)
                    placed, refusals, where = more_placed, refusals + more_refusals, where + wider
            if len(placed) == 1:
                return placed[0]
            if len(placed) > 1:
                return refuse(state.path, Reason.AMBIGUOUS_FUNCTION, [f"{p.file}:{p.start + 1}" for p in placed],
                              rung=self.rung, final=True, name=name, count=len(placed))
            first = refusals[0]
            told = [r for r in refusals if r.code in (Reason.SPLIT_AFTER_FUNCTION, Reason.PARTLY_APPLIED,
                                                   Reason.NOT_SAME_FUNCTION)]
            if told:
                return told[0]  # after_end's own reason says more than "not found"
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

    @staticmethod
    def _elsewhere(ctx: HunkContext, name: str, near: str | None) -> list:
        """Definitions of `name` in other files (nearest directories first when `near` is given), with line
        numbers from the current states: earlier hunks may have shifted them."""
        own = ctx.state.path
        paths = sorted({p for p, _ in ctx.files.definitions(name, near) if p != own})
        return [(p, d) for p in paths for d in ctx.function_defs(ctx.files.state(p), name)]

    def _try(self, ctx: HunkContext, name: str, where: list) -> tuple[list, list]:
        state, hunk = ctx.state, ctx.hunk
        placed, refusals = [], []
        for path, d in where:
            target = ctx.files.state(path)
            moved = path != state.path
            evidence = (f"{name}() moved: {state.path} -> {path}:{d.start_line}" if moved
                        else f"inside {name}() at {path}:{d.start_line}")
            res = align_in_function(hunk, target, d, self.rung, evidence, 0 if moved else ctx.expected)
            if isinstance(res, Refusal) and not res.code.ambiguous and adds_after_end(ctx, name):
                res = after_end(hunk, target, d, self.rung, evidence) if not moved or \
                same_function(ctx, name, target, d) else refuse(path, Reason.NOT_SAME_FUNCTION, rung=self.rung,
                                                                name=name, where=f"{path}:{d.start_line}")
            if isinstance(res, Placement):
                if moved:
                    res.notes.append(f"moved from {state.path}")
                placed.append(res)
            else:
                refusals.append(res)
        return placed, refusals



def same_function(ctx: HunkContext, name: str, state: FileState, fn: cmodel.Definition) -> bool:
    """A definition of `name` in another file is the function the hunk follows only if it is that function:
    with the pre-image blob, its body must score as the same function under the shared rename scorer (a
    static namesake in another driver does not); without the blob nothing says so, and it is not claimed."""
    old_text = ctx.old_function_text(name)
    if old_text is None:
        return False
    src = "\n".join(state.lines).encode("utf-8", "surrogateescape")
    ranked = rank_functions(old_text, [(state.path, src, fn)], limit=1)
    return bool(ranked) and ranked[0][0] >= RENAME_MIN_SCORE


def adds_after_end(ctx: HunkContext, name: str) -> bool:
    """The hunk only adds one block of lines, right after the closing brace of function `name`."""
    hunk = ctx.hunk
    lead = hunk.leading_context
    if not lead or not is_single_insertion(hunk):
        return False
    pre = hunk.old_lines
    if pre[lead - 1].rstrip() != "}" or "}" in (x.rstrip() for x in pre[:lead - 1]):
        return False
    brace_line = hunk.old_start + lead - 1  # 1-based, in the pre-image
    if ctx.old_model is not None:
        d = ctx.old_model.enclosing(brace_line)
        return d is not None and d.kind == "function" and d.name == name and d.end_line == brace_line
    return hunk.section_function() == name


def after_end(hunk: Hunk, state: FileState, fn: cmodel.Definition, rung: Rung, evidence: str) -> Placement | Refusal:
    """Insert the hunk's added lines right after `fn`'s closing brace in `state`."""
    at = fn.end_line  # 0-based index of the line after the brace
    added = hunk.added
    if state.lines[at:at + len(added)] == added:
        return Placement(state.path, Rung.ALREADY_APPLIED, at, len(added), list(added),
                         evidence=f"{evidence}; already right after {fn.name}()")
    split = _split_below(hunk, state.lines, at)
    if split is not None:
        return refuse(state.path, Reason.SPLIT_AFTER_FUNCTION, [f"{state.path}:{split + 1}"], rung=rung, final=True,
                      name=fn.name, where=f"{state.path}:{split + 1}")
    present = {x.strip() for x in state.lines}
    twice = [x.strip() for x in added if x.strip() and x.strip() in present]
    if twice:
        return refuse(state.path, Reason.PARTLY_APPLIED, [state.path], rung=rung, final=True,
                      where=f"{state.path}: {twice[0]}")
    return Placement(state.path, rung, at, 0, list(added), offset=at - git_position(hunk), confidence=0.75,
                     evidence=f"{evidence}; right after the end of {fn.name}() (the hunk's leading context ends "
                              "with its closing brace)", notes=["was rung after-function-end"])


def _split_below(hunk: Hunk, lines: list[str], at: int) -> int | None:
    """Where the hunk's trailing context now stands, when the target put code between it and the function's
    end (`at`): then whether the added lines go above or below that code is a guess, however much code it is.
    None otherwise (right after the end, with only blank lines between, or nowhere below: the leading side
    decides)."""
    trail = [x.strip() for x in hunk.old_lines[hunk.leading_context:] if x.strip()]
    if not trail:
        return None
    below = [(i, lines[i].strip()) for i in range(at, len(lines)) if lines[i].strip()]
    for k, (i, _text) in enumerate(below):
        if [t for _, t in below[k:k + len(trail)]] == trail:
            return i if k > 0 else None
    return None
