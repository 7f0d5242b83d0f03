"""Rung: the target tree as evidence — find where a hunk's pre-image went when nothing names the place.

Principle. A hunk's pre-image (its context and removed lines, in order) is a fingerprint of the code it
changes. When the hunk names no function (a hand-made diff: nothing after `@@`, no `index` line) and its own
file no longer holds that fingerprint (or is gone), the tree is the only witness left: if the whole pre-image
occurs at exactly one place in the tree — the same uniqueness rule as the exact line rungs, made tree-wide —
the code moved there, and the hunk goes there with the move reported (from file -> to file:line). Several
places, or none, decide nothing: the hunk is refused and the places are named. Nor does a copy: while the own
file still holds most of the pre-image's lines together, the code was changed where it is, not moved, and the
one place elsewhere is a twin (sibling drivers share code line for line).

Cost. The tree is never parsed: the pre-image's longest (rarest-looking) lines are looked up as fixed strings
(`git grep -F` / `grep -F` through Tree.grep_files), and only the few files holding all of them are read.
A pre-image too generic to be a fingerprint (fewer than two real lines, or no long line) is not searched.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

from porter.patch import Hunk
from porter.place.codes import Reason, Rung
from porter.place.result import Placement, Refusal, refuse
from porter.place.text import (
    RARE_LINE_MIN,
    TRIVIAL_LINES,
    build_replacement,
    find_windows,
    norm_ws,
    stated_index,
)
from porter.tree import Tree

KEY_LINES = 2  # fixed-string keys per hunk: each one narrows the candidate files
MIN_REAL_LINES = 2  # pre-image lines that are not blank or a lone brace
MAX_CANDIDATE_FILES = 200  # more files than this holding the keys: the pre-image is boilerplate
MAX_NAMED = 5
SECTION_TABLE_RE = re.compile(r"([A-Za-z_]\w*)\s*(?:\[[^\]]*\])*\s*=\s*\{?$")


def applies(hunk: Hunk, names: list[str], origin: str) -> bool:
    """The rung is for C hunks that name no function (git's @@ section, the pre-image blob and the hunk's own
    lines all silent): a named function is the function rungs' evidence, and stronger. Outside C the same
    lines are often deliberate copies (Documentation/translations/, per-arch Kconfig and defconfigs), so a
    unique match elsewhere says nothing about a move."""
    return not names and bool(hunk.old_lines) and origin.endswith((".c", ".h"))


def _real(line: str) -> bool:
    return norm_ws(line) not in TRIVIAL_LINES


def key_lines(hunk: Hunk) -> list[str]:
    """The pre-image lines to grep for, rarest-looking first: the longest real lines (a long line of code is
    rarely repeated verbatim; `return 0;` is everywhere). Stripped, so indentation changes do not hide them."""
    real = sorted({ln.strip() for ln in hunk.old_lines if _real(ln)}, key=lambda s: (-len(norm_ws(s)), s))
    return real[:KEY_LINES]


def _suffixes(origin: str) -> tuple[str, ...]:
    """Where code from `origin` can have moved: files of the same kind (a .c hunk into .c or .h files)."""
    ext = posixpath.splitext(origin)[1]
    if ext in (".c", ".h"):
        return (".c", ".h")
    return (ext,) if ext else (posixpath.basename(origin),)


def candidate_files(tree: Tree, keys: list[str], suffixes: tuple[str, ...]) -> list[str]:
    """Files holding every key line (whole-word fixed strings): the prefilter, never a parse of the tree."""
    files: list[str] | None = None
    for key in keys:
        files = tree.grep_files([key], paths=files, suffixes=suffixes)
        if not files:
            return []
    return files or []


def _windows(lines: list[str], pre: list[str]) -> tuple[list[int], bool]:
    """Exact windows, else whitespace-insensitive ones (a file re-indented on its way): (positions, ws)."""
    exact = find_windows(lines, pre)
    if exact:
        return exact, False
    return find_windows([norm_ws(t) for t in lines], [norm_ws(p) for p in pre]), True


def _unique_line(lines: list[str], pre: list[str], pos: int) -> bool:
    """The matched window holds a real line found nowhere else in its file (the line rungs' anchor rule)."""
    counts: dict[str, int] = {}
    for t in lines:
        k = norm_ws(t)
        counts[k] = counts.get(k, 0) + 1
    return any(counts.get(norm_ws(t), 0) == 1 for t in lines[pos:pos + len(pre)] if _real(t))


def search_tree(hunk: Hunk, tree: Tree, origin: str, read_lines: Callable[[str], list[str] | None]
                ) -> Placement | Refusal | None:
    """Place `hunk` (written against `origin`) where its whole pre-image occurs once in `tree`.

    `read_lines(path)` gives a file's current lines (earlier hunks applied), None if it does not exist.
    None: the rung does not apply (pre-image too generic, or found in `origin` itself, where the line rungs
    have already judged it)."""
    pre = hunk.old_lines
    real = [ln for ln in pre if _real(ln)]
    keys = key_lines(hunk)
    if len(real) < MIN_REAL_LINES or not keys or len(norm_ws(keys[0])) < RARE_LINE_MIN:
        return None
    files = candidate_files(tree, keys, _suffixes(origin))
    if len(files) > MAX_CANDIDATE_FILES:
        return refuse(origin, Reason.TREE_SEARCH_TOO_COMMON, files[:MAX_NAMED], Rung.TREE_SEARCH,
                      count=len(files), tree=tree.name)
    hits: list[tuple[str, int, bool]] = []
    for path in files:
        lines = read_lines(path)
        if lines is None:
            continue
        wins, ws = _windows(lines, pre)
        hits += [(path, p, ws) for p in wins]
    if any(path == origin for path, _, _ in hits):
        return None
    done = [] if hits else _post_image_hits(hunk, files, read_lines)
    kept = _still_in_origin(pre, read_lines(origin))
    if kept is not None and (hits or done):
        # The code did not move: most of its lines are still together in its own file. The same
        # pre-image (or post-image) elsewhere is a copy (a sibling driver), not where this code went.
        found = [f"{p}:{i + 1}" for p, i, _ in hits] or [f"{p}:{i + 1}" for p, i in done]
        return refuse(origin, Reason.TREE_SEARCH_STILL_HERE, found[:MAX_NAMED], Rung.TREE_SEARCH,
                      where=f"{origin}:{kept + 1}", line=read_lines(origin)[kept].strip())
    if not hits:
        if len(done) == 1:
            path, p = done[0]
            lines = read_lines(path) or []
            post = hunk.new_lines
            return Placement(path, Rung.ALREADY_APPLIED, p, len(post), list(lines[p:p + len(post)]),
                             evidence=f"post-image already present at {path}:{p + 1} (moved from {origin})")
        return refuse(origin, Reason.TREE_SEARCH_NOT_FOUND, [f"{p}:{i + 1}" for p, i in done[:MAX_NAMED]],
                      Rung.TREE_SEARCH, origin=origin, tree=tree.name)
    named = [f"{p}:{i + 1}" for p, i, _ in hits[:MAX_NAMED]]
    if len(hits) > 1:
        return refuse(origin, Reason.TREE_SEARCH_AMBIGUOUS, named, Rung.TREE_SEARCH, count=len(hits))
    path, pos, ws = hits[0]
    lines = read_lines(path) or []
    if not _unique_line(lines, pre, pos):
        return None  # one window, but built of lines its file repeats: no fingerprint
    start, length, repl = build_replacement(hunk, lines, [pos + i for i in range(len(pre))], False)
    how = " (ignoring whitespace)" if ws else ""
    res = Placement(path, Rung.TREE_SEARCH, start, length, repl, offset=pos - stated_index(hunk),
                    confidence=0.8 if ws else 0.9,
                    evidence=f"code moved: {origin} -> {path}:{pos + 1} (the hunk's whole pre-image occurs once "
                             f"in {tree.name}{how})")
    res.notes.append(f"moved from {origin}")
    return res


def _still_in_origin(pre: list[str], lines: list[str] | None) -> int | None:
    """Where the origin file still holds the code: at least half of the pre-image's real lines (two or more),
    together within the pre-image's own length of one another. One common line somewhere (`struct page *page =
    pfn_to_page(pfn);`) is not the code."""
    if not lines:
        return None
    real = {norm_ws(x) for x in pre if _real(x)}
    need = max(2, (len(real) + 1) // 2)
    at = [(i, t) for i, t in enumerate(norm_ws(x) for x in lines) if t in real]
    span = len(pre)
    for k, (i, _t) in enumerate(at):
        near = {t for j, t in at[k:] if j - i <= span}
        if len(near) >= need:
            return i
    return None


def _post_image_hits(hunk: Hunk, files: list[str], read_lines) -> list[tuple[str, int]]:
    if not (hunk.added or hunk.removed):
        return []
    post = hunk.new_lines
    found = []
    for path in files:
        lines = read_lines(path)
        if lines is not None:
            found += [(path, p) for p in find_windows(lines, post)]
    return found


class TreeSearch:
    """The rung as porter/place/ladder.py's LADDER takes it (slot TREE_SEARCH). `ctx` is a HunkContext."""

    rung = Rung.TREE_SEARCH

    def applies(self, ctx) -> bool:
        return not ctx.whole_definition and applies(ctx.hunk, ctx.names, ctx.state.path)

    def place(self, ctx) -> Placement | Refusal | None:
        def read_lines(path: str) -> list[str] | None:
            if not ctx.tree.exists(path) and path != ctx.state.path:
                return None
            st = ctx.files.state(path)  # earlier hunks' changes included; unchanged files are not written
            return st.lines if st.exists else None

        held = self._still_defined(ctx)
        if held is not None:
            return held
        return search_tree(ctx.hunk, ctx.tree, ctx.state.path, read_lines)

    @staticmethod
    def _still_defined(ctx) -> Refusal | None:
        """A hunk inside a file-scope definition (a table, a struct) names no function but still names that
        definition (the blob's enclosing one, else git's @@ section): while the own file defines it, the code
        was reworded there, not moved."""
        if not ctx.state.exists:
            return None
        name = None
        if ctx.old_model is not None:
            d = ctx.old_model.enclosing(ctx.hunk.old_start + ctx.hunk.leading_context)
            name = d.name if d is not None and d.kind != "function" else None
        else:  # git's @@ section names a table's declaration: `static const struct reg regs[] = {`
            m = SECTION_TABLE_RE.search(ctx.hunk.section.strip())
            name = m.group(1) if m else None
        if not name:
            return None
        pat = re.compile(rf"\b{re.escape(name)}\b")
        at = next((i for i, t in enumerate(ctx.state.lines) if pat.search(t) and not t[:1].isspace()), None)
        if at is None:
            return None
        return refuse(ctx.state.path, Reason.TREE_SEARCH_STILL_HERE, [], Rung.TREE_SEARCH,
                      where=f"{ctx.state.path}:{at + 1}", line=ctx.state.lines[at].strip())
