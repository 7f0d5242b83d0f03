"""`HunkContext`: everything the ladder's rungs may know about one hunk in one target tree.

The hunk and its neighbours in the patch, the target file's evolving state, the pre-image blob when the
repository has it, the multi-tree planner's choice, and lookups into the tree (other files' states, where a
function is defined). Facts derived from these (the function the hunk changes, whether it adds whole
definitions) are computed once here, so every rung reads the same answer.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from porter import cmodel
from porter.patch import FilePatch, Hunk
from porter.place.search import Search
from porter.structure import FileState, is_whole_definition_hunk
from porter.tree import Tree


class Lookups(Protocol):
    """What the ladder needs from the porter run: file states as earlier hunks left them, and definitions."""

    tree: Tree

    def state(self, path: str) -> FileState: ...

    def definitions(self, name: str, near: str | None = None) -> list[tuple[str, cmodel.Definition]]: ...

    fresh: dict[str, list[tuple[int, int, str]]]  # lines earlier hunks of this commit wrote: path -> ranges


@dataclass
class HunkContext:
    hunk: Hunk
    next_hunk: Hunk | None
    state: FileState
    expected: int  # stated line shifted by earlier hunks' offsets in this file
    old_source: str | None  # the pre-image blob of the patch's file, when the repository has it
    fp: FilePatch
    key: tuple
    forced: str | None  # slot relation the multi-tree planner chose for a new definition
    files: Lookups

    @property
    def tree(self) -> Tree:
        return self.files.tree

    @cached_property
    def whole_definition(self) -> bool:
        return is_whole_definition_hunk(self.hunk)

    @cached_property
    def old_lines(self) -> list[str]:
        """The pre-image blob as lines (final newline dropped), split once per hunk for every rung and guard."""
        text = (self.old_source or "").removesuffix("\n")
        return text.split("\n") if text else []

    @cached_property
    def old_model(self) -> cmodel.FileModel | None:
        if self.old_source is None:
            return None
        return cmodel.parse_c(self.old_source.encode("utf-8", "surrogateescape"))

    @cached_property
    def names(self) -> list[str]:
        """Names of the function the hunk changes, most trusted first: the pre-image blob's enclosing function,
        a definition that starts inside the hunk before its first change, then git's @@ section (which names
        the definition *above* the hunk, so it is only right when the hunk starts inside a body)."""
        hunk = self.hunk
        names = []
        if not self.state.path.endswith((".c", ".h")):
            return names  # `def main(args):` after a Python hunk's @@ is no C function to look for
        first_change = hunk.leading_context
        if self.old_model is not None:
            d = self.old_model.enclosing(hunk.old_start + first_change)
            if d is not None and d.kind == "function":
                names.append(d.name)
        pre = hunk.old_lines[:first_change + 1]
        # no '{' above the change, no body opens there: skip the parse (it is most of a one-line hunk's cost)
        opened = any("{" in x for x in pre)
        source = "\n".join(pre + ["}"]).encode("utf-8", "surrogateescape")
        for d in cmodel.parse_c(source).functions() if opened else []:
            if d.name not in names and d.start_line - 1 <= first_change:
                names.append(d.name)
        section = hunk.section_function()
        if section and section not in names:
            names.append(section)
        return names

    def function_defs(self, state: FileState, name: str) -> list[cmodel.Definition]:
        return list(state.functions_named(name)) if state.exists else []

    def old_function_text(self, name: str) -> str | None:
        if self.old_model is None:
            return None
        data = self.old_source.encode("utf-8", "surrogateescape")
        for d in self.old_model.functions():
            if d.name == name:
                return data[d.start_byte:d.end_byte].decode("utf-8", "surrogateescape")
        return None

    def file_search(self) -> Search:
        """The context rungs' view of the patch's own file, with the @@ header's function as tie-breaker."""
        state, hunk = self.state, self.hunk
        section = hunk.section_function()
        ranges = [(d.start_line - 1, d.end_line) for d in state.functions_named(section)] if section else []
        in_function = (lambda pos: any(lo <= pos < hi for lo, hi in ranges)) if ranges else None
        # git's @@ section names the last function that starts above the hunk: a reduced-context match
        # below some other function's start is elsewhere (its trailing context was what said where).
        starts, lines = state.function_starts(), state.function_start_lines()
        after_section = (lambda pos: (k := bisect_right(lines, pos)) > 0 and starts[k - 1][1] == section) \
            if ranges else None
        # Reduced context is trusted only inside the function the hunk changes: when the hunk names a
        # function this file lacks, fuzz would match the text somewhere else. A new definition is not inside
        # any function; its reduced context must anchor on its own (EdgeFuzz's one-sided rule).
        named = self.names[:1]
        fuzz_ok = self.whole_definition or not named or bool(self.function_defs(state, named[0]))
        return Search(hunk, state.lines, state.path, self.expected, in_function=in_function,
                      after_section=after_section, allow_fuzz=fuzz_ok, whole_definition=self.whole_definition,
                      line_count=state.line_count)

    def outside_changed_function(self, start: int, length: int) -> bool:
        """True when the hunk changes function F, F exists in the target tree, and a placement at `start` sits
        elsewhere: the text matched, but in the wrong place (a twin, a copy). F is the pre-image blob's
        enclosing function; without the blob, the hunk's own first name (a definition starting inside it, else
        git's @@ section), and then only a placement inside another function counts (the section names the
        function *above* a hunk, which may start at file scope below it)."""
        hunk = self.hunk
        at = start + min(hunk.leading_context, max(length - 1, 0)) + 1
        here = self.state.enclosing(at)
        if self.old_model is not None:
            d = self.old_model.enclosing(hunk.old_start + hunk.leading_context)
            if d is None or d.kind != "function":
                return False
            name = d.name
        else:
            # The whole placed region inside another function's body (below its header): a hunk that starts
            # above a function and changes its header is no twin.
            if not self.names or here is None or here.kind != "function" or \
                    not here.start_line - 1 < start < start + length <= here.end_line:
                return False
            name = self.names[0]
        if here is not None and here.name == name:
            return False
        if self.function_defs(self.state, name) or self.files.definitions(name, self.state.path):
            return True
        # F is gone. With the blob, a function the pre-image file had beside F is F's sibling, not its new
        # home (foo_v1_xmit() deleted, foo_v2_xmit() the same text).
        return self.old_model is not None and here is not None and here.kind == "function" and \
            here.name in {d.name for d in self.old_model.functions()}
