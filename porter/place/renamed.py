"""Rung 6: the function the hunk changes was renamed — in its file, or renamed and moved to another file.

Principle: a function that keeps its body and signature but changes its name is the same function
(memmap_init_zone -> memmap_init_range). The shared rename scorer (similarity.py) must name one candidate
clearly: above RENAME_MIN_SCORE and RENAME_MIN_MARGIN ahead of the runner-up; near-twins are refused with the
nearest candidates named. A hunk whose added lines still say the old name (`EXPORT_SYMBOL(old)`) is refused
once the rename is found: placed verbatim it would name a function the target does not have. Runs only
when no function of the hunk's names exists anywhere in the tree. A function the pre-image blob already
defines under its own name is never a candidate: it was there beside the old one, so it is not the old one
renamed; nor is one that another function of the blob resembles as much as the old one (that function,
renamed too).

The patch's own file is asked first. When it names no clear candidate (the function left it: 5.10's
memmap_init_zone is 6.12's memmap_init_range in mm/mm_init.c), the candidates are widened to the files that
hold the identifiers the hunk's own pre-image lines use (the code it changes must still use them), found by a
fixed-string search and never by parsing the tree; the same scorer and the same clear-winner rule decide, over
the own file's functions and those files' functions together. Too many such files: nothing is claimed.

When several candidates score within the margin of each other, the similarity has narrowed the question but
not answered it; the hunk's own context, searched inside each with the line rungs' limits, answers it when it
is found in one of them, or holds strictly more of the hunk's lines in one than in any other (5.10's
memmap_init_zone hunk at `cond_resched()` onto 6.12: memmap_init_range and pageblock_migratetype_init_range
score 0.83 and 0.74 from the hunk alone; the context holds 5 lines in the first and 2 in the second).
"""

from __future__ import annotations

import re

from porter.place.codes import Reason, Rung
from porter.place.context import HunkContext
from porter.place.function_anchor import align_in_function, context_in_function
from porter.place.result import Placement, refuse
from porter.place.similarity import (
    RENAME_MIN_MARGIN,
    RENAME_MIN_SCORE,
    claimed_by_other,
    hunk_similarity,
    identifiers,
    is_clear,
    rank_functions,
)
from porter.place.tree_search import candidate_files

KEY_IDENTIFIERS = 3  # identifiers of the hunk's pre-image a candidate file must contain
MIN_KEY_CHARS = 6  # shorter identifiers (`pfn`, `ret`) are everywhere: no use as a key
MAX_OTHER_FILES = 25  # more files than this hold the keys: too common to search
STRING_RE = re.compile(r'"(?:\\.|[^"\\])*"' + r"|'(?:\\.|[^'\\])*'")


def uses_old_name(added: list[str], old_name: str) -> bool:
    """Added lines that still say the old name (`EXPORT_SYMBOL(old)`, a call): after a rename they name
    nothing in the target, and the change itself must be adapted — by a person, not by placement."""
    pat = re.compile(rf"\b{re.escape(old_name)}\b")
    return any(pat.search(STRING_RE.sub('""', x)) for x in added)


class Renamed:
    rung = Rung.RENAMED

    def applies(self, ctx: HunkContext) -> bool:
        return bool(ctx.names) and not ctx.whole_definition

    def place(self, ctx: HunkContext):
        state, hunk = ctx.state, ctx.hunk
        old_name = ctx.names[0]
        old_text = ctx.old_function_text(old_name)
        ranked = self._rank(ctx, [state.path] if state.exists else [], old_name, old_text)
        if not is_clear(ranked):
            others = self._other_files(ctx, old_name)
            if others:
                ranked = self._rank(ctx, ([state.path] if state.exists else []) + others, old_name, old_text)
        if not is_clear(ranked):
            decided = self._by_context(ctx, ranked)
            if decided is not None:
                return decided
        ranked, claimed = self._not_claimed(ctx, old_name, ranked)
        if claimed and not is_clear(ranked):
            fn, other = claimed
            return refuse(state.path, Reason.RENAME_CLAIMED, [f"{fn.name} ({other})"], rung=self.rung, final=True,
                          old=old_name, cand=fn.name, other=other)
        if is_clear(ranked):
            score, path, fn = ranked[0]
            if fn.name != old_name and uses_old_name(hunk.added, old_name):
                return self._old_name_used(ctx, old_name, fn, path)
            moved = "" if path == state.path else f" in {path}"
            res = align_in_function(hunk, ctx.files.state(path), fn, self.rung,
                                    f"{old_name}() renamed to {fn.name}(){moved} (similarity {score:.2f})",
                                    ctx.expected if path == state.path else fn.start_line - 1)
            if isinstance(res, Placement):
                res.confidence = min(res.confidence, round(score, 2))
            else:
                res.final = True
            return res
        near = [f"{d.name} ({s:.2f})" for s, _p, d in ranked[:3]]
        return refuse(state.path, Reason.NO_SIMILAR_FUNCTION, near, rung=self.rung, name=old_name,
                      tree=ctx.tree.name, threshold=RENAME_MIN_SCORE, margin=RENAME_MIN_MARGIN)

    def _by_context(self, ctx: HunkContext, ranked: list):
        """Near-tied candidates (each above the score, within the margin of the best): the hunk's own context,
        searched inside each with the line rungs' limits (no deep fuzz), decides when it is found in one of
        them, or holds more of the hunk's lines there than anywhere else — context before heuristics.
        Otherwise None (the caller refuses, naming them)."""
        if not ranked or ranked[0][0] < RENAME_MIN_SCORE:
            return None
        tied = [r for r in ranked if r[0] >= RENAME_MIN_SCORE and ranked[0][0] - r[0] < RENAME_MIN_MARGIN]
        found = []
        for score, path, fn in tied:
            res = context_in_function(ctx.hunk, ctx.files.state(path), fn, fn.start_line - 1)
            if isinstance(res, Placement) and res.rung != Rung.ALREADY_APPLIED:
                found.append((score, path, fn, res))
        if not found or len(tied) < 2:
            return None
        # Found in several: the one holding strictly more of the hunk's own lines wins (the ladder's "most
        # evidence first", as patch prefers the least fuzz); a tie decides nothing.
        found.sort(key=lambda f: -f[3].length)
        if len(found) > 1 and found[1][3].length >= found[0][3].length:
            return None
        score, path, fn, res = found[0]
        if uses_old_name(ctx.hunk.added, ctx.names[0]):
            return self._old_name_used(ctx, ctx.names[0], fn, path)
        others = ", ".join(f"{d.name}() ({s:.2f})" for s, _p, d in tied if d is not fn)
        moved = "" if path == ctx.state.path else f" in {path}"
        res.notes.append(f"was rung {res.rung}")
        res.evidence = (f"{ctx.names[0]}() renamed to {fn.name}(){moved} (similarity {score:.2f}; as close: "
                        f"{others}, where less of the hunk's context is found); {res.evidence}")
        res.rung = self.rung
        res.confidence = min(res.confidence, round(score, 2), 0.75)
        return res

    @staticmethod
    def _not_claimed(ctx: HunkContext, old_name: str, ranked: list) -> list:
        """Candidates another function of the pre-image file resembles as much as the old one does are that
        function (foo_rx_v2() renamed foo_rx_fast(), while foo_rx_v1() is gone): not the old one's rename."""
        if ctx.old_model is None or not ranked:
            return ranked, None
        old_src = ctx.old_source.encode("utf-8", "surrogateescape")
        others = [d for d in ctx.old_model.functions() if d.name != old_name]
        kept, claimed = [], None
        for score, path, fn in ranked:
            src = "\n".join(ctx.files.state(path).lines).encode("utf-8", "surrogateescape")
            by = claimed_by_other(src, fn, score, old_src, others) if score >= RENAME_MIN_SCORE else ""
            if by:
                claimed = claimed or (fn, by)
                continue
            kept.append((score, path, fn))
        return kept, claimed

    def _old_name_used(self, ctx: HunkContext, old_name: str, fn, path: str):
        return refuse(ctx.state.path, Reason.RENAMED_OLD_NAME_USED, [f"{path}:{fn.start_line}"], rung=self.rung,
                      final=True, old=old_name, new=fn.name, where=f"{path}:{fn.start_line}")

    @staticmethod
    def _rank(ctx: HunkContext, paths: list[str], old_name: str, old_text: str | None) -> list:
        """(score, path, definition), best first, over the functions of `paths`: by the whole old function
        when the pre-image blob gives it, else by what the hunk shows of it."""
        ranked = []
        # A function the pre-image file already had under its own name is that function, not old_name renamed
        # (near-twins: foo_rx_v1 gone, foo_rx_v2 still there and 0.98 alike).
        taken = {d.name for d in ctx.old_model.functions()} - {old_name} if ctx.old_model is not None else set()
        for path in paths:
            st = ctx.files.state(path)
            src = "\n".join(st.lines).encode("utf-8", "surrogateescape")
            funcs = [d for d in st.model().functions() if d.name not in taken]
            if old_text:
                ranked += rank_functions(old_text, [(path, src, d) for d in funcs])
            else:
                ranked += [(s, path, d) for s, d in
                           hunk_similarity(old_name, ctx.hunk.section, ctx.hunk.old_lines, src, funcs)]
        ranked.sort(key=lambda r: -r[0])
        return ranked

    @staticmethod
    def _other_files(ctx: HunkContext, old_name: str) -> list[str]:
        """C files other than the patch's own that hold the hunk's rarest-looking identifiers (longest first)."""
        code = STRING_RE.sub('""', "\n".join(ctx.hunk.old_lines))  # words in a message are not code
        words = {w for w in identifiers(code) if w != old_name and len(w) >= MIN_KEY_CHARS}
        keys = sorted(words, key=lambda w: (-len(w), w))[:KEY_IDENTIFIERS]
        if len(keys) < 2:
            return []  # one identifier is no fingerprint of a function
        files = candidate_files(ctx.tree, keys, (".c", ".h"))
        others = [p for p in files if p != ctx.state.path]
        return others if len(others) <= MAX_OTHER_FILES else []
