"""Text helpers every rung shares: normalising lines, finding a block of lines, building the replacement.

A placement maps the hunk's pre-image onto target lines; building the replacement from that map keeps the
target's own text for context (its indentation, its drifted lines) and changes only what the hunk changes.
"""

from __future__ import annotations

from collections import Counter

from porter.patch import Hunk
from porter.reindent import Reindenter

MAX_FUZZ = 3
TRIVIAL_LINES = {"", "{", "}", "};", "},"}
RARE_LINE_MIN = 16  # characters (whitespace removed) of a line found twice that may anchor a unique window


def norm_ws(line: str) -> str:
    """A line with all whitespace removed: what survives a mangling mailer."""
    return "".join(line.split())


def is_real_line(line: str) -> bool:
    """Not blank and not a lone brace: a line that can anchor something."""
    return norm_ws(line) not in TRIVIAL_LINES


def stated_index(hunk: Hunk) -> int:
    """0-based line where git would start looking for the pre-image."""
    if hunk.old_len == 0:
        return hunk.old_start  # insertion after line old_start
    return max(hunk.old_start - 1, 0)


def git_position(hunk: Hunk) -> int:
    """0-based line where `git apply` looks for the hunk in a file its earlier hunks already changed: the @@
    header's new start. The base of the offsets porter reports, so they read as `git apply -v`'s (the old
    start, in a file grown by hunk 1, made hunk 2 of an unchanged tree look moved)."""
    return max(hunk.new_start - 1, 0)


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


def edge_context(hunk: Hunk) -> tuple[int, int]:
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


def is_single_insertion(hunk: Hunk) -> bool:
    """The hunk only adds lines, in one block."""
    changed = [i for i, ln in enumerate(hunk.lines) if ln.kind != " "]
    return bool(changed) and changed == list(range(changed[0], changed[-1] + 1)) and \
        all(hunk.lines[i].kind == "+" for i in changed)


def has_unique_anchor(target: list[str], pre: list[str], pos: int, drops: tuple[int, int], lo: int,
                      hi: int, rare_ok: bool = False) -> bool:
    """Reduced context is trusted only if what remains holds a line found nowhere else in the search range:
    in tables and repeated boilerplate (sysctl tables, EXPORT_SYMBOL runs) generic lines match anywhere.
    With `rare_ok`, a long line found twice also counts (`#endif /* CONFIG_SYSCTL */` closes two blocks):
    the caller has checked that the window as a whole matches once."""
    dl, dt = drops
    kept = {norm_ws(x) for x in pre[dl:len(pre) - dt] if norm_ws(x)}
    counts: Counter = Counter(k for k in (norm_ws(line) for line in target[lo:hi]) if k in kept)
    return any(c == 1 or (rare_ok and c == 2 and len(k) >= RARE_LINE_MIN) for k, c in counts.items())


def disambiguate(positions: list[int], in_function) -> int | list[int]:
    """One position, or the list of tied candidates (empty when there were none). `in_function(pos)` says
    whether a position lies in the function the hunk header names: the only tie-breaker we trust."""
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
    # Map each removed line's normalised text to its real target text, to restore indentation of re-added lines.
    removed_by_norm = {}
    i = 0
    for ln in hunk.lines:
        if ln.kind in " -":
            if ln.kind == "-" and mapping[i] is not None:
                removed_by_norm.setdefault(norm_ws(target[mapping[i]]), target[mapping[i]])
            i += 1
    eol = _line_ending_fix(hunk, target, mapping)
    pre_i = 0
    cursor = start
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
                if same is not None and same.strip() == text.strip():
                    text = same
                    ri.observe(text)
                else:
                    text = ri.indent(text)
            out.append(eol(text))
    while cursor < end:
        out.append(target[cursor])
        cursor += 1
    return start, end - start, out


def _line_ending_fix(hunk: Hunk, target: list[str], mapping: list[int | None]):
    """Added lines take the target's line ending when the patch's differs (a CRLF patch matched an LF file
    ignoring whitespace): one CR-terminated line in an LF file is a change nobody asked for."""
    pre = [ln.text for ln in hunk.lines if ln.kind in " -"]
    pairs = [(pre[i], target[t]) for i, t in enumerate(mapping) if t is not None]
    if pairs and all(p.endswith("\r") for p, _ in pairs) and not any(t.endswith("\r") for _, t in pairs):
        return lambda text: text.removesuffix("\r")
    if pairs and all(t.endswith("\r") for _, t in pairs) and not any(p.endswith("\r") for p, _ in pairs):
        return lambda text: text if text.endswith("\r") else text + "\r"
    return lambda text: text


def changed_span(old: list[str], new: list[str]) -> tuple[int, int]:
    """(p, q): the lines `old` and `new` share at their start and, after those, at their end. A placement
    replaces its kept context too; only old[p:len(old) - q] -> new[p:len(new) - q] is the edit."""
    p = 0
    while p < min(len(old), len(new)) and old[p] == new[p]:
        p += 1
    q = 0
    while q < min(len(old), len(new)) - p and old[len(old) - 1 - q] == new[len(new) - 1 - q]:
        q += 1
    return p, q

