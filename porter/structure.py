"""The C-structure facts placement needs about a file and a hunk: a target file's evolving state (and its
parsed model), and which definitions a hunk adds whole. The rungs that use them live in porter/place/."""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

from porter import cmodel
from porter.patch import Hunk
from porter.place.text import changed_span

C_SUFFIXES = (".c", ".h")
# Text that can open or close a definition, a comment, a string or a preprocessor group. An edit inside a
# function body that touches none of it leaves every definition's shape alone: they only move.
_STRUCTURAL_RE = re.compile(r"""[{}#"'\\]|/\*|\*/""")


@dataclass
class FileState:
    """A target file as it evolves while hunks are applied (lines without newlines).

    The C parser runs once per file, not once per hunk: `edit` keeps the outline (the definitions and their
    line and byte ranges) valid by shifting it when an edit stays inside one function body without touching
    structure, which is what almost every hunk does. `model()` (calls, loops, assignments) reparses after
    edits, and only when asked. Files that are not C are never parsed: their outline is empty."""

    path: str
    lines: list[str]
    exists: bool = True
    final_newline: bool = True
    _outline: list | None = field(default=None, repr=False, compare=False)
    _outline_of: tuple = field(default=(None, -1), repr=False, compare=False)  # (lines object, length)
    _model: cmodel.FileModel | None = field(default=None, repr=False, compare=False)
    _edited: bool = field(default=False, repr=False, compare=False)
    _functions: list | None = field(default=None, repr=False, compare=False)  # functions of the outline
    _by_name: dict | None = field(default=None, repr=False, compare=False)  # and by name, with _starts
    _starts: list = field(default_factory=list, repr=False, compare=False)
    _start_lines: list = field(default_factory=list, repr=False, compare=False)
    _by_start: list = field(default_factory=list, repr=False, compare=False)
    _counts: Counter | None = field(default=None, repr=False, compare=False)  # line text -> occurrences
    _counts_of: int = field(default=-1, repr=False, compare=False)  # id of the lines list they count
    _nesting: tuple | None = field(default=None, repr=False, compare=False)  # enclosing()'s index of the outline

    @property
    def is_c(self) -> bool:
        return self.path.endswith(C_SUFFIXES)

    def model(self) -> cmodel.FileModel:
        """The full model of the current text (parsed, or from the cache)."""
        if not self.is_c:
            return cmodel.FileModel(self.path)
        if self._model is None or self._outline_of != (id(self.lines), len(self.lines)):
            source = "\n".join(self.lines).encode("utf-8", "surrogateescape")
            # edited text is this run's alone: keep it out of the disk cache
            self._model = cmodel.parse_c(source, self.path, persist=not self._edited)
            self._set_outline(list(self._model.definitions))
        return self._model

    def definitions(self) -> list[cmodel.Definition]:
        """Definitions with their current line and byte ranges (`calls` may predate edits inside a body)."""
        if self._outline is None or self._outline_of != (id(self.lines), len(self.lines)):
            self._model = None  # edited in a way the outline cannot follow, or replaced behind edit()'s back
            self.model()
        return self._outline or []

    def functions(self) -> list[cmodel.Definition]:
        self.definitions()
        return self._index()

    def functions_named(self, name: str) -> list[cmodel.Definition]:
        self.functions()
        return self._by_name.get(name, [])

    def _index(self) -> list[cmodel.Definition]:
        """The functions of the outline as it stands (no check that it matches the lines: edit() needs the
        outline of the text before the edit), by name and by start line."""
        if self._functions is None:
            self._functions = [d for d in self._outline or [] if d.kind == "function"]
            self._by_name = None
        if self._by_name is None:
            self._by_name = {}
            for d in self._functions:
                self._by_name.setdefault(d.name, []).append(d)
            self._starts = sorted((d.start_line - 1, d.name) for d in self._functions)
            self._start_lines = [line for line, _ in self._starts]
            self._by_start = sorted(self._functions, key=lambda d: d.start_line)
        return self._functions

    def function_starts(self) -> list[tuple[int, str]]:
        """(0-based first line, name) of every function, in file order."""
        self.functions_named("")
        return self._starts

    def function_start_lines(self) -> list[int]:
        """The 0-based first lines of function_starts(), for bisecting."""
        self.functions_named("")
        return self._start_lines

    def line_count(self, text: str) -> int:
        """How many lines of the file are exactly `text` (kept up to date by edit(), so uniqueness checks need
        no scan of the whole file)."""
        if self._counts is None or self._counts_of != id(self.lines):
            self._counts, self._counts_of = Counter(self.lines), id(self.lines)
        return self._counts[text]

    def enclosing(self, line: int) -> cmodel.Definition | None:
        """Innermost definition whose lines contain `line` (as FileModel.enclosing; the first in file order of
        equal size). Bisected: a scan of every definition per placement made a 5,000-hunk file quadratic."""
        defs = self.definitions()
        if self._nesting is None or self._nesting[0] is not defs:
            order = sorted(range(len(defs)), key=lambda i: defs[i].start_line)
            starts = [defs[i].start_line for i in order]
            # reach[k]: the furthest end line among the first k+1 definitions by start, so the walk back from
            # `line` stops as soon as nothing further up can still be open there
            reach = list(itertools.accumulate((defs[i].end_line for i in order), max))
            self._nesting = (defs, order, starts, reach)
        _, order, starts, reach = self._nesting
        best = None
        for k in range(bisect.bisect_right(starts, line) - 1, -1, -1):
            if reach[k] < line:
                break
            d = defs[order[k]]
            if d.end_line >= line:
                key = (d.end_byte - d.start_byte, order[k])
                if best is None or key < best[0]:
                    best = (key, d)
        return best[1] if best else None

    def edit(self, start: int, end: int, replacement: list[str]) -> None:
        """lines[start:end] = replacement, keeping the outline when the edit cannot change it."""
        valid = self._outline is not None and self._outline_of == (id(self.lines), len(self.lines))
        old = self.lines[start:end]
        self.lines[start:end] = replacement
        if self._counts is not None and self._counts_of == id(self.lines):
            self._counts.subtract(old)
            self._counts.update(replacement)
        self._edited, self._model = True, None
        if valid and self._shift_outline(start, end, old, replacement):
            self._outline_of = (id(self.lines), len(self.lines))
        else:
            self._outline = self._functions = None

    def _set_outline(self, definitions: list[cmodel.Definition]) -> None:
        self._outline, self._functions = definitions, None
        self._outline_of = (id(self.lines), len(self.lines))

    def _shift_outline(self, start: int, end: int, old: list[str], new: list[str]) -> bool:
        """Move the outline across an edit of old lines start+1..end (1-based); False when it must be reparsed."""
        # a placement replaces its context lines too: only the lines that differ are the edit
        p, q = changed_span(old, new)
        old, new, start, end = old[p:len(old) - q], new[p:len(new) - q], start + p, end - q
        first, last = start + 1, end  # last == first - 1 for a pure insertion
        if any(_STRUCTURAL_RE.search(t) for t in old + new):
            return False
        if not self._inside_one_body(first, last):
            return False
        dl = len(new) - len(old)
        db = sum(len(t.encode("utf-8", "surrogateescape")) + 1 for t in new) - \
            sum(len(t.encode("utf-8", "surrogateescape")) + 1 for t in old)
        if not dl and not db:
            return True
        out = []
        for d in self._outline:
            if d.start_line > last:  # below the edit: moves as a whole
                d = dataclasses.replace(
                    d, start_line=d.start_line + dl, end_line=d.end_line + dl, start_byte=d.start_byte + db,
                    end_byte=d.end_byte + db,
                    body_start_line=None if d.body_start_line is None else d.body_start_line + dl,
                    body_start_byte=None if d.body_start_byte is None else d.body_start_byte + db)
            elif d.start_line < first and d.end_line > last:  # around the edit: its end moves
                d = dataclasses.replace(d, end_line=d.end_line + dl, end_byte=d.end_byte + db)
            elif d.end_line >= first:  # starts or ends inside the edited lines
                return False
            out.append(d)
        self._outline, self._functions = out, None
        return True

    def _inside_one_body(self, first: int, last: int) -> bool:
        """Lines first..last lie strictly between some function's '{' line and its '}' line."""
        self._index()
        k = bisect.bisect_left(self._start_lines, first - 1)  # functions starting above the edit: [:k]
        # Only a body the parser read without error recovery: where it recovered, any edit may change its guess.
        if k:  # the nearest one above, as a rule the one the edit is in
            d = self._by_start[k - 1]
            if d.body_start_line is not None and d.body_start_line < first and last < d.end_line:
                return d.error_nodes == 0 and d.source == "tree"
        # error recovery can nest definitions: an outer one may hold the edit
        return any(d.body_start_line is not None and d.body_start_line < first and last < d.end_line
                   and d.error_nodes == 0 and d.source == "tree" for d in self._by_start[:max(k - 1, 0)])


def added_definitions(hunk: Hunk) -> list[cmodel.Definition]:
    """Whole definitions among the hunk's added lines (a function, or a prototype at file scope)."""
    added = [ln.text for ln in hunk.lines if ln.kind == "+"]
    if not added or len(added) < 2 and not added[0].rstrip().endswith(";"):
        return []
    if not any("(" in t for t in added):
        return []  # a function or a prototype has a parameter list: skip the parse (a hunk per line adds up)
    model = cmodel.parse_c("\n".join(added).encode("utf-8", "surrogateescape"))
    return [d for d in model.definitions if d.kind in ("function", "prototype") and d.name]


def is_whole_definition_hunk(hunk: Hunk) -> bool:
    """All added lines are contiguous and form complete top-level definitions (plus #if/#endif/blank lines)."""
    kinds = "".join(ln.kind for ln in hunk.lines).strip(" ")
    if not kinds or set(kinds) != {"+"}:
        return False
    defs = [d for d in added_definitions(hunk) if d.kind == "function"]
    return bool(defs)
