"""Rung 3: reduced context — the hunk's own context, minus what drifted, still anchors it uniquely.

Principle: context lines are there to find the place; when a few of them changed, the rest may still find it,
but only if what remains is itself unique (it holds a line found nowhere else in the range) and the dropped
lines do not reappear close by (then code was inserted inside the context and which side the change belongs
on is a guess). Four ways to lose context, each with that rule:
- edges (`EdgeFuzz`): up to MAX_FUZZ lines dropped at either edge, as patch(1)'s fuzz, never all of the side
  an insertion hangs from — except for a hunk adding whole definitions, whose other side, intact and unique,
  says where it goes (a prototype above it edited in place does not move it);
- a context line edited in place (`ChangedLine`): every other line of the pre-image is where it should be,
  one context line differs and is still the same statement (same first word, still alike);
- deleted context lines (`DeletedContext`): one or two interior context lines gone, the rest one block;
- removed lines as anchor (`RemovedLines`): the lines the hunk removes are there, together, once — for a hunk
  with one change only: they fix where their own change goes, not where a second change further on does.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter

from porter.place.codes import Reason, Rung
from porter.place.result import refuse
from porter.place.search import Search
from porter.place.text import (
    MAX_FUZZ,
    disambiguate,
    find_windows,
    has_unique_anchor,
    is_real_line,
    is_single_insertion,
    norm_ws,
)

CHANGED_LINE_MIN_SIMILARITY = 0.6  # an edited context line still resembles the original (gained `const`)
SPLIT_WINDOW = 15  # lines above/below a match where dropped context reappearing means "split by new code"


class EdgeFuzz:
    rung = Rung.FUZZ

    def __init__(self, whitespace: bool = False):
        self.whitespace = whitespace

    def place(self, s: Search):
        if not s.allow_fuzz or (self.whitespace and not s.allow_ws):
            return None
        target, pre = (s.ntarget, s.npre) if self.whitespace else (s.lines, s.pre)
        lead, trail, n = s.lead, s.trail, len(pre)
        insertion = is_single_insertion(s.hunk)
        for fuzz in range(1, MAX_FUZZ + 1):
            found: dict[int, tuple[int, int, bool]] = {}
            for dl in range(0, min(fuzz, lead) + 1):
                for dt in range(0, min(fuzz, trail) + 1):
                    if max(dl, dt) != fuzz or n - dl - dt <= 0 or not _allowed(s, pre, dl, dt, insertion):
                        continue
                    windows = s.windows(pre[dl:n - dt], target, dl, dt)
                    if lead and dl >= lead and not s.whole_definition:
                        windows = [w for w in windows if _glued_above(target, pre, w, lead)]
                    for pos in windows:
                        found.setdefault(pos - dl, (dl, dt, len(windows) == 1))
            found = {p: v for p, v in found.items() if (s.after_section is None or s.after_section(p))
                     and has_unique_anchor(s.lines, s.pre, p, v[:2], s.lo, s.hi, rare_ok=v[2])
                     and not context_split(s, p, v[:2])}
            if not found:
                continue
            pick = disambiguate(sorted(found), s.in_function)
            if isinstance(pick, int) and (twin := edited_twin(s, pick)) is not None:
                return refuse(s.path, Reason.EDITED_TWIN, s.where([pick, twin]), rung=self.rung,
                              where=s.where([pick])[0], twin=s.where([twin])[0])
            if isinstance(pick, int):
                dl, dt, _ = found[pick]
                how = " ignoring whitespace" if self.whitespace else ""
                return s.made(Rung.FUZZ, pick, [None if (i < dl or i >= n - dt) else pick + i for i in range(n)],
                              f"fuzz {fuzz}{how}: {dl} leading / {dt} trailing context lines ignored, rest unique",
                              confidence=(0.8 if self.whitespace else 0.9) - 0.1 * fuzz, ws=self.whitespace)
            return refuse(s.path, Reason.AMBIGUOUS_FUZZ, s.where(pick), rung=self.rung, fuzz=fuzz, count=len(pick))
        return None


def _allowed(s: Search, pre: list[str], dl: int, dt: int, insertion: bool) -> bool:
    """Which edge drops keep the change anchored."""
    lead, trail = s.lead, s.trail
    whole_lead = bool(lead) and dl >= lead
    whole_trail = bool(trail) and dt >= trail
    if s.whole_definition and insertion:
        # A new definition hangs from either side: one side may go entirely if the other stays whole and
        # holds a real line (its uniqueness is checked on the match).
        if whole_lead and whole_trail:
            return False
        if whole_lead:
            return dt == 0 and any(is_real_line(x) for x in pre[lead:])
        if whole_trail:
            return dl == 0 and any(is_real_line(x) for x in pre[:lead])
        return True
    # Keep at least one line of context on a side that had some, so an insertion stays anchored; the leading
    # side may go only where it reappears just above, glued to the code that grew there (_glued_above).
    if whole_lead and not (dt == 0 and insertion and not pre[lead].strip()
                           and sum(1 for x in pre[lead:] if is_real_line(x)) >= 2):
        return False
    if whole_trail and (dl or lead < 2):
        return False
    # A pure insertion is anchored by what precedes it: a blank line or a lone brace left over from its
    # leading context is no anchor (every function ends in `}`).
    if insertion and dl and not whole_lead and not any(is_real_line(x) for x in pre[dl:lead]):
        return False
    return True


def _glued_above(target: list[str], pre: list[str], start: int, lead: int, window: int = 10) -> bool:
    """The mirror of the blank-line rule in context_split: the whole leading context sits intact a few lines
    above `start` (where the trailing context, opening with a blank line, matched), and the lines in between
    are code glued to it with no blank line. The target grew that paragraph; the change closed it, so it goes
    at the paragraph's new end (an #include appended to a block that has grown)."""
    want = [norm_ws(x) for x in pre[:lead]]
    for end in range(start - 1, max(start - 1 - window, lead - 1), -1):
        if [norm_ws(t) for t in target[end - lead:end]] == want:
            return all(t.strip() for t in target[end:start])
    return False


def context_split(s: Search, pos: int, drops: tuple[int, int]) -> bool:
    """True when dropped context still sits a little beside the match, with other lines in between: code was
    inserted between the context and the change, so which side of it the change belongs on is a guess (sorted
    lists in docs and Kconfig, tables; a new definition whose neighbours were pushed apart)."""
    target, pre, lead, trail = s.lines, s.pre, s.lead, s.trail
    dl, dt = drops
    n = len(pre)
    if s.whole_definition and ((lead and dl >= lead) or (trail and dt >= trail)):
        return _side_displaced(s, pos, dl, dt)
    if _dropped_line_elsewhere(s, pos, dl, dt):
        return True
    # Lines inserted *inside* the leading context are harmless while a real line of it stays next to the change.
    if dl and dl < lead and not any(x.strip() for x in pre[dl:lead]):
        line = norm_ws(pre[dl - 1])
        start = pos + dl
        above = [norm_ws(t) for t in target[max(start - 1 - SPLIT_WINDOW, 0):max(start - 1, 0)]]
        # Only a distinctive line says "this is where the context went"; `return count;` is everywhere.
        if line and above.count(line) == 1 and sum(1 for t in target if norm_ws(t) == line) == 1:
            return True
    # Dropped trailing context that reappears intact just below (a short insertion split the context in two):
    # above or below the inserted lines is a coin toss. Further down, the leading context decides, as it
    # does for patch(1). The mirror of the leading rule above: while a non-blank line of the trailing context
    # stays next to the change, the split is beyond it and the change's place is not in question.
    if dt and (dt >= trail or not any(x.strip() for x in pre[n - trail:n - dt])):
        dropped = [norm_ws(x) for x in pre[n - dt:] if norm_ws(x)]
        end = pos + n - dt
        below = [norm_ws(t) for t in target[end:end + dt + 5] if norm_ws(t)]
        if dropped and any(below[i:i + len(dropped)] == dropped for i in range(1, len(below) - len(dropped) + 1)):
            # Unless a blank line settles it: the change followed a blank line (it opens a paragraph) and the
            # inserted code is glued to the trailing context, so it belongs to that paragraph, not above it.
            lead_edge = lead and dl < lead and not pre[lead - 1].strip()
            first = dropped[0]
            k = next((j for j in range(end + 1, min(end + dt + 5, len(target))) if norm_ws(target[j]) == first), end)
            glued = dt == trail and k > end and all(t.strip() for t in target[end:k])
            return not (lead_edge and glued)
    return False


def _dropped_line_elsewhere(s: Search, pos: int, dl: int, dt: int) -> bool:
    """A dropped leading line the file holds exactly once, at or *below* the change the match places (or a
    dropped trailing line once, *above* it): no insertion or deletion inside the context explains that — the
    match is a look-alike of the hunk's place (`q = &dev->tx;` above the second of two identical blocks, the
    match the first one). Found on its own side of the change, it is context that moved a little (lines
    inserted or deleted between), which context_split judges."""
    n = len(s.pre)
    change = pos + s.lead
    for i in [*range(dl), *range(n - dt, n)]:
        if _misplaced(s, i, change, leading=i < dl):
            return True
    return False


def _misplaced(s: Search, i: int, change: int, leading: bool) -> bool:
    """Pre-image line i, not matched, is in the file exactly once and on the other side of the change."""
    if not is_real_line(s.pre[i]):
        return False
    count = s.line_count(s.pre[i]) if s.line_count is not None else s.lines.count(s.pre[i])
    if count != 1:
        return False
    at = s.lines.index(s.pre[i])
    return at >= change if leading else at < change


def _unmapped_line_elsewhere(s: Search, mapping: list[int | None]) -> bool:
    """_dropped_line_elsewhere for the removed-lines anchor: a context line left unmatched that the file holds
    once, on the other side of the removed lines than the pre-image has it."""
    minus = [i for i, k in enumerate(ln.kind for ln in s.hunk.lines if ln.kind in " -") if k == "-"]
    first, last = mapping[minus[0]], mapping[minus[-1]]
    for i, m in enumerate(mapping):
        if m is None and (i < minus[0] or i > minus[-1]):
            leading = i < minus[0]
            if _misplaced(s, i, first if leading else last + 1, leading):
                return True
    return False


def _side_displaced(s: Search, pos: int, dl: int, dt: int) -> bool:
    """A new definition's dropped side: a distinctive line of it found near the match but not in its place
    means code now stands between the two sides (the seed's linux-next), and the neighbours must decide."""
    n = len(s.pre)
    dropped = range(0, dl) if dl else range(n - dt, n)
    target = None
    for i in dropped:
        line = norm_ws(s.pre[i])
        if not is_real_line(s.pre[i]):
            continue
        home = pos + i
        near = range(max(home - SPLIT_WINDOW, 0), min(home + SPLIT_WINDOW + 1, len(s.lines)))
        if any(j != home and norm_ws(s.lines[j]) == line for j in near):
            return True
        # Distance does not hide the split: a line of the dropped side that the file holds exactly once,
        # elsewhere, is that side pushed away by code inserted between the two (a kernel-doc header above
        # the next function, with new functions now between).
        target = target if target is not None else [norm_ws(t) for t in s.lines]
        hits = [j for j, t in enumerate(target) if t == line]
        if len(hits) == 1 and hits[0] != home:
            return True
    return False


class ChangedLine:
    """One context line edited in place, everything else exactly where the pre-image has it."""

    rung = Rung.FUZZ

    def place(self, s: Search):
        if not s.allow_fuzz:
            return None
        pre, n = s.pre, len(s.pre)
        found: dict[int, int] = {}
        for pos, j in one_line_edits(s):
            if (s.at_end and pos + n != len(s.lines)) or (s.at_start and pos != 0):
                continue
            if not has_unique_anchor(s.lines, [x for i, x in enumerate(pre) if i != j], pos, (0, 0), s.lo, s.hi):
                continue
            if s.after_section is not None and not s.after_section(pos):
                continue
            found.setdefault(pos, j)
        if not found:
            return None
        pick = disambiguate(sorted(found), s.in_function)
        if not isinstance(pick, int):
            return refuse(s.path, Reason.AMBIGUOUS_FUZZ, s.where(pick), rung=self.rung, fuzz=1, count=len(pick))
        j = found[pick]
        return s.made(Rung.FUZZ, pick, [pick + i for i in range(n)],
                      f"context line {pre[j].strip()!r} edited in the target ({s.lines[pick + j].strip()!r}), "
                      "every other line in place, rest unique", confidence=0.8)


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, norm_ws(a), norm_ws(b), autojunk=False).ratio()


FIRST_WORD_RE = re.compile(r"[A-Za-z_]\w*|\S")


def same_statement(now: str, was: str) -> bool:
    """An edit of the same line, not another line in its place: the text still resembles the original and
    starts with the same word (`extern` gained `const` later on, `limit = value` gained `& 0xff`);
    `r->pending--;` where `WARN_ON(!r->pending);` was is another statement, however alike the letters."""
    first_now, first_was = FIRST_WORD_RE.search(now.strip()), FIRST_WORD_RE.search(was.strip())
    return bool(first_now and first_was) and first_now.group() == first_was.group() and \
        _similarity(now, was) >= CHANGED_LINE_MIN_SIMILARITY


class DeletedContext:
    """The target deleted one or two interior context lines (an `#endif` whose `#ifdef` went, a dropped
    statement) and nothing else changed around the hunk: the rest of the pre-image matches as one block.
    A deleted line still found next to the match was moved, not deleted, and the guess is refused."""

    rung = Rung.FUZZ

    def place(self, s: Search):
        if not s.allow_fuzz:
            return None
        pre, target, lead, trail = s.pre, s.lines, s.lead, s.trail
        kinds = [ln.kind for ln in s.hunk.lines if ln.kind in " -"]
        insertion = is_single_insertion(s.hunk)
        n = len(pre)
        counts = Counter(target[s.lo:s.hi])  # a kept line found once in the range anchors the block
        found: dict[int, list[int | None]] = {}
        for width in (1, 2):
            for j in range(1, n - width):  # interior lines only: edge lines are EdgeFuzz's business
                gone = range(j, j + width)
                if any(kinds[i] != " " for i in gone):
                    continue
                keep = [i for i in range(n) if i not in gone]
                # Each side that had context keeps a real line of it; the leading one for an insertion above all.
                kept_lead = [pre[i] for i in keep if i < lead]
                kept_trail = [pre[i] for i in keep if i >= n - trail]
                if (lead and not any(is_real_line(x) for x in kept_lead)) or \
                        (trail and not insertion and not any(is_real_line(x) for x in kept_trail)):
                    continue
                pattern = [pre[i] for i in keep]
                for pos in s.windows(pattern):
                    if s.after_section is not None and not s.after_section(pos):
                        continue
                    around = {norm_ws(t) for t in target[max(pos - 3, 0):pos + len(pattern) + 3]}
                    if any(norm_ws(pre[i]) in around for i in gone if is_real_line(pre[i])):
                        continue
                    if not any(counts[pre[i]] == 1 and is_real_line(pre[i]) for i in keep):
                        continue  # no unique line among what remains
                    mapping: list[int | None] = [None] * n
                    for k, i in enumerate(keep):
                        mapping[i] = pos + k
                    found.setdefault(pos, mapping)
            if found:
                break
        if not found:
            return None
        pick = disambiguate(sorted(found), s.in_function)
        if isinstance(pick, int):
            gone_lines = [pre[i] for i, m in enumerate(found[pick]) if m is None]
            what = " / ".join(repr(x.strip()) for x in gone_lines)
            return s.made(Rung.FUZZ, pick, found[pick], f"context line {what} deleted in the target, rest unique",
                          confidence=0.75)
        return refuse(s.path, Reason.AMBIGUOUS_DELETED_CONTEXT, s.where(pick), rung=self.rung, count=len(pick))


class RemovedLines:
    """The context drifted (lines inserted between it and the change) but the removed lines are still there,
    together, exactly once, holding a line unique in the range, with some context line of each side within a
    few lines. Then the change can only mean that place; context lines map where they still match."""

    rung = Rung.FUZZ

    def place(self, s: Search):
        if not s.allow_fuzz:
            return None
        found = _removed_lines_anchor(s)
        if found is None:
            return None
        mapping, why = found
        if _unmapped_line_elsewhere(s, mapping):
            return None
        first = min(m for m in mapping if m is not None)
        pl = s.made(Rung.FUZZ, first, mapping, why, confidence=0.7, ws=s.allow_ws)
        if (s.at_end and pl.end != len(s.lines)) or (s.at_start and pl.start != 0):
            return None
        return pl


def _change_blocks(hunk) -> int:
    """How many separate runs of changed (+/-) lines the hunk has."""
    kinds = "".join("c" if ln.kind != " " else " " for ln in hunk.lines)
    return len([b for b in kinds.split(" ") if b])


def _as_is(line: str) -> str:
    return line


def _removed_lines_anchor(s: Search):
    pre_kinds = [ln.kind for ln in s.hunk.lines if ln.kind in " -"]
    pre, lo, hi = s.pre, s.lo, s.hi
    minus = [i for i, k in enumerate(pre_kinds) if k == "-"]
    if not minus or minus != list(range(minus[0], minus[-1] + 1)):
        return None  # only one contiguous block of removed lines
    if _change_blocks(s.hunk) != 1:
        return None  # the removed lines fix the place of their own change, not of another one further on
    # Whitespace-insensitive in C only (Search.allow_ws); elsewhere the lines must match as they are.
    norm = norm_ws if s.allow_ws else _as_is
    block = [norm(pre[i]) for i in minus]
    ntarget = s.ntarget if s.allow_ws else s.lines
    hits = find_windows(ntarget, block, lo, hi)
    if len(hits) != 1 or not has_unique_anchor(s.lines, pre, minus[0], (minus[0], len(pre) - minus[-1] - 1), lo, hi):
        return None
    at = hits[0]
    mapping: list[int | None] = [None] * len(pre)
    for k, i in enumerate(minus):
        mapping[i] = at + k
    # Context lines: keep those adjacent runs that still match right next to the block.
    i, t = minus[0] - 1, at - 1
    while i >= 0 and t >= lo and ntarget[t] == norm(pre[i]):
        mapping[i], i, t = t, i - 1, t - 1
    adjacent_before = any(norm(pre[j]) for j in range(i + 1, minus[0]))
    near_before = adjacent_before or any(norm(pre[j]) in ntarget[max(at - 6, 0):at] for j in range(0, i + 1)
                                         if norm(pre[j]))
    i, t = minus[-1] + 1, at + len(minus)
    while i < len(pre) and t < hi and ntarget[t] == norm(pre[i]):
        mapping[i], i, t = t, i + 1, t + 1
    adjacent_after = any(norm(pre[j]) for j in range(minus[-1] + 1, i))
    near_after = adjacent_after or any(norm(pre[j]) in ntarget[t:t + 6] for j in range(i, len(pre))
                                       if norm(pre[j]))
    # The removed lines fix the place; a real context line on one side, next to them or a few lines away,
    # confirms it (the other side may have been rewritten: the code after a changed macro, say).
    lead_has_text = any(norm(pre[j]) for j in range(minus[0]))
    trail_has_text = any(norm(pre[j]) for j in range(minus[-1] + 1, len(pre)))
    if not ((lead_has_text and near_before) or (trail_has_text and near_after)):
        return None
    return mapping, "removed lines found once (unique), context drifted around them"


def one_line_edits(s: Search, strong_anchor: bool = False):
    """(pos, j): places in the search range that hold the whole pre-image but context line j, which the target
    edited in place (still the same statement). The lines before j (after it, for the first line) are the
    search anchor; with `strong_anchor`, a j whose anchor holds no real line is skipped."""
    pre, n = s.pre, len(s.pre)
    kinds = [ln.kind for ln in s.hunk.lines if ln.kind in " -"]
    for j in range(n):
        if kinds[j] != " " or not is_real_line(pre[j]):
            continue
        head, tail = pre[:j], pre[j + 1:]
        anchor, shift = (head, 0) if head else (tail, j + 1)
        if not any(is_real_line(x) for x in (anchor if strong_anchor else head + tail)):
            continue
        for p in find_windows(s.lines, anchor, s.lo, s.hi):
            pos = p - shift
            if pos < s.lo or pos + n > s.hi or s.lines[pos:pos + j] != head or \
                    s.lines[pos + j + 1:pos + n] != tail:
                continue
            now = s.lines[pos + j]
            if now != pre[j] and same_statement(now, pre[j]):
                yield pos, j


def edited_twin(s: Search, pick: int) -> int | None:
    """Another place, apart from the match at `pick`, holding the whole pre-image but one context line, edited
    in place (the same statement): the target's own copy of the code beside an original it then edited, or
    the reverse. Which one the patch means is history, not text; only the function the @@ header names tells
    them apart (the match in it, the edited one outside)."""
    for pos, _j in one_line_edits(s, strong_anchor=True):
        if abs(pos - pick) < len(s.pre):
            continue
        if s.in_function is not None and s.in_function(pick) and not s.in_function(pos):
            continue
        return pos
    return None
