"""Port a Series onto one Tree: run the placement ladder for every hunk, in memory, and collect the outcome.

Nothing is written here; applier.py writes (all-or-nothing) once every hunk is placed.
"""

from __future__ import annotations

import posixpath
import subprocess
from bisect import bisect_right
from dataclasses import dataclass, field

from porter import cmodel
from porter.errors import PorterError
from porter.names import DEFINES_RE, unknown_names, used_names
from porter.newdef import place_new_definition
from porter.patch import FilePatch, Hunk, Series
from porter.placement import Placement, Refusal, place_line_level
from porter.structure import (
    IDENT_RE,
    RENAME_MIN_MARGIN,
    RENAME_MIN_SCORE,
    FileState,
    added_definitions,
    align_in_function,
    is_whole_definition_hunk,
    rename_candidates,
)
from porter.tree import Tree


@dataclass
class HunkOutcome:
    commit: int  # 0-based index in the series
    patch_file: str  # path the patch names
    number: int  # 1-based hunk number within that file
    hunk: Hunk
    result: Placement | Refusal

    @property
    def placed(self) -> bool:
        return isinstance(self.result, Placement)

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.commit, self.patch_file, self.number)


@dataclass
class PortResult:
    tree: Tree
    outcomes: list[HunkOutcome] = field(default_factory=list)
    before: dict[str, bytes | None] = field(default_factory=dict)  # touched target files, original content
    after: dict[str, bytes | None] = field(default_factory=dict)  # final content (None: deleted)
    per_commit: list[dict[str, bytes | None]] = field(default_factory=list)  # cumulative after each commit
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.placed for o in self.outcomes)

    @property
    def changed(self) -> bool:
        return any(self.before.get(p) != c for p, c in self.after.items())


def _decode(data: bytes) -> tuple[list[str], bool]:
    text = data.decode("utf-8", "surrogateescape")
    final_newline = text.endswith("\n")
    if final_newline:
        text = text[:-1]
    return (text.split("\n") if text or not final_newline else [""]) if data else [], final_newline


def _encode(state: FileState) -> bytes:
    text = "\n".join(state.lines)
    if state.lines and state.final_newline:
        text += "\n"
    return text.encode("utf-8", "surrogateescape")


class Porter:
    """Holds the evolving file states of one target tree while a series is placed onto it."""

    def __init__(self, tree: Tree, forced: dict | None = None, strict: bool = False):
        self.tree = tree
        self.forced = forced or {}  # outcome key -> slot relation chosen by the multi-tree planner
        self.strict = strict
        self.states: dict[str, FileState] = {}
        self.result = PortResult(tree)
        self._definition_cache: dict[str, list[tuple[str, cmodel.Definition]]] = {}

    # -- file states ------------------------------------------------------------------------------------
    def state(self, path: str) -> FileState:
        if path not in self.states:
            if self.tree.exists(path):
                data = self.tree.read(path)
                lines, nl = _decode(data)
                self.states[path] = FileState(path, lines, True, nl)
                self.result.before[path] = data
            else:
                self.states[path] = FileState(path, [], False, True)
                self.result.before[path] = None
        return self.states[path]

    def snapshot(self) -> dict[str, bytes | None]:
        return {p: (_encode(s) if s.exists else None) for p, s in self.states.items()}

    # -- the whole series -------------------------------------------------------------------------------
    def run(self, series: Series) -> PortResult:
        for ci, commit in enumerate(series.commits):
            for fp in commit.files:
                self._port_file(ci, fp)
            self.result.per_commit.append(self.snapshot())
        self.result.after = self.snapshot()
        self._check_names(series)
        return self.result

    def _check_names(self, series: Series) -> None:
        """Flag placed hunks whose added lines use names the target tree never mentions (a helper renamed or
        gone: the +/- lines need adapting, not just moving). With --strict such hunks are refused."""
        defined = set()
        for _, _, h in series.all_hunks():
            for text in h.added:
                m = DEFINES_RE.match(text)
                if m:
                    defined.add(m.group(1) or m.group(2))
        placed = [o for o in self.result.outcomes if o.placed and o.result.rung != "already-applied"
                  and o.result.file.endswith((".c", ".h"))]
        wanted = {o.key: used_names(o.hunk) - defined for o in placed}
        # Most names are used in the very files the patch touches: only the rest needs a whole-tree search,
        # which on a git ref means reading every blob.
        pending = set().union(*wanted.values()) if wanted else set()
        for data in self.result.before.values():
            if data and pending:
                pending -= set(IDENT_RE.findall(data.decode("utf-8", "replace")))
        missing = unknown_names(self.tree, pending)
        for o in placed:
            names = sorted(wanted[o.key] & missing)
            if not names:
                continue
            what = ", ".join(names)
            if self.strict:
                o.result = Refusal(o.result.file, f"--strict: added lines use {what}, which "
                                   f"{self.tree.name} does not define")
            else:
                o.result.notes.append(f"uses {what}, not defined in {self.tree.name}")
                self.result.warnings.append(f"{o.patch_file} hunk {o.number}: added lines use {what}, which "
                                            f"{self.tree.name} does not define (the change itself may need "
                                            "adapting; --strict refuses such hunks)")

    def _port_file(self, ci: int, fp: FilePatch) -> None:
        if fp.is_new:
            self._new_file(ci, fp)
            return
        state = self.state(fp.old_path)
        old_source = self._old_source(fp)
        drift = 0
        for n, hunk in enumerate(fp.hunks, 1):
            nxt = fp.hunks[n] if n < len(fp.hunks) else None
            key = (ci, fp.path, n)
            result = self._place(hunk, nxt, state, drift, old_source, key, fp)
            if isinstance(result, Placement):
                target = self.states[result.file]
                if result.rung != "already-applied":
                    target.edit(result.start, result.end, result.replacement)
                    if result.file == fp.old_path:
                        drift = result.offset
                if not target.exists:
                    target.exists = True
            self.result.outcomes.append(HunkOutcome(ci, fp.path, n, hunk, result))
        if fp.is_delete and state.exists:
            if any(line.strip() for line in state.lines):
                self.result.outcomes.append(HunkOutcome(ci, fp.path, 0, Hunk(0, 0, 0, 0), Refusal(
                    fp.path, "file deletion: the target file has content the patch does not remove")))
            else:
                state.exists = False

    def _new_file(self, ci: int, fp: FilePatch) -> None:
        state = self.state(fp.new_path)
        new_lines = [ln.text for h in fp.hunks for ln in h.lines if ln.kind == "+"]
        if state.exists:
            same = state.lines == new_lines
            res = Placement(fp.new_path, "already-applied", evidence="file already exists with this content") \
                if same else Refusal(fp.new_path, "new file already exists in the target with other content")
        else:
            state.lines, state.exists = new_lines, True
            last = fp.hunks[-1].lines[-1] if fp.hunks and fp.hunks[-1].lines else None
            state.final_newline = not (last and last.no_newline)
            res = Placement(fp.new_path, "exact", 0, 0, new_lines, evidence="new file")
        for n, h in enumerate(fp.hunks or [Hunk(0, 0, 1, 0)], 1):
            self.result.outcomes.append(HunkOutcome(ci, fp.path, n, h, res))

    # -- one hunk ---------------------------------------------------------------------------------------
    def _place(self, hunk: Hunk, nxt: Hunk | None, state: FileState, drift: int, old_source: str | None,
               key, fp: FilePatch) -> Placement | Refusal:
        expected = max(hunk.new_start - 1, 0) + drift
        forced = self.forced.get(key)
        whole_def = is_whole_definition_hunk(hunk)
        if not state.exists:
            first: Placement | Refusal = Refusal(state.path, f"{state.path} does not exist in {self.tree.name}")
        elif forced and whole_def:
            return self._place_new_definition(hunk, nxt, state, old_source, fp, forced)
        else:
            section = hunk.section_function()
            ranges = [(d.start_line - 1, d.end_line) for d in state.functions_named(section)] if section else []
            in_function = (lambda pos: any(lo <= pos < hi for lo, hi in ranges)) if ranges else None
            # git's @@ section names the last function that starts above the hunk: a reduced-context match
            # below some other function's start is elsewhere (its trailing context was what said where).
            starts = state.function_starts()
            lines = [line for line, _ in starts]
            after_section = (lambda pos: (k := bisect_right(lines, pos)) > 0 and starts[k - 1][1] == section) \
                if ranges else None
            # A new definition is placed by its neighbours, not by a fuzzy match of the text around it.
            # Reduced context is trusted only inside the function the hunk changes (DESIGN rung 3): when the
            # hunk names a function this file lacks, fuzz would match the text somewhere else.
            named = self._enclosing_names(hunk, old_source)[:1]
            fuzz_ok = not whole_def and (not named or bool(function_defs(state, named[0])))
            first = place_line_level(hunk, state.lines, state.path, expected, in_function=in_function,
                                     allow_fuzz=fuzz_ok, after_section=after_section)
            if isinstance(first, Placement):
                if whole_def and first.rung != "already-applied":
                    first.relation = "as in the patch"
                    return first
                if whole_def or first.rung == "already-applied" or not self._in_wrong_function(
                        hunk, state, first, old_source):
                    return first
                first = Refusal(state.path, f"context matched at {state.path}:{first.start + 1}, outside the "
                                "function the patch changes")
        if whole_def and state.exists:
            return self._place_new_definition(hunk, nxt, state, old_source, fp, forced)
        res = self._place_by_function(hunk, state, old_source, expected, first)
        # Several equal text matches say more than "function not found": keep that refusal.
        if isinstance(res, Refusal) and isinstance(first, Refusal) and "places" in first.reason:
            return first
        return res

    def _place_new_definition(self, hunk: Hunk, nxt: Hunk | None, state: FileState, old_source: str | None,
                              fp: FilePatch, forced: str | None) -> Placement | Refusal:
        """Neighbours from the pre-image blob when we have it (else from the hunk); a new static function goes
        to the file of the function the patch makes call it, which may have moved."""
        known = None
        if old_source is not None:
            model = cmodel.parse_c(old_source.encode("utf-8", "surrogateescape"))
            at = hunk.old_start + hunk.leading_context  # first old line after the insertion point
            above = [d for d in model.functions() if d.end_line < at]
            below = [d for d in model.functions() if d.start_line >= at]
            known = (max(above, key=lambda d: d.end_line).name if above else None,
                     min(below, key=lambda d: d.start_line).name if below else None)
        new_names = {d.name for d in added_definitions(hunk) if d.kind == "function"}
        callers = set()
        for other in fp.hunks:
            if other is not hunk and any(name in ln for ln in other.added for name in new_names):
                callers.update(self._enclosing_names(other, old_source)[:1])
        # The first anchor found decides the file: a caller (a static function must sit in its caller's file),
        # then the definition below, then the one above.
        target = state
        in_file = {d.name for d in state.model().functions()}
        for a in sorted(callers) + ([known[1], known[0]] if known else []):
            if not a:
                continue
            if a in in_file:
                break
            where = {p for p, _ in self._definitions(a, state.path)}
            if len(where) == 1:
                target = self.state(where.pop())
                break
        res = place_new_definition(hunk, nxt, target, forced, known, callers)
        if isinstance(res, Placement) and target is not state:
            res.evidence += f" (its neighbours moved from {state.path} to {target.path})"
        return res

    def _in_wrong_function(self, hunk: Hunk, state: FileState, placed: Placement, old_source: str | None) -> bool:
        """True when the pre-image blob says the hunk changes function F, F exists in the target tree, and the
        line-level match sits in another function: the text matched, but in the wrong place."""
        if old_source is None:
            return False
        model = cmodel.parse_c(old_source.encode("utf-8", "surrogateescape"))
        d = model.enclosing(hunk.old_start + hunk.leading_context)
        if d is None or d.kind != "function":
            return False
        at = placed.start + min(hunk.leading_context, max(placed.length - 1, 0)) + 1
        here = state.enclosing(at)
        if here is not None and here.name == d.name:
            return False
        return bool(function_defs(state, d.name) or self._definitions(d.name, state.path))

    def _enclosing_names(self, hunk: Hunk, old_source: str | None) -> list[str]:
        """Names of the function the hunk changes, most trusted first: the pre-image blob's enclosing function,
        a definition that starts inside the hunk before its first change, then git's @@ section (which names
        the definition *above* the hunk, so it is only right when the hunk starts inside a body)."""
        names = []
        first_change = hunk.leading_context
        if old_source is not None:
            model = cmodel.parse_c(old_source.encode("utf-8", "surrogateescape"))
            d = model.enclosing(hunk.old_start + first_change)
            if d is not None and d.kind == "function":
                names.append(d.name)
        pre = hunk.old_lines[:first_change + 1]
        for d in cmodel.parse_c("\n".join(pre + ["}"]).encode("utf-8", "surrogateescape")).functions():
            if d.name not in names and d.start_line - 1 <= first_change:
                names.append(d.name)
        section = hunk.section_function()
        if section and section not in names:
            names.append(section)
        return names

    def _place_by_function(self, hunk: Hunk, state: FileState, old_source: str | None, expected: int,
                           first: Refusal) -> Placement | Refusal:
        names = self._enclosing_names(hunk, old_source)
        if not names:
            return first
        # Rung 5: the enclosing function in this file, else wherever it moved. A name found in the tree
        # settles the question: if the hunk does not align there, it is refused, not tried elsewhere.
        for name in names:
            here = [(state.path, d) for d in function_defs(state, name)]
            paths = sorted({p for p, _ in self._definitions(name, state.path) if p != state.path})
            # Line numbers come from the current state: earlier hunks may have shifted them.
            where = here or [(p, d) for p in paths for d in function_defs(self.state(p), name)]
            if not where:
                continue
            placed, refusals = [], []
            for path, d in where:
                target = self.state(path)
                moved = path != state.path
                evidence = (f"{name}() moved: {state.path} -> {path}:{d.start_line}" if moved
                            else f"inside {name}() at {path}:{d.start_line}")
                res = align_in_function(hunk, target, d, "function-anchor", evidence, expected if not moved else 0)
                if isinstance(res, Placement):
                    if moved:
                        res.notes.append(f"moved from {state.path}")
                    placed.append(res)
                else:
                    refusals.append(res)
            if len(placed) == 1:
                return placed[0]
            if len(placed) > 1:
                return Refusal(state.path, f"{name}() has {len(placed)} definitions where the hunk fits",
                               [f"{p.file}:{p.start + 1}" for p in placed])
            return Refusal(refusals[0].file, f"{refusals[0].reason} ({name}() at " +
                           ", ".join(f"{p}:{d.start_line}" for p, d in where[:3]) + ")", refusals[0].candidates)
        # Rung 6: renamed in the same file.
        if state.exists:
            old_name = names[0]
            ranked = rename_candidates(old_name, state, self._old_function_text(old_source, old_name),
                                       hunk.section, hunk.old_lines)
            if ranked:
                best, second = ranked[0], (ranked[1][0] if len(ranked) > 1 else 0.0)
                if best[0] >= RENAME_MIN_SCORE and best[0] - second >= RENAME_MIN_MARGIN:
                    fn = best[1]
                    res = align_in_function(hunk, state, fn, "renamed",
                                            f"{old_name}() renamed to {fn.name}() (similarity {best[0]:.2f})",
                                            expected)
                    if isinstance(res, Placement):
                        res.confidence = min(res.confidence, round(best[0], 2))
                    return res
                near = [f"{d.name} ({s:.2f})" for s, d in ranked[:3]]
                return Refusal(state.path, f"{old_name}() not found in {self.tree.name}; no function similar enough "
                               f"(threshold {RENAME_MIN_SCORE})", near)
        return Refusal(state.path, f"{names[0]}() not found in {self.tree.name}", [])

    # -- lookups ----------------------------------------------------------------------------------------
    def _definitions(self, name: str, near: str | None = None) -> list[tuple[str, cmodel.Definition]]:
        """Function definitions of `name` in the tree, searched outwards from `near`'s directory (its directory,
        then its parent, then the whole tree): code usually moves next door, and a narrow search is fast."""
        scopes: list[str | None] = []
        d = posixpath.dirname(near) if near else ""
        while d:
            scopes.append(d)
            d = posixpath.dirname(d)
            if len(scopes) == 2:
                break
        scopes.append(None)
        for scope in scopes:
            key = (name, scope)
            if key not in self._definition_cache:
                found = []
                for path in self.tree.grep_files([name], under=scope):
                    data = self.states.get(path)
                    source = ("\n".join(data.lines).encode("utf-8", "surrogateescape") if data
                              else self.tree.read(path))
                    found += [(path, fn) for fn in cmodel.parse_c(source, path).functions() if fn.name == name]
                self._definition_cache[key] = found
            if self._definition_cache[key]:
                return self._definition_cache[key]
        return []

    def _old_source(self, fp: FilePatch) -> str | None:
        """The pre-image file from the patch's `index` line, when its blob is in a repository we can read."""
        if not fp.old_index or set(fp.old_index) == {"0"}:
            return None
        repos = [r for r in (self.tree.repo, self.tree.root) if r is not None]
        for repo in repos:
            proc = subprocess.run(["git", "cat-file", "blob", fp.old_index], cwd=repo,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            if proc.returncode == 0:
                return proc.stdout.decode("utf-8", "surrogateescape")
        return None

    @staticmethod
    def _old_function_text(old_source: str | None, name: str) -> str | None:
        if old_source is None:
            return None
        data = old_source.encode("utf-8", "surrogateescape")
        for d in cmodel.parse_c(data).functions():
            if d.name == name:
                return data[d.start_byte:d.end_byte].decode("utf-8", "surrogateescape")
        return None


def function_defs(state: FileState, name: str) -> list[cmodel.Definition]:
    return list(state.functions_named(name)) if state.exists else []


def port(series: Series, tree: Tree, forced: dict | None = None, strict: bool = False) -> PortResult:
    if not tree.looks_like_kernel():
        raise PorterError(f"--tree {tree.name}: not a kernel tree")
    result = Porter(tree, forced, strict).run(series)
    for commit in series.commits:
        for fp in commit.files:
            if fp.is_new or tree.exists(fp.old_path):
                continue
            if any(not o.placed for o in result.outcomes if o.patch_file == fp.path):
                raise PorterError(f"{fp.old_path}: no such file in {tree.name}, and the functions its hunks "
                                  "change were not found elsewhere in the tree")
    return result
