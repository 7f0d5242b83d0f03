"""Rung: an insertion whose leading and trailing context the target split with preprocessor lines.

Principle. A hunk that only adds lines puts them between its leading and its trailing context, which were
adjacent in the pre-image. When the target has both, in order and once, but with a few conditional directives
between them (`#endif`, `#else`, `#ifdef X`: the target opened or closed a conditional there), the added lines
go above or below those directives — and that choice changes which configurations compile them. Of the two,
the right one is the one that keeps the added lines under the same conditionals as in the pre-image: its
`#if` nesting at the insertion point (read from the pre-image blob) must equal the target's on exactly one
side. Without the pre-image blob, or when both or neither side match, it is a guess and the hunk is refused
(as the line rungs and the 3-way rung refuse a split).

Only directives (and blank lines) may stand between the two contexts: real code there is the target's own
change, and where the hunk goes relative to it is not a question nesting can answer.
"""

from __future__ import annotations

import posixpath
import re

from porter.place.codes import Reason, Rung
from porter.place.context import HunkContext
from porter.place.result import Placement, refuse
from porter.place.text import find_windows, git_position, is_single_insertion

MAX_GAP = 3  # directive lines the target may have put between the contexts
DIRECTIVE_RE = re.compile(r"^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)$")
COMMENT_RE = re.compile(r"/\*.*?\*/|//.*$")
# The same blocks outside C: Kconfig's `if X`/`menu`/`choice` and Make's conditionals decide, as #if does,
# what a line applies to.
# Kconfig's block keywords stand at the start of a line; indented, `if unsure, say Y.` is help text. Make's
# conditionals may be indented with spaces, never a tab (a tab starts a recipe line, `else \` in shell).
KCONFIG_RE = re.compile(r"^(if|endif|menu|endmenu|choice|endchoice)\b(.*)$")
MAKE_RE = re.compile(r"^ *(ifdef|ifndef|ifeq|ifneq|else|endif)\b(.*)$")
OPEN, BRANCH, CLOSE = "open", "branch", "close"
KINDS = {"if": OPEN, "ifdef": OPEN, "ifndef": OPEN, "ifeq": OPEN, "ifneq": OPEN, "menu": OPEN, "choice": OPEN,
         "elif": BRANCH, "else": BRANCH, "endif": CLOSE, "endmenu": CLOSE, "endchoice": CLOSE}


def dialect(path: str) -> re.Pattern:
    """The conditional-block syntax of a file: Kconfig, Make, or the C preprocessor."""
    base = posixpath.basename(path)
    if base.startswith("Kconfig"):
        return KCONFIG_RE
    if base in ("Makefile", "Kbuild") or base.endswith((".mk", ".make")) or base.startswith("Makefile."):
        return MAKE_RE
    return DIRECTIVE_RE


def directive(line: str, path: str = "") -> tuple[str, str, str] | None:
    """(OPEN|BRANCH|CLOSE, keyword, normalised rest) when `line` opens, branches or closes a conditional."""
    m = dialect(path).match(line)
    if not m:
        return None
    return KINDS[m.group(1)], m.group(1), " ".join(COMMENT_RE.sub("", m.group(2)).split())


def nesting_at(lines: list[str], index: int, path: str = "") -> list[str]:
    """The conditionals open before line `index` (0-based), outermost first, each as its normalised text with
    the branch taken (`ifdef CONFIG_X | else`); Kconfig and Make blocks by the file's `path`."""
    stack: list[str] = []
    for line in lines[:index]:
        d = directive(line, path)
        if d is None:
            continue
        kind, word, rest = d
        if kind == OPEN:
            stack.append(f"{word} {rest}")
        elif kind == BRANCH and stack:
            stack[-1] = f"{stack[-1]} | {word} {rest}".rstrip()
        elif kind == CLOSE and stack:
            stack.pop()
    return stack


def _is_gap_line(line: str, path: str = "") -> bool:
    return not line.strip() or directive(line, path) is not None


class PreprocessorGap:
    rung = Rung.NESTING

    def applies(self, ctx: HunkContext) -> bool:
        return ctx.state.exists and is_single_insertion(ctx.hunk) and ctx.old_source is not None

    def place(self, ctx: HunkContext):
        hunk, lines = ctx.hunk, ctx.state.lines
        lead, trail = hunk.leading_context, len(hunk.old_lines) - hunk.leading_context
        if not lead or trail <= 0:
            return None
        pre = hunk.old_lines
        splits = []
        for p in find_windows(lines, pre[:lead]):
            after = p + lead
            for gap in range(1, MAX_GAP + 1):
                if not all(_is_gap_line(x, ctx.state.path) for x in lines[after:after + gap]):
                    break
                if lines[after + gap:after + gap + trail] == pre[lead:]:
                    splits.append((p, gap))
        if not splits:
            return None
        where = [f"{ctx.state.path}:{p + 1}" for p, _ in splits]
        if len(splits) > 1:
            return refuse(ctx.state.path, Reason.AMBIGUOUS, where, rung=self.rung, count=len(splits))
        (p, gap), = splits
        old_lines = ctx.old_lines
        path = ctx.state.path
        want = nesting_at(old_lines, hunk.old_start - 1 + lead, path)
        above, below = nesting_at(lines, p + lead, path), nesting_at(lines, p + lead + gap, path)
        sides = [side for side, nest in (("above", above), ("below", below)) if nest == want]
        if len(sides) != 1:
            return refuse(ctx.state.path, Reason.NESTING_UNDECIDED, where, rung=self.rung, where=where[0],
                          gap=gap, want=" / ".join(want) or "none")
        gap_lines = lines[p + lead:p + lead + gap]
        mid = hunk.added + gap_lines if sides[0] == "above" else gap_lines + hunk.added
        replacement = lines[p:p + lead] + mid + lines[p + lead + gap:p + lead + gap + trail]
        shown = ", ".join(x.strip() for x in gap_lines if x.strip())
        return Placement(ctx.state.path, self.rung, p, lead + gap + trail, replacement,
                         offset=p - git_position(hunk), confidence=0.8,
                         evidence=f"the target put {shown} between the hunk's leading and trailing context; "
                                  f"placed {sides[0]}, under the same #if nesting as in the pre-image "
                                  f"({' / '.join(want) or 'none'})")
