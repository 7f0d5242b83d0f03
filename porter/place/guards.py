"""Guards: what every placement must keep, whichever rung made it.

A rung answers "where does this hunk's text fit"; a guard asks whether that place keeps what the pre-image blob
(the file the patch was written against) says about the change. They run in the ladder after a rung places a
hunk, on the patch's own file, and turn the placement into a refusal when the answer is no. Without the blob
the nesting guard has nothing to compare with and stays silent.

0. Not the patch's own lines. A later hunk's context matched in lines an earlier hunk of the same file patch
   just wrote is the patch matching itself, never the hunk's place (git apply's rule).
1. Same function. The blob says the hunk changes function F (without the blob: the function the hunk itself
   names, and only a placement inside another function counts). If the target still has F, a placement
   elsewhere matched F's text in a copy of it (twins, sibling drivers, the same lines under `#ifdef`):
   refuse. The same for "already applied": the post-image in a twin says nothing about F. A rename is the
   renamed rung's own claim, and a new definition sits in no function.
2. Same `#if` nesting. The conditionals around the change decide which configurations compile it. A placement
   made with less than the hunk's whole pre-image (fuzz, whitespace, 3-way, neighbours, nesting) must put the
   change under the same conditionals as in the blob; otherwise the text matched the other branch of a
   `#ifdef`/`#else`, or the target dropped a conditional, and only a person can say what the change should do
   now. An exact or offset match of the whole pre-image is exempt: the hunk's own text decides there, as it
   does for `git apply`. Without the blob, a new definition must not be placed where a conditional opens or
   closes between it and its neighbouring definitions: inside or outside it would be a guess.
"""

from __future__ import annotations

from bisect import bisect_left

from porter.place.codes import Reason, Rung
from porter.place.context import HunkContext
from porter.place.nesting import directive, nesting_at
from porter.place.result import Placement, Refusal, refuse
from porter.place.text import changed_span, find_windows, norm_ws
from porter.place.threeway import rebase_blob

# Rungs whose placement holds the hunk's whole pre-image as written: the text decides, not the guard.
WHOLE_PRE_IMAGE = frozenset({Rung.EXACT, Rung.OFFSET, Rung.ALREADY_APPLIED})


def check(ctx: HunkContext, pl: Placement) -> Refusal | None:
    """The first guard the placement fails, as a refusal; None when it keeps function and nesting."""
    refusal = own_lines(ctx, pl)
    if refusal is not None or pl.file != ctx.state.path:
        return refusal
    for guard in (same_function, same_nesting):
        refusal = guard(ctx, pl)
        if refusal is not None:
            return refusal
    return None


def own_lines(ctx: HunkContext, pl: Placement) -> Refusal | None:
    """The hunk's pre-image never includes lines the same file patch's earlier hunks wrote: a match there is
    the patch matching itself (git apply refuses it too, unless --allow-overlap)."""
    fresh = getattr(ctx.files, "fresh", {}).get(pl.file, [])
    hit = written_within(fresh, pl.start, pl.end)
    claimed = _claimed_by_earlier_hunk(ctx)
    if claimed is not None and not (pl.already_applied and pl.length == 0):
        # The patch itself says this hunk's pre-image shares lines with an earlier hunk's: whatever a rung
        # dropped or matched, part of it is what that hunk rewrote (git apply refuses such a patch too).
        return refuse(pl.file, Reason.HUNKS_OVERLAP, rung=pl.rung, lines=f"{claimed[0]}-{claimed[1]}")
    if hit is None or (pl.already_applied and pl.length == 0):
        return None
    return refuse(pl.file, Reason.OVERLAPS_EARLIER_HUNK, [f"{pl.file}:{pl.start + 1}"], rung=pl.rung,
                  where=f"{pl.file}:{pl.start + 1}", lines=f"{hit[0] + 1}-{hit[1]}")


def written_within(fresh: list[tuple[int, int, str]], start: int, end: int) -> tuple[int, int] | None:
    """A range of `fresh` (disjoint, sorted by start: porting._mark_fresh) that meets [start, end)."""
    k = bisect_left(fresh, (end,))
    while k > 0 and fresh[k - 1][1] > start:
        a, b, _origin = fresh[k - 1]
        if a < end:
            return a, b
        k -= 1
    return None


def _claimed_by_earlier_hunk(ctx: HunkContext) -> tuple[int, int] | None:
    """The old-file lines (1-based, inclusive) this hunk shares with an earlier hunk of its file section: by
    their @@ numbers, and with the same text there in both (hand-edited numbers alone prove nothing)."""
    cache = getattr(ctx.files, "overlap_claims", None)
    if cache is None:
        return section_overlaps(ctx.fp.hunks).get(id(ctx.hunk))
    if id(ctx.fp) not in cache:
        cache[id(ctx.fp)] = section_overlaps(ctx.fp.hunks)
    return cache[id(ctx.fp)].get(id(ctx.hunk))


def section_overlaps(hunks: list) -> dict[int, tuple[int, int]]:
    """id(hunk) -> the old lines it shares with a hunk before it in the section, for every such hunk. One
    sweep in @@ order (a hunk can only share lines with those whose ranges are still open), not a scan of
    every earlier hunk per hunk: a 5,000-hunk file stays linear."""
    claims: dict[int, tuple[int, int]] = {}
    order = sorted(range(len(hunks)), key=lambda i: hunks[i].old_start)
    open_: list[int] = []
    for i in order:
        h = hunks[i]
        open_ = [j for j in open_ if hunks[j].old_start + hunks[j].old_len > h.old_start]
        for j in open_:
            first, later = (hunks[j], h) if j < i else (h, hunks[j])
            a = max(first.old_start, later.old_start)
            b = min(first.old_start + first.old_len, later.old_start + later.old_len)
            if first.old_len and later.old_len and a < b and id(later) not in claims and \
                    first.old_lines[a - first.old_start:b - first.old_start] == \
                    later.old_lines[a - later.old_start:b - later.old_start]:
                claims[id(later)] = (a, b - 1)
        if h.old_len:
            open_.append(i)
    return claims


def same_function(ctx: HunkContext, pl: Placement) -> Refusal | None:
    if ctx.whole_definition or pl.rung == Rung.RENAMED:
        return None
    if ctx.outside_changed_function(pl.start, pl.length):
        return refuse(pl.file, Reason.OUTSIDE_FUNCTION, rung=pl.rung, where=f"{pl.file}:{pl.start + 1}")
    return None


def same_nesting(ctx: HunkContext, pl: Placement) -> Refusal | None:
    if pl.rung in WHOLE_PRE_IMAGE:
        return None
    hunk = ctx.hunk
    located = blob_position(ctx) if ctx.old_source is not None else None
    if located is None:
        # No blob (or none that holds the hunk's pre-image): a C definition placed by its neighbours, or any
        # reduced-context line of Kconfig or Make (whose entries are all "definitions"), must not sit where a
        # conditional block opens or closes beside it.
        placed_by_neighbours = ctx.whole_definition or pl.rung == Rung.NEW_DECLARATION
        return conditional_boundary(ctx, pl) if placed_by_neighbours or not pl.file.endswith((".c", ".h")) \
            else None
    blob, at = located
    want = nesting_at(blob, at + hunk.leading_context, pl.file)
    change = first_change(ctx.state.lines, pl)
    have = nesting_at(ctx.state.lines, change, pl.file)
    if have == want or _function_kept_its_inner_nesting(ctx, change):
        return None
    return refuse(pl.file, Reason.NESTING_CHANGED, [f"{pl.file}:{pl.start + 1}"], rung=pl.rung,
                  where=f"{pl.file}:{pl.start + 1}", want=" / ".join(want) or "none",
                  have=" / ".join(have) or "none")


def blob_position(ctx: HunkContext) -> tuple[list[str], int] | None:
    """The pre-image blob (with the file patch's earlier hunks applied) and where the hunk starts in it. When
    the @@ numbers are off or a mailer mangled whitespace, the hunk's pre-image found once in the raw blob
    still says where; found nowhere or twice, the blob says nothing (None), never "no conditional there"."""
    hunk, hunks = ctx.hunk, ctx.fp.hunks
    earlier = hunks[:next((i for i, h in enumerate(hunks) if h is hunk), 0)]
    rebased = rebase_blob(ctx.old_lines, earlier, hunk)
    if rebased is not None:
        return rebased
    blob, pre = ctx.old_lines, hunk.old_lines
    for found in (find_windows(blob, pre), find_windows([norm_ws(x) for x in blob], [norm_ws(x) for x in pre])):
        if found:
            return (blob, found[0]) if len(found) == 1 else None
    return None


def _function_kept_its_inner_nesting(ctx: HunkContext, change: int) -> bool:
    """The conditional around the whole function changed, not the one around the change: the blob and the
    target each define the function once (no #if twins to choose between), the change sits in it in both,
    and the conditionals opened inside its body down to the change are the same. The change follows its
    function (6.1's `#ifdef CONFIG_SMP` around check_preempt_equal_dl() is gone in 7.2: SMP is always on)."""
    hunk, model = ctx.hunk, ctx.old_model
    at_old = hunk.old_start - 1 + hunk.leading_context
    old = model.enclosing(at_old + 1) if model is not None else None
    if old is None or old.kind != "function" or not old.start_line - 1 < at_old < old.end_line:
        return False
    new = ctx.state.enclosing(change + 1)
    if new is None or new.kind != "function" or new.name != old.name or not new.start_line - 1 < change:
        return False
    if len(ctx.function_defs(ctx.state, old.name)) != 1 or \
            sum(1 for d in model.functions() if d.name == old.name) != 1:
        return False
    path, blob, lines = ctx.state.path, ctx.old_lines, ctx.state.lines
    outer_old, outer_new = nesting_at(blob, old.start_line - 1, path), nesting_at(lines, new.start_line - 1, path)
    want, have = nesting_at(blob, at_old, path), nesting_at(lines, change, path)
    return want[:len(outer_old)] == outer_old and have[:len(outer_new)] == outer_new and \
        want[len(outer_old):] == have[len(outer_new):]


def first_change(lines: list[str], pl: Placement) -> int:
    """The target line where the placed change begins: the first line where the replaced lines and their
    replacement part (the leading context the placement kept, and any lines it kept around the change)."""
    return pl.start + changed_span(lines[pl.start:pl.end], pl.replacement)[0]


def conditional_boundary(ctx: HunkContext, pl: Placement) -> Refusal | None:
    """Without the blob, a new definition placed where a conditional opens or closes between it and the code
    next to it (the nearest code line above and below; the file's edge where there is none): inside or
    outside `#ifdef CONFIG_X` is a guess (the one-sided fuzz and the planner's slots would otherwise make
    it). An include guard around both is no boundary."""
    lines = ctx.state.lines
    at = first_change(lines, pl)
    path = pl.file
    here = nesting_at(lines, at, path)
    above = next((i for i in range(at - 1, -1, -1) if _is_code(lines[i], path)), None)
    below = next((i for i in range(at, len(lines)) if _is_code(lines[i], path)), None)
    sides = (nesting_at(lines, above, path) if above is not None else [],
             nesting_at(lines, below, path) if below is not None else nesting_at(lines, len(lines), path))
    other = next((side for side in sides if side != here), None)
    if other is None:
        return None
    return refuse(pl.file, Reason.NESTING_UNKNOWN, [f"{pl.file}:{pl.start + 1}"], rung=pl.rung,
                  where=f"{pl.file}:{pl.start + 1}", have=" / ".join(here) or "none",
                  other=" / ".join(other) or "none")


def _is_code(line: str, path: str) -> bool:
    """A line of code (a declaration, a statement, `#include`, a Kconfig entry), not blank, a comment or a
    conditional."""
    text = line.strip()
    comment = ("#",) if not path.endswith((".c", ".h")) else ("/*", "*", "//")
    return bool(text) and not text.startswith(comment) and directive(line, path) is None
