"""Rung 7: a hunk that adds whole top-level definitions, placed by its neighbours — when its context cannot.

Principle: a new definition belongs between the definitions the patch put it between. The context rungs run
first (their text anchors the hunk where it is unique, also for new definitions); this rung runs only when
that text anchors nowhere, e.g. code was inserted between the leading and the trailing context (the seed's
linux-next). Candidate slots are below the previous definition, above the next, and below the next; a slot is
invalid above a static function the new code calls (without a prototype) or below a caller of a new static
function, or beside a neighbour defined twice (`#ifdef` twins: which one is meant?); the guards then check the
slot's `#if` nesting (against the blob, or without it that no conditional opens or closes beside it). A slot is
chosen only when its own surrounding text still matches the hunk's context; when the text
around both neighbours changed, nothing here decides and the hunk is refused, naming the valid slots — the
multi-tree planner may then pick the one slot every tree accepts (the seed's below-memmap_init_zone).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from porter import cmodel
from porter.patch import Hunk
from porter.place.codes import Reason, Rung
from porter.place.context import HunkContext
from porter.place.nesting import nesting_at
from porter.place.result import Placement, refuse
from porter.place.text import norm_ws
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


def leading_comment_start(lines: list[str], start: int) -> int:
    """Index of the first line of the comment block directly above line index `start`."""
    i = start
    while i > 0 and lines[i - 1].strip().startswith(COMMENT_PREFIXES):
        i -= 1
    return i


def context_sides(hunk: Hunk) -> tuple[list[str], list[str]]:
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
    _, trail = context_sides(hunk)
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
    twins = _if_twins(state.lines, model.functions())
    lead, trail = context_sides(hunk)
    slots = []
    p = funcs.get(prev_name) if prev_name else None
    n = funcs.get(next_name) if next_name else None
    if p:
        at = p.end_line
        slots.append(Slot(f"below {p.name}", at, True, _matches_above(state.lines, at, lead)))
    if n:
        at = leading_comment_start(state.lines, n.start_line - 1)
        slots.append(Slot(f"above {n.name}", at, False, _matches_below(state.lines, at, trail)))
        slots.append(Slot(f"below {n.name}", n.end_line, True))
    new_defs = added_definitions(hunk)
    for s in slots:
        s.problem = _order_problem(new_defs, model, s.at, callers or set())
        if not s.problem and twins[s.relation.split()[-1]] > 1:
            s.problem = f"{s.relation.split()[-1]}() is defined {twins[s.relation.split()[-1]]} times (#if twins)"
    return slots, prev_name, next_name


def _if_twins(lines: list[str], funcs) -> Counter:
    """Names defined more than once under different #if branches (`#ifdef CONFIG_PM` / `#else` twins), with
    their count; a syscall and its SYSCALL_DEFINE wrapper under the same nesting are no twins."""
    nests: dict[str, set[tuple]] = {}
    counts = Counter(d.name for d in funcs)
    for d in funcs:
        if counts[d.name] > 1:
            nests.setdefault(d.name, set()).add(tuple(nesting_at(lines, d.start_line - 1, ".c")))
    return Counter({name: counts[name] for name, seen in nests.items() if len(seen) > 1})


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
                         known: tuple | None = None, callers: set[str] | None = None):
    slots, prev_name, next_name = candidate_slots(hunk, next_hunk, state, known, callers)
    names = ", ".join(d.name for d in added_definitions(hunk) if d.kind == "function")
    rung = Rung.NEW_DEFINITION
    if not slots:
        return refuse(state.path, Reason.NEIGHBOURS_MISSING, rung=rung, names=names, prev=prev_name or "?",
                      next=next_name or "?")
    valid = [s for s in slots if not s.problem]
    if forced:
        chosen = [s for s in valid if s.relation == forced]
        if not chosen:
            why = next((s.problem for s in slots if s.relation == forced), "neighbour missing")
            return refuse(state.path, Reason.FORCED_SLOT_INVALID, rung=rung, names=names, slot=forced, why=why)
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
        elif not valid:
            problems = "; ".join(f"{s.relation}: {s.problem}" for s in slots)
            return refuse(state.path, Reason.NO_VALID_SLOT, [s.relation for s in slots], rung=rung, names=names,
                          problems=problems)
        else:
            # Neither the hunk's context nor its neighbours' text decides: any slot would be a guess. The
            # candidates are the planner's options when several trees are given.
            # Offered in the planner's order of preference among slots that all work: beside the next
            # definition first (below it, where its own drifted leading text does not matter), then the others.
            order = sorted(valid, key=lambda s: (s.relation != f"below {next_name}",
                                                 s.relation != f"above {next_name}"))
            return refuse(state.path, Reason.NEIGHBOURS_UNDECIDED, [s.relation for s in order], rung=rung,
                          names=names, slots=", ".join(s.relation for s in order))
    block = _block(hunk)
    # Keep the blank-line habit of the hunk itself: a blank between the code above and the new definition
    # only if the patch had one there, likewise below.
    lead, trail = context_sides(hunk)
    added = [ln.text for ln in hunk.lines if ln.kind == "+"]
    blank_above = bool((lead and not lead[-1].strip()) or (added and not added[0].strip()))
    blank_below = bool((trail and not trail[0].strip()) or (added and not added[-1].strip()))
    if slot.blank_before:
        insert = ([""] if blank_above else []) + block + ([""] if blank_below and not blank_above else [])
    else:
        insert = ([""] if blank_above and not blank_below else []) + block + ([""] if blank_below else [])
    original = f"above {next_name}" if next_name else f"below {prev_name}"
    was = f" (was {original})" if slot.relation != original else ""
    return Placement(state.path, rung, slot.at, 0, insert, offset=slot.at - hunk.new_start,
                     confidence=0.8, relation=slot.relation,
                     evidence=f"new definition {names} placed {slot.relation}{was}: {why}")


class NewDefinition:
    rung = Rung.NEW_DEFINITION

    def applies(self, ctx: HunkContext) -> bool:
        return ctx.whole_definition  # the patch's file may be gone: its neighbours may have moved together

    def place(self, ctx: HunkContext):
        """Neighbours from the pre-image blob when we have it (else from the hunk); a new static function goes
        to the file of the function the patch makes call it, which may have moved."""
        hunk, state = ctx.hunk, ctx.state
        known = None
        if ctx.old_model is not None:
            at = hunk.old_start + hunk.leading_context  # first old line after the insertion point
            above = [d for d in ctx.old_model.functions() if d.end_line < at]
            below = [d for d in ctx.old_model.functions() if d.start_line >= at]
            known = (max(above, key=lambda d: d.end_line).name if above else None,
                     min(below, key=lambda d: d.start_line).name if below else None)
        callers = self.callers(ctx)
        # The first anchor found decides the file: a caller (a static function must sit in its caller's file),
        # then the definition below, then the one above.
        target = state
        in_file = {d.name for d in state.model().functions()} if state.exists else set()
        for a in sorted(callers) + ([known[1], known[0]] if known else []):
            if not a:
                continue
            if a in in_file:
                break
            where = {p for p, _ in ctx.files.definitions(a, state.path)}
            if len(where) == 1:
                target = ctx.files.state(where.pop())
                break
        if not target.exists:
            return None  # nothing in the tree says where the patch's vanished file went
        res = place_new_definition(hunk, ctx.next_hunk, target, ctx.forced, known, callers)
        if isinstance(res, Placement) and target is not state:
            res.evidence += f" (its neighbours moved from {state.path} to {target.path})"
        return res

    @staticmethod
    def callers(ctx: HunkContext) -> set[str]:
        """Functions the same file patch makes call the new definitions (they fix which file it goes to)."""
        new_names = {d.name for d in added_definitions(ctx.hunk) if d.kind == "function"}
        callers = set()
        for other in ctx.fp.hunks:
            if other is not ctx.hunk and any(name in ln for ln in other.added for name in new_names):
                sub = HunkContext(other, None, ctx.state, 0, ctx.old_source, ctx.fp, ctx.key, None, ctx.files)
                callers.update(sub.names[:1])
        return callers
