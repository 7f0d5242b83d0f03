"""Writing one directory tree: the boundary checks made again just before the write, the directories a write
creates and the ones it empties (git apply removes a directory its deletions leave empty), then the journal."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from porter.errors import PorterError
from porter.tree import Kind, Tree
from porter.write.changes import FileChange
from porter.write.journal import Journal, is_journal_name


def plan_directory(tree: Tree, changes: list[FileChange]) -> Journal:
    """A journal for these changes, after checking every path is still what porter read: a regular file with
    the same bytes (or absent), no symlink or nested repository on the way."""
    tree._checked_dirs.clear()  # the tree may have changed since it was read: check the way again
    for ch in changes:
        if is_journal_name(PurePosixPath(ch.path).parts[0]):
            raise PorterError(f"{ch.path}: porter keeps its write journal under this name; refusing to patch it")
        kind = tree.kind(ch.path)
        if kind not in (Kind.FILE, Kind.MISSING):
            raise PorterError(f"{ch.path} is {kind.value} in {tree.name}: porter only patches regular files")
        now = tree.read(ch.path) if kind is Kind.FILE else None
        if now != ch.old:
            raise PorterError(f"{ch.path} changed in {tree.name} while porter was working; nothing written")
    return Journal(tree.root, changes, created_dirs=_missing_dirs(tree.root, changes),
                   removed_dirs=_emptied_dirs(tree.root, changes))


def _ancestors(path: str) -> list[str]:
    parts = PurePosixPath(path).parts[:-1]
    return ["/".join(parts[:i + 1]) for i in range(len(parts))]


def _missing_dirs(root: Path, changes: list[FileChange]) -> list[str]:
    missing: list[str] = []
    for ch in changes:
        if ch.new is None:
            continue
        for d in _ancestors(ch.path):
            if d in missing:
                continue
            try:
                st = os.lstat(root / d)
            except FileNotFoundError:
                missing.append(d)
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise PorterError(f"{ch.path}: {d} is not a directory")
    return missing


def _emptied_dirs(root: Path, changes: list[FileChange]) -> list[tuple[str, int]]:
    """Directories that only hold files this write deletes (or such directories): git removes them."""
    deleted = {ch.path for ch in changes if ch.new is None}
    kept = {d for ch in changes if ch.new is not None for d in _ancestors(ch.path)}
    candidates = sorted({d for p in deleted for d in _ancestors(p)} - kept, key=lambda d: -d.count("/"))
    emptied: list[tuple[str, int]] = []
    gone = set(deleted)
    for d in candidates:
        try:
            entries = os.listdir(root / d)
        except OSError:
            continue
        if all(f"{d}/{e}" in gone for e in entries):
            gone.add(d)
            emptied.append((d, stat.S_IMODE(os.lstat(root / d).st_mode)))
    return emptied
