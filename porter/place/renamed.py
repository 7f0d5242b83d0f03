"""Rung 6: the function the hunk changes was renamed in the same file.

Principle: a function that keeps its body and signature but changes its name is the same function
(memmap_init_zone -> memmap_init_range). The shared rename scorer (similarity.py) must name one candidate
clearly: above RENAME_MIN_SCORE and RENAME_MIN_MARGIN ahead of the runner-up; near-twins are refused with the
nearest candidates named. Runs only when no function of the hunk's names exists anywhere in the tree.
"""

from __future__ import annotations

from porter.place.codes import Reason, Rung
from porter.place.context import HunkContext
from porter.place.function_anchor import align_in_function
from porter.place.result import Placement, refuse
from porter.place.similarity import RENAME_MIN_MARGIN, RENAME_MIN_SCORE, hunk_similarity, is_clear, rank_functions


class Renamed:
    rung = Rung.RENAMED

    def applies(self, ctx: HunkContext) -> bool:
        return ctx.state.exists and bool(ctx.names) and not ctx.whole_definition

    def place(self, ctx: HunkContext):
        state, hunk = ctx.state, ctx.hunk
        old_name = ctx.names[0]
        src = "\n".join(state.lines).encode("utf-8", "surrogateescape")
        funcs = state.model().functions()
        old_text = ctx.old_function_text(old_name)
        if old_text:
            ranked = [(s, d) for s, _, d in rank_functions(old_text, [(state.path, src, d) for d in funcs])]
        else:
            ranked = hunk_similarity(old_name, hunk.section, hunk.old_lines, src, funcs)
        if is_clear(ranked):
            score, fn = ranked[0]
            res = align_in_function(hunk, state, fn, self.rung,
                                    f"{old_name}() renamed to {fn.name}() (similarity {score:.2f})", ctx.expected)
            if isinstance(res, Placement):
                res.confidence = min(res.confidence, round(score, 2))
            else:
                res.final = True
            return res
        near = [f"{d.name} ({s:.2f})" for s, d in ranked[:3]]
        return refuse(state.path, Reason.NO_SIMILAR_FUNCTION, near, rung=self.rung, name=old_name,
                      tree=ctx.tree.name, threshold=RENAME_MIN_SCORE, margin=RENAME_MIN_MARGIN)
