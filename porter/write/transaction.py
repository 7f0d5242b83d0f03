"""All trees or none: every tree's changes are computed and checked first, then staged, then committed with
termination signals held; any failure rolls every tree back (and deletes branches already created), so a
refusal or a write error in the second tree leaves the first one as it was. The ported patch file (--output)
is part of the same transaction: it is renamed into place last."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from porter.errors import PorterError
from porter.tree import is_git_dir_name
from porter.write.changes import FileChange, umask
from porter.write.directory import plan_directory
from porter.write.gitref import build_commits, check_identities, create_branch, delete_branch, free_branch
from porter.write.journal import Journal
from porter.write.signals import held_signals, test_point

COMPLETED: list[list[str]] = []  # trees of each finished write: what a late Ctrl-C reports


@dataclass
class TreeWrite:
    result: object  # PortResult
    changes: list[FileChange]
    journal: Journal | None = None
    commit: str | None = None  # git refs: the last new commit
    branch: str | None = None
    written: list[str] = field(default_factory=list)

    @property
    def tree(self):
        return self.result.tree


def check_output(path: str | None) -> None:
    """--output FILE must be creatable: checked before anything is placed or written."""
    if not path or path == "-":
        return
    p = Path(path)
    if any(is_git_dir_name(part) for part in p.absolute().parts):
        raise PorterError(f"--output {path}: inside a .git directory; porter never writes there")
    if p.is_dir():
        raise PorterError(f"--output {path}: is a directory")
    parent = p.absolute().parent
    if not parent.is_dir():
        raise PorterError(f"--output {path}: directory {parent} does not exist")
    # The same after symlinks: --output link/x.patch with link -> tree/.git.
    if any(is_git_dir_name(part) for part in (parent.resolve() / p.name).parts):
        raise PorterError(f"--output {path}: inside a .git directory; porter never writes there")


@dataclass
class _Output:
    path: Path
    text: str
    tmp: Path | None = None

    @property
    def special(self) -> bool:
        """An existing non-regular file (a pipe like /dev/fd/63 from `--output >(...)`, /dev/stdout, a device):
        written into, never replaced by a renamed temp file (as root, renaming over /dev/null replaced it)."""
        try:
            return not stat.S_ISREG(os.stat(self.path).st_mode)
        except OSError:
            return False

    def stage(self) -> None:
        if self.special:
            return
        _remove_stale(self.path.absolute())
        self.tmp = self.path.absolute().with_name(f".porter-out-{os.getpid()}-{self.path.name}")
        fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(self.text.encode("utf-8", "surrogateescape"))
            os.fchmod(fh.fileno(), 0o666 & ~umask())

    def commit(self) -> None:
        if self.tmp is None:
            with open(self.path, "wb") as fh:
                fh.write(self.text.encode("utf-8", "surrogateescape"))
        else:
            os.replace(self.tmp, self.path)

    def discard(self) -> None:
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)


def write_all(writes: list[TreeWrite], series, output: str | None = None, output_text: str | None = None,
              branch: str | None = None, committer: str | None = None) -> None:
    """Write every tree (directories through their journal, git refs as a new branch) and the output file, or
    nothing at all. Raises PorterError (one line) after restoring everything on failure."""
    writes = [w for w in writes if w.changes]
    dirs = [w for w in writes if not w.tree.is_ref]
    refs = [w for w in writes if w.tree.is_ref]
    roots = [w.tree.root for w in dirs]
    if len(set(roots)) != len(roots):
        raise PorterError("the same directory is given twice as --tree")
    # Everything that can be refused is refused before the first byte is written.
    # Branch names and identities first: a refusal must not leave objects behind in .git either.
    for w in refs:
        w.branch = free_branch(w.tree, branch, series.commits[-1].subject if series.commits else "patch")
        check_identities(w.tree, series, committer)
    for w in dirs:
        w.journal = plan_directory(w.tree, w.changes)
    out = _Output(Path(output), output_text) if output and output != "-" and output_text is not None else None
    if out is not None:
        target = out.path.resolve()
        if any(target == (w.tree.root / c.path).resolve() for w in dirs for c in w.changes):
            raise PorterError(f"--output {output}: is a file the patch changes")
    for w in refs:
        w.commit = build_commits(w.tree, series, w.result, committer)
    with held_signals():
        created: list[TreeWrite] = []
        step = ""
        try:
            for w in dirs:
                step = w.tree.name
                w.journal.stage()
            if out:
                step = str(out.path)
                out.stage()
            test_point("prepared")
            for w in dirs:
                step = w.tree.name
                w.journal.commit()
            for w in refs:
                step = w.tree.name
                create_branch(w.tree, w.branch, w.commit)
                created.append(w)
            if out:
                step = str(out.path)
                out.commit()
            step = "the journals"
            _mark_all_done(dirs)
        except BaseException as exc:
            restored = _undo(dirs, created, out)
            if not isinstance(exc, (OSError, PorterError)):
                raise
            what = _describe(exc, [w.tree.root for w in dirs])
            raise PorterError(f"writing {step} failed: {what}; " + (
                "nothing was written (every tree restored)" if restored is None else restored)) from None
        # Still holding signals: a Ctrl-C that came during the write is delivered once every journal is gone.
        for w in dirs:
            w.journal.remove()
        COMPLETED.append([w.tree.name for w in writes])
    for w in writes:
        w.written = [c.path for c in w.changes]


def _mark_all_done(dirs: list[TreeWrite]) -> None:
    """Every tree's commit point, or (if one cannot be marked) none: the marked ones are unmarked again."""
    marked = []
    try:
        for w in dirs:
            w.journal.mark_done()
            marked.append(w)
    except OSError:
        for w in marked:
            w.journal.unmark_done()
        raise


def _remove_stale(path: Path) -> None:
    """A porter killed before renaming its output left `.porter-out-<pid>-<name>`: remove it if that pid is
    gone."""
    for old in path.parent.glob(f".porter-out-*-{path.name}"):
        pid = old.name[len(".porter-out-"):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            old.unlink(missing_ok=True)


def _undo(dirs: list[TreeWrite], created: list[TreeWrite], out: _Output | None) -> str | None:
    """Roll back everything; None if complete, else what could not be restored (its journal is kept, so the
    next porter command in that tree tries again)."""
    problems = []
    for w in reversed(dirs):
        if w.journal is None:
            continue
        try:
            w.journal.rollback()
        except OSError as exc:
            problems.append(f"{w.tree.name} NOT fully restored ({_describe(exc, [w.tree.root])}); its journal "
                            f"{w.journal.dir.name} is kept and the next porter command retries")
    for w in created:
        try:
            delete_branch(w.tree, w.branch, w.commit)
        except PorterError as exc:
            problems.append(f"branch {w.branch} not deleted: {exc}")
    if out:
        out.discard()
    return "; ".join(problems) or None


def _describe(exc: Exception, roots: list[Path]) -> str:
    if not isinstance(exc, OSError):
        return str(exc)
    name = exc.filename or ""
    for root in roots:
        if root and str(name).startswith(str(root) + "/"):
            name = str(name)[len(str(root)) + 1:]
    return f"{name}: {exc.strerror}" if name else str(exc.strerror or exc)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
