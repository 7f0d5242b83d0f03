"""The write journal of one directory tree: how a write survives Ctrl-C, a failed rename and SIGKILL.

Layout, at the tree root (never inside .git/, never a path the patch names):

    .porter-journal-<pid>/lock          flock held by the writing process (a live writer is never rolled back)
    .porter-journal-<pid>/n<i>          new content of change i, with its final mode (renamed into place)
    .porter-journal-<pid>/b<i>          the old file i: a hard link (same inode: content and mode), else a copy
    .porter-journal-<pid>/journal.json  written last, atomically: its presence means "the tree may be changing"

Order: stage n*/b* -> journal.json -> unlinks -> remove emptied directories -> create directories -> renames
-> rename the journal to `.done` (the commit point) -> delete it. Deletions come first so that a path can
change kind in one write, as git apply allows (a file replaced by a directory of the same name, or back).
Rolling back (in process after a failure, or by the next porter command after SIGKILL) undoes it in reverse:
removes new files and created directories, recreates removed directories, puts every b<i> back; it is
idempotent, so being killed while rolling back is safe too.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from porter.errors import PorterError
from porter.tree import check_relative_path
from porter.write.changes import FileChange, fs_mode
from porter.write.signals import held_signals, test_point

PREFIX = ".porter-journal-"
DONE = ".done"
RECORD = "journal.json"
VERSION = 3  # 2: the record names the tree it was written in; 3: and each new content's sha256
STAGING = re.compile(r"lock|[nb][0-9]+|journal\.json(\.tmp)?")  # every name stage() creates


def is_journal_name(name: str) -> bool:
    return name.startswith(PREFIX)


@dataclass
class Journal:
    root: Path
    changes: list[FileChange]
    created_dirs: list[str] = field(default_factory=list)  # shallowest first
    removed_dirs: list[tuple[str, int]] = field(default_factory=list)  # (dir, mode), deepest first
    dir: Path | None = None
    recorded: bool = False
    done: int = 0  # changes already renamed/unlinked into the tree
    _lock: int | None = None

    def __post_init__(self):
        # Deletions first (see the module doc); the record's indices are this order's.
        self.changes = sorted(self.changes, key=lambda ch: ch.new is not None)

    # -- staging: nothing in the tree changes yet ---------------------------------------------------------
    def stage(self) -> None:
        jdir = self.root / f"{PREFIX}{os.getpid()}"
        os.mkdir(jdir, 0o700)
        self.dir = jdir  # only now is it ours to delete
        self._lock = os.open(self.dir / "lock", os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        for i, ch in enumerate(self.changes):
            if ch.old is not None:
                _backup(self.root / ch.path, self.dir / f"b{i}")
            if ch.new is not None:
                _write_new(self.dir / f"n{i}", ch.new, fs_mode(ch.new_mode))
        record = {"version": VERSION, "pid": os.getpid(), "root": str(self.root),
                  "entries": [{"path": ch.path, "existed": ch.old is not None, "backup": f"b{i}",
                               "sha256": None if ch.new is None else hashlib.sha256(ch.new).hexdigest()}
                              for i, ch in enumerate(self.changes)],
                  "created_dirs": self.created_dirs, "removed_dirs": self.removed_dirs}
        tmp = self.dir / (RECORD + ".tmp")
        _write_new(tmp, json.dumps(record).encode(), 0o600, sync=True)
        os.replace(tmp, self.dir / RECORD)
        _fsync_dir(self.dir)
        self.recorded = True

    # -- the tree changes ---------------------------------------------------------------------------------
    def commit(self) -> None:
        first_write = sum(1 for ch in self.changes if ch.new is None)
        for i, ch in enumerate(self.changes):
            if i == first_write:
                for d, _ in self.removed_dirs:
                    os.rmdir(self.root / d)
                for d in self.created_dirs:
                    os.mkdir(self.root / d)
            if i == 0:
                test_point("first-rename")
            if i == len(self.changes) // 2:
                test_point("mid-rename")
            dest = self.root / ch.path
            if ch.new is None:
                os.unlink(dest)
            else:
                os.replace(self.dir / f"n{i}", dest)
            self.done = i + 1
        if first_write == len(self.changes):
            for d, _ in self.removed_dirs:
                os.rmdir(self.root / d)

    def mark_done(self) -> None:
        """The commit point: a `.done` journal is deleted, never rolled back."""
        done = self.dir.with_name(self.dir.name + DONE)
        os.rename(self.dir, done)
        self.dir = done

    def unmark_done(self) -> None:
        """Another tree could not be marked done: this one goes back to being rolled back."""
        if self.dir.name.endswith(DONE):
            undone = self.dir.with_name(self.dir.name[:-len(DONE)])
            os.rename(self.dir, undone)
            self.dir = undone

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def rollback(self) -> None:
        """Undo whatever part of the write happened (raises OSError if the tree cannot be restored)."""
        if self.dir is None:
            return
        if self.recorded:
            _rollback(self.root, self.dir, _load(self.dir), upto=self.done)
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def close(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def _write_new(path: Path, data: bytes, mode: int, sync: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, mode)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _backup(src: Path, dest: Path) -> None:
    """Keep the old file: a hard link costs nothing and keeps content, mode and inode; a copy (with the same
    permission bits) where links are not allowed."""
    try:
        os.link(src, dest, follow_symlinks=False)
        return
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    st = os.lstat(src)
    with open(src, "rb") as fh:
        _write_new(dest, fh.read(), st.st_mode & 0o7777)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load(jdir: Path) -> dict:
    try:
        record = json.loads((jdir / RECORD).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"its record is not JSON ({exc})") from None
    _check_shape(record)
    _check_record(jdir.parent, record)
    for e in record["entries"]:
        b = jdir / e["backup"]
        if e["existed"] and os.path.lexists(b) and not stat.S_ISREG(os.lstat(b).st_mode):
            raise ValueError(f"its backup {e['backup']} is not a regular file")
    return record


def _check_shape(record) -> None:
    """Every field of the record of the type stage() writes, before anything acts on it."""
    ok = isinstance(record, dict) and isinstance(record.get("entries"), list) and \
        isinstance(record.get("created_dirs"), list) and isinstance(record.get("removed_dirs"), list)
    ok = ok and all(isinstance(e, dict) and isinstance(e.get("path"), str) and isinstance(e.get("existed"), bool)
                    and isinstance(e.get("backup"), str) and isinstance(e.get("sha256"), (str, type(None)))
                    for e in record["entries"])
    ok = ok and all(isinstance(d, str) for d in record["created_dirs"])
    ok = ok and all(isinstance(d, list) and len(d) == 2 and isinstance(d[0], str) and type(d[1]) is int
                    and 0 <= d[1] <= 0o777 for d in record["removed_dirs"])
    if not ok:
        raise ValueError("its record is not one porter writes")


def _check_record(root: Path, record: dict) -> None:
    """A journal found in a tree may not be porter's (a cloned repository or a tarball can hold one): it must
    name this tree as the one it was written in, every path it names must be a plain path of this tree (no
    '..', absolute, .git, or symlinked directory on the way) and every backup a file of the journal, or the
    rollback would write or delete anywhere."""
    if record.get("version") != VERSION or record.get("root") != str(root):
        raise ValueError("its record was not written by a porter writing this tree")
    paths = [e["path"] for e in record["entries"]] + list(record["created_dirs"]) + \
        [d for d, _ in record["removed_dirs"]]
    for path in paths:
        try:
            rel = check_relative_path(str(path))
        except PorterError:
            raise ValueError(f"its record names {path!r}, not a path inside this tree") from None
        cur = root
        for part in PurePosixPath(rel).parts[:-1]:
            cur = cur / part
            if cur.is_symlink():
                raise ValueError(f"its record names {path!r}, beyond the symbolic link {cur.relative_to(root)}")
    for e in record["entries"]:
        if e["existed"] and not re.fullmatch(r"b[0-9]+", str(e["backup"])):
            raise ValueError(f"its record names the backup {e['backup']!r}, not a file of the journal")


def _rollback(root: Path, jdir: Path, record: dict, upto: int | None = None) -> int:
    """Put the old tree back from a journal record; returns how many files were restored or removed. `upto`:
    only the first entries were committed (known in process; after SIGKILL every entry is checked)."""
    n = 0
    entries = record["entries"] if upto is None else record["entries"][:upto]
    _check_untouched(root, jdir, entries, set(record["created_dirs"]) | {d for d, _ in record["removed_dirs"]})
    # The reverse of commit(): new files out, created directories out, removed directories back, old files
    # back. Each step checks what is there, so it is right whatever point the write (or a rollback) reached.
    for entry in reversed(entries):
        dest = root / entry["path"]
        if not entry["existed"] and os.path.isfile(dest) and not os.path.islink(dest):
            os.unlink(dest)
            n += 1
    for d in reversed(record["created_dirs"]):
        if os.path.isdir(root / d) and not os.path.islink(root / d):
            os.rmdir(root / d)
    for d, mode in reversed(record["removed_dirs"]):
        if not os.path.lexists(root / d):
            os.mkdir(root / d)
            os.chmod(root / d, mode)
    for entry in reversed(entries):
        dest = root / entry["path"]
        backup = jdir / entry["backup"]
        if entry["existed"] and os.path.lexists(backup) and not _same(backup, dest):
            # Same inode as dest when that was never replaced: rename(2) then does nothing.
            os.replace(backup, dest)
            n += 1
    return n


def _check_untouched(root: Path, jdir: Path, entries: list[dict], dirs: set[str]) -> None:
    """Before anything is put back: every file is as the write left it (the old file, the new content, a
    directory the write makes or removes in its place, or absent), never edited since. A rollback must not
    throw away work done after the crash."""
    for e in entries:
        dest = root / e["path"]
        if not os.path.lexists(dest) or (e["existed"] and _same(jdir / e["backup"], dest)):
            continue
        if e["path"] in dirs and dest.is_dir() and not dest.is_symlink():
            continue
        if os.path.isfile(dest) and not os.path.islink(dest) and e["sha256"] is not None and \
                hashlib.sha256(dest.read_bytes()).hexdigest() == e["sha256"]:
            continue
        raise ValueError(f"{e['path']} was changed after the interrupted write; porter will not overwrite it "
                         f"(the old file is {jdir.name}/{e['backup']})")


def _same(backup: Path, dest: Path) -> bool:
    """dest still is the old file (never replaced, or already restored): nothing to put back."""
    try:
        b, d = os.lstat(backup), os.lstat(dest)
    except FileNotFoundError:
        return False
    if (b.st_dev, b.st_ino) == (d.st_dev, d.st_ino):
        return True
    return (b.st_mode == d.st_mode and b.st_size == d.st_size
            and backup.read_bytes() == dest.read_bytes())


# -- recovery by the next porter command ------------------------------------------------------------------

def leftover(root: Path, finished: bool = True) -> list[str]:
    """The journal directories an interrupted porter left at the top of this tree (name order); without
    `finished`, not the `.done` ones (a complete write whose clean-up was cut short)."""
    try:
        # Only names porter gives its journals (prefix, pid, maybe .done): a tree's own `.porter-journal-notes/`
        # directory is not staging debris to delete.
        names = [n for n in os.listdir(root) if re.fullmatch(re.escape(PREFIX) + r"[0-9]+(\.done)?", n)]
    except OSError:
        return []
    return sorted(n for n in names if (root / n).is_dir() and not (root / n).is_symlink()
                  and (finished or not n.endswith(DONE)))


def _foreign(root: Path, jdir: Path) -> str | None:
    """Why this journal-named directory is not one porter left here to clean up, or None. Porter only ever
    puts its staging names in one, and never lets git track one (a write holds the tree locked)."""
    try:
        names = os.listdir(jdir)
    except OSError as exc:
        return exc.strerror
    odd = sorted(n for n in names if not STAGING.fullmatch(n) or not stat.S_ISREG(os.lstat(jdir / n).st_mode))
    if odd:
        return f"it holds {odd[0]!r}, which porter never writes"
    tracked = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--", jdir.name],
                             capture_output=True).stdout
    if tracked:
        return "git tracks files in it"
    return None


def check_foreign(root: Path, name: str) -> None:
    """Refuse, in one line, a journal-named directory porter did not leave (before saying anything else of it)."""
    for jname in leftover(root):
        why = _foreign(root, root / jname)
        if not why and (root / jname / RECORD).is_file():
            try:
                _load(root / jname)  # reads only
            except (OSError, ValueError, KeyError, TypeError) as exc:
                why = str(exc)
        if why:
            raise PorterError(f"{name}: {jname} is not a journal porter left in this tree ({why}); porter keeps "
                              "its write journal under that name: move it away")


def recover(root: Path, name: str) -> None:
    """Finish what a killed porter left in this tree: roll back a recorded write, delete staging debris and
    finished journals. Says so on stderr (one line per journal). A journal whose writer is alive is refused;
    a directory of that name porter did not leave is refused, untouched."""
    check_foreign(root, name)
    for jname in leftover(root):
        jdir = root / jname
        if jname.endswith(DONE):
            shutil.rmtree(jdir, ignore_errors=True)
            continue
        with held_signals():  # a Ctrl-C while restoring must not leave half a restore
            lock = _lock_dead_writer(jdir, jname, name)
            try:
                if (jdir / RECORD).is_file():
                    try:
                        record = _load(jdir)
                    except (OSError, ValueError, KeyError, TypeError) as exc:
                        raise PorterError(f"{name}: {jname} is not a journal porter left in this tree ({exc}); "
                                          "porter keeps its write journal under that name: move it away") from None
                    try:
                        n = _rollback(root, jdir, record)
                    except (OSError, ValueError, KeyError) as exc:
                        raise PorterError(f"{name}: an interrupted porter write left {jname}; restoring the old tree "
                                          f"failed: {exc}; fix the cause and run porter again") from None
                    sys.stderr.write(f"porter: note: {name}: an interrupted porter write was rolled back "
                                     f"({n} file{'s' if n != 1 else ''} restored to the state before it)\n")
                else:
                    sys.stderr.write(f"porter: note: {name}: removed the staging files of an interrupted porter "
                                     "write (the tree had not been changed)\n")
                # Still held: a Ctrl-C must not leave a restored tree with half its journal (harmless, as the
                # rollback is idempotent, but debris the next command would report again).
                shutil.rmtree(jdir, ignore_errors=True)
            finally:
                if lock is not None:
                    os.close(lock)


def _lock_dead_writer(jdir: Path, jname: str, name: str) -> int | None:
    """Take the journal's lock; refuse if its writer still holds it. (The tree lock, write/treelock.py, keeps
    other porter runs out while this one holds it; a writer that predates it still locks its journal.)"""
    try:
        fd = os.open(jdir / "lock", os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise PorterError(f"{name}: another porter process is writing to this tree ({jname}); try again when it "
                          "ends") from None
    return fd
