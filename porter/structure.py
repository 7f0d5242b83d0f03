"""The C-structure facts placement needs about a file and a hunk: a target file's evolving state (and its
parsed model), and which definitions a hunk adds whole. The rungs that use them live in porter/place/."""

from __future__ import annotations

from dataclasses import dataclass

from porter import cmodel
from porter.patch import Hunk


@dataclass
class FileState:
    """A target file as it evolves while hunks are applied (lines without newlines)."""

    path: str
    lines: list[str]
    exists: bool = True
    final_newline: bool = True

    def model(self) -> cmodel.FileModel:
        return cmodel.parse_c("\n".join(self.lines).encode("utf-8", "surrogateescape"), self.path)


def added_definitions(hunk: Hunk) -> list[cmodel.Definition]:
    """Whole definitions among the hunk's added lines (a function, or a prototype at file scope)."""
    added = [ln.text for ln in hunk.lines if ln.kind == "+"]
    if not added or len(added) < 2 and not added[0].rstrip().endswith(";"):
        return []
    model = cmodel.parse_c("\n".join(added).encode("utf-8", "surrogateescape"))
    return [d for d in model.definitions if d.kind in ("function", "prototype") and d.name]


def is_whole_definition_hunk(hunk: Hunk) -> bool:
    """All added lines are contiguous and form complete top-level definitions (plus #if/#endif/blank lines)."""
    kinds = "".join(ln.kind for ln in hunk.lines).strip(" ")
    if not kinds or set(kinds) != {"+"}:
        return False
    defs = [d for d in added_definitions(hunk) if d.kind == "function"]
    return bool(defs)
