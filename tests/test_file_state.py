"""FileState keeps a C file's outline (definitions with line and byte ranges) across edits without re-parsing
when an edit stays inside one function body, and re-parses otherwise: after every edit the outline must equal a
fresh parse of the text. Non-C files are never parsed; line counts follow the edits."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from porter import cmodel
from porter.structure import FileState
from tests.helpers import DEMO

SOURCE = (DEMO / "linux-next" / "mm" / "page_alloc.c").read_text()


def fresh(state: FileState) -> list[tuple]:
    model = cmodel.build_model("\n".join(state.lines).encode("utf-8", "surrogateescape"), state.path)
    return [_shape(d) for d in model.definitions]


def _shape(d) -> tuple:
    return (d.name, d.kind, d.start_line, d.end_line, d.start_byte, d.end_byte, d.body_start_line,
            d.body_start_byte)


def _body_lines(state: FileState) -> list[int]:
    """0-based indices of lines strictly inside some function body."""
    out = []
    for d in state.functions():
        if d.body_start_line is not None:
            out += range(d.body_start_line, d.end_line - 1)
    return out


def test_outline_follows_edits_inside_bodies_without_reparsing(monkeypatch):
    state = FileState("mm/page_alloc.c", SOURCE.split("\n"))
    assert [_shape(d) for d in state.definitions()] == fresh(state)
    parses = []
    real = cmodel.parse_c
    monkeypatch.setattr(cmodel, "parse_c", lambda *a, **k: parses.append(1) or real(*a, **k))
    rng = random.Random(7)
    for i in range(60):
        at = rng.choice(_body_lines(state))
        kind = i % 3
        if kind and any(c in state.lines[at] for c in "{}#\"'\\/*"):
            continue  # replacing or deleting structure is the other test's business
        if kind == 0:  # insert a statement
            state.edit(at, at, [f"\tporter_probe_{i}(x);"])
        elif kind == 1:  # replace a line
            state.edit(at, at + 1, [f"\tx = {i};", f"\ty = {i};"])
        else:  # delete a line that holds no structure
            state.edit(at, at + 1, [])
        assert [_shape(d) for d in state.definitions()] == fresh(state), f"edit {i} at line {at + 1}"
    assert parses == []  # every edit was followed, none re-parsed


def test_structural_edit_reparses_and_stays_right():
    state = FileState("mm/page_alloc.c", SOURCE.split("\n"))
    first = state.functions()[3]
    # a new function above an existing one: the outline cannot be shifted, it is rebuilt
    at = first.start_line - 1
    state.edit(at, at, ["static void porter_new(void)", "{", "}", ""])
    assert [_shape(d) for d in state.definitions()] == fresh(state)
    assert state.functions_named("porter_new")
    # a hunk's context lines are part of its replacement: only the changed line counts
    fn = state.functions_named(first.name)[0]
    lo = fn.body_start_line - 2  # from the signature line, which the replacement repeats unchanged
    old = state.lines[lo:lo + 4]
    state.edit(lo, lo + 4, old[:3] + ["\tporter_context_probe();"] + old[3:])
    assert [_shape(d) for d in state.definitions()] == fresh(state)


def test_lines_replaced_behind_edit_are_noticed():
    state = FileState("mm/page_alloc.c", SOURCE.split("\n"))
    state.definitions()
    state.lines = ["static int only(void)", "{", "\treturn 0;", "}"]
    assert [d.name for d in state.functions()] == ["only"]


def test_non_c_files_are_never_parsed(monkeypatch):
    monkeypatch.setattr(cmodel, "parse_c", lambda *a, **k: pytest.fail("parsed a file that is not C"))
    for path in ("mm/Kconfig", "mm/Makefile", "Documentation/mm/hmm.rst"):
        state = FileState(path, ["config FOO", "\tbool \"foo\"", "int f(void)", "{", "}"])
        assert state.functions() == [] and state.enclosing(3) is None and state.model().definitions == []


def test_line_counts_follow_edits():
    state = FileState("mm/page_alloc.c", SOURCE.split("\n"))
    assert state.line_count("}") == Counter(state.lines)["}"]
    state.edit(10, 12, ["}", "}", "porter only once"])
    state.edit(40, 40, ["porter only once"])
    state.edit(5, 6, [])
    counts = Counter(state.lines)
    for text in ("}", "porter only once", "", state.lines[100]):
        assert state.line_count(text) == counts[text]
