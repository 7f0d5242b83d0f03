"""Target trees: a directory, a name from porter.toml, or a git ref read straight from objects.

`open_tree(spec)` resolves in the order DESIGN.md gives: directory path, configured name, git ref of the
current repository. Every reader goes through `Tree`, so placement, lint and locate never care which kind it is.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from porter.errors import PorterError

SOURCE_SUFFIXES = (".c", ".h")


def git_blob_id(data: bytes) -> str:
    """The id git gives a blob with this content: a content hash shared by directories and refs."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def check_relative_path(path: str) -> str:
    """Reject paths that would leave the tree ('..', absolute); return the normalised relative path."""
    if not path or path.startswith("/") or "\\" in path:
        raise PorterError(f"path {path!r} is not a relative path inside the tree")
    parts = PurePosixPath(path).parts
    if any(p == ".." for p in parts):
        raise PorterError(f"path {path!r} escapes the tree ('..')")
    return str(PurePosixPath(*parts))


def _git(cwd: Path, *args: str, input: bytes | None = None, env: dict | None = None) -> bytes:
    full_env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    if env:
        full_env.update(env)
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise PorterError(f"git {args[0]} failed: {msg[-1] if msg else proc.returncode}")
    return proc.stdout


@dataclass
class Tree:
    """Read access to one kernel tree. `root` is the directory (None for a git ref); `repo`/`ref` for git refs."""

    name: str
    root: Path | None = None
    repo: Path | None = None
    ref: str | None = None
    commit: str | None = None

    def __post_init__(self):
        self._blobs: dict[str, str] | None = None

    @property
    def is_ref(self) -> bool:
        return self.ref is not None

    # -- reading -----------------------------------------------------------------------------------------
    def _ref_blobs(self) -> dict[str, str]:
        if self._blobs is None:
            out = _git(self.repo, "ls-tree", "-r", "-z", "--full-tree", self.commit)
            blobs = {}
            for entry in out.split(b"\0"):
                if not entry:
                    continue
                meta, path = entry.split(b"\t", 1)
                mode, kind, sha = meta.split()
                if kind == b"blob":
                    blobs[path.decode("utf-8", "surrogateescape")] = sha.decode()
            self._blobs = blobs
        return self._blobs

    def _path(self, path: str) -> Path:
        rel = check_relative_path(path)
        full = self.root / rel
        # A symlink inside the tree may still point outside it: refuse to follow it there.
        real_root = self.root.resolve()
        real = full.resolve()
        if real != real_root and real_root not in real.parents:
            raise PorterError(f"{path}: symlink leaves the tree {self.name}")
        return full

    def exists(self, path: str) -> bool:
        if self.is_ref:
            return check_relative_path(path) in self._ref_blobs()
        return self._path(path).is_file()

    def read(self, path: str) -> bytes:
        if self.is_ref:
            sha = self._ref_blobs().get(check_relative_path(path))
            if sha is None:
                raise PorterError(f"{path}: no such file in {self.name}")
            return _git(self.repo, "cat-file", "blob", sha)
        full = self._path(path)
        if not full.is_file():
            raise PorterError(f"{path}: no such file in {self.name}")
        return full.read_bytes()

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
                if fn.endswith(suffixes):
                    found.append(fn if rel == "." else f"{rel}/{fn}")
        return sorted(found)

    def _is_git_worktree(self) -> bool:
        return self.root is not None and (self.root / ".git").exists()

    def grep_files(self, words: list[str], paths: list[str] | None = None,
                   suffixes: tuple[str, ...] = SOURCE_SUFFIXES, under: str | None = None) -> list[str]:
        """Files (C sources and headers) containing any of `words` as a whole word: the cheap prefilter
        that keeps whole-tree questions from parsing the whole tree. `under` limits it to one directory."""
        if not words:
            return []
        pats = ["-F"]
        for w in words:
            pats += ["-e", w]
        if under:
            under = check_relative_path(under)
        specs = list(paths) if paths else [f"{under + '/' if under else ''}*{s}" for s in suffixes]
        if self.is_ref or self._is_git_worktree():
            cwd = self.repo if self.is_ref else self.root
            args = ["grep", "-l", "-w", "-I", "--full-name", *pats]
            if self.is_ref:
                args.append(self.commit)
            proc = subprocess.run(["git", *args, "--", *specs], cwd=cwd,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if proc.returncode not in (0, 1):
                raise PorterError(f"git grep failed in {self.name}: {proc.stderr.decode(errors='replace').strip()}")
            out = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
            prefix = f"{self.commit}:"
            return sorted(p[len(prefix):] if p.startswith(prefix) else p for p in out)
        includes = [f"--include=*{s}" for s in suffixes]
        targets = list(paths) if paths else [under or "."]
        proc = subprocess.run(["grep", "-r", "-l", "-w", "-I", *includes, *pats, "--", *targets],
                              cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if proc.returncode not in (0, 1):
            raise PorterError(f"grep failed in {self.name}: {proc.stderr.decode(errors='replace').strip()}")
        out = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
        return sorted(p[2:] if p.startswith("./") else p for p in out)

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


def open_tree(spec: str, cwd: Path | None = None, require_kernel: bool = True) -> Tree:
    """Resolve --tree SPEC: a directory, a configured name, or a git ref in the current repository."""
    cwd = Path(cwd or os.getcwd())
    tree = None
    path = (cwd / spec) if not os.path.isabs(spec) else Path(spec)
    if path.is_dir():
        tree = Tree(name=spec, root=path.resolve())
    elif path.exists():
        raise PorterError(f"--tree {spec}: not a directory")
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
    if require_kernel and not tree.looks_like_kernel():
        raise PorterError(f"--tree {spec}: not a kernel tree (no Makefile and include/linux/)")
    return tree
