"""One porter at a time per directory tree: an flock on the tree's root directory itself.

A write checks that every file is still what porter read, then renames its staged files into place; two
porter runs on one tree could both pass the check before either renamed, and the second would silently undo
part of the first (each run's journal is its own). So a run that may write holds an exclusive lock on the tree
from before it reads a file until it exits, and a run that only reads (`--dry-run`, lint, review, locate)
holds a shared one: it waits for a write in progress and never sees half of one. The lock is on the directory
itself, so nothing is created in the tree, in `.git/` or anywhere else; the kernel drops it when the process
ends, however it ends.

Trees may nest (`linux` and `linux/drivers` named by two runs): every run also holds a shared lock on each
directory above its trees, so a writer of `linux` waits for a run in `linux/drivers` and the other way round,
while runs in sibling directories go on side by side. All locks of a run are taken in one order (by path), the
same in every run, so two runs never each hold what the other waits for.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from porter.errors import PorterError

_held: dict[Path, tuple[int, bool]] = {}  # root -> (fd, exclusive); flock is per open file: one fd a root


def hold(root: Path, name: str, exclusive: bool) -> None:
    """Lock `root` for the rest of this process (shared to read, exclusive to write), waiting for another
    porter that holds it; says so on stderr when it has to wait."""
    fd, had = _held.get(root, (None, False))
    if fd is not None and (had or not exclusive):
        return
    if fd is None:
        try:
            fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise PorterError(f"--tree {name}: cannot open {root}: {exc.strerror}") from None
    op = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    try:
        fcntl.flock(fd, op | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.stderr.write(f"porter: note: {name}: another porter run is using this tree; waiting for it to end\n")
        fcntl.flock(fd, op)
    _held[root] = (fd, exclusive)


def hold_trees(trees: list[tuple[Path, str, bool]]) -> None:
    """Lock every (root, name, exclusive) tree of one command and, shared, every directory above them, in
    path order."""
    wanted: dict[Path, tuple[str, bool]] = {}
    for root, name, _exclusive in trees:
        for parent in root.parents:
            if parent != parent.parent:  # not `/`: every process on the machine would share it
                wanted.setdefault(parent, (name, False))
    for root, name, exclusive in trees:
        wanted[root] = (name, exclusive or wanted.get(root, ("", False))[1])
    for path in sorted(wanted, key=str):
        name, exclusive = wanted[path]
        if exclusive or any(path == r for r, _, _ in trees):
            hold(path, name, exclusive)
        else:
            _hold_above(path, name)


def _hold_above(path: Path, name: str) -> None:
    """A shared lock on a directory above a tree; one this process may not open is skipped (it then cannot
    serialise with a run on that directory, which porter could not write either)."""
    try:
        hold(path, name, exclusive=False)
    except PorterError:
        pass


def release_all() -> None:
    """Drop every lock this process holds (a command's end; in-process test runs call it between commands)."""
    while _held:
        _root, (fd, _excl) = _held.popitem()
        os.close(fd)
