"""Already upstream, in another form: evidence, per hunk, that what a hunk does is already in the target tree.

The placement ladder answers "where does this hunk go"; when the answer is "nowhere" (its context is gone,
its file is gone) or "here, again" (a whole new function that the tree already defines), this module asks a
different question: is the *change* already there? Evidence, each with file:line:

- DEFINED: a function the hunk adds is defined in the target (and how similar the two bodies are);
- CALLED: a call the hunk adds is made in the target (framed as for PRESENT in the same function; unframed or
  elsewhere in the tree it counts only for a function the commit itself defines);
- PRESENT: the added lines only this change explains are in the target (whitespace and line breaks ignored),
  each framed by a distinctive context line of the hunk on the side the post-image has it;
- GONE: the code the hunk removes is not in the target;
- and the counter-evidence STILL_THERE (removed code still present), MISSING (an added call is not made) and
  UNNAMED (a name the change brings into the file, a constant or a config symbol, is not in it: half the
  added lines found there is the code around the change, not the change).

Verdicts: UPSTREAM (strong evidence, no counter-evidence: the hunk counts as already applied), WEAK (only
removed code gone, or a function it adds defined with another body: already applied only when another hunk of
the same commit is UPSTREAM, see `finalize`; else the ladder's refusal stands, with the evidence attached),
PARTIAL (evidence on both sides: the hunk is refused, with the evidence), NONE.

Porter calls `judge` for every hunk right after the ladder (porting.py, one marked line) and `finalize` once
the series is placed.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

from porter.names import EXPORT_RE
from porter.patch import FUNC_NAME_RE, NOT_FUNCTION_NAMES, FilePatch, Hunk
from porter.place.codes import Rung
from porter.place.context import HunkContext
from porter.place.result import Placement, Refusal
from porter.place.text import TRIVIAL_LINES, norm_ws
from porter.structure import added_definitions
from porter.tree import SOURCE_SUFFIXES

MIN_LINE_CHARS = 6  # a removed/added line shorter than this (whitespace removed) says nothing on its own
DEFINED_MIN_SIMILARITY = 0.3  # below this, "already defined" is a different function of the same name
PRESENT_RATIO = 0.5  # at least this share of the hunk's added lines in the target counts as strong
MAX_CALL_FILES = 40  # tree-wide call search: files to read at most
C_KEYWORDS = NOT_FUNCTION_NAMES | {"else", "do", "case", "goto", "unlikely", "likely", "WARN_ON", "BUG_ON"}
DECLARATION_RE = re.compile(r"^(?:const\s+|static\s+)*(?:struct\s+|union\s+|enum\s+)?[A-Za-z_]\w*[\s*]+"
                            r"\**[A-Za-z_]\w*(?:\[\w*\])?(?:\s*,\s*\**[A-Za-z_]\w*(?:\[\w*\])?)*\s*;$")


class Kind(Enum):
    DEFINED = "defined"
    CALLED = "called"
    PRESENT = "present"
    GONE = "gone"
    STILL_THERE = "still-there"
    MISSING = "missing"
    UNNAMED = "unnamed"


class Verdict(Enum):
    UPSTREAM = "upstream"
    WEAK = "weak"
    PARTIAL = "partial"
    NONE = "none"


COUNTER = {Kind.STILL_THERE, Kind.MISSING, Kind.UNNAMED}
STRONG = {Kind.DEFINED, Kind.CALLED, Kind.PRESENT}


@dataclass
class Evidence:
    kind: Kind
    what: str  # a function name, or the (first) line concerned
    file: str | None = None
    line: int | None = None  # 1-based
    similarity: float | None = None
    count: tuple[int, int] | None = None  # PRESENT/GONE: lines found / lines looked for
    scope: str = ""  # "in f()", "in file", "elsewhere in the tree"
    wide: bool = False  # CALLED elsewhere in the tree or unframed: counts if the commit defines the function
    # Gathered without the pre-image blob: a call or line the function already had before the change (the
    # unlock at its normal exit, for a fix adding one on an error path) cannot be told from the change's own.
    blind: bool = False
    own: bool = False  # CALLED: the commit itself defines the function, so no call to it predates the change

    def text(self) -> str:
        at = f" at {self.file}:{self.line}" if self.file and self.line else (f" in {self.file}" if self.file else "")
        n = f"{self.count[0]}/{self.count[1]} " if self.count else ""
        if self.kind is Kind.DEFINED:
            return f"{self.what}() is already defined{at} (similarity {self.similarity:.2f})"
        if self.kind is Kind.CALLED:
            return f"{self.what}() is already called{at}"
        if self.kind is Kind.PRESENT:
            return f"{n}added lines already there ({self.scope}{at})"
        if self.kind is Kind.GONE:
            return f"{n}removed lines are gone ({self.scope}{at})"
        if self.kind is Kind.STILL_THERE:
            return f"removed line still there{at}: {self.what.strip()[:60]}"
        if self.kind is Kind.UNNAMED:
            return f"{self.what}, which the change adds, is nowhere {self.scope}"
        return f"{self.what}() is not called anywhere in the tree"

    def as_dict(self) -> dict:
        d = {"kind": self.kind.value, "what": self.what, "file": self.file, "line": self.line, "text": self.text()}
        if self.similarity is not None:
            d["similarity"] = round(self.similarity, 2)
        return d


@dataclass
class UpstreamPlacement(Placement):
    """A hunk counted as already applied because the tree has its change in another form."""

    upstream: list[Evidence] = field(default_factory=list)
    verdict: Verdict = Verdict.UPSTREAM
    ladder: Refusal | None = None  # the ladder's refusal, restored by finalize when a WEAK verdict stays alone


@dataclass
class UpstreamRefusal(Refusal):
    """A hunk refused (the ladder's code kept) with the partial evidence that its change may already be there."""

    upstream: list[Evidence] = field(default_factory=list)
    verdict: Verdict = Verdict.PARTIAL

    @property
    def reason(self) -> str:
        return f"{super().reason}; partly upstream: {_summary(self.upstream)}"


def _refusal_with(result: Refusal, found: list[Evidence]) -> Refusal:
    """The ladder's refusal with the evidence attached; unchanged when no evidence is left to show."""
    if not found:
        return result
    return UpstreamRefusal(result.file, result.code, list(result.candidates), dict(result.params), result.rung,
                           result.final, upstream=found)


# -- where to look --------------------------------------------------------------------------------------------

@dataclass
class Scope:
    """Lines of one target region, searchable with whitespace and line breaks ignored."""

    file: str
    first: int  # 1-based line number of lines[0]
    lines: list[str]
    label: str

    def __post_init__(self):
        self._text, self._starts = "", []
        for ln in self.lines:
            self._starts.append(len(self._text))
            self._text += norm_ws(ln)

    def find(self, line: str) -> int | None:
        """Line number where `line` starts (it may run over several target lines), or None. A match must begin
        at a line start: `foo(a)` is not found inside `bar = foo(a) + 1`."""
        needle = norm_ws(line)
        starts = {s: k for k, s in enumerate(self._starts)}
        at = self._text.find(needle)
        while at >= 0:
            if at in starts:
                return self.first + starts[at]
            at = self._text.find(needle, at + 1)
        return None


def _significant(line: str) -> bool:
    s = norm_ws(line)
    if s in TRIVIAL_LINES or len(s) < MIN_LINE_CHARS:
        return False
    return s not in ("/*", "*/", "*") and not s.startswith("#")


def _net(hunk: Hunk) -> tuple[list[str], list[str]]:
    """Removed and added lines, without the ones the hunk only moves (removed and added with the same text)."""
    removed = [ln for ln in hunk.removed if _significant(ln)]
    added = [ln for ln in hunk.added if _significant(ln)]
    rem_norm = [norm_ws(x) for x in removed]
    add_norm = [norm_ws(x) for x in added]
    moved = set(rem_norm) & set(add_norm)
    return ([x for x, n in zip(removed, rem_norm) if n not in moved],
            [x for x, n in zip(added, add_norm) if n not in moved])


def _is_comment(line: str) -> bool:
    s = line.strip()
    return s.startswith(("/*", "*", "//"))


def _calls(lines: list[str]) -> set[str]:
    names = set()
    for ln in lines:
        if _is_comment(ln):
            continue
        names.update(m.group(1) for m in FUNC_NAME_RE.finditer(ln) if m.group(1) not in C_KEYWORDS)
    return names


def _scopes(porter, hunk: Hunk, fp: FilePatch, old_source: str | None) -> tuple[list[Scope], Scope | None, str]:
    """The target function(s) the hunk changes (where they are now, maybe another file), its file, and the
    function's name when the tree no longer defines it anywhere."""
    functions, vanished = [], ""
    st = porter.state(fp.old_path)
    names = HunkContext(hunk, None, st, 0, old_source, fp, (), None, porter).names
    for name in names[:1]:
        base = posixpath.basename(fp.old_path)
        # The real body first: a file of the patch's file name, then sources before headers (inline stubs).
        defs = sorted(porter.definitions(name, fp.old_path),
                      key=lambda pd: (posixpath.basename(pd[0]) != base, pd[0].endswith(".h"), pd[0]))
        for path, d in defs:
            st = porter.state(path)
            functions.append(Scope(path, d.start_line, st.lines[d.start_line - 1:d.end_line], f"in {name}()"))
        vanished = "" if functions else name
    whole = Scope(fp.old_path, 1, st.lines, f"in {fp.old_path}") if st.exists else None
    return functions, whole, vanished


def _introduced(lines: list[str], old_source: str | None, whole: Scope | None) -> list[str]:
    """Added lines that only this change explains. A line the pre-image file already had, or one the target
    file repeats (`.mode = 0644,` in a sysctl table, `return ret;`), is found whether or not the change is
    there: finding it proves nothing, so it is neither looked for nor counted."""
    before = {norm_ws(x) for x in old_source.splitlines()} if old_source is not None else set()
    seen = Counter(norm_ws(x) for x in whole.lines) if whole else Counter()
    return [ln for ln in lines if norm_ws(ln) not in before and seen[norm_ws(ln)] < 2]


FRAME_WINDOW = 6  # lines around a found added line where the hunk's own context must show


def _framed(porter, hunk: Hunk, path: str, line_no: int, added: str) -> bool:
    """The added line found at path:line_no stands where the change puts it: a distinctive context line of the
    hunk (once in the file) that sits next to it in the post-image is within a few lines of it, on the same
    side. An unlock or a free found on another error path of the function is not this fix."""
    if EXPORT_RE.match(added) or added.startswith(("MODULE_", "module_init(", "module_exit(")):
        return True  # a file-level statement means the same wherever it stands in the file
    post = [(ln.kind, norm_ws(ln.text)) for ln in hunk.lines if ln.kind in " +"]
    want = norm_ws(added)
    k = next((i for i, (kind, t) in enumerate(post) if kind == "+" and t == want), None)
    if k is None:
        return False
    lines = porter.state(path).lines
    counts = Counter(norm_ws(x) for x in lines)
    at = line_no - 1
    above = next((t for kind, t in reversed(post[:k]) if kind == " " and t not in TRIVIAL_LINES), None)
    below = next((t for kind, t in post[k + 1:] if kind == " " and t not in TRIVIAL_LINES), None)
    near_above = [norm_ws(x) for x in lines[max(at - FRAME_WINDOW, 0):at]]
    near_below = [norm_ws(x) for x in lines[at + 1:at + 1 + FRAME_WINDOW]]
    return (above is not None and counts[above] == 1 and above in near_above) or \
        (below is not None and counts[below] == 1 and below in near_below)


def _first_hit(scopes: list[Scope], line: str) -> tuple[Scope, int] | None:
    for sc in scopes:
        at = sc.find(line)
        if at is not None:
            return sc, at
    return None


def _find_call(porter, name: str, scopes: list[Scope]) -> tuple[str, int, bool] | None:
    """Where the tree calls `name`: the given scopes first, then any indented call in the tree (a line inside a
    body: definitions and prototypes start at column 0); the flag says the call was found only tree-wide."""
    pat = re.compile(rf"\b{re.escape(name)}\s*\(")
    for sc in scopes:
        for i, ln in enumerate(sc.lines):
            if pat.search(ln) and ln[:1].isspace() and not _is_comment(ln):
                return sc.file, sc.first + i, False
    near = posixpath.dirname(scopes[0].file) if scopes else ""
    files = sorted(porter.tree.grep_files([name]), key=lambda p: (posixpath.dirname(p) != near, p))
    for path in files[:MAX_CALL_FILES]:
        lines = porter.state(path).lines
        for i, ln in enumerate(lines):
            if pat.search(ln) and ln[:1].isspace() and not _is_comment(ln):
                return path, i + 1, True
    return None


# -- the question -----------------------------------------------------------------------------------------------

def _defined(porter, hunk: Hunk, fp: FilePatch) -> list[Evidence]:
    """A function the hunk adds that the tree already defines, with the similarity of the two bodies."""
    found = []
    for d in added_definitions(hunk):
        if d.kind != "function":
            continue
        new_text = [norm_ws(x) for x in "\n".join(hunk.added).splitlines()[d.start_line - 1:d.end_line]]
        for path, td in porter.definitions(d.name, fp.path):
            lines = porter.state(path).lines[td.start_line - 1:td.end_line]
            ratio = difflib.SequenceMatcher(None, new_text, [norm_ws(x) for x in lines], autojunk=False).ratio()
            found.append(Evidence(Kind.DEFINED, d.name, path, td.start_line, similarity=ratio))
            break
    return found


def gather(porter, hunk: Hunk, fp: FilePatch, old_source: str | None) -> list[Evidence]:
    functions, whole, vanished = _scopes(porter, hunk, fp, old_source)
    removed, added = _net(hunk)
    found: list[Evidence] = []
    # Code the hunk removes: looked for where the function is now, else in the file; when the function is gone
    # from the whole tree, so is everything the hunk removes from it.
    look = [] if vanished else (functions or ([whole] if whole else []))
    label = (f"{vanished}() is gone from the tree" if vanished else
             " and ".join(sorted({s.label for s in look})) or f"{fp.old_path} is gone")
    gone = 0
    removed = [ln for ln in removed if not _is_comment(ln)]  # comments get reworded: they prove nothing here
    for ln in removed:
        hit = _first_hit(look, ln)
        if hit:
            found.append(Evidence(Kind.STILL_THERE, ln, hit[0].file, hit[1]))
        else:
            gone += 1
    if removed and gone:
        at = (look or functions or [None])[0]
        found.append(Evidence(Kind.GONE, removed[0], at.file if at else None, at.first if at else None,
                              count=(gone, len(removed)), scope=label))
    # Calls the hunk adds: not the ones it keeps or moves, nor any the pre-image file already made.
    kept = _calls(hunk.removed) | _calls([ln.text for ln in hunk.lines if ln.kind == " "])
    if old_source is not None:
        kept |= _calls(old_source.splitlines())
    # Macros (NODE_DATA, WARN_ON...) are everywhere: only a function call says what the change does.
    for name in sorted(n for n in _calls(added) - kept if not n.isupper()):
        where = _find_call(porter, name, functions + ([whole] if whole else []))
        # A call not framed by the hunk's own context may sit on another path (an unlock at the normal exit, the
        # fix adding one on an error path): like a call found only elsewhere in the tree, it counts only when
        # the commit itself defines the function called (finalize).
        loose = bool(where) and (where[2] or not _framed(porter, hunk, where[0], where[1],
                                                          next(ln for ln in added if name in ln)))
        found.append(Evidence(Kind.CALLED, name, where[0], where[1], wide=loose,
                              own=name in getattr(porter, "commit_defines", ())) if where
                     else Evidence(Kind.MISSING, name))
    unnamed = _unnamed(added, hunk, old_source, whole, functions)
    # The added lines themselves (local declarations serve the other lines and say nothing alone), and only
    # those the change introduces (see _introduced).
    plain = _introduced([ln for ln in added if not DECLARATION_RE.match(ln.strip())], old_source, whole)
    wide = functions + ([whole] if whole else [])
    hits = [hit for ln in plain if (hit := _first_hit(wide, ln)) and _framed(porter, hunk, hit[0].file, hit[1], ln)]
    if plain and hits:
        s, at = hits[0]
        found.append(Evidence(Kind.PRESENT, plain[0], s.file, at, count=(len(hits), len(plain)), scope=s.label))
    if old_source is None:
        for e in found:
            e.blind = True
    # Unnamed names speak against lines found, not against a definition or a call found: code refactored
    # upstream into a helper elsewhere leaves its names there (the seed's memmap_init_zone_device()).
    if not any(e.kind is Kind.DEFINED or (e.kind is Kind.CALLED and (e.own or not e.blind)) for e in found):
        found += unnamed
    return found


STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'")
NAME_RE = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]{2,}\b")


def _names(lines: list[str]) -> set[str]:
    """Identifiers of code lines (comments and string literals left out: they get reworded)."""
    return {n for ln in lines if not _is_comment(ln) for n in NAME_RE.findall(STRING_RE.sub("", ln.split("//")[0]))}


def _unnamed(added: list[str], hunk: Hunk, old_source: str | None, whole: Scope | None,
             functions: list[Scope]) -> list[Evidence]:
    """Names the change brings in (in no removed or context line, nor the pre-image file) that the target file
    and the function's new home never mention: whatever form the change took upstream, it would name them."""
    if whole is None:
        return []
    kept = _names(hunk.removed) | _names([ln.text for ln in hunk.lines if ln.kind == " "])
    if old_source is not None:
        kept |= _names(old_source.splitlines())
    new = sorted(_names(added) - kept - C_KEYWORDS)
    if not new:
        return []
    text = "\n".join(ln for sc in [whole, *functions] for ln in sc.lines)
    return [Evidence(Kind.UNNAMED, n, whole.file, scope=f"in {whole.file}") for n in new
            if not re.search(rf"\b{re.escape(n)}\b", text)]


def verdict(found: list[Evidence]) -> Verdict:
    kinds = {e.kind for e in found}
    # Blind (no pre-image blob): only every added line found, a definition, or a call to a function the commit
    # itself defines is strong; an added call the function already made proves nothing (a fix adding
    # `mutex_unlock()` on an error path).
    present_ok = any(e.kind is Kind.PRESENT and e.count[0] >= (e.count[1] if e.blind else PRESENT_RATIO * e.count[1])
                     for e in found)
    called_ok = any(e.kind is Kind.CALLED and (e.own or not e.blind) for e in found)
    strong = Kind.DEFINED in kinds or called_ok or present_ok
    if kinds & COUNTER:
        return Verdict.PARTIAL if strong or Kind.GONE in kinds or Kind.PRESENT in kinds else Verdict.NONE
    if strong:
        return Verdict.UPSTREAM
    return Verdict.WEAK if Kind.GONE in kinds else (Verdict.PARTIAL if Kind.PRESENT in kinds else Verdict.NONE)


def _anchor_file(porter, found: list[Evidence], fallback: str) -> str | None:
    """An existing file the outcome can name: where the evidence is, else the patch's file if it exists."""
    for e in found:
        if e.file and porter.state(e.file).exists:
            return e.file
    return fallback if porter.state(fallback).exists else None


def _summary(found: list[Evidence]) -> str:
    return "; ".join(e.text() for e in found)


def judge(porter, fp: FilePatch, hunk: Hunk, result: Placement | Refusal,
          old_source: str | None) -> Placement | Refusal:
    """The ladder's result for one hunk, unless the ladder refused it and the tree has its change already."""
    if fp.is_new or isinstance(result, Placement) or not fp.path.endswith(SOURCE_SUFFIXES):
        return result
    defined = _defined(porter, hunk, fp)
    if defined:
        # The ladder never defines a function twice. Defined with another body, the tree may have this very
        # change in an evolved form: that takes the rest of the commit being upstream too (finalize).
        e = defined[0]
        if e.similarity < DEFINED_MIN_SIMILARITY:
            return _refusal_with(result, defined)
        return UpstreamPlacement(e.file, Rung.ALREADY_APPLIED, e.line - 1, evidence="already upstream: " +
                                 e.text(), confidence=round(e.similarity, 2), upstream=defined,
                                 verdict=Verdict.WEAK, ladder=result)
    found = gather(porter, hunk, fp, old_source)
    v = verdict(found)
    if v is Verdict.NONE:
        return result
    anchor = _anchor_file(porter, found, fp.old_path)
    if v in (Verdict.UPSTREAM, Verdict.WEAK) and anchor:
        line = next((e.line for e in found if e.file == anchor and e.line), 1)
        return UpstreamPlacement(anchor, Rung.ALREADY_APPLIED, line - 1, evidence="already upstream: " +
                                 _summary(found), confidence=1.0 if v is Verdict.UPSTREAM else 0.5,
                                 upstream=found, verdict=v, ladder=result)
    return _refusal_with(result, found)


def new_functions(hunks: list[Hunk]) -> set[str]:
    """Functions a commit brings into being: a call to one of them cannot predate it. A function whose header it
    only rewrites (`static int f(` -> `int f(`) existed before and is not one."""
    added = {d.name for h in hunks for d in added_definitions(h) if d.kind == "function"}
    removed = "\n".join(ln for h in hunks for ln in h.removed if ln[:1].strip())
    return {name for name in added if not re.search(rf"\b{re.escape(name)}\s*\(", removed)}


def finalize(result) -> None:
    """Commit-level checks, once the series is placed. A call found only elsewhere in the tree counts when the
    commit itself defines the function (the seed's memmap_init_zone_device): a call to kfree() somewhere says
    nothing. Then a hunk with only WEAK evidence counts as applied when another hunk of the same commit is
    UPSTREAM (the commit's change is there); otherwise the ladder's refusal stands, with the evidence."""
    hunks: dict[int, list[Hunk]] = {}
    for o in result.outcomes:
        hunks.setdefault(o.commit, []).append(o.hunk)
    defined = {ci: new_functions(hs) for ci, hs in hunks.items()}
    for o in result.outcomes:
        r = o.result
        if isinstance(r, UpstreamPlacement) and r.verdict is Verdict.UPSTREAM:
            kept = [e for e in r.upstream if not (e.wide and e.what not in defined[o.commit])]
            if len(kept) != len(r.upstream):
                r.verdict = verdict(kept)
                r.upstream = kept
                r.evidence = "already upstream: " + _summary(kept)
                if r.verdict not in (Verdict.UPSTREAM, Verdict.WEAK):
                    o.result = _refusal_with(r.ladder, kept)
    strong_commits = {o.commit for o in result.outcomes
                      if isinstance(o.result, UpstreamPlacement) and o.result.verdict is Verdict.UPSTREAM}
    for o in result.outcomes:
        r = o.result
        if isinstance(r, UpstreamPlacement) and r.verdict is Verdict.WEAK:
            if o.commit in strong_commits:
                r.evidence += " (and the commit's other hunks are upstream)"
            elif r.ladder is not None:
                o.result = _refusal_with(r.ladder, r.upstream)


def has_evidence(outcome) -> bool:
    """The hunk was found upstream in another form: a file the patch names may be gone without that being an
    error (porting.py raises "no such file" only when no hunk of the file was)."""
    return isinstance(outcome.result, UpstreamPlacement)
