"""Run lint rules over a tree: shared prefilter, cached C models, findings sorted and filtered by PATHS.

A LintContext is what every rule kind sees: `files_with(words)` (the whole-word prefilter, remembered per tree),
`model(path)` (porter.cmodel FileModel, cached by content hash and shared with apply/locate), `source(path)`,
`raw(path)` (the tree-sitter tree, for control flow), and an optional overlay of file contents (a patched tree
without copying it: only the files a patch touches differ from the base tree).
"""

from __future__ import annotations

import fnmatch
import re
import time
from dataclasses import dataclass, field

from porter.errors import PorterError
from porter.lint.findings import Finding
from porter.lint.rules import Rule
from porter.lint.words import WordIndex, scan_words


class _ContextTree:
    """The Tree face of a LintContext, for porter.cmodel.symbols.SymbolIndex: reads see the overlay, whole-word
    searches go through the context's remembered prefilter instead of a fresh grep."""

    def __init__(self, ctx: "LintContext"):
        self._ctx = ctx
        self.name = ctx.tree.name
        self.root = getattr(ctx.tree, "root", None)
        self.is_ref = False  # blob ids of overlaid files are not the tree's: always key models by content

    def read(self, path: str) -> bytes:
        return self._ctx.source(path)

    def exists(self, path: str) -> bool:
        return self._ctx.exists(path)

    def grep_files(self, words, paths=None, suffixes=(".c", ".h")) -> list[str]:
        found = self._ctx.files_with_any(words)
        return sorted(p for p in found if p.endswith(tuple(suffixes)) and (not paths or path_matches(p, paths)))


class LintContext:
    def __init__(self, tree, overlay: dict[str, bytes | None] | None = None, words: WordIndex | None = None):
        self.tree = tree
        self.overlay = dict(overlay or {})
        self.words = words or WordIndex(tree)
        self._src: dict[str, bytes] = {}
        self._models: dict[str, object] = {}
        self._raw: dict[str, object] = {}
        self.stats = {"parsed": 0, "raw_parsed": 0}
        self._symbols = None

    @property
    def symbols(self):
        """porter.cmodel.symbols.SymbolIndex over this context (overlay and remembered prefilter included)."""
        if self._symbols is None:
            from porter.cmodel.symbols import SymbolIndex

            self._symbols = SymbolIndex(_ContextTree(self))
        return self._symbols

    def reset(self) -> None:
        """Forget what was read (the tree changed under us)."""
        self._src.clear()
        self._models.clear()
        self._raw.clear()
        self._symbols = None

    @property
    def name(self) -> str:
        return self.tree.name

    # ---- files
    def exists(self, path: str) -> bool:
        if path in self.overlay:
            return self.overlay[path] is not None
        return self.tree.exists(path)

    def source(self, path: str) -> bytes:
        if path not in self._src:
            if path in self.overlay:
                data = self.overlay[path]
                if data is None:
                    raise PorterError(f"{path}: deleted by the patch")
                self._src[path] = data
            else:
                self._src[path] = self.tree.read(path)
        return self._src[path]

    def files_with(self, words) -> dict[str, frozenset[str]]:
        """{word: files containing it as a whole word}, for C sources and headers."""
        words = sorted(set(words))
        base = self.words.files_with(words)
        if not self.overlay:
            return base
        out = {}
        touched = set(self.overlay)
        scans = {p: scan_words(d, words) for p, d in self.overlay.items()
                 if d is not None and p.endswith((".c", ".h"))}
        for w in words:
            s = set(base[w]) - touched
            s |= {p for p, found in scans.items() if w in found}
            out[w] = frozenset(s)
        return out

    def files_with_any(self, words) -> set[str]:
        out: set[str] = set()
        for s in self.files_with(words).values():
            out |= s
        return out

    def assigns_field(self, paths, fields) -> set[str]:
        """Those of `paths` whose text assigns `->field =` / `.field =` for one of `fields`: a cheap text check
        that spares parsing files which only read the field."""
        if not fields:
            return set()
        rx = re.compile(rb"(?:->|\.)\s*(?:" + b"|".join(re.escape(f.encode()) for f in fields)
                        + rb")\s*=(?!=)")
        return {p for p in paths if rx.search(self.source(p))}

    # ---- C
    def model(self, path: str):
        m = self._models.get(path)
        if m is None:
            from porter.cmodel import parse_c

            m = parse_c(self.source(path), path)
            self._models[path] = m
            self.stats["parsed"] += 1
        return m

    def raw(self, path: str):
        t = self._raw.get(path)
        if t is None:
            from porter.cmodel import parse_tree

            t = parse_tree(self.source(path))
            self._raw[path] = t
            self.stats["raw_parsed"] += 1
        return t

    def body(self, path: str, definition):
        """(source, compound_statement node) of a function definition, or (source, None) if the tree lost it."""
        from porter.lint.flow import find_body

        src = self.source(path)
        if definition.body_start_byte is None:
            return src, None
        return src, find_body(self.raw(path), definition.body_start_byte)


@dataclass
class LintResult:
    findings: list[Finding]
    rules: list[Rule]
    tree: str
    seconds: float = 0.0
    stats: dict = field(default_factory=dict)


def path_matches(path: str, selectors: list[str]) -> bool:
    """A finding's path is selected by PATHS: equal, under a directory, or matching a glob."""
    if not selectors:
        return True
    for s in selectors:
        s = s.rstrip("/")
        if s in ("", "."):
            return True
        if path == s or path.startswith(s + "/") or fnmatch.fnmatchcase(path, s):
            return True
    return False


def _run_once(ctx: LintContext, rules: list[Rule]) -> list[Finding]:
    from porter.lint.kinds import KINDS

    # one prefilter pass for the words every rule names up front
    first = set()
    for r in rules:
        first |= set(KINDS[r.kind].words(r))
    if first:
        ctx.files_with(sorted(first))
    findings: list[Finding] = []
    for r in rules:
        findings.extend(KINDS[r.kind].check(r, ctx))
    return findings


def run_rules(ctx: LintContext, rules: list[Rule], paths: list[str] | None = None) -> LintResult:
    """Every rule over the context's tree. PATHS restricts where findings are reported, not what is analysed:
    a rule about a call chain still follows it through files outside PATHS."""
    t0 = time.monotonic()
    ctx.words.start()  # the tree's fingerprint is computed while the rules run on remembered answers
    findings = _run_once(ctx, rules)
    if not ctx.words.confirm():  # the tree changed since those answers: run again on fresh ones
        ctx.reset()
        findings = _run_once(ctx, rules)
    if paths:
        findings = [f for f in findings if not f.path or path_matches(f.path, paths)]
    uniq = {}
    for f in findings:
        uniq.setdefault((f.rule_id, f.key, f.path, f.line, f.col), f)
    out = sorted(uniq.values(), key=Finding.sort_key)
    ctx.words.save()
    stats = dict(ctx.stats, greps=ctx.words.greps)
    return LintResult(out, rules, ctx.name, time.monotonic() - t0, stats)


def lint_tree(tree, rules: list[Rule], paths: list[str] | None = None,
              overlay: dict[str, bytes | None] | None = None, words: WordIndex | None = None) -> LintResult:
    return run_rules(LintContext(tree, overlay=overlay, words=words), rules, paths)
