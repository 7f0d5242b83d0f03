"""`Search`: what the context rungs look at — one file's lines, a range of them, and the hunk's own facts.

The file-level ladder searches the whole file; the function rungs search one function's range with the same
rungs. git's edge rule lives here, so every context rung obeys it: a hunk without trailing context applies only
at the end of the file, one without leading context that starts at line 1 only at the start (git apply's
match_end / match_beginning).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from porter.patch import Hunk
from porter.place.codes import Rung
from porter.place.result import Placement
from porter.place.text import build_replacement, edge_context, find_windows, git_position, norm_ws


def must_end_at_eof(hunk: Hunk) -> bool:
    """git: a hunk with no trailing context matches only at the end of the file."""
    return bool(hunk.old_lines) and edge_context(hunk)[1] == 0


def must_start_at_bof(hunk: Hunk) -> bool:
    """git: a hunk whose pre-image starts at line 1 with no leading context matches only at the start. (git
    requires that of every hunk at line 1; one with leading context is anchored by that context instead.)"""
    return bool(hunk.old_lines) and edge_context(hunk)[0] == 0 and hunk.old_start <= 1


# Where whitespace outside strings carries no meaning, so a pre-image may match ignoring it (C sources).
WHITESPACE_FREE = (".c", ".h")


@dataclass
class Search:
    hunk: Hunk
    lines: list[str]
    path: str
    expected: int  # the stated line shifted by earlier hunks' offsets
    lo: int = 0
    hi: int | None = None
    in_function: Callable[[int], bool] | None = None  # tie-breaker: inside the function the @@ header names
    after_section: Callable[[int], bool] | None = None  # reduced context must follow the @@ section's function
    allow_fuzz: bool = True
    allow_ws: bool = True
    whole_definition: bool = False  # the hunk adds whole top-level definitions
    line_count: Callable[[str], int] | None = None  # occurrences of a line in `lines` (the whole file's)

    def __post_init__(self):
        if not self.path.endswith(WHITESPACE_FREE):
            self.allow_ws = False  # Python, YAML, rst, Makefile recipes: indentation is meaning
        if self.hi is None:
            self.hi = len(self.lines)
        self.pre = self.hunk.old_lines
        self.lead, self.trail = edge_context(self.hunk)
        self.at_end = must_end_at_eof(self.hunk)
        self.at_start = must_start_at_bof(self.hunk)

    @cached_property
    def ntarget(self) -> list[str]:
        return [norm_ws(t) for t in self.lines]

    @cached_property
    def npre(self) -> list[str]:
        return [norm_ws(p) for p in self.pre]

    def windows(self, pattern: list[str], lines: list[str] | None = None, dl: int = 0, dt: int = 0) -> list[int]:
        """Start positions of `pattern` (the pre-image minus `dl` leading / `dt` trailing lines) in the range,
        keeping only those git's edge rule allows."""
        lines = self.lines if lines is None else lines
        found = self._unique_window(pattern, dl) if lines is self.lines else None
        if found is None:
            found = find_windows(lines, pattern, self.lo, self.hi)
        if self.at_end:
            found = [p for p in found if p + len(pattern) + dt == len(lines)]
        if self.at_start:
            found = [p for p in found if p - dl == 0]
        return found

    def _unique_window(self, pattern: list[str], dl: int) -> list[int] | None:
        """The windows of `pattern` without scanning the file, when one of its lines occurs once in the whole
        file, at the expected place or nowhere: then that place is the only candidate. None: scan."""
        if self.line_count is None or not pattern:
            return None
        k = min(range(len(pattern)), key=lambda j: self.line_count(pattern[j]))
        count = self.line_count(pattern[k])
        if count == 0:
            return []
        at = self.expected + dl
        if count > 1 or not 0 <= at + k < len(self.lines) or self.lines[at + k] != pattern[k]:
            return None
        inside = self.lo <= at and at + len(pattern) <= self.hi
        return [at] if inside and self.lines[at:at + len(pattern)] == pattern else []

    def made(self, rung: Rung, pos: int, mapping: list[int | None], evidence: str, confidence: float = 1.0,
             ws: bool = False) -> Placement:
        # Added lines are re-indented only when the text matched ignoring whitespace in a mangled mail.
        start, length, repl = build_replacement(self.hunk, self.lines, mapping, ws and self.hunk.mangled)
        return Placement(self.path, rung, start, length, repl, offset=pos - git_position(self.hunk),
                         confidence=confidence, evidence=evidence)

    def where(self, positions: list[int]) -> list[str]:
        return [f"{self.path}:{p + 1}" for p in positions[:5]]
