"""Rung: 3-way merge from the patch's pre-image blob, the way `git apply --3way` carries a hunk.

Principle. A patch's `index` line names the blob it was written against. When the target's repository holds
that blob, we do not have to guess how the target drifted from it: the diff from the pre-image blob to the
target file says exactly which lines the target changed, and the hunk changes others. `git merge-file` with
ours = the target file, base = the pre-image (with the patch's earlier hunks of this file applied) and
theirs = base + this hunk carries the hunk across that diff. Only a conflict-free merge is used. A conflict
whose target side is a rewrite of the lines the hunk removes (similar text, none of them left) means the
target changed, in place, the very lines the hunk changes: that is for a person, and the refusal is final —
no fuzzier rung may put the hunk somewhere else. A conflict where the target deleted those lines says the
code went away (moved): later rungs with their own evidence (the function, the tree) may still find where.
git's merge is the anchor; porter's own checks stay on top of it:

- the change lands next to the hunk's own text: a real line of its pre-image sits at the merged place, and
  one of those lines is unique in the target file (the line rungs' anchor rule);
- the change lands in the same definition: the function (or other definition) that encloses the change in
  base + hunk encloses it, by name, in the merged file too; a change at file scope keeps its neighbours (the
  definitions just above and below it, by name);
- the change is not split from its context: when the target inserted code between the hunk's context and
  its change, whether the change goes above or below that code is a guess (the line rungs' rule), even
  though the merge picked a side without conflict.

A merge that fails a check is refused (the ladder then tries its other rungs), never half-trusted.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections import Counter
from difflib import SequenceMatcher

from porter import cmodel
from porter.patch import Hunk
from porter.place.codes import Reason, Rung
from porter.place.result import Placement, Refusal, refuse
from porter.place.text import TRIVIAL_LINES, norm_ws, stated_index

C_SUFFIXES = (".c", ".h")
NEAR = 3  # lines around the merged change where the hunk's own text must show
IN_PLACE_SIMILARITY = 0.6  # a conflict whose two sides are this alike is the same code, rewritten


def split_lines(text: str) -> list[str]:
    """Lines without newlines, the final newline dropped (porting's own file model)."""
    text = text.removesuffix("\n")
    return text.split("\n") if text else []


def rebase_blob(base: list[str], earlier: list[Hunk], hunk: Hunk) -> tuple[list[str], int] | None:
    """The pre-image blob with the patch's earlier hunks of this file applied, and where `hunk` starts in it.
    None when the blob does not hold the hunks' pre-images where they say (not the blob they were made on)."""
    lines = list(base)
    delta = 0
    for h in [*earlier, hunk]:
        pos = stated_index(h) + delta
        old = h.old_lines
        if lines[pos:pos + len(old)] != old:
            return None
        if h is hunk:
            return lines, pos
        lines[pos:pos + len(old)] = h.new_lines
        delta += len(h.new_lines) - len(old)
    return None


def merge_file(ours: list[str], base: list[str], theirs: list[str]) -> tuple[list[str] | None, int]:
    """`git merge-file -p` on three line lists: (merged lines, conflicts; conflict blocks are marked with
    `<<<<<<< ours` / `=======` / `>>>>>>> theirs`). (None, -1) if git failed."""
    with tempfile.TemporaryDirectory(prefix="porter-3way-") as tmp:
        names = []
        for label, lines in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = os.path.join(tmp, label)
            with open(path, "wb") as f:
                f.write(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
            names.append(path)
        proc = subprocess.run(["git", "merge-file", "-p", "-q", "-L", "ours", "-L", "base", "-L", "theirs", *names],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, env=dict(os.environ, LC_ALL="C"), check=False)
    if proc.returncode < 0 or proc.returncode > 127:
        return None, -1
    return split_lines(proc.stdout.decode("utf-8", "surrogateescape")), proc.returncode


def conflict_blocks(merged: list[str]) -> list[tuple[int, int, list[str], list[str]]]:
    """Each conflict block in merge_file's output: (start, end) of its target side in the target's lines
    (0-based, end exclusive), and its (ours, theirs) lines."""
    blocks, side, at, start, ours, theirs = [], None, 0, 0, [], []
    for line in merged:
        if line == "<<<<<<< ours":
            side, start, ours, theirs = "ours", at, [], []
        elif line == "=======" and side == "ours":
            side = "theirs"
        elif line == ">>>>>>> theirs" and side == "theirs":
            blocks.append((start, at, ours, theirs))
            side = None
        elif side == "theirs":
            theirs.append(line)
        else:
            if side == "ours":
                ours.append(line)
            at += 1
    return blocks


def conflict_sides(merged: list[str]) -> list[tuple[list[str], list[str]]]:
    """(ours, theirs) lines of each conflict block in merge_file's output."""
    return [(ours, theirs) for _start, _end, ours, theirs in conflict_blocks(merged)]


def still_here(merged: list[str], hunk: Hunk) -> tuple[int, int] | None:
    """The target-side line range (0-based start, end) of the conflict block that holds the hunk's change (its
    added lines, or its removed ones) when the target side is a variant of the patch's side: the code the hunk
    changes is still there, edited (not deleted or moved). A conflict elsewhere in the file says nothing."""
    mine = {norm_ws(x) for x in hunk.added + hunk.removed} - TRIVIAL_LINES
    for start, end, ours, theirs in conflict_blocks(merged):
        a = "\n".join(norm_ws(x) for x in ours if norm_ws(x))
        b = "\n".join(norm_ws(x) for x in theirs if norm_ws(x))
        if a and b and mine & {norm_ws(x) for x in ours + theirs} and \
                SequenceMatcher(None, a, b, autojunk=False).ratio() >= IN_PLACE_SIMILARITY:
            return start, end
    return None


def changed_in_place(blocks: list[tuple[list[str], list[str]]], removed: list[str]) -> bool:
    """The target rewrote the very lines the hunk removes, where they were: its side of a conflict is a
    variant of the hunk's side and holds none of the removed lines. Not when the removed lines are still
    there (only the context around them changed: the removed-lines rung may anchor on them), nor when the
    target deleted them (code that moved away: later rungs may find it elsewhere), nor for a pure insertion
    (the context next to it changed, which the reduced-context rungs judge)."""
    gone = {norm_ws(x) for x in removed} - TRIVIAL_LINES
    if not gone:
        return False
    for ours, theirs in blocks:
        mine = {norm_ws(x) for x in ours}
        a = "\n".join(norm_ws(x) for x in ours if norm_ws(x))
        b = "\n".join(norm_ws(x) for x in theirs if norm_ws(x))
        if a and b and not (gone & mine) and \
                SequenceMatcher(None, a, b, autojunk=False).ratio() >= IN_PLACE_SIMILARITY:
            return True
    return False


def changed_region(old: list[str], new: list[str]) -> tuple[int, int, int]:
    """(start, old end, new end): the one stretch where `new` differs from `old` (common prefix/suffix cut)."""
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old -= 1
        end_new -= 1
    return start, end_old, end_new


def _where(lines: list[str], start: int, end: int, path: str) -> tuple:
    """What a change at lines[start:end] (0-based; the changed lines of a post-image) sits in: ("in", the
    definition enclosing all of it), or ("between", the definition just above, the one just below) for a
    change at file scope. Definitions the change itself adds do not count as neighbours."""
    model = cmodel.parse_c("\n".join(lines).encode("utf-8", "surrogateescape"), path)
    first, last = start + 1, max(end, start + 1)  # 1-based, inclusive
    inside = [d for d in model.definitions if d.start_line <= first and d.end_line >= last
              and not (d.start_line == first and d.end_line == last)]
    if inside:
        d = min(inside, key=lambda d: d.end_byte - d.start_byte)
        return ("in", (d.kind, d.name))
    above = [d for d in model.definitions if d.end_line < first]
    below = [d for d in model.definitions if d.start_line > last]
    up = max(above, key=lambda d: (d.end_line, -d.start_line)) if above else None
    down = min(below, key=lambda d: (d.start_line, -d.end_line)) if below else None
    return ("between", (up.kind, up.name) if up else None, (down.kind, down.name) if down else None)


def _split(hunk: Hunk, ours: list[str], start: int, end: int, window: int = 15) -> bool:
    """True when the target inserted code between the hunk's context and its change: the last real line of
    the leading context (or the first of the trailing context) is not the next real line above (below) the
    merged change, but sits a few lines further away. Above or below that code is then a guess — the rule
    the line rungs apply to split context."""
    pre = hunk.old_lines
    lead = hunk.leading_context
    trail_start = _first_trailing(hunk)
    leading = [norm_ws(x) for x in pre[:lead] if _real(x)]
    trailing = [norm_ws(x) for x in pre[trail_start:] if _real(x)]
    if leading:
        want = leading[-1]
        k = start - 1
        while k >= 0 and not _real(ours[k]):
            k -= 1
        if k >= 0 and norm_ws(ours[k]) != want and want in {norm_ws(t) for t in ours[max(k - window, 0):k]}:
            return True
    if trailing:
        want = trailing[0]
        k = end
        while k < len(ours) and not _real(ours[k]):
            k += 1
        if k < len(ours) and norm_ws(ours[k]) != want and want in {norm_ws(t) for t in ours[k + 1:k + 1 + window]}:
            return True
    return False


def _first_trailing(hunk: Hunk) -> int:
    """Index in the pre-image of the first context line after the hunk's last change."""
    i = last = 0
    for ln in hunk.lines:
        if ln.kind in " -":
            i += 1
        if ln.kind != " ":
            last = i
    return last


def _real(line: str) -> bool:
    return norm_ws(line) not in TRIVIAL_LINES


def _anchored(hunk: Hunk, ours: list[str], start: int, end: int) -> bool:
    """A real line of the hunk's pre-image within NEAR lines of the merged change (or replaced by it), and one of
    those unique in the target file."""
    pre = {norm_ws(x) for x in hunk.old_lines} - TRIVIAL_LINES
    lead = hunk.leading_context
    trail = len(hunk.old_lines) - lead - len(hunk.removed)
    lo, hi = max(start - lead - NEAR, 0), min(end + max(trail, 0) + NEAR, len(ours))
    near = {norm_ws(t) for t in ours[lo:hi]} & pre
    if not near:
        return False
    counts = Counter(norm_ws(t) for t in ours)
    return any(counts[k] == 1 for k in near)


def three_way(hunk: Hunk, earlier: list[Hunk], blob_text: str, blob_id: str, ours: list[str], path: str
              ) -> Placement | Refusal | None:
    """Place `hunk` in `ours` (the target file's current lines) by a 3-way merge from the pre-image blob.

    `earlier`: the patch's hunks of this file before `hunk` (the blob is rebased over them, as git applies the
    whole file's patch to the blob before merging). None: the rung does not apply (blob does not match the
    hunk, git failed, or the merge changes nothing — already there, which the line rungs report)."""
    rebased = rebase_blob(split_lines(blob_text), earlier, hunk)
    if rebased is None:
        return None
    base, pos = rebased
    theirs = base[:pos] + hunk.new_lines + base[pos + len(hunk.old_lines):]
    merged, conflicts = merge_file(ours, base, theirs)
    if merged is None:
        return None
    if conflicts:
        # Rewritten in place: the target changed the very lines the hunk changes, and no other place can be
        # right (final). Deleted there: the code may have moved, for the other rungs to find. Still there,
        # edited around the change: history says here, whatever text matches elsewhere (`at`, for the ladder).
        where = still_here(merged, hunk)
        return refuse(path, Reason.THREE_WAY_CONFLICT, [], Rung.THREE_WAY,
                      final=changed_in_place(conflict_sides(merged), hunk.removed), blob=blob_id,
                      **({"at": where[0], "at_end": where[1], "where": f"{path}:{where[0] + 1}"} if where else {}))
    start, end, new_end = changed_region(ours, merged)
    if start == end == new_end:
        return None
    if not _anchored(hunk, ours, start, end):
        return refuse(path, Reason.THREE_WAY_OFF_CONTEXT, [f"{path}:{start + 1}"], Rung.THREE_WAY, blob=blob_id,
                      where=f"{path}:{start + 1}", at=start, at_end=max(end, start + 1))
    if _split(hunk, ours, start, end):
        return refuse(path, Reason.THREE_WAY_SPLIT, [f"{path}:{start + 1}"], Rung.THREE_WAY, blob=blob_id,
                      where=f"{path}:{start + 1}")
    t_start, _, t_end = changed_region(base, theirs)
    if path.endswith(C_SUFFIXES):
        want = _where(theirs, t_start, t_end, path)
        got = _where(merged, start, new_end, path)
        if want != got:
            return refuse(path, Reason.THREE_WAY_OTHER_DEFINITION, [f"{path}:{start + 1}"], Rung.THREE_WAY,
                          blob=blob_id, got=_describe(got), want=_describe(want))
    res = Placement(path, Rung.THREE_WAY, start, end - start, merged[start:new_end], offset=start - t_start,
                    confidence=0.9,
                    evidence=f"3-way merge from the pre-image blob {blob_id}: the hunk carried across the "
                             "target's changes, conflict-free")
    return res


def _name(d: tuple[str, str] | None) -> str:
    if d is None:
        return "nothing"
    kind, name = d
    return f"{name}()" if kind == "function" else f"{kind} {name}"


def _describe(where: tuple) -> str:
    if where[0] == "in":
        return _name(where[1])
    return f"between {_name(where[1])} and {_name(where[2])}"


class ThreeWay:
    """The rung as porter/place/ladder.py's LADDER takes it (slot THREE_WAY). `ctx` is a HunkContext."""

    rung = Rung.THREE_WAY

    def applies(self, ctx) -> bool:
        return ctx.old_source is not None and ctx.state.exists and bool(ctx.fp.old_index)

    def place(self, ctx) -> Placement | Refusal | None:
        hunks = ctx.fp.hunks
        earlier = hunks[:next(i for i, h in enumerate(hunks) if h is ctx.hunk)]
        return three_way(ctx.hunk, earlier, ctx.old_source, ctx.fp.old_index, ctx.state.lines, ctx.state.path)
