"""Which files of a tree mention a word (whole word, C sources and headers): the prefilter of every rule.

One `git grep -o -w` pass answers many words at once and tells which word is in which file, so each word's
file set is kept on its own. Answers are remembered on disk per tree, and stay valid while the tree's
fingerprint holds: the commit for a git ref; HEAD plus `git status` for a git work tree; for a plain directory
the list of C files with their sizes and modification times (one `find`, a fraction of a second on a kernel tree).
A warm lint of an unchanged tree therefore greps nothing.
Location: <porter.cachedir.cache_root()>/words/<tree>.json
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import threading
from pathlib import Path

from porter import cachedir
from porter.errors import PorterError
from porter.tree import Kind, decode_path

SUFFIXES = (".c", ".h")
_CACHE_VERSION = 1
_FIND = ["find", ".", "-mindepth", "1", "-name", ".*", "-prune", "-o", "(", "-name", "*.c", "-o", "-name", "*.h",
         ")"]


def _cache_root() -> Path:
    return cachedir.cache_root() / "words"


def _run(args, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C", GIT_TERMINAL_PROMPT="0")
    return subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


class WordIndex:
    """files_with(words) -> {word: set of paths}, for one tree (porter.tree.Tree)."""

    def __init__(self, tree, use_disk: bool = True):
        self.tree = tree
        self.use_disk = use_disk and os.environ.get("PORTER_NO_WORD_CACHE") != "1"
        self._mem: dict[str, frozenset[str]] = {}
        self._fingerprint: str | None = None
        self._disk_loaded = False
        self._dirty = False
        self.greps = 0  # grep passes run (for tests and benchmarks)
        self._pending = None  # background fingerprint (thread, result box)
        self._optimistic: str | None = None  # fingerprint the disk answers were stored under, not yet confirmed
        self._fresh: set[str] = set()  # words grepped in this run (valid whatever the fingerprint says)
        self.unreadable: set[str] = set()  # C files (and directories, "dir/") the search could not read
        self._void = False  # remembered answers already handed out turned out stale: confirm() must say so
        self._checked: set[str] = set()  # paths of remembered answers seen to be readable files

    # ---- identity and fingerprint
    def _identity(self) -> str:
        t = self.tree
        if t.is_ref:
            return f"ref:{Path(t.repo).resolve()}:{t.commit}"
        return f"dir:{Path(t.root).resolve()}"

    def start(self) -> None:
        """Begin computing the fingerprint in the background (a plain directory needs one `find` over the tree),
        so the lint can run on remembered answers meanwhile; `confirm()` tells whether they held."""
        if self._fingerprint is not None or self._pending is not None or not self.use_disk:
            return
        t = self.tree
        if t.is_ref or (Path(t.root) / ".git").exists():
            return  # cheap enough to compute on demand
        proc = subprocess.Popen(_FIND + ["-printf", "%P %T@ %s\n"], cwd=t.root, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=dict(os.environ, LC_ALL="C"))
        box: dict = {}

        def reader():
            h = hashlib.sha1()
            for chunk in iter(lambda: proc.stdout.read(1 << 16), b""):
                h.update(chunk)
            box["fp"] = "dir:" + h.hexdigest() if proc.wait() == 0 else "nocache"

        th = threading.Thread(target=reader, daemon=True)
        th.start()
        self._pending = (th, box)

    def fingerprint(self) -> str:
        if self._fingerprint is None and self._pending is not None:
            th, box = self._pending
            th.join()
            self._pending = None
            self._fingerprint = box.get("fp", "nocache")
        if self._fingerprint is None:
            t = self.tree
            if t.is_ref:
                fp = t.commit
            elif (Path(t.root) / ".git").exists():
                head = _run(["git", "rev-parse", "HEAD"], t.root).stdout
                # untracked files count, as in the search (porter.tree.Tree.git_grep); ignored ones do not
                status = _run(["git", "status", "--porcelain", "-z", "--untracked-files=all"], t.root).stdout
                # modified files: their content matters, not only their names
                h = hashlib.sha1(head + b"\0" + status)
                for entry in status.split(b"\0"):
                    p = entry[3:].decode("utf-8", "surrogateescape")
                    if p.endswith(SUFFIXES):
                        try:
                            st = os.stat(Path(t.root) / p)
                            h.update(f"{p} {st.st_mtime_ns} {st.st_size}\n".encode())
                        except OSError:
                            h.update(f"{p} gone\n".encode())
                fp = "git:" + h.hexdigest()
            else:
                proc = _run(_FIND + ["-printf", "%P %T@ %s\n"], t.root)
                fp = "dir:" + hashlib.sha1(proc.stdout).hexdigest() if proc.returncode == 0 else "nocache"
            self._fingerprint = fp
        return self._fingerprint

    def confirm(self) -> bool:
        """True when every answer given so far holds for the tree as it is now. Answers read from disk before
        the fingerprint was known are dropped when it turns out the tree changed (the caller then runs again)."""
        if not self._optimistic:
            return True
        fp = self.fingerprint()
        ok = not self._void and fp != "nocache" and fp == self._optimistic
        self._optimistic = None
        if not ok:
            self._forget_disk()
        return ok

    def _forget_disk(self) -> None:
        """Drop the remembered answers (words grepped in this run stay): they no longer describe the tree."""
        self._void = self._optimistic is not None
        self._mem = {w: p for w, p in self._mem.items() if w in self._fresh}
        self._disk_loaded = True
        self._dirty = bool(self._mem)

    def _cache_file(self) -> Path:
        return _cache_root() / (hashlib.sha1(self._identity().encode()).hexdigest() + ".json")

    def _load_disk(self):
        if self._disk_loaded or not self.use_disk:
            return
        self._disk_loaded = True
        try:
            data = json.loads(self._cache_file().read_text())
        except (OSError, ValueError):
            data = {}
        if data.get("version") != _CACHE_VERSION:
            return
        if self._pending is not None and self._fingerprint is None:
            # fingerprint still being computed: use the answers now, confirm() checks them later
            self._optimistic = data.get("fingerprint")
        elif data.get("fingerprint") != self.fingerprint() or self.fingerprint() == "nocache":
            return
        for w, paths in data.get("words", {}).items():
            self._mem.setdefault(w, frozenset(paths))

    def save(self):
        if not self.use_disk or not self._dirty or self._optimistic or self.fingerprint() == "nocache":
            return
        if self.unreadable:
            return  # answers that miss a file cannot be remembered: the next run must search, and name it again
        path = self._cache_file()
        data = {"version": _CACHE_VERSION, "identity": self._identity(), "fingerprint": self.fingerprint(),
                "words": {w: sorted(p) for w, p in self._mem.items()}}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w") as f:
                json.dump(data, f)
            os.replace(tmp, path)
            self._dirty = False
        except OSError:
            pass

    # ---- lookups
    def files_with(self, words) -> dict[str, frozenset[str]]:
        words = sorted({w for w in words if w})
        self._load_disk()
        if not self.tree.is_ref and not self._still_readable(words):
            self._forget_disk()
        missing = [w for w in words if w not in self._mem]
        if missing:
            found = self._grep(missing)
            for w in missing:
                self._mem[w] = frozenset(found.get(w, ()))
                self._fresh.add(w)
            self._dirty = True
            self.save()
        return {w: self._mem[w] for w in words}

    def _still_readable(self, words) -> bool:
        """Whether the remembered answers for `words` name only files the caller can still read. A file renamed
        or deleted since they were stored would otherwise be an error in the caller before confirm() could throw
        answers read ahead of the fingerprint away; one made unreadable (a chmod leaves the fingerprint as it was)
        must be named as unreadable, as a fresh search names it."""
        todo = {p for w in words if w in self._mem and w not in self._fresh for p in self._mem[w]} - self._checked
        for path in sorted(todo):
            if not self._readable(path):
                return False
            self._checked.add(path)
        return True

    def _readable(self, path: str) -> bool:
        try:
            return self.tree.kind(path) is Kind.FILE and os.access(self.tree.root / path, os.R_OK)
        except PorterError:  # a path that now leaves the tree, or a directory porter cannot search
            return False

    def files_with_any(self, words) -> set[str]:
        out: set[str] = set()
        for paths in self.files_with(words).values():
            out |= paths
        return out

    def _grep(self, words: list[str]) -> dict[str, set[str]]:
        self.greps += 1
        for w in words:
            if not re.fullmatch(r"\w+", w):
                raise PorterError(f"prefilter word {w!r} is not an identifier")
        t = self.tree
        pats = []
        for w in words:
            pats += ["-e", w]
        out, unreadable = t.git_grep(["-o", "-w", "-I", "-z", *pats], [f"*{s}" for s in SUFFIXES])
        self.unreadable |= unreadable  # named by the caller, never dropped
        prefix = f"{t.commit}:".encode() if t.is_ref else b""
        found: dict[str, set[str]] = {}
        # -z -o: one "path NUL word LF" record per match; a path may hold any byte but NUL
        for m in _MATCH.finditer(out):
            path = decode_path(m.group(1).removeprefix(prefix))
            found.setdefault(m.group(2).decode(), set()).add(path)
        return found


_MATCH = re.compile(rb"([^\0]+)\0([^\0\n]+)\n")


def scan_words(data: bytes, words) -> set[str]:
    """Which of `words` occur in `data` as whole words (for contents that are not on disk: patched files)."""
    text = data.decode("utf-8", "surrogateescape")
    return {w for w in words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)}
