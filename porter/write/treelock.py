"""One porter at a time per directory tree: an flock on the tree's root directory itself.

A write checks that every file is still what porter read, then renames its staged files into place; two
porter runs on one tree could both pass the check before either renamed, and the second would silently undo
part of the first (each run's journal is its own). So a run that may write holds an exclusive lock on the tree
from before it reads a file until it exits, and a run that only reads (`--dry-run`, lint, review, locate)
holds a shared one: it waits for a write in progress and never sees half of one. The lock is on the directory
itself, so nothing is created in the tree, in `.git/` or anywhere else; the kernel drops it when the process
ends, however it ends.
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


def release_all() -> None:
    """Drop every lock this process holds (a command's end; in-process test runs call it between commands)."""
    while _held:
        _root, (fd, _excl) = _held.popitem()
        os.close(fd)
