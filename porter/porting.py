"""Port a Series onto one Tree: run the placement ladder for every hunk, in memory, and collect the outcome.

Nothing is written here; porter.write writes (all-or-nothing) once every hunk is placed. File-level git
semantics live here too: renames and copies, modes, `\\ No newline at end of file`, as `git apply` has them.
"""

from __future__ import annotations

import dataclasses
import posixpath
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from pathlib import Path

from porter import cmodel
from porter.backport import evidence as upstream_evidence
from porter.errors import PorterError
from porter.names import DEFINES_RE, exported_names, undefined_exports, unknown_names, used_names
from porter.patch import FilePatch, Hunk, Series
from porter.place.codes import Reason, Rung
from porter.place.context import HunkContext
from porter.place.ladder import climb
from porter.place.result import Placement, Refusal
from porter.place.similarity import IDENT_RE
from porter.place.text import changed_span
from porter.structure import FileState
from porter.tree import BlobReader, Kind, Tree


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
    modes_before: dict[str, str | None] = field(default_factory=dict)  # git modes ("100644"), None: absent
    modes_after: dict[str, str | None] = field(default_factory=dict)
    per_commit_modes: list[dict[str, str | None]] = field(default_factory=list)
    moves: list[tuple[int, str, str, str]] = field(default_factory=list)  # (commit, old, new, "rename"|"copy")

    @property
    def ok(self) -> bool:
        return all(o.placed for o in self.outcomes)

    @property
    def changed(self) -> bool:
        return any(self.before.get(p) != c or (c is not None and self.modes_before.get(p) != self.modes_after.get(p))
                   for p, c in self.after.items())


def _decode(data: bytes) -> tuple[list[str], bool]:
    text = data.decode("utf-8", "surrogateescape")
    # An empty file lacks no newline: lines added to it end with one unless the patch says `\ No newline`.
    final_newline = text.endswith("\n") or not data
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
        self.modes: dict[str, str | None] = {}  # current git mode of every file in self.states
        # Lines the current commit's earlier hunks wrote, per file, as [start, end) ranges: git apply never
        # matches a later hunk against them (its LINE_PATCHED; --allow-overlap), and neither do the guards (a
        # hunk that moved into another file included).
        self.fresh: dict[str, list[tuple[int, int, str]]] = {}  # path -> [start, end) ranges, patch file
        self.overlap_claims: dict[int, dict[int, tuple[int, int]]] = {}  # guards.section_overlaps, per section
        self.commit_defines: set[str] = set()
        self.result = PortResult(tree)
        self._definition_cache: dict[str, list[tuple[str, cmodel.Definition]]] = {}
        self._replaced_dirs: set[str] = set()  # directories a new file of the same name replaces
        self._blob_readers: dict[Path | str, BlobReader] = {}  # one `git cat-file --batch` per repository

    # -- file states ------------------------------------------------------------------------------------
    def state(self, path: str) -> FileState:
        if path not in self.states:
            # A symlink, submodule, FIFO, socket or device at the path is refused here, before any placement.
            # A plain directory is absent to a new file of its name, if the series deletes all it holds
            # (git apply replaces a directory by a file; checked in run()).
            replaced_dir = not self.tree.is_ref and self.tree.kind(path) is Kind.DIRECTORY
            if replaced_dir:
                self._replaced_dirs.add(path)
            if not replaced_dir and self.tree.check_regular(path):
                data = self.tree.read(path)
                lines, nl = _decode(data)
                self.states[path] = FileState(path, lines, True, nl)
                self.result.before[path] = data
                self.modes[path] = self.tree.mode(path)
            else:
                self.states[path] = FileState(path, [], False, True)
                self.result.before[path] = None
                self.modes[path] = None
            self.result.modes_before[path] = self.modes[path]
        return self.states[path]

    def snapshot(self) -> dict[str, bytes | None]:
        return {p: (_encode(s) if s.exists else None) for p, s in self.states.items()}

    def snapshot_modes(self) -> dict[str, str | None]:
        return {p: (self.modes.get(p) or REGULAR if s.exists else None) for p, s in self.states.items()}

    # -- the whole series -------------------------------------------------------------------------------
    def run(self, series: Series) -> PortResult:
        try:
            return self._run(series)
        finally:
            for reader in self._blob_readers.values():
                reader.close()

    def _run(self, series: Series) -> PortResult:
        for ci, commit in enumerate(series.commits):
            self.commit_defines = upstream_evidence.new_functions([h for fp in commit.files for h in fp.hunks])
            self.fresh = {}  # one commit's hunks never match each other's output, across its files too
            # git apply reads every rename's source before writing any target: a path renamed away in this
            # commit may be a target, and a source another move filled still gives its old content.
            self._vacated = {fp.old_path for fp in commit.files if fp.rename}
            self._before_moves: dict[str, tuple[list[str], bool, bool, str | None]] = {}
            for fp in commit.files:
                self._port_file(ci, fp)
            self.result.per_commit.append(self.snapshot())
            self.result.per_commit_modes.append(self.snapshot_modes())
        self.result.after = self.snapshot()
        self.result.modes_after = self.snapshot_modes()
        self._check_replaced_dirs()
        upstream_evidence.finalize(self.result)  # backport: weak "already upstream" evidence needs its commit
        self._check_names(series)
        return self.result

    def _check_replaced_dirs(self) -> None:
        for d in sorted(self._replaced_dirs):
            root = self.tree.root / d
            held = [posixpath.join(d, str(p.relative_to(root))) for p in root.rglob("*") if not p.is_dir()]
            if self.result.after.get(d) is None or any(self.result.after.get(p, b"") is not None for p in held):
                raise PorterError(f"{d} is a directory in {self.tree.name}: porter only patches regular files")

    def _check_names(self, series: Series) -> None:
        """Flag placed hunks whose added lines use names the target tree never mentions (a helper renamed or
        gone: the +/- lines need adapting, not just moving). With --strict such hunks are refused."""
        defined = set()
        for _, _, h in series.all_hunks():
            for text in h.added:
                m = DEFINES_RE.match(text)
                if m:
                    defined.add(m.group(1) or m.group(2))
        placed = [o for o in self.result.outcomes if o.placed and o.result.rung != Rung.ALREADY_APPLIED
                  and o.result.file.endswith((".c", ".h"))]
        self._check_exports(placed)
        placed = [o for o in placed if o.placed]
        wanted = {o.key: used_names(o.hunk) - defined for o in placed}
        # Most names are used in the very files the patch touches: only the rest needs a whole-tree search,
        # which on a git ref means reading every blob.
        pending = set().union(*wanted.values()) if wanted else set()
        for data in self.result.before.values():
            if data and pending:
                pending -= set(IDENT_RE.findall(data.decode("utf-8", "replace")))
        missing = unknown_names(self.tree, pending, near=[p for p in self.result.before])
        for o in placed:
            names = sorted(wanted[o.key] & missing)
            if not names:
                continue
            what = ", ".join(names)
            if self.strict:
                o.result = Refusal(o.result.file, Reason.UNKNOWN_NAMES_STRICT,
                                   params={"names": what, "tree": self.tree.name})
            else:
                o.result.notes.append(f"uses {what}, not defined in {self.tree.name}")
                self.result.warnings.append(f"{o.patch_file} hunk {o.number}: added lines use {what}, which "
                                            f"{self.tree.name} does not define (the change itself may need "
                                            "adapting; --strict refuses such hunks)")

    def _check_exports(self, placed: list) -> None:
        """An added EXPORT_SYMBOL(x) in a file that, once patched, does not define x cannot build (the patch
        exports a function by a name this tree does not use: renamed, or never there). Refused always: unlike
        an unknown call, this is certain (names.undefined_exports)."""
        for o in placed:
            names = exported_names(o.hunk.added)
            if not names:
                continue
            missing = undefined_exports(names, o.result.file, self.result.after.get(o.result.file) or b"")
            if missing:
                o.result = Refusal(o.result.file, Reason.EXPORT_UNDEFINED, [o.result.file],
                                   params={"names": ", ".join(missing), "file": o.result.file})

    def _port_file(self, ci: int, fp: FilePatch) -> None:
        _check_modes(fp)
        if fp.is_new:
            self._new_file(ci, fp)
            return
        state = self.state(fp.old_path)
        if fp.rename or fp.copy:
            state = self._move(ci, fp, state)
            if state is None:
                return
        old_source = self._old_source(fp)
        drift = 0
        # A second section for the same file applies to what the first one left (git apply does): only lines
        # other files' hunks wrote here (a moved function) stay out of reach.
        self.fresh[state.path] = [r for r in self.fresh.get(state.path, []) if r[2] != fp.path]
        for n, hunk in enumerate(fp.hunks, 1):
            nxt = fp.hunks[n] if n < len(fp.hunks) else None
            key = (ci, fp.path, n)
            result = self._place(hunk, nxt, state, drift, old_source, key, fp)
            result = upstream_evidence.judge(self, fp, hunk, result, old_source)  # backport: already upstream?
            if isinstance(result, Placement):
                target = self.states[result.file]
                if not result.already_applied:
                    self._mark_fresh(target, result, fp.path)
                    target.edit(result.start, result.end, result.replacement)
                    _set_final_newline(target, hunk, result.start + len(result.replacement))
                    if result.file == state.path:
                        drift = result.offset
                if not target.exists:
                    target.exists = True
            self.result.outcomes.append(HunkOutcome(ci, fp.path, n, hunk, result))
        if fp.is_delete and state.exists:
            if fp.old_mode and self.modes.get(state.path) and fp.old_mode != self.modes[state.path]:
                # git apply warns and deletes all the same.
                self.result.warnings.append(f"{state.path} has mode {self.modes[state.path]}, the patch deletes "
                                            f"it as mode {fp.old_mode}")
            if any(line.strip() for line in state.lines):
                self.result.outcomes.append(HunkOutcome(ci, fp.path, 0, Hunk(0, 0, 0, 0), Refusal(
                    fp.path, "file deletion: the target file has content the patch does not remove")))
            else:
                state.exists = False
        elif fp.new_mode and state.exists and (fp.mode_change or fp.rename or fp.copy):
            self.modes[state.path] = fp.new_mode

    def _move(self, ci: int, fp: FilePatch, src: FileState) -> FileState | None:
        """A rename or copy as git apply does it: the source's content (and mode) at the new path, where the
        hunks then apply; a rename removes the source. The new path must not exist yet."""
        kind = "rename" if fp.rename else "copy"
        dst = self.state(fp.new_path)
        before = getattr(self, "_before_moves", {})
        lines, exists, final_newline, mode = before.get(src.path) or (src.lines, src.exists, src.final_newline,
                                                                       self.modes.get(src.path))
        reason = None
        if not exists:
            reason = f"{kind} source {fp.old_path} does not exist in {self.tree.name}"
        elif dst.exists and (dst.path not in getattr(self, "_vacated", ()) or dst.path in before):
            reason = f"{kind} target {fp.new_path} already exists in {self.tree.name}"
        if reason:
            self.result.outcomes.append(HunkOutcome(ci, fp.path, 0, Hunk(0, 0, 0, 0), Refusal(fp.path, reason)))
            return None
        if dst.exists:  # renamed away by this commit: keep what it held for that rename
            before[dst.path] = (list(dst.lines), True, dst.final_newline, self.modes.get(dst.path))
        dst.lines, dst.exists, dst.final_newline = list(lines), True, final_newline
        self.modes[dst.path] = fp.new_mode or mode
        if fp.rename and src.path not in before:
            src.lines, src.exists = [], False
        self.result.moves.append((ci, fp.old_path, fp.new_path, kind))
        return dst

    def _new_file(self, ci: int, fp: FilePatch) -> None:
        state = self.state(fp.new_path)
        new_lines = [ln.text for h in fp.hunks for ln in h.lines if ln.kind == "+"]
        last = fp.hunks[-1].lines[-1] if fp.hunks and fp.hunks[-1].lines else None
        final_newline = not (last and last.no_newline)
        mode = fp.new_mode or REGULAR
        if state.exists:
            same = state.lines == new_lines and (state.final_newline == final_newline or not new_lines) \
                and self.modes.get(state.path) == mode
            res = Placement(fp.new_path, "already-applied", evidence="file already exists with this content") \
                if same else Refusal(fp.new_path, "new file already exists in the target with other content")
        else:
            state.lines, state.exists, state.final_newline = new_lines, True, final_newline
            self.modes[state.path] = mode
            res = Placement(fp.new_path, "exact", 0, 0, new_lines, evidence="new file")
        for n, h in enumerate(fp.hunks or [Hunk(0, 0, 1, 0)], 1):
            self.result.outcomes.append(HunkOutcome(ci, fp.path, n, h, res))

    # -- one hunk ---------------------------------------------------------------------------------------
    def _place(self, hunk: Hunk, nxt: Hunk | None, state: FileState, drift: int, old_source: str | None,
               key, fp: FilePatch) -> Placement | Refusal:
        """Climb the placement ladder (porter/place/ladder.py) for one hunk."""
        expected = max(hunk.new_start - 1, 0) + drift
        ctx = HunkContext(hunk, nxt, state, expected, old_source, fp, key, self.forced.get(key), self)
        return climb(ctx)

    def _mark_fresh(self, target: FileState, pl: Placement, origin: str) -> None:
        """Record the lines `pl` is about to write (its changed middle, kept context excluded), shifting the
        ranges recorded below it."""
        old, new = target.lines[pl.start:pl.end], pl.replacement
        p, q = changed_span(old, new)
        delta = len(new) - len(old)
        # The ranges are disjoint and sorted by start: only those below the placement shift (none, when hunks
        # come in file order), so a 5,000-hunk file stays linear.
        ranges = self.fresh.setdefault(target.path, [])
        k = bisect_left(ranges, (pl.end,))
        ranges[k:] = [(a + delta, b + delta, o) for a, b, o in ranges[k:]]
        if len(new) - q > p:
            insort(ranges, (pl.start + p, pl.start + len(new) - q, origin))

    # -- lookups ----------------------------------------------------------------------------------------
    def definitions(self, name: str, near: str | None = None) -> list[tuple[str, cmodel.Definition]]:
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
        repos = [r for r in (fp.blob_repo, self.tree.repo, self.tree.root) if r is not None]
        for repo in repos:
            if repo not in self._blob_readers:
                self._blob_readers[repo] = BlobReader(repo)
            data = self._blob_readers[repo].read(fp.old_index)
            if data is not None:
                return data.decode("utf-8", "surrogateescape")
        return None

REGULAR = "100644"
WRITABLE_MODES = ("100644", "100755")


def _check_modes(fp: FilePatch) -> None:
    """porter writes regular files only: a patch that makes or edits a symlink or a submodule is refused."""
    for mode in (fp.old_mode, fp.new_mode):
        if mode and mode not in WRITABLE_MODES:
            what = {"120000": "a symbolic link", "160000": "a submodule"}.get(mode, f"mode {mode}")
            raise PorterError(f"{fp.path}: the patch changes {what}; porter only patches regular files")


def _set_final_newline(state: FileState, hunk: Hunk, end: int) -> None:
    """`\\ No newline at end of file` after a pre-/post-image line: when the hunk reaches the end of the file
    and its two sides differ there, the post-image decides whether the file ends with a newline (git apply's
    rule). When both sides lack it the patch does not change the file's end, so the target keeps its own:
    a target that has the newline, where the patch's old file did not, is drift, not something to undo."""
    if end != len(state.lines):
        return
    pre = any(ln.no_newline for ln in hunk.lines if ln.kind in " -")
    post = any(ln.no_newline for ln in hunk.lines if ln.kind in " +")
    if pre != post:
        state.final_newline = not post



# Refusals that found no trace of the hunk's code anywhere in the tree.
NOTHING_FOUND = frozenset({Reason.FILE_MISSING, Reason.FUNCTION_NOT_FOUND, Reason.NO_SIMILAR_FUNCTION,
                           Reason.TREE_SEARCH_NOT_FOUND, Reason.CONTEXT_NOT_FOUND})


def _undeclared_creations(series: Series, tree: Tree) -> Series:
    """git apply's rule for a diff that does not say whether its file is new (no `/dev/null`, no `new file
    mode`): a single hunk adding lines at line 0 (`@@ -0,0 +1,N @@`) to a file this tree lacks creates it;
    patch(1) does the same. Decided per tree, so the series is copied, never changed."""
    touched: set[str] = set()  # paths an earlier section of the series changes: not the tree's to decide

    def creates(fp: FilePatch) -> bool:
        return (not fp.is_new and not fp.is_delete and not fp.rename and not fp.copy
                and fp.old_path == fp.new_path and fp.old_path not in touched and len(fp.hunks) == 1
                and fp.hunks[0].old_start == 0 and fp.hunks[0].old_len == 0
                and tree.kind(fp.old_path) is Kind.MISSING)

    commits, changed = [], False
    for c in series.commits:
        files = []
        for fp in c.files:
            if creates(fp):
                fp, changed = dataclasses.replace(fp, old_path=None, old_mode=None, old_index=None), True
            touched.update(p for p in (fp.old_path, fp.new_path) if p)
            files.append(fp)
        commits.append(dataclasses.replace(c, files=files))
    return dataclasses.replace(series, commits=commits) if changed else series


def port(series: Series, tree: Tree, forced: dict | None = None, strict: bool = False) -> PortResult:
    if not tree.looks_like_kernel():
        raise PorterError(f"--tree {tree.name}: not a kernel tree")
    series = _undeclared_creations(series, tree)
    result = Porter(tree, forced, strict).run(series)
    for commit in series.commits:
        for fp in commit.files:
            if fp.is_new or tree.exists(fp.old_path):
                continue
            outcomes = [o for o in result.outcomes if o.patch_file == fp.path]
            # A hunk whose function was found elsewhere (and refused there) is a refusal to report, not a
            # missing file.
            if any(not o.placed and o.result.code not in NOTHING_FOUND for o in outcomes):
                continue
            if any(not o.placed for o in outcomes) and not any(map(upstream_evidence.has_evidence, outcomes)):
                raise PorterError(f"{fp.old_path}: no such file in {tree.name}, and the functions its hunks "
                                  "change were not found elsewhere in the tree")
    return result
