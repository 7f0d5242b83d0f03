"""Symbol index over a Tree: definitions, declarations and callers of a name, and rename candidates.

Never parses the whole tree (a full kernel parse is minutes of CPU): a whole-word text search picks the files
that mention the name, and only those are parsed, through the content-hash parse cache.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from porter.cmodel import cache as parse_cache
from porter.cmodel.model import Call, Definition, FileModel
from porter.cmodel.parse import build_model, parse_c

# Kinds that are not definitions of a name (they only declare it).
_DECLARATION_KINDS = ("prototype",)


class SymbolIndex:
    def __init__(self, tree):
        self.tree = tree
        self._files: dict[str, list[str]] = {}  # name -> files mentioning it as a whole word
        self._sources: "OrderedDict[str, bytes]" = OrderedDict()
        self._def_files: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ files and models
    def files_with(self, name: str) -> list[str]:
        """C sources and headers that contain `name` as a whole word (cached per index, and on disk for a
        git commit, whose content never changes)."""
        if name not in self._files:
            disk = self._grep_cache_file(name)
            files = None
            if disk is not None:
                try:
                    files = [p for p in disk.read_text().split("\n") if p]
                except OSError:
                    files = None
            if files is None:
                files = self.tree.grep_files([name])
                if disk is not None:
                    _write_atomic(disk, "\n".join(files) + "\n")
            self._files[name] = files
        return self._files[name]

    def _grep_cache_file(self, name: str):
        commit = getattr(self.tree, "commit", None) if getattr(self.tree, "is_ref", False) else None
        if not commit or not re.fullmatch(r"\w+", name):
            return None
        return parse_cache.cache_root() / "grep" / commit / name

    def prefetch(self, names: list[str]) -> None:
        """One text search for several names (each name's file list is then the files mentioning it)."""
        todo = [n for n in names if n not in self._files]
        if not todo:
            return
        if len(todo) == 1:
            self.files_with(todo[0])
            return
        files = self.tree.grep_files(todo)
        for n in todo:
            word = re.compile(rb"\b" + re.escape(n.encode()) + rb"\b")
            self._files[n] = [p for p in files if word.search(self.source(p))]

    def source(self, path: str) -> bytes:
        data = self._sources.get(path)
        if data is None:
            data = self.tree.read(path)
            self._sources[path] = data
            if len(self._sources) > 256:
                self._sources.popitem(last=False)
        return data

    def file_model(self, path: str) -> FileModel:
        # a git ref knows each blob id without reading the blob: a warm cache then reads nothing
        if getattr(self.tree, "is_ref", False):
            key = self.tree.blob_id(path)
            model = parse_cache.cached(key, path)
            if model is not None:
                return model
            return parse_cache.get_or_build(self.source(path), path, build_model, key=key)
        return parse_c(self.source(path), path)

    def definition_files(self, name: str) -> list[str]:
        """Files that may define or declare `name`: those where it appears on a line starting at column 0 or on
        a preprocessor line. Kernel style puts every file-scope header there (bodies and continuations are
        indented), so for a popular name only a few of the files that mention it are parsed."""
        if name in self._def_files:
            return self._def_files[name]
        pat = re.compile(rb"^(?:[ \t]*#|(?=\S))[^\n]*?\b" + re.escape(name.encode()) + rb"\b", re.M)
        out = []
        for path in self.files_with(name):
            if self._has_cached_model(path) or pat.search(self.source(path)):
                out.append(path)
        self._def_files[name] = out
        return out

    def _has_cached_model(self, path: str) -> bool:
        # a git ref's cached model costs less than reading its blob for the text check
        if not getattr(self.tree, "is_ref", False):
            return False
        return parse_cache.cached(self.tree.blob_id(path), path) is not None

    # ------------------------------------------------------------------ queries
    def definitions(self, name: str) -> list[tuple[str, Definition]]:
        """Everything that defines `name`: functions, variables, types, macros (not prototypes)."""
        out = []
        for path in self.definition_files(name):
            for d in self.file_model(path).find(name):
                if d.kind not in _DECLARATION_KINDS and not (d.kind == "variable" and d.is_extern):
                    out.append((path, d))
        return out

    def declarations(self, name: str) -> list[tuple[str, Definition]]:
        """Prototypes of `name` (headers and .c files)."""
        out = []
        for path in self.definition_files(name):
            for d in self.file_model(path).find(name, "prototype"):
                out.append((path, d))
        return out

    def callers(self, name: str) -> list[tuple[str, Call]]:
        out = []
        for path in self.files_with(name):
            for c in self.file_model(path).calls:
                if c.name == name:
                    out.append((path, c))
        return out

    def definition_text(self, path: str, d: Definition) -> str:
        return self.source(path)[d.start_byte:d.end_byte].decode("utf-8", "replace")

    def similar_functions(self, definition_text: str, near_paths: list[str], limit: int = 5,
                          exclude: set[str] | None = None) -> list[tuple[float, str, Definition]]:
        """Functions in `near_paths` most like `definition_text`, by the rename scorer placement uses
        (porter/place/similarity.py). Scores are in [0, 1]; 1 means identical apart from the name."""
        from porter.place.similarity import rank_functions

        candidates = [(p, self.source(p), d) for p in dict.fromkeys(near_paths) if self.tree.exists(p)
                      for d in self.file_model(p).functions() if not (exclude and d.name in exclude)]
        return rank_functions(definition_text, candidates, limit)


def _write_atomic(path, text: str) -> None:
    import os
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        pass  # the cache is an optimisation only
