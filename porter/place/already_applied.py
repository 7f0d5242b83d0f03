"""Already applied: the tree has the change already, so nothing is written — but only when that is certain.

Principle (post-image): a hunk is applied when its post-image stands where its pre-image would be and the
pre-image is not there. The pre-image was looked for first (exact rung) and is absent. The post-image must
occur exactly once, and the hunk's context must frame no other place: wherever the leading context is followed,
within the changed region's length, by the trailing context, the pre-image could be (drifted), and then the
post-image found elsewhere proves nothing (a deleted function whose surroundings recur).

Principle (definitions): a hunk that adds whole definitions is applied when every one of them is already
defined in the target (its file, or for a non-static definition the tree) with the same body, whitespace
aside; a name already defined with another body is refused — writing it again would define it twice.
"""

from __future__ import annotations

from porter.place.codes import Reason, Rung
from porter.place.result import Placement, refuse
from porter.place.search import Search
from porter.place.text import MAX_FUZZ, has_unique_anchor, is_real_line, norm_ws, stated_index

FRAME_SLACK = 10  # lines a drifted pre-image may have grown by between its leading and trailing context


class AlreadyApplied:
    rung = Rung.ALREADY_APPLIED

    def __init__(self, whitespace: bool = False):
        self.whitespace = whitespace

    def place(self, s: Search):
        hunk = s.hunk
        if not (hunk.added or hunk.removed) or not s.pre:
            return None
        if self.whitespace and not s.allow_ws:
            return None
        lines = s.ntarget if self.whitespace else s.lines
        post = [norm_ws(x) for x in hunk.new_lines] if self.whitespace else hunk.new_lines
        found = s.windows(post, lines)
        if not found:
            return self._reduced(s, lines, post)
        if len(found) != 1:
            return None  # at several places: not "where the pre-image would be"
        at = found[0]
        others = [f for f in self._frames(s, lines) if f != at]
        if others and not (s.at_end or s.at_start):
            return refuse(s.path, Reason.POST_IMAGE_UNCERTAIN, s.where([at] + others), rung=self.rung,
                          where=f"{s.path}:{at + 1}", other=", ".join(s.where(others)))
        how = " (ignoring whitespace)" if self.whitespace else ""
        return Placement(s.path, Rung.ALREADY_APPLIED, at, len(post), list(s.lines[at:at + len(post)]),
                         offset=at - stated_index(hunk), evidence=f"post-image already present{how}, "
                         "pre-image absent")

    def _reduced(self, s: Search, lines: list[str], post: list[str]):
        """The post-image with drifted context: up to MAX_FUZZ context lines dropped at its edges (a real
        context line kept), the added lines all kept. It counts only where it is
        unique, holds a line unique in the range, and the pre-image with the same lines dropped is nowhere:
        then the context rungs must not apply the hunk a second time a few lines away."""
        hunk = s.hunk
        if not any(norm_ws(x) not in ("", "{", "}") for x in hunk.added):
            return None  # a pure deletion leaves only context behind: generic, proves nothing
        n, lead, trail = len(post), s.lead, s.trail
        npre = s.npre if self.whitespace else s.pre
        for fuzz in range(1, MAX_FUZZ + 1):
            hits = {}
            for dl in range(0, min(fuzz, lead) + 1):
                for dt in range(0, min(fuzz, trail) + 1):
                    if max(dl, dt) != fuzz or (lead and dl >= lead) or (trail and dt >= trail):
                        continue
                    core = post[dl:n - dt]
                    if not any(is_real_line(x) for x in post[dl:lead] + post[n - trail:n - dt]):
                        continue  # some real context line must stay, on either side
                    wins = s.windows(core, lines, dl, dt)
                    if len(wins) != 1 or s.windows(npre[dl:len(npre) - dt], lines, dl, dt):
                        continue
                    if not has_unique_anchor(s.lines, post, wins[0] - dl, (dl, dt), s.lo, s.hi):
                        continue
                    hits.setdefault(wins[0] - dl, (wins[0], len(core)))
            if len(hits) == 1:
                ((at, length),) = hits.values()
                return Placement(s.path, Rung.ALREADY_APPLIED, at, length, list(s.lines[at:at + length]),
                                 offset=at - stated_index(hunk),
                                 evidence=f"post-image already present with fuzz {fuzz}, pre-image absent")
            if hits:
                return refuse(s.path, Reason.POST_IMAGE_UNCERTAIN, s.where(sorted(hits)), rung=self.rung,
                              where=s.where(sorted(hits))[0], other=", ".join(s.where(sorted(hits))[1:]))
        return None

    @staticmethod
    def _frames(s: Search, lines: list[str]) -> list[int]:
        """Places where the hunk's leading context is followed, within the changed region's length (and some
        drift), by its trailing context: each is a place the pre-image may be. Positions are where the
        post-image would start."""
        norm = (lambda x: norm_ws(x)) if lines is s.ntarget else (lambda x: x)
        lead = [norm(x) for x in s.pre[:s.lead]]
        trail = [norm(x) for x in s.pre[len(s.pre) - s.trail:]] if s.trail else []
        span = max(len(s.hunk.removed), len(s.hunk.added)) + FRAME_SLACK + MAX_FUZZ
        n = len(lines)
        frames = []
        if not lead or not trail:
            side = lead or trail
            for p in range(n - len(side) + 1):
                if lines[p:p + len(side)] == side:
                    frames.append(p if lead else p - (len(s.hunk.new_lines) - len(side)))
            return frames
        for p in range(n - len(lead) + 1):
            if lines[p:p + len(lead)] != lead:
                continue
            first = p + len(lead)
            for q in range(first, min(first + span, n - len(trail)) + 1):
                if lines[q:q + len(trail)] == trail:
                    frames.append(p)
                    break
        return frames


def definition_key(text: str) -> str:
    """A definition's text, whitespace-normalised, for 'same body' comparisons."""
    return "".join(text.split())


class AlreadyDefined:
    """A hunk adding whole definitions whose names the target already defines."""

    rung = Rung.ALREADY_APPLIED

    def applies(self, ctx) -> bool:
        return ctx.whole_definition and ctx.state.exists

    def place(self, ctx):
        from porter import cmodel
        from porter.structure import added_definitions

        hunk, state = ctx.hunk, ctx.state
        added_src = "\n".join(hunk.added).encode("utf-8", "surrogateescape")
        new = [d for d in cmodel.parse_c(added_src).functions() if d.name]
        if not new or {d.name for d in new} != {d.name for d in added_definitions(hunk) if d.kind == "function"}:
            return None
        same, different, missing = [], [], []
        for nd in new:
            want = definition_key(added_src[nd.start_byte:nd.end_byte].decode("utf-8", "surrogateescape"))
            sites = [(state.path, d) for d in ctx.function_defs(state, nd.name)]
            if not sites and not nd.is_static:  # a global name is one definition in the whole tree
                sites = [(p, d) for p, d in ctx.files.definitions(nd.name, state.path) if d.kind == "function"]
            if not sites:
                missing.append(nd.name)
                continue
            texts = [(p, d, _definition_text(ctx.files.state(p), d)) for p, d in sites]
            match = [(p, d) for p, d, text in texts if definition_key(text) == want]
            (same if match else different).append((nd.name, match[0] if match else sites[0]))
        if not same and not different:
            return None
        names = ", ".join(d.name for d in new)
        if different:
            where = ", ".join(f"{p}:{d.start_line}" for _, (p, d) in different)
            return refuse(state.path, Reason.DEFINED_DIFFERENTLY, [where], rung=self.rung, final=True,
                          names=", ".join(n for n, _ in different), where=where)
        if missing:
            where = ", ".join(f"{p}:{d.start_line}" for _, (p, d) in same)
            return refuse(state.path, Reason.PARTLY_APPLIED, [where], rung=self.rung, final=True, where=where)
        path, d = same[0][1]
        target = ctx.files.state(path)
        start, end = d.start_line - 1, d.end_line
        return Placement(path, Rung.ALREADY_APPLIED, start, end - start, list(target.lines[start:end]),
                         offset=start - stated_index(hunk),
                         evidence=f"{names} already defined with the same body at {path}:{d.start_line}")


def _definition_text(state, d) -> str:
    return "\n".join(state.lines[d.start_line - 1:d.end_line])
