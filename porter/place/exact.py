"""Rungs 1-2: the hunk's pre-image, exactly, at the stated line or (unique) at an offset.

Principle: the pre-image is the text the patch was written against. At the stated line, it is the place. Found
once elsewhere, it is the place (what `patch` and `git apply` do with offsets) unless the pre-image blob's
history says the code the hunk changes went somewhere else: the ladder runs the 3-way rung between the two
(an exact copy of the context can sit beside the original the target edited). Found several times, only the
function git's @@ header names may break the tie; otherwise the hunk is refused, naming every place: choosing
the nearest is a guess.
"""

from __future__ import annotations

from porter.place.codes import Reason, Rung
from porter.place.fuzz import same_statement
from porter.place.result import Placement, refuse
from porter.place.search import Search
from porter.place.text import disambiguate, find_windows, git_position, is_real_line


class Exact:
    rung = Rung.EXACT

    def __init__(self, stated_only: bool = False):
        # stated_only: only the pre-image at the stated line; a match elsewhere is left to later rungs (the
        # ladder asks the pre-image blob's history before it trusts text found at an offset)
        self.stated_only = stated_only

    def place(self, s: Search):
        pre = s.pre
        if not pre:  # pure addition with no context: only valid for a new or empty file
            if not s.lines:
                return Placement(s.path, Rung.EXACT, 0, 0, list(s.hunk.new_lines), evidence="new content")
            return refuse(s.path, Reason.NO_CONTEXT, rung=self.rung)
        full = range(len(pre))
        found = s.windows(pre)
        at = git_position(s.hunk)
        if found == [at]:
            return s.made(Rung.EXACT, at, [at + i for i in full], "context matches at the stated line")
        if self.stated_only:
            return None
        pick = disambiguate(found, s.in_function)
        if isinstance(pick, int):
            twin = edited_twin(s, pick)
            if twin is not None:
                return refuse(s.path, Reason.EDITED_TWIN, s.where([pick, twin]), rung=self.rung,
                              where=s.where([pick])[0], twin=s.where([twin])[0])
            how = "unique match" if len(found) == 1 else f"{len(found)} matches, only one in the named function"
            return s.made(Rung.OFFSET, pick, [pick + i for i in full], f"exact context, {how}")
        if pick:
            return refuse(s.path, Reason.AMBIGUOUS, s.where(pick), rung=self.rung, count=len(pick))
        return None


def edited_twin(s: Search, pick: int) -> int | None:
    """Another place, apart from the exact match at `pick`, holding the whole pre-image but one context line,
    edited in place (the same statement): the target's own copy of the code beside an original it then
    edited, or the reverse. Which one the patch means is history, not text; only the function the @@ header
    names tells them apart (the exact match in it, the edited one outside)."""
    pre, n = s.pre, len(s.pre)
    kinds = [ln.kind for ln in s.hunk.lines if ln.kind in " -"]
    for j in range(n):
        if kinds[j] != " " or not is_real_line(pre[j]):
            continue
        head, tail = pre[:j], pre[j + 1:]
        anchor, shift = (head, 0) if head else (tail, j + 1)
        if not any(is_real_line(x) for x in anchor):
            continue
        for p in find_windows(s.lines, anchor, s.lo, s.hi):
            pos = p - shift
            if abs(pos - pick) < n or pos < s.lo or pos + n > s.hi or s.lines[pos:pos + j] != head or \
                    s.lines[pos + j + 1:pos + n] != tail:
                continue
            if s.lines[pos + j] == pre[j] or not same_statement(s.lines[pos + j], pre[j]):
                continue
            if s.in_function is not None and s.in_function(pick) and not s.in_function(pos):
                continue
            return pos
    return None
