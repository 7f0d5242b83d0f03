"""Structure-aware rungs of the placement ladder (DESIGN.md rungs 5-6) and new top-level definitions.

These run only when the line-level rungs found nothing: the hunk's enclosing function is looked up in the target
(same file, then other files through the symbol index, then by similarity for a rename) and the hunk is aligned
inside that function's body. A hunk that adds whole definitions is placed by its neighbours.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections import Counter
from dataclasses import dataclass, field

from porter import cmodel
from porter.patch import Hunk
from porter.placement import MAX_FUZZ, Placement, Refusal, norm_ws, place_line_level

# Rename threshold: token similarity of signature+body. Renamed kernel functions that keep their job
# (memmap_init_zone -> memmap_init_range) score well above 0.6; unrelated neighbours in mm/ rarely pass 0.45.
RENAME_MIN_SCORE = 0.6
RENAME_MIN_MARGIN = 0.1
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
        definitions = self.definitions()
        if self._functions is None:
            self._functions = [d for d in definitions if d.kind == "function"]
            self._by_name = None
        return self._functions

    def functions_named(self, name: str) -> list[cmodel.Definition]:
        functions = self.functions()
        if self._by_name is None:
            self._by_name = {}
            for d in functions:
                self._by_name.setdefault(d.name, []).append(d)
            self._starts = sorted((d.start_line - 1, d.name) for d in functions)
        return self._by_name.get(name, [])

    def function_starts(self) -> list[tuple[int, str]]:
        """(0-based first line, name) of every function, in file order."""
        self.functions_named("")
        return self._starts

    def enclosing(self, line: int) -> cmodel.Definition | None:
        """Innermost definition whose lines contain `line` (as FileModel.enclosing)."""
        best = None
        for d in self.definitions():
            if d.start_line <= line <= d.end_line and (
                    best is None or d.end_byte - d.start_byte < best.end_byte - best.start_byte):
                best = d
        return best

    def edit(self, start: int, end: int, replacement: list[str]) -> None:
        """lines[start:end] = replacement, keeping the outline when the edit cannot change it."""
        valid = self._outline is not None and self._outline_of == (id(self.lines), len(self.lines))
        old = self.lines[start:end]
        self.lines[start:end] = replacement
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
        p = 0
        while p < min(len(old), len(new)) and old[p] == new[p]:
            p += 1
        q = 0
        while q < min(len(old), len(new)) - p and old[-1 - q] == new[-1 - q]:
            q += 1
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
        for d in self.functions():
            if d.body_start_line is not None and d.body_start_line < first and last < d.end_line:
                return True
        return False


def function_range(state: FileState, name: str) -> list[cmodel.Definition]:
    return list(state.functions_named(name))


def align_in_function(hunk: Hunk, state: FileState, fn: cmodel.Definition, rung: str, evidence: str,
                      expected: int) -> Placement | Refusal:
    """Place the hunk inside `fn` (line range), allowing as much edge fuzz as the hunk has context:
    inside one function a shorter context is still unique enough to trust."""
    # The hunk's context may reach above the signature and below the closing brace.
    lo = max(fn.start_line - 1 - hunk.leading_context, 0)
    hi = min(fn.end_line + len(hunk.old_lines), len(state.lines))
    pl = place_line_level(hunk, state.lines, state.path, expected, lo=lo, hi=hi)
    if isinstance(pl, Refusal):
        pl = _deep_fuzz(hunk, state, lo, hi)
    if isinstance(pl, Placement) and pl.rung != "already-applied":
        pl.notes.append(f"was rung {pl.rung}")
        pl.evidence = f"{evidence}; {pl.evidence}"
        pl.rung = rung
        pl.confidence = min(pl.confidence, 0.85)
    elif isinstance(pl, Placement):
        pl.evidence = f"{evidence}; {pl.evidence}"
    return pl


def _deep_fuzz(hunk: Hunk, state: FileState, lo: int, hi: int) -> Placement | Refusal:
    """Within one function: drop edge context beyond MAX_FUZZ, keeping at least one non-blank line next to
    every change, whitespace-insensitive; the match must be unique in the function."""
    from porter.placement import _edge_context, _has_unique_anchor, build_replacement, find_windows

    pre = hunk.old_lines
    n = len(pre)
    lead, trail = _edge_context(hunk)
    npre = [norm_ws(p) for p in pre]
    ntarget = [norm_ws(t) for t in state.lines]
    for fuzz in range(MAX_FUZZ + 1, max(lead, trail) + 1):
        found = {}
        for dl in range(0, min(fuzz, lead) + 1):
            for dt in range(0, min(fuzz, trail) + 1):
                # One side may lose all its context, never both: the change stays anchored on the other.
                if max(dl, dt) != fuzz or (lead and trail and dl >= lead and dt >= trail):
                    continue
                core = npre[dl:n - dt]
                if sum(1 for c in core if c) < 2:
                    continue
                for pos in find_windows(ntarget, core, lo, hi):
                    if _has_unique_anchor(state.lines, pre, pos - dl, (dl, dt), lo, hi):
                        found.setdefault(pos - dl, (dl, dt))
        if len(found) == 1:
            pick, (dl, dt) = next(iter(found.items()))
            mapping = [None if (i < dl or i >= n - dt) else pick + i for i in range(n)]
            start, length, repl = build_replacement(hunk, state.lines, mapping, hunk.mangled)
            return Placement(state.path, "fuzz", start, length, repl, confidence=0.7,
                             evidence=f"fuzz {fuzz} inside the function: {dl} leading / {dt} trailing lines ignored")
        if len(found) > 1:
            return Refusal(state.path, f"inside the function the reduced context matches at {len(found)} places",
                           [f"{state.path}:{p + 1}" for p in sorted(found)[:5]])
    return Refusal(state.path, "context not found inside the function")


# -- renamed functions ------------------------------------------------------------------------------------

def token_similarity(a: list[str], b: list[str]) -> float:
    """Dice coefficient over token multisets: cheap, order-insensitive, robust to a moved line or two."""
    if not a or not b:
        return 0.0
    ca, cb = Counter(a), Counter(b)
    return 2.0 * sum((ca & cb).values()) / (sum(ca.values()) + sum(cb.values()))


C_KEYWORDS = frozenset("""auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef union unsigned void
volatile while bool true false NULL""".split())


def _identifiers(text: str) -> list[str]:
    return [t for t in IDENT_RE.findall(text) if t not in C_KEYWORDS]


def rename_candidates(old_name: str, state: FileState, old_fn_text: str | None, signature: str,
                      hunk_lines: list[str]) -> list[tuple[float, cmodel.Definition]]:
    """Functions of the target file ranked by how much they look like the old function (its name excluded).
    With the old function's full text: Dice over signature+body tokens. With only the hunk: half how well the
    @@ header's signature matches the candidate's, in order; half the share of the hunk's identifiers found in
    the candidate, each weighted by how rare it is in the file (`pfn` is everywhere, `highest_memmap_pfn` not)."""
    src = "\n".join(state.lines).encode("utf-8", "surrogateescape")
    funcs = state.model().functions()
    bodies = {id(d): src[d.start_byte:d.end_byte].decode("utf-8", "surrogateescape") for d in funcs}
    scored = []
    if old_fn_text:
        old_all = [t for t in cmodel.body_tokens(old_fn_text) if t != old_name]
        for d in funcs:
            toks = [t for t in cmodel.body_tokens(bodies[id(d)]) if t != d.name]
            scored.append((token_similarity(old_all, toks), d))
    else:
        sig = [t for t in cmodel.body_tokens(signature) if t != old_name]
        part = set(_identifiers("\n".join(hunk_lines)))
        idents = {id(d): set(_identifiers(bodies[id(d)])) for d in funcs}
        df = Counter(t for ids in idents.values() for t in ids & part)
        weight = {t: math.log((len(funcs) + 1) / (df[t] + 0.5)) for t in part}
        total = sum(weight.values()) or 1.0
        for d in funcs:
            cand = [t for t in cmodel.body_tokens(d.signature) if t != d.name][:len(sig)]
            sig_score = difflib.SequenceMatcher(None, sig, cand, autojunk=False).ratio() if sig else 0.0
            body_score = sum(weight[t] for t in part & idents[id(d)]) / total
            scored.append((0.5 * sig_score + 0.5 * body_score, d))
    scored.sort(key=lambda x: -x[0])
    return scored


# -- new top-level definitions ----------------------------------------------------------------------------

def added_definitions(hunk: Hunk) -> list[cmodel.Definition]:
    """Whole definitions among the hunk's added lines (a function, or a prototype at file scope)."""
    added = [ln.text for ln in hunk.lines if ln.kind == "+"]
    if not added or len(added) < 2 and not added[0].rstrip().endswith(";"):
        return []
    model = cmodel.parse_c("\n".join(added).encode("utf-8", "surrogateescape"))
    return [d for d in model.definitions if d.kind in ("function", "prototype") and d.name]


def is_whole_definition_hunk(hunk: Hunk) -> bool:
    """All added lines are contiguous and form complete top-level definitions (plus #if/#endif/blank lines)."""
    kinds = "".join(ln.kind for ln in hunk.lines).strip(" ")
    if not kinds or set(kinds) != {"+"}:
        return False
    defs = [d for d in added_definitions(hunk) if d.kind == "function"]
    return bool(defs)
