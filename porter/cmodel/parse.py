"""Entry points: the cached FileModel of some source, an uncached build, and the raw tree-sitter tree."""

from __future__ import annotations

from porter.cmodel.builder import _Builder
from porter.cmodel.grammar import parser
from porter.cmodel.model import FileModel
from porter.cmodel.preprocess import prepare

MIN_PERSIST_BYTES = 4096  # smaller sources are cached in memory only


def parse_tree(source: bytes, keep_conditionals: bool = True):
    """The tree-sitter Tree of `source` (not cached), parsed as the model sees it: annotation macros blanked and
    iterator macros turned into `while` (a `while_statement` whose source starts with the macro name), all
    without moving any byte. `keep_conditionals` keeps `#if` groups inside bodies as preproc nodes (flow
    analysis treats them as optional); the FileModel drops the directive lines of groups without `#else`."""
    return parser.parse(prepare(source, keep_conditionals)[0])


def parse_c(source: bytes, path: str = "", persist: bool = True) -> FileModel:
    """FileModel of `source`, cached by content hash in memory, and on disk unless `persist` is False (text that
    exists only during one run, such as a file with some hunks applied, is not worth a disk entry)."""
    from porter.cmodel import cache

    if isinstance(source, str):
        source = source.encode("utf-8", "surrogateescape")

    # a snippet (a hunk's lines) parses faster than a disk entry is written and read back
    return cache.get_or_build(source, path, build_model, persist=persist and len(source) >= MIN_PERSIST_BYTES)


def build_model(source: bytes, path: str = "") -> FileModel:
    """Build the FileModel from scratch (no cache)."""
    if isinstance(source, str):
        source = source.encode("utf-8", "surrogateescape")
    return _Builder(source, path).build()
