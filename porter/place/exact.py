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
from porter.place.fuzz import edited_twin
from porter.place.result import Placement, refuse
from porter.place.search import Search
from porter.place.text import disambiguate, git_position


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

