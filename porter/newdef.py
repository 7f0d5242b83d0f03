"""Placing a hunk that adds whole top-level definitions, by its neighbours (DESIGN.md, "New top-level definitions").

The hunk names its neighbours: the definition above it (git's @@ section), and the one below it (its trailing
context, or the next hunk's section). Candidate slots are below the previous, above the next, and below the next
definition; a slot is invalid above a static function the new code calls (without a prototype) or below a
caller of a new static function. Among valid slots, one whose surrounding text matches the hunk's context wins;
when the text around both neighbours drifted, the new code goes below the next definition, which keeps it beside
the function it was written next to without depending on the drifted text above that function.
"""

from __future__ import annotations

from dataclasses import dataclass

from porter import cmodel
from porter.patch import Hunk
from porter.placement import Placement, Refusal, norm_ws
from porter.reindent import Reindenter
from porter.structure import FileState, added_definitions

COMMENT_PREFIXES = ("/*", "*", "*/", "//")


@dataclass
class Slot:
    relation: str  # "below build_all_zonelists", "above memmap_init_zone", "below memmap_init_zone"
    at: int  # 0-based insertion index
    blank_before: bool  # separate from what is above with a blank line
    context_match: bool = False
    problem: str = ""


def _leading_comment_start(lines: list[str], start: int) -> int:
    """Index of the first line of the comment block directly above line index `start`."""
    i = start
    while i > 0 and lines[i - 1].strip().startswith(COMMENT_PREFIXES):
        i -= 1
    return i


def _context_sides(hunk: Hunk) -> tuple[list[str], list[str]]:
    lead, trail = [], []
    seen_add = False
    for ln in hunk.lines:
        if ln.kind == "+":
            seen_add = True
        elif ln.kind == " ":
            (trail if seen_add else lead).append(ln.text)
    return lead, trail


def _nonblank(lines):
    return [norm_ws(x) for x in lines if x.strip()]


def _matches_above(lines: list[str], at: int, lead: list[str]) -> bool:
    want = _nonblank(lead)
    if not want:
        return False
    have = _nonblank(lines[max(at - len(want) - 8, 0):at])[-len(want):]
    return have == want


def _matches_below(lines: list[str], at: int, trail: list[str]) -> bool:
    want = _nonblank(trail)
    if not want:
        return False
    have = _nonblank(lines[at:at + len(want) + 8])[:len(want)]
    return have == want


def neighbours(hunk: Hunk, next_hunk: Hunk | None, state: FileState) -> tuple[str | None, str | None]:
    """(previous, next) definition names around the hunk, from the hunk itself."""
    prev_name = hunk.section_function()
    next_name = None
    lead, trail = _context_sides(hunk)
    wanted = _nonblank(trail)
    if wanted:
        nt = [norm_ws(x) for x in state.lines]
        for i in range(len(nt)):
            if nt[i] == wanted[0] and _nonblank(state.lines[i:i + 8])[:len(wanted)] == wanted:
                after = [d for d in state.model().functions() if d.start_line - 1 >= i]
                if after:
                    next_name = min(after, key=lambda d: d.start_line).name
                break
    if next_name is None and next_hunk is not None:
        cand = next_hunk.section_function()
        gap = next_hunk.old_start - (hunk.old_start + hunk.old_len)
        if cand and cand != prev_name and 0 <= gap <= 60:
            next_name = cand  # the next hunk's section names the definition that starts right after us
    return prev_name, next_name


def _block(hunk: Hunk) -> list[str]:
    added = [ln.text for ln in hunk.lines if ln.kind == "+"]
    while added and not added[0].strip():
        added.pop(0)
    while added and not added[-1].strip():
        added.pop()
    if hunk.mangled:
        ri = Reindenter()
        added = [ri.indent(x) for x in added]
    return added


def candidate_slots(hunk: Hunk, next_hunk: Hunk | None, state: FileState, known: tuple | None = None,
                    callers: set[str] | None = None) -> tuple[list[Slot], str | None, str | None]:
    prev_name, next_name = known if known else neighbours(hunk, next_hunk, state)
    model = state.model()
    funcs = {d.name: d for d in model.functions()}
    lead, trail = _context_sides(hunk)
    slots = []
    p = funcs.get(prev_name) if prev_name else None
    n = funcs.get(next_name) if next_name else None
    if p:
        at = p.end_line
        slots.append(Slot(f"below {p.name}", at, True, _matches_above(state.lines, at, lead)))
    if n:
        at = _leading_comment_start(state.lines, n.start_line - 1)
        slots.append(Slot(f"above {n.name}", at, False, _matches_below(state.lines, at, trail)))
        slots.append(Slot(f"below {n.name}", n.end_line, True))
    new_defs = added_definitions(hunk)
    for s in slots:
        s.problem = _order_problem(new_defs, model, s.at, callers or set())
    return slots, prev_name, next_name


def _order_problem(new_defs: list[cmodel.Definition], model: cmodel.FileModel, at: int,
                   patch_callers: set[str]) -> str:
    """Why inserting at index `at` would break C's declare-before-use, or ''. `patch_callers` are functions
    the same patch makes call the new definitions."""
    new_names = {d.name for d in new_defs}
    declared_before = {d.name for d in model.definitions if d.kind == "prototype" and d.end_line <= at}
    for nd in new_defs:
        for callee in nd.calls:
            for d in model.functions():
                if d.name == callee and d.is_static and d.start_line - 1 >= at and callee not in declared_before:
                    return f"would sit above static {callee}() it calls"
        if nd.is_static:
            for c in model.calls:
                if c.name in new_names and c.function and c.line - 1 < at and c.function not in new_names:
                    return f"would sit below its caller {c.function}()"
            for d in model.functions():
                if d.name in patch_callers and d.start_line - 1 < at:
                    return f"would sit below {d.name}(), which the patch makes call it"
    return ""


def place_new_definition(hunk: Hunk, next_hunk: Hunk | None, state: FileState, forced: str | None = None,
                         known: tuple | None = None, callers: set[str] | None = None) -> Placement | Refusal:
    slots, prev_name, next_name = candidate_slots(hunk, next_hunk, state, known, callers)
    names = ", ".join(d.name for d in added_definitions(hunk) if d.kind == "function")
    if not slots:
        return Refusal(state.path, f"new definition {names}: neither neighbour ({prev_name or '?'} above, "
                       f"{next_name or '?'} below) exists in the target")
    valid = [s for s in slots if not s.problem]
    if forced:
        chosen = [s for s in valid if s.relation == forced]
        if not chosen:
            why = next((s.problem for s in slots if s.relation == forced), "neighbour missing")
            return Refusal(state.path, f"new definition {names}: cannot place {forced}: {why}")
        slot, why = chosen[0], "the placement common to every target tree"
    else:
        matching = [s for s in valid if s.context_match]
        if len(matching) == 1:
            slot, why = matching[0], "its context matches there"
        elif len(matching) > 1:
            # Both neighbours kept their text but code now sits between them: the slot next to the definition
            # the hunk was written above keeps the new code where its author put it.
            above = [s for s in matching if s.relation.startswith("above")]
            slot, why = (above or matching)[0], "context matches on both sides; kept next to the following definition"
        else:
            order = [s for s in valid if s.relation == f"below {next_name}"] + \
                    [s for s in valid if s.relation == f"above {next_name}"] + \
                    [s for s in valid if s.relation == f"below {prev_name}"]
            if not order:
                problems = "; ".join(f"{s.relation}: {s.problem}" for s in slots)
                return Refusal(state.path, f"new definition {names}: no valid slot ({problems})",
                               [s.relation for s in slots])
            slot, why = order[0], "the text around both neighbours changed"
    block = _block(hunk)
    # Keep the blank-line habit of the hunk itself: a blank between the code above and the new definition
    # only if the patch had one there, likewise below.
    lead, trail = _context_sides(hunk)
    added = [ln.text for ln in hunk.lines if ln.kind == "+"]
    blank_above = bool((lead and not lead[-1].strip()) or (added and not added[0].strip()))
    blank_below = bool((trail and not trail[0].strip()) or (added and not added[-1].strip()))
    if slot.blank_before:
        insert = ([""] if blank_above else []) + block + ([""] if blank_below and not blank_above else [])
    else:
        insert = ([""] if blank_above and not blank_below else []) + block + ([""] if blank_below else [])
    original = f"above {next_name}" if next_name else f"below {prev_name}"
    was = f" (was {original})" if slot.relation != original else ""
    return Placement(state.path, "new-definition", slot.at, 0, insert, offset=slot.at - hunk.new_start,
                     confidence=0.8, relation=slot.relation,
                     evidence=f"new definition {names} placed {slot.relation}{was}: {why}")
