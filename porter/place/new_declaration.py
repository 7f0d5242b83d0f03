"""Rung: a hunk that adds only prototypes, placed below the declaration the patch put them under.

Principle: in a list of prototypes the order carries no meaning for the compiler; where a new one goes is its
author's choice of neighbour, the declaration directly above the added lines (`lock_kernel_down()` under
`security_locked_down()`). When the hunk's context anchors nowhere (the list around it was rewritten: new
prototypes below the neighbour, a signature above it edited), and the target declares that neighbour exactly
once, the new prototypes go directly below it, where the patch had them. The guards then check the `#if`
nesting at that place (against the pre-image blob; without it, that no conditional opens or closes beside
it). Refused, or left to the next rungs, when the neighbour is declared twice (`#ifdef` twins: which one?),
not at all, or when the target already declares a name the hunk adds (duplicating it is no port).
"""

from __future__ import annotations

from porter import cmodel
from porter.patch import Hunk
from porter.place.codes import Reason, Rung
from porter.place.context import HunkContext
from porter.place.nesting import nesting_at
from porter.place.result import Placement, refuse
from porter.place.text import git_position, is_single_insertion


def added_prototypes(hunk: Hunk) -> list[cmodel.Definition] | None:
    """The prototypes a single-insertion hunk adds, when that is all it adds (blank lines aside)."""
    if not is_single_insertion(hunk):
        return None
    added = [ln.text for ln in hunk.lines if ln.kind == "+"]
    defs = _parse(added).definitions
    if not defs or any(d.kind != "prototype" or not d.name for d in defs):
        return None
    covered = {n for d in defs for n in range(d.start_line, d.end_line + 1)}
    if any(text.strip() and i not in covered for i, text in enumerate(added, 1)):
        return None  # a comment, a macro or a conditional among them: more than a declaration list
    return defs


def neighbour_above(hunk: Hunk) -> str | None:
    """The name of the prototype that ends on the last leading context line (the declaration the new ones
    follow), or None when that line ends something else."""
    lead = []
    for ln in hunk.lines:
        if ln.kind != " ":
            break
        lead.append(ln.text)
    if not lead or not lead[-1].strip():
        return None  # a blank line between: the new prototypes open a group of their own
    last = [d for d in _parse(lead).definitions if d.end_line == len(lead)]
    return last[0].name if len(last) == 1 and last[0].kind == "prototype" else None


def _parse(lines: list[str]) -> cmodel.FileModel:
    return cmodel.parse_c("\n".join(lines).encode("utf-8", "surrogateescape"))


class NewDeclaration:
    rung = Rung.NEW_DECLARATION

    def applies(self, ctx: HunkContext) -> bool:
        return ctx.state.exists and ctx.state.is_c

    def place(self, ctx: HunkContext):
        hunk, state = ctx.hunk, ctx.state
        new = added_prototypes(hunk)
        name = neighbour_above(hunk) if new else None
        if name is None:
            return None
        definitions = state.definitions()
        declared = {d.name for d in definitions if d.kind in ("prototype", "function")}
        if any(d.name in declared for d in new):
            return None  # already declared here: the already-upstream evidence speaks, not this rung
        found = [d for d in definitions if d.kind == "prototype" and d.name == name]
        names = ", ".join(d.name for d in new)
        if not found:
            return None
        if len(found) > 1:
            where = [f"{state.path}:{d.start_line}" for d in found]
            return refuse(state.path, Reason.DECLARATION_TWINS, where, rung=self.rung, names=names,
                          neighbour=name, count=len(found))
        if not _ends_its_line(state, found[0], definitions) or not _context_nesting_kept(ctx, found[0]):
            return None
        at = found[0].end_line  # 0-based index of the line below the neighbour's last line
        added = [ln.text for ln in hunk.lines if ln.kind == "+"]
        return Placement(state.path, self.rung, at, 0, added, offset=at - git_position(hunk),
                         confidence=0.8, relation=f"below {name}",
                         evidence=f"new declaration {names} placed below {name}(), as in the patch: its context "
                                  "anchors nowhere else")


def _ends_its_line(state, neighbour: cmodel.Definition, definitions) -> bool:
    """The neighbour's `;` ends its last line, and nothing else starts there: below that line is between two
    declarations, not inside a comment that follows it or a declaration that shares its line."""
    last = state.lines[neighbour.end_line - 1].rstrip()
    return last.endswith(";") and not any(d is not neighbour and d.start_line <= neighbour.end_line <= d.end_line
                                          for d in definitions)


def _context_nesting_kept(ctx: HunkContext, neighbour: cmodel.Definition) -> bool:
    """Without the pre-image blob (the guards check the nesting with it), the conditionals the hunk's own
    leading context opens above the new lines must be the innermost ones around the neighbour in the target:
    `#ifdef CONFIG_LOCKS` shown above it in the patch and `#if 0` around it in the target is another place."""
    if ctx.old_source is not None:
        return True
    hunk = ctx.hunk
    shown = nesting_at(hunk.old_lines, hunk.leading_context, ctx.state.path)
    have = nesting_at(ctx.state.lines, neighbour.end_line, ctx.state.path)
    return not shown or have[-len(shown):] == shown
