"""What a write changes in one tree: per file, the old and new content and git mode. Computed in memory from a
PortResult before anything touches the disk; an unchanged file (same bytes, same mode) is not a change."""

from __future__ import annotations

import os
from dataclasses import dataclass

from porter.errors import PorterError

REGULAR, EXECUTABLE = "100644", "100755"
WRITABLE_MODES = (REGULAR, EXECUTABLE)


@dataclass(frozen=True)
class FileChange:
    path: str
    old: bytes | None  # None: the file does not exist before
    new: bytes | None  # None: the file is deleted
    old_mode: str | None
    new_mode: str | None

    @property
    def deletes(self) -> bool:
        return self.new is None


def changes_of(result) -> list[FileChange]:
    """The changes a PortResult makes, sorted by path; nothing when re-applying changed nothing."""
    out = []
    modes_before = getattr(result, "modes_before", {})
    modes_after = getattr(result, "modes_after", {})
    for path in sorted(result.after):
        old, new = result.before.get(path), result.after[path]
        old_mode = modes_before.get(path) if old is not None else None
        new_mode = (modes_after.get(path) or old_mode or REGULAR) if new is not None else None
        if old == new and old_mode == new_mode:
            continue
        if new_mode is not None and new_mode not in WRITABLE_MODES:
            raise PorterError(f"{path}: mode {new_mode} is not a regular file mode; porter writes regular files "
                              "only")
        out.append(FileChange(path, old, new, old_mode, new_mode))
    return out


_umask_cache: list[int] = []


def umask() -> int:
    """The process umask (read once: os.umask can only be read by setting it)."""
    if not _umask_cache:
        mask = os.umask(0o022)
        os.umask(mask)
        _umask_cache.append(mask)
    return _umask_cache[0]


def fs_mode(git_mode: str) -> int:
    """Permission bits git gives a file it writes: 0777 or 0666 by the executable bit, minus the umask (git
    apply recreates a patched file this way too, so an edited 0600 file comes back 0644 under umask 022)."""
    return (0o777 if git_mode == EXECUTABLE else 0o666) & ~umask()
