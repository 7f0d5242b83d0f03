"""Rung 4: the pre-image ignoring whitespace (a mangling mailer, tabs turned to spaces).

Principle: whitespace carries no meaning in C outside strings; a pre-image that matches once with all
whitespace removed is the same code. Added lines are re-indented from the target only when the mail was
mangled (their own indentation is lost); otherwise they are written as the patch has them.
"""

from __future__ import annotations

from porter.place.codes import Reason, Rung
from porter.place.result import refuse
from porter.place.search import Search
from porter.place.text import disambiguate


class Whitespace:
    rung = Rung.WHITESPACE

    def place(self, s: Search):
        if not s.allow_ws:
            return None
        found = s.windows(s.npre, s.ntarget)
        pick = disambiguate(found, s.in_function)
        if isinstance(pick, int):
            return s.made(Rung.WHITESPACE, pick, [pick + i for i in range(len(s.pre))],
                          "context matches ignoring whitespace" + (", added lines re-indented" if s.hunk.mangled
                                                                   else ""), confidence=0.85, ws=True)
        if pick:
            return refuse(s.path, Reason.AMBIGUOUS_WHITESPACE, s.where(pick), rung=self.rung, count=len(pick))
        return None
