"""Target trees: a directory, a name from porter.toml, or a git ref read straight from objects.

`open_tree(spec)` resolves in the order DESIGN.md gives: directory path, configured name, git ref of the
current repository. Every reader goes through `Tree`, so placement, lint and locate never care which kind it is.
"""

from __future__ import annotations

import enum
import hashlib
import os
import re
import stat
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from porter.errors import PorterError

SOURCE_SUFFIXES = (".c", ".h")


# A work tree's search covers its tracked files and the untracked ones git does not ignore: a new file the
# developer has not `git add`ed yet is part of their tree (porter must see a function they just wrote there, or it
# places it a second time), while ignored files are build products (*.mod.c, include/generated/, a make O=
# directory inside the tree) whose names would only echo the sources. Tracked files are searched through the
# index and the untracked ones listed by `git ls-files --others --exclude-standard`: `git grep --untracked`
# walks the directories instead and skips tracked files under an ignored directory, and Debian's kernel
# trees ignore everything at the top level (`/*`) while tracking it, so it found nothing there.
UNTRACKED_BATCH = 500  # paths per `git grep --no-index` call

# What git must not take from porter's caller for a directory tree: GIT_DIR and friends name another
# repository (a hook, a script run from another checkout) and would change what is tracked or ignored.
_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY",
             "GIT_NAMESPACE", "GIT_PREFIX", "GIT_CEILING_DIRECTORIES")


def tree_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
    env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0")
    return env


# `git grep` output as porter parses it, whatever the user's git config adds (grep.lineNumber, grep.column, color.ui)
GREP_PLAIN_OUTPUT = ["--no-color", "--no-line-number", "--no-column"]

# C sources and headers this process cannot read, and directories it cannot list, hidden directories skipped.
_FIND_UNREADABLE = ["find", ".", "-mindepth", "1", "-name", ".*", "-prune",
                    "-o", "-type", "d", "(", "!", "-readable", "-o", "!", "-executable", ")", "-prune",
                    "-printf", "%P/\\0",
                    "-o", "-type", "f", "(", "-name", "*.c", "-o", "-name", "*.h", ")", "!", "-readable",
                    "-printf", "%P\\0"]


def decode_path(raw: bytes) -> str:
    """A path from git's or find's NUL-separated output, as porter spells paths (undecodable bytes kept)."""
    return raw.decode("utf-8", "surrogateescape")


def git_blob_id(data: bytes) -> str:
    """The id git gives a blob with this content: a content hash shared by directories and refs."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


# Names git itself refuses as a path component (verify_path): `.git` in any case, also as NTFS/HFS spell it.
_GIT_DIR_NAMES = {".git", "git~1"}


def is_git_dir_name(component: str) -> bool:
    return component.rstrip(" .").casefold() in _GIT_DIR_NAMES


def check_relative_path(path: str) -> str:
    """Reject paths that would leave the tree ('..', absolute) or reach into a repository's `.git`; return the
    normalised relative path."""
    if not path or path.startswith("/") or "\\" in path or "\0" in path:
        raise PorterError(f"path {path!r} is not a relative path inside the tree")
    parts = PurePosixPath(path).parts
    if any(p == ".." for p in parts):
        raise PorterError(f"path {path!r} escapes the tree ('..')")
    if any(is_git_dir_name(p) for p in parts):
        raise PorterError(f"path {path!r} is inside a .git directory: porter never reads or writes there")
    return str(PurePosixPath(*parts))


def _git(cwd: Path, *args: str, input: bytes | None = None, env: dict | None = None) -> bytes:
    full_env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    if env:
        full_env.update(env)
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, env=full_env,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise PorterError(f"git {args[0]} failed: {msg[-1] if msg else proc.returncode}")
    return proc.stdout


class BlobReader:
    """`git cat-file --batch` kept open in one repository: the pre-images a patch's `index` lines name cost one
    git process, not one per file. read(name) gives what `git cat-file blob NAME` prints, or None where that
    fails (no such object, not a blob, not a repository). Short-lived (one placement run): a long-lived batch
    process may not see objects written after it started."""

    def __init__(self, repo: Path):
        self.repo = repo
        self._proc: subprocess.Popen | None = None
        self._dead = False

    def read(self, name: str) -> bytes | None:
        if not _HEX_NAME.fullmatch(name):
            # The batch protocol is one object name per line; anything else goes the one-off way.
            proc = subprocess.run(["git", "cat-file", "blob", name], cwd=self.repo,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
            return proc.stdout if proc.returncode == 0 else None
        proc = self._started()
        if proc is None:
            return None
        try:
            proc.stdin.write(name.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) != 3:  # "<name> missing" / "<name> ambiguous", or EOF: git is gone
                if not header:
                    self.close()
                    self._dead = True
                return None
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)  # the LF after the content
        except (OSError, ValueError):
            self.close()
            self._dead = True
            return None
        return data if header[1] == b"blob" else None

    def _started(self) -> subprocess.Popen | None:
        if self._proc is None and not self._dead:
            try:
                self._proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.repo, stdin=subprocess.PIPE,
                                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            except OSError:
                self._dead = True
        return self._proc

    def close(self) -> None:
        if self._proc is not None:
            proc, self._proc = self._proc, None
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            proc.wait()


_HEX_NAME = re.compile(r"[0-9a-fA-F]{4,64}")


class Kind(enum.Enum):
    """What a path names in a tree; the value reads in an error line ("x is a symbolic link")."""

    FILE = "a regular file"
    MISSING = "absent"
    SYMLINK = "a symbolic link"
    DIRECTORY = "a directory"
    SUBMODULE = "a submodule (nested git repository)"
    SPECIAL = "a special file (FIFO, socket or device)"


@dataclass
class Tree:
    """Read access to one kernel tree. `root` is the directory (None for a git ref); `repo`/`ref` for git refs."""

    name: str
    root: Path | None = None
    repo: Path | None = None
    ref: str | None = None
    commit: str | None = None

    def __post_init__(self):
        self._blobs: dict[str, tuple[str, str]] | None = None
        self._checked_dirs: set[str] = set()  # directories verified to be real directories inside the tree
        self._gitlink_paths: set[str] | None = None
        self._owned: bool | None = None  # owned_by_git(), asked once
        self._grep_warned = False  # the last git_grep's git grep warned (an unreadable file or directory)

    @property
    def is_ref(self) -> bool:
        return self.ref is not None

    # -- reading -----------------------------------------------------------------------------------------
    def _ref_entries(self) -> dict[str, tuple[str, str]]:
        """path -> (git mode, blob id) for every blob and gitlink of the ref's tree."""
        if self._blobs is None:
            out = _git(self.repo, "ls-tree", "-r", "-z", "--full-tree", self.commit)
            blobs = {}
            for entry in out.split(b"\0"):
                if not entry:
                    continue
                meta, path = entry.split(b"\t", 1)
                mode, kind, sha = meta.split()
                if kind in (b"blob", b"commit"):
                    blobs[path.decode("utf-8", "surrogateescape")] = (mode.decode(), sha.decode())
            self._blobs = blobs
        return self._blobs

    def _ref_blobs(self) -> dict[str, str]:
        return {p: sha for p, (mode, sha) in self._ref_entries().items() if mode.startswith("100")}

    def _path(self, path: str) -> Path:
        """The on-disk path of `path`, after checking that no directory on the way is a symlink (git refuses
        to patch "beyond a symbolic link"; following one could leave the tree) or a nested repository."""
        rel = check_relative_path(path)
        parts = PurePosixPath(rel).parts
        cur = self.root
        for i, part in enumerate(parts[:-1]):
            cur = cur / part
            here = "/".join(parts[:i + 1])
            if here in self._checked_dirs:
                continue
            try:
                st = os.lstat(cur)
            except FileNotFoundError:
                break
            except OSError as exc:
                raise PorterError(f"{path}: cannot read {here} in {self.name}: {exc.strerror}") from None
            if stat.S_ISLNK(st.st_mode):
                raise PorterError(f"affected file '{path}' is beyond a symbolic link ({here}) in {self.name}")
            if not stat.S_ISDIR(st.st_mode):
                break  # a file where a directory should be: `path` does not exist
            if os.path.lexists(cur / ".git") or here in self._gitlinks():
                raise PorterError(f"{path} is inside the nested repository (submodule) {here} in {self.name}")
            self._checked_dirs.add(here)
        return self.root / rel

    def _gitlinks(self) -> set[str]:
        """Submodule paths in the work tree's index (a submodule that is not checked out is an empty directory,
        or nothing at all, on disk)."""
        if self._gitlink_paths is None:
            self._gitlink_paths = set()
            if self.root is not None and (self.root / ".git").exists():
                proc = subprocess.run(["git", "ls-files", "--stage", "-z"], cwd=self.root, capture_output=True,
                                      check=False)
                for entry in proc.stdout.split(b"\0") if proc.returncode == 0 else []:
                    if entry.startswith(b"160000 "):
                        self._gitlink_paths.add(entry.split(b"\t", 1)[1].decode("utf-8", "surrogateescape"))
        return self._gitlink_paths

    def kind(self, path: str) -> Kind:
        """What is at `path`: only regular files (and missing paths) are porter's to read and write."""
        if self.is_ref:
            entry = self._ref_entries().get(check_relative_path(path))
            if entry is None:
                return Kind.MISSING
            return {"120000": Kind.SYMLINK, "160000": Kind.SUBMODULE}.get(entry[0], Kind.FILE)
        full = self._path(path)
        try:
            st = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            return Kind.MISSING
        except OSError as exc:  # ENAMETOOLONG, ELOOP, EACCES: one line, not a traceback
            raise PorterError(f"{path}: cannot read in {self.name}: {exc.strerror}") from None
        if stat.S_ISREG(st.st_mode):
            return Kind.FILE
        if stat.S_ISLNK(st.st_mode):
            return Kind.SYMLINK
        if stat.S_ISDIR(st.st_mode):
            return Kind.SUBMODULE if os.path.lexists(full / ".git") or path in self._gitlinks() else Kind.DIRECTORY
        return Kind.SPECIAL

    def check_regular(self, path: str) -> bool:
        """True if `path` is a regular file, False if absent; anything else is refused with one line, the
        way git refuses to patch it (a symlink, a submodule, a FIFO, a socket, a device, a directory)."""
        kind = self.kind(path)
        if kind is Kind.MISSING and not self.is_ref and check_relative_path(path) in self._gitlinks():
            kind = Kind.SUBMODULE
        if kind in (Kind.FILE, Kind.MISSING):
            return kind is Kind.FILE
        if kind is Kind.SYMLINK and not self.is_ref:
            real, root = (self.root / path).resolve(), self.root.resolve()
            if real != root and root not in real.parents:
                raise PorterError(f"{path}: symlink leaves the tree {self.name}; porter never follows it")
        raise PorterError(f"{path} is {kind.value} in {self.name}: porter only patches regular files")

    def exists(self, path: str) -> bool:
        return self.kind(path) is Kind.FILE

    def mode(self, path: str) -> str | None:
        """git's mode of a regular file ("100644" or "100755"), None when absent."""
        if self.is_ref:
            entry = self._ref_entries().get(check_relative_path(path))
            return entry[0] if entry and entry[0].startswith("100") else None
        try:
            st = os.lstat(self._path(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise PorterError(f"{path}: cannot read in {self.name}: {exc.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            return None
        return "100755" if st.st_mode & stat.S_IXUSR else "100644"

    def read(self, path: str) -> bytes:
        if self.is_ref:
            sha = self._ref_blobs().get(check_relative_path(path))
            if sha is None:
                raise PorterError(f"{path}: no such file in {self.name}")
            return _git(self.repo, "cat-file", "blob", sha)
        full = self._path(path)
        try:
            # O_NOFOLLOW: a symlink swapped in after the checks above is refused, not followed.
            fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            raise PorterError(f"{path}: no such file in {self.name}") from None
        except OSError as exc:
            raise PorterError(f"{path}: cannot read in {self.name}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise PorterError(f"{path}: not a regular file in {self.name}")
            return fh.read()

    def blob_id(self, path: str) -> str:
        if self.is_ref:
            sha = self._ref_blobs().get(check_relative_path(path))
            if sha is None:
                raise PorterError(f"{path}: no such file in {self.name}")
            return sha
        return git_blob_id(self.read(path))

    def files(self, suffixes: tuple[str, ...] = SOURCE_SUFFIXES) -> list[str]:
        if self.is_ref:
            return sorted(p for p in self._ref_blobs() if p.endswith(suffixes))
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel = os.path.relpath(dirpath, self.root)
            for fn in filenames:
                if fn.endswith(suffixes) and os.path.isfile(os.path.join(dirpath, fn)) \
                        and not os.path.islink(os.path.join(dirpath, fn)):
                    found.append(fn if rel == "." else f"{rel}/{fn}")
        return sorted(found)

    def owned_by_git(self) -> bool:
        """The directory is part of a git work tree that tracks files in it: its own repository, a `git worktree
        add` tree, or a subdirectory of a repository. A directory inside some other work tree that tracks
        nothing there (a kernel unpacked under a dotfiles repository) is a plain directory."""
        if self.root is None:
            return False
        if self._owned is None:
            proc = subprocess.run(["git", "ls-files", "-z", "--", "."], cwd=self.root, env=tree_env(),
                                  capture_output=True, check=False)
            err = proc.stderr.decode(errors="replace")
            if "dubious ownership" in err:
                raise PorterError(f"--tree {self.name}: git refuses its repository, which another user owns "
                                  "(`git config --global --add safe.directory <dir>` trusts it)")
            self._owned = proc.returncode == 0 and bool(proc.stdout)
        return self._owned

    def git_grep(self, options: list[str], specs: list[str]) -> tuple[bytes, set[str]]:
        """`git grep OPTIONS -- SPECS` over this tree's files, whatever kind of tree it is: (stdout, the C files
        and directories it could not read). Callers pass -z: git C-quotes any other path output."""
        self._grep_warned = False
        if self.is_ref:
            return self._grep_run(self.repo, [*options, self.commit], specs), set()
        if self.owned_by_git():
            out = self._grep_run(self.root, options, specs)
            untracked = self._untracked(specs)
            for k in range(0, len(untracked), UNTRACKED_BATCH):
                batch = [f":(literal){p}" for p in untracked[k:k + UNTRACKED_BATCH]]
                out += self._grep_run(self.root, ["--no-index", *options], batch)
        else:
            out = self._grep_run(self.root, ["--no-index", *options], specs)
        # git grep warns about a file or directory it cannot open and goes on (exit 0 or 1): find which
        unreadable = self.unreadable_sources() if self._grep_warned else set()
        return out, unreadable

    def _grep_run(self, cwd: Path, scope: list[str], specs: list[str]) -> bytes:
        proc = subprocess.run(["git", "grep", *GREP_PLAIN_OUTPUT, *scope, "--", *specs], cwd=cwd, env=tree_env(),
                              capture_output=True, check=False)
        if proc.returncode not in (0, 1):
            msg = proc.stderr.decode(errors="replace").strip().splitlines()
            raise PorterError(f"git grep failed in {self.name}: {msg[-1] if msg else proc.returncode}")
        self._grep_warned = self._grep_warned or bool(proc.stderr.strip())
        return proc.stdout

    def _untracked(self, specs: list[str]) -> list[str]:
        """Untracked files under the tree that git does not ignore, among `specs` (paths relative to the tree)."""
        proc = subprocess.run(["git", "ls-files", "-z", "--others", "--exclude-standard", "--", *specs],
                              cwd=self.root, env=tree_env(), capture_output=True, check=False)
        # a directory it cannot list may hold untracked files: the search is incomplete, say which
        self._grep_warned = self._grep_warned or proc.returncode != 0 or bool(proc.stderr.strip())
        return [decode_path(p) for p in proc.stdout.split(b"\0") if p]

    def unreadable_sources(self) -> set[str]:
        """C sources and headers under the tree (hidden directories skipped, as in the search) that this process
        cannot read, and directories it cannot list (named with a trailing '/': what is inside is unknown).
        find's -readable asks access(2), which knows about root, ACLs and read-only mounts."""
        proc = subprocess.run(_FIND_UNREADABLE, cwd=self.root, capture_output=True, check=False,
                              env=dict(os.environ, LC_ALL="C"))
        return {decode_path(p) for p in proc.stdout.split(b"\0") if p}

    def grep_files(self, words: list[str], paths: list[str] | None = None,
                   suffixes: tuple[str, ...] = SOURCE_SUFFIXES, under: str | None = None) -> list[str]:
        """Files (C sources and headers) containing any of `words` as a whole word: the cheap prefilter
        that keeps whole-tree questions from parsing the whole tree. `under` limits it to one directory.
        A file it cannot read is an error, never a silent "not there"."""
        if not words:
            return []
        pats = ["-F"]
        for w in words:
            pats += ["-e", w]
        if under:
            under = check_relative_path(under)
        # explicit paths are names, not patterns: `mm/[ab].c` must not also search mm/a.c
        specs = [f":(literal){p}" for p in paths] if paths else \
            [f"{under + '/' if under else ''}*{s}" for s in suffixes]
        out, unreadable = self.git_grep(["-l", "-z", "-w", "-I", *pats], specs)
        if unreadable:
            shown = sorted(unreadable)
            more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
            raise PorterError(f"cannot read {', '.join(shown[:3])}{more} in {self.name}: a search of the tree "
                              "would be incomplete")
        prefix = f"{self.commit}:".encode() if self.is_ref else b""
        return sorted(decode_path(p.removeprefix(prefix)) for p in out.split(b"\0") if p)

    def looks_like_kernel(self) -> bool:
        return self.exists("Makefile") and (self.exists("include/linux/kernel.h") or self.exists("Kbuild")
                                            or self.exists("include/linux/mm.h"))


# -- resolving --tree -----------------------------------------------------------------------------------

def _config_files(cwd: Path) -> list[Path]:
    files = []
    try:
        top = _git(cwd, "rev-parse", "--show-toplevel").decode().strip()
        files.append(Path(top) / "porter.toml")
    except (PorterError, FileNotFoundError):
        pass
    files.append(cwd / "porter.toml")
    xdg = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    files.append(xdg / "porter" / "config.toml")
    seen, unique = set(), []
    for f in files:
        if f not in seen:
            seen.add(f)
            unique.append(f)
    return unique


def configured_trees(cwd: Path) -> dict[str, tuple[Path, object]]:
    """Tree names from porter.toml files, first file wins: name -> (config file, value)."""
    names: dict[str, tuple[Path, object]] = {}
    for f in _config_files(cwd):
        if not f.is_file():
            continue
        try:
            data = tomllib.loads(f.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PorterError(f"{f}: not valid TOML: {exc}") from None
        trees = data.get("trees", {})
        if not isinstance(trees, dict):
            raise PorterError(f"{f}: [trees] must be a table")
        for name, value in trees.items():
            names.setdefault(name, (f, value))
    return names


def _ref_tree(name: str, repo: Path, ref: str) -> Tree:
    try:
        commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except PorterError:
        commit = ""
    if not commit:
        raise PorterError(f"--tree {name}: {ref!r} is not a commit in {repo}")
    top = _git(repo, "rev-parse", "--show-toplevel").decode().strip() if not (repo / "HEAD").is_file() else str(repo)
    return Tree(name=name, repo=Path(top), ref=ref, commit=commit)


def open_tree(spec: str, cwd: Path | None = None, require_kernel: bool = True, write: bool = False) -> Tree:
    """Resolve --tree SPEC: a directory, a configured name, or a git ref in the current repository. A
    directory is locked against other porter runs (exclusively when `write`: see write/treelock.py)."""
    return open_trees([spec], cwd, require_kernel, write)[0]


def open_trees(specs: list[str], cwd: Path | None = None, require_kernel: bool = True,
               write: bool = False) -> list[Tree]:
    """Every --tree of one command: resolved, none inside another (a file would be two files of one write),
    then locked in one order, the same in every porter run (two runs naming the same trees in opposite
    orders would otherwise each hold one and wait for the other), and recovered."""
    trees = [_resolve(spec, Path(cwd or os.getcwd())) for spec in specs]
    dirs = [t for t in trees if t.root is not None]
    for i, a in enumerate(dirs):
        if any(a.root == b.root for b in dirs[:i]):
            raise PorterError(f"--tree {a.name}: the same directory is given twice as --tree")
        for b in dirs:
            if a is not b and a.root != b.root and b.root.is_relative_to(a.root):
                raise PorterError(f"--tree {b.name} is inside --tree {a.name}: one file would be two files of "
                                  "one write; name one of them")
    from porter.write import treelock
    from porter.write.journal import check_foreign, leftover, recover
    treelock.hold_trees([(t.root, t.name, write) for t in dirs])
    for t in dirs:
        if write:
            # A porter killed while writing this tree left its journal: put the old tree back first.
            recover(t.root, t.name)
        elif left := leftover(t.root, finished=False):
            check_foreign(t.root, t.name)
            raise PorterError(f"--tree {t.name}: an interrupted porter write left {left[0]}: the tree may be half "
                              "written; the next porter apply (not --dry-run) rolls it back")
    for t in trees:
        if require_kernel and not t.looks_like_kernel():
            raise PorterError(f"--tree {t.name}: not a kernel tree (no Makefile beside include/linux/kernel.h, "
                              "include/linux/mm.h or Kbuild)")
    return trees


def _resolve(spec: str, cwd: Path) -> Tree:
    if not spec.strip():
        raise PorterError(f"--tree {spec!r}: an empty name is no tree (the current directory is '.')")
    tree = None
    path = (cwd / spec) if not os.path.isabs(spec) else Path(spec)
    if path.is_dir():
        tree = Tree(name=spec, root=path.resolve())
    elif path.exists():
        raise PorterError(f"--tree {spec}: not a directory")
    elif path.is_symlink():
        raise PorterError(f"--tree {spec}: a symbolic link to {os.readlink(path)}, which does not exist")
    else:
        configured = configured_trees(cwd)
        if spec in configured:
            cfg, value = configured[spec]
            if isinstance(value, str):
                value = {"path": value}
            if not isinstance(value, dict):
                raise PorterError(f"{cfg}: trees.{spec} must be a path or a table with path/ref")
            if "ref" in value:
                repo = Path(value.get("repo", cfg.parent))
                repo = repo if repo.is_absolute() else (cfg.parent / repo)
                tree = _ref_tree(spec, repo.resolve(), value["ref"])
            elif "path" in value:
                p = Path(value["path"])
                p = p if p.is_absolute() else cfg.parent / p
                if not p.is_dir():
                    raise PorterError(f"{cfg}: trees.{spec}: {p} is not a directory")
                tree = Tree(name=spec, root=p.resolve())
            else:
                raise PorterError(f"{cfg}: trees.{spec} needs 'path' or 'ref'")
        else:
            try:
                _git(cwd, "rev-parse", "--git-dir")
            except (PorterError, FileNotFoundError):
                raise PorterError(f"--tree {spec}: no such directory, configured tree or git ref") from None
            tree = _ref_tree(spec, cwd, spec)
    if tree.root is not None and any(is_git_dir_name(part) for part in tree.root.parts):
        raise PorterError(f"--tree {spec}: inside a .git directory; porter never reads or writes there")
    return tree
