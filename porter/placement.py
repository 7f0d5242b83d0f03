"""Line-level rungs of the placement ladder (DESIGN.md rungs 1-4) and the shared result type.

A placement maps the hunk's pre-image onto target lines; building the replacement from that map keeps the
target's own text for context (its indentation, its drifted lines) and changes only what the hunk changes.
Ambiguity is a refusal: when a rung finds several equally good places it says so instead of picking one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from porter.patch import Hunk
from porter.reindent import Reindenter

MAX_FUZZ = 3
TRIVIAL_LINES = {"", "{", "}", "};", "},"}
RARE_LINE_MIN = 16  # characters (whitespace removed) of a line found twice that may anchor a unique window


def norm_ws(line: str) -> str:
    """A line with all whitespace removed: what survives a mangling mailer."""
    return "".join(line.split())


@dataclass
class Placement:
    """Where one hunk goes in one target file, how it was found, and the lines that replace the match."""

    file: str
    rung: str  # exact | offset | fuzz | whitespace | function-anchor | renamed | new-definition | already-applied
    start: int = 0  # 0-based first target line of the matched region
    length: int = 0  # target lines replaced
    replacement: list[str] = field(default_factory=list)
    offset: int = 0  # start - stated start
    confidence: float = 1.0
    evidence: str = ""
    notes: list[str] = field(default_factory=list)
    relation: str = ""  # for new definitions: "below memmap_init_zone" etc., shared across trees

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass
class Refusal:
    file: str
    reason: str
    candidates: list[str] = field(default_factory=list)


def stated_index(hunk: Hunk) -> int:
    """0-based line where git would start looking for the pre-image."""
    if hunk.old_len == 0:
        return hunk.old_start  # insertion after line old_start
    return max(hunk.old_start - 1, 0)


def find_windows(target: list[str], pattern: list[str], lo: int = 0, hi: int | None = None) -> list[int]:
    """All start positions in target[lo:hi] where `pattern` occurs as consecutive lines."""
    hi = len(target) if hi is None else hi
    n = len(pattern)
    if n == 0:
        return []
    # Probe with the pattern's longest line (the rarest, as a rule: not a blank line or a lone brace); the scan
    # for it runs in C, which keeps one search per hunk cheap in a 40,000-line file.
    k = max(range(n), key=lambda j: len(pattern[j]))
    probe, out, i = pattern[k], [], lo + k
    end = hi - n + 1 + k
    while i < end:
        try:
            i = target.index(probe, i, end)
        except ValueError:
            break
        if target[i - k:i - k + n] == pattern:
            out.append(i - k)
        i += 1
    return out


def build_replacement(hunk: Hunk, target: list[str], mapping: list[int | None],
                      reindent: bool) -> tuple[int, int, list[str]]:
    """Given pre-image line i -> target line mapping[i] (None: dropped outer context), return
    (start, length, replacement lines). Context comes from the target; added lines from the hunk."""
    mapped = [m for m in mapping if m is not None]
    start, end = min(mapped), max(mapped) + 1
    out: list[str] = []
    ri = Reindenter()
    if reindent:
        k = start - 1
        while k >= 0 and not target[k].strip():
            k -= 1
        # Learn the indentation state from the function text above the hunk.
        for line in target[max(k - 40, 0):start]:
            ri.observe(line)
    pre_i = 0
    cursor = start
    removed_by_norm = {}
    # Map each removed line's normalised text to its real target text, to restore indentation of re-added lines.
    i = 0
    for ln in hunk.lines:
        if ln.kind in " -":
            if ln.kind == "-" and mapping[i] is not None:
                removed_by_norm.setdefault(norm_ws(target[mapping[i]]), target[mapping[i]])
            i += 1
    for ln in hunk.lines:
        if ln.kind in " -":
            t = mapping[pre_i]
            pre_i += 1
            if t is None:
                continue
            # Keep target lines the hunk does not mention (interior drift) untouched.
            while cursor < t:
                out.append(target[cursor])
                if reindent:
                    ri.observe(target[cursor])
                cursor += 1
            if ln.kind == " ":
                out.append(target[t])
                if reindent:
                    ri.observe(target[t])
            cursor = t + 1
        else:
            text = ln.text
            if reindent:
                same = removed_by_norm.get(norm_ws(text))
                if same is not None and norm_ws(same) == norm_ws(text) and same.strip() == text.strip():
                    text = same
                    ri.observe(text)
                else:
                    text = ri.indent(text)
            out.append(text)
    while cursor < end:
        out.append(target[cursor])
        cursor += 1
    return start, end - start, out


def _edge_context(hunk: Hunk) -> tuple[int, int]:
    """Number of context lines before the first change and after the last one."""
    lead = 0
    for ln in hunk.lines:
        if ln.kind != " ":
            break
        lead += 1
    trail = 0
    for ln in reversed(hunk.lines):
        if ln.kind != " ":
            break
        trail += 1
    return lead, trail


def place_line_level(hunk: Hunk, target: list[str], path: str, expected: int, lo: int = 0,
                     hi: int | None = None, in_function=None, allow_ws: bool = True,
                     allow_fuzz: bool = True, after_section=None) -> Placement | Refusal:
    """Rungs 1-4 within target[lo:hi]. `expected` is the stated line shifted by earlier hunks' offsets.
    `in_function(pos)` tells whether a position lies in the function the hunk header names (tie-breaker);
    `after_section(pos)` whether that function is the last one starting above pos (reduced context must be)."""
    pre = hunk.old_lines
    hi = len(target) if hi is None else hi
    if not pre:  # pure addition with no context: only valid for a new or empty file
        if not target:
            return Placement(path, "exact", 0, 0, list(hunk.new_lines), evidence="new content")
        return Refusal(path, "hunk has no context lines to place it by")

    def made(rung, pos, mapping, evidence, confidence=1.0, ws=False):
        # Added lines are re-indented only when the text matched ignoring whitespace in a mangled mail.
        start, length, repl = build_replacement(hunk, target, mapping, ws and hunk.mangled)
        return Placement(path, rung, start, length, repl, offset=pos - stated_index(hunk),
                         confidence=confidence, evidence=evidence)

    full = list(range(len(pre)))
    # Rung 1 and 2: exact.
    exact = find_windows(target, pre, lo, hi)
    if stated_index(hunk) in exact and lo <= stated_index(hunk) < hi and len(exact) == 1:
        pos = stated_index(hunk)
        return made("exact", pos, [pos + i for i in full], "context matches at the stated line")
    pick = _disambiguate(exact, expected, in_function)
    if isinstance(pick, int):
        how = "unique match" if len(exact) == 1 else f"{len(exact)} matches, only one in the named function"
        return made("offset", pick, [pick + i for i in full], f"exact context, {how}")
    if pick:
        return Refusal(path, f"context matches at {len(pick)} places", [f"{path}:{p + 1}" for p in pick[:5]])
    # Already applied: the post-image is there and the pre-image is not.
    post = hunk.new_lines
    if hunk.added or hunk.removed:
        done = find_windows(target, post, lo, hi)
        if done:
            return Placement(path, "already-applied", done[0], len(post), list(target[done[0]:done[0] + len(post)]),
                             offset=done[0] - stated_index(hunk), evidence="post-image already present")
    # Rung 3: reduced context at the edges, only where what remains is unique.
    if allow_fuzz:
        res = _fuzz(hunk, target, pre, lo, hi, expected, in_function, path, made, ws=False, section_ok=after_section)
        if res is not None:
            return res
    # Rung 4: whitespace-insensitive (mangled mail, tabs to spaces).
    if allow_ws:
        ntarget = [norm_ws(t) for t in target]
        npre = [norm_ws(p) for p in pre]
        wins = find_windows(ntarget, npre, lo, hi)
        pick = _disambiguate(wins, expected, in_function)
        if isinstance(pick, int):
            return made("whitespace", pick, [pick + i for i in full],
                        "context matches ignoring whitespace" + (", added lines re-indented" if hunk.mangled else ""),
                        confidence=0.85, ws=True)
        if pick:
            return Refusal(path, f"whitespace-insensitive context matches at {len(pick)} places",
                           [f"{path}:{p + 1}" for p in pick[:5]])
        done = find_windows(ntarget, [norm_ws(x) for x in hunk.new_lines], lo, hi) \
            if (hunk.added or hunk.removed) else []
        if done:
            p = done[0]
            return Placement(path, "already-applied", p, len(hunk.new_lines), list(target[p:p + len(hunk.new_lines)]),
                             offset=p - stated_index(hunk), evidence="post-image already present (ignoring whitespace)")
        # Reduced context, whitespace-insensitive: mangled mail and drifted context together.
        if allow_fuzz:
            res = _fuzz(hunk, ntarget, npre, lo, hi, expected, in_function, path, made, ws=True, raw=target,
                        section_ok=after_section)
            if res is not None:
                return res
    if allow_fuzz:
        res = _deleted_context(hunk, target, lo, hi, expected, in_function, path, made, section_ok=after_section)
        if res is not None:
            return res
        anchored = _changed_lines_anchor(hunk, target, lo, hi)
        if anchored is not None:
            mapping, why = anchored
            first = min(m for m in mapping if m is not None)
            return made("fuzz", first, mapping, why, confidence=0.7, ws=True)
    return Refusal(path, "context not found")


def _fuzz(hunk: Hunk, target: list[str], pre: list[str], lo: int, hi: int, expected: int, in_function, path: str,
          made, ws: bool, raw: list[str] | None = None, section_ok=None) -> Placement | Refusal | None:
    """Rung 3: drop up to MAX_FUZZ context lines at the edges (never all of the leading side; all of the
    trailing side only when two leading lines stay), keep matches whose rest holds a unique line and whose
    leading context was not split by inserted code. `target`/`pre` may be whitespace-normalised (`raw` then
    holds the real target lines)."""
    raw = raw if raw is not None else target
    lead, trail = _edge_context(hunk)
    n = len(pre)
    insertion = _is_single_insertion(hunk)
    for fuzz in range(1, MAX_FUZZ + 1):
        found: dict[int, tuple[int, int, bool]] = {}
        for dl in range(0, min(fuzz, lead) + 1):
            for dt in range(0, min(fuzz, trail) + 1):
                if max(dl, dt) != fuzz or n - dl - dt <= 0:
                    continue
                # Keep at least one line of context on a side that had some, so an insertion stays anchored;
                # the leading side may go only where it reappears just above (see _glued_above).
                whole_lead = bool(lead) and dl >= lead
                if whole_lead and not (dt == 0 and insertion and not pre[lead].strip()
                                       and sum(1 for x in pre[lead:] if _is_real_line(x)) >= 2):
                    continue
                if trail and dt >= trail and (dl or lead < 2):
                    continue
                # A pure insertion is anchored by what precedes it: a blank line or a lone brace left over
                # from its leading context is no anchor (every function ends in `}`).
                if insertion and dl and not whole_lead and not any(_is_real_line(x) for x in pre[dl:lead]):
                    continue
                windows = find_windows(target, pre[dl:n - dt], lo, hi)
                if whole_lead:
                    windows = [w for w in windows if _glued_above(target, pre, w, lead)]
                for pos in windows:
                    found.setdefault(pos - dl, (dl, dt, len(windows) == 1))
        found = {p: v for p, v in found.items() if (section_ok is None or section_ok(p))
                 and _has_unique_anchor(raw, hunk.old_lines, p, v[:2], lo, hi, rare_ok=v[2])
                 and not _context_split(raw, hunk.old_lines, p, v[:2], lead, trail)}
        if not found:
            continue
        pick = _disambiguate(sorted(found), expected, in_function)
        if isinstance(pick, int):
            dl, dt, _ = found[pick]
            how = " ignoring whitespace" if ws else ""
            return made("fuzz", pick, [None if (i < dl or i >= n - dt) else pick + i for i in range(n)],
                        f"fuzz {fuzz}{how}: {dl} leading / {dt} trailing context lines ignored, rest unique",
                        confidence=(0.8 if ws else 0.9) - 0.1 * fuzz, ws=ws)
        return Refusal(path, f"with fuzz {fuzz} the context matches at {len(pick)} places",
                       [f"{path}:{p + 1}" for p in pick[:5]])
    return None


def _deleted_context(hunk: Hunk, target: list[str], lo: int, hi: int, expected: int, in_function, path: str,
                     made, section_ok=None) -> Placement | Refusal | None:
    """Rung 3c: the target deleted one or two context lines (an `#endif` whose `#ifdef` went, a dropped
    statement) and nothing else changed around the hunk: the rest of the pre-image matches as one block.
    A deleted line still found next to the match was moved, not deleted, and the guess is refused."""
    pre = hunk.old_lines
    kinds = [ln.kind for ln in hunk.lines if ln.kind in " -"]
    lead, trail = _edge_context(hunk)
    insertion = _is_single_insertion(hunk)
    n = len(pre)
    counts = Counter(target[lo:hi])  # a kept line found once in the range anchors the block
    found: dict[int, list[int | None]] = {}
    for width in (1, 2):
        for j in range(1, n - width):  # interior lines only: edge lines are rung 3's business
            gone = range(j, j + width)
            if any(kinds[i] != " " for i in gone):
                continue
            keep = [i for i in range(n) if i not in gone]
            # Each side that had context keeps a real line of it; the leading one for an insertion above all.
            kept_lead = [pre[i] for i in keep if i < lead]
            kept_trail = [pre[i] for i in keep if i >= n - trail]
            if (lead and not any(_is_real_line(x) for x in kept_lead)) or \
                    (trail and not insertion and not any(_is_real_line(x) for x in kept_trail)):
                continue
            pattern = [pre[i] for i in keep]
            for pos in find_windows(target, pattern, lo, hi):
                if section_ok is not None and not section_ok(pos):
                    continue
                around = {norm_ws(t) for t in target[max(pos - 3, 0):pos + len(pattern) + 3]}
                if any(norm_ws(pre[i]) in around for i in gone if _is_real_line(pre[i])):
                    continue
                if not any(counts[pre[i]] == 1 and _is_real_line(pre[i]) for i in keep):
                    continue  # no unique line among what remains
                mapping: list[int | None] = [None] * n
                for k, i in enumerate(keep):
                    mapping[i] = pos + k
                found.setdefault(pos, mapping)
        if found:
            break
    if not found:
        return None
    pick = _disambiguate(sorted(found), expected, in_function)
    if isinstance(pick, int):
        gone = [pre[i] for i, m in enumerate(found[pick]) if m is None]
        what = " / ".join(repr(x.strip()) for x in gone)
        return made("fuzz", pick, found[pick], f"context line {what} deleted in the target, rest unique",
                    confidence=0.75)
    return Refusal(path, f"with a deleted context line the context matches at {len(pick)} places",
                   [f"{path}:{p + 1}" for p in pick[:5]])


def _glued_above(target: list[str], pre: list[str], start: int, lead: int, window: int = 10) -> bool:
    """The mirror of the blank-line rule in _context_split: the whole leading context sits intact a few lines
    above `start` (where the trailing context, opening with a blank line, matched), and the lines in between
    are code glued to it with no blank line. The target grew that paragraph; the change closed it, so it goes
    at the paragraph's new end (an #include appended to a block that has grown)."""
    want = [norm_ws(x) for x in pre[:lead]]
    for end in range(start - 1, max(start - 1 - window, lead - 1), -1):
        if [norm_ws(t) for t in target[end - lead:end]] == want:
            return all(t.strip() for t in target[end:start])
    return False


def _is_real_line(line: str) -> bool:
    return norm_ws(line) not in TRIVIAL_LINES


def _is_single_insertion(hunk: Hunk) -> bool:
    """The hunk only adds lines, in one block."""
    changed = [i for i, ln in enumerate(hunk.lines) if ln.kind != " "]
    return bool(changed) and changed == list(range(changed[0], changed[-1] + 1)) and \
        all(hunk.lines[i].kind == "+" for i in changed)


def _changed_lines_anchor(hunk: Hunk, target: list[str], lo: int, hi: int):
    """Rung 3b: the context drifted (lines inserted between it and the change) but the removed lines are still
    there, together, exactly once, holding a line unique in the range, with some context line of each side
    within a few lines. Then the change can only mean that place; context lines map where they still match."""
    pre_kinds = [ln.kind for ln in hunk.lines if ln.kind in " -"]
    pre = hunk.old_lines
    minus = [i for i, k in enumerate(pre_kinds) if k == "-"]
    if not minus or minus != list(range(minus[0], minus[-1] + 1)):
        return None  # only one contiguous block of removed lines
    block = [norm_ws(pre[i]) for i in minus]
    ntarget = [norm_ws(t) for t in target]
    hits = find_windows(ntarget, block, lo, hi)
    if len(hits) != 1 or not _has_unique_anchor(target, pre, minus[0], (minus[0], len(pre) - minus[-1] - 1), lo, hi):
        return None
    at = hits[0]
    mapping: list[int | None] = [None] * len(pre)
    for k, i in enumerate(minus):
        mapping[i] = at + k
    # Context lines: keep those adjacent runs that still match right next to the block.
    i, t = minus[0] - 1, at - 1
    while i >= 0 and t >= lo and ntarget[t] == norm_ws(pre[i]):
        mapping[i], i, t = t, i - 1, t - 1
    adjacent_before = any(norm_ws(pre[j]) for j in range(i + 1, minus[0]))
    near_before = adjacent_before or any(norm_ws(pre[j]) in ntarget[max(at - 6, 0):at] for j in range(0, i + 1)
                                         if norm_ws(pre[j]))
    i, t = minus[-1] + 1, at + len(minus)
    while i < len(pre) and t < hi and ntarget[t] == norm_ws(pre[i]):
        mapping[i], i, t = t, i + 1, t + 1
    adjacent_after = any(norm_ws(pre[j]) for j in range(minus[-1] + 1, i))
    near_after = adjacent_after or any(norm_ws(pre[j]) in ntarget[t:t + 6] for j in range(i, len(pre))
                                       if norm_ws(pre[j]))
    # The removed lines fix the place; a real context line on one side, next to them or a few lines away,
    # confirms it (the other side may have been rewritten: the code after a changed macro, say).
    lead_has_text = any(norm_ws(pre[j]) for j in range(minus[0]))
    trail_has_text = any(norm_ws(pre[j]) for j in range(minus[-1] + 1, len(pre)))
    if not ((lead_has_text and near_before) or (trail_has_text and near_after)):
        return None
    return mapping, "removed lines found once (unique), context drifted around them"


def _context_split(target: list[str], pre: list[str], pos: int, drops: tuple[int, int], lead: int, trail: int,
                   window: int = 15) -> bool:
    """True when a dropped leading context line still sits a little above the match, with other lines in
    between: code was inserted between the context and the change, so which side of it the change belongs
    on is a guess (sorted lists in docs and Kconfig, tables)."""
    dl, _ = drops
    # Lines inserted *inside* the leading context are harmless while a real line of it stays next to the change.
    # All of it dropped: _fuzz has already checked that it sits just above, glued to the code that split it.
    if dl and dl < lead and not any(x.strip() for x in pre[dl:lead]):
        line = norm_ws(pre[dl - 1])
        start = pos + dl
        above = [norm_ws(t) for t in target[max(start - 1 - window, 0):max(start - 1, 0)]]
        # Only a distinctive line says "this is where the context went"; `return count;` is everywhere.
        if line and above.count(line) == 1 and sum(1 for t in target if norm_ws(t) == line) == 1:
            return True
    # Dropped trailing context that reappears intact just below (a short insertion split the context in two):
    # above or below the inserted lines is a coin toss. Further down, the leading context decides, as it
    # does for patch(1).
    _, dt = drops
    if dt:
        n = len(pre)
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


def _has_unique_anchor(target: list[str], pre: list[str], pos: int, drops: tuple[int, int], lo: int,
                       hi: int, rare_ok: bool = False) -> bool:
    """Reduced context is trusted only if what remains holds a line found nowhere else in the search range:
    in tables and repeated boilerplate (sysctl tables, EXPORT_SYMBOL runs) generic lines match anywhere.
    With `rare_ok`, a long line found twice also counts (`#endif /* CONFIG_SYSCTL */` closes two blocks):
    the caller has checked that the window as a whole matches once."""
    dl, dt = drops
    kept = {norm_ws(x) for x in pre[dl:len(pre) - dt] if norm_ws(x)}
    counts: dict[str, int] = {}
    for line in target[lo:hi]:
        key = norm_ws(line)
        if key in kept:
            counts[key] = counts.get(key, 0) + 1
    return any(c == 1 or (rare_ok and c == 2 and len(k) >= RARE_LINE_MIN) for k, c in counts.items())


def _disambiguate(positions: list[int], expected: int, in_function) -> int | list[int]:
    """One position, or the list of tied candidates (empty when there were none)."""
    if len(positions) == 1:
        return positions[0]
    if not positions:
        return []
    if in_function is not None:
        inside = [p for p in positions if in_function(p)]
        if len(inside) == 1:
            return inside[0]
        if inside:
            positions = inside
    return positions

