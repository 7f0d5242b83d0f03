"""How each hunk was placed, as text for a terminal and as JSON for tools."""

from __future__ import annotations

from porter.intake.names import quote_c
from porter.patch import Series
from porter.place.codes import Rung
from porter.place.result import Placement
from porter.porting import HunkOutcome, PortResult


def outcome_dict(o: HunkOutcome) -> dict:
    r = o.result
    d = {"commit": o.commit + 1, "file": o.patch_file, "hunk": o.number, "header": o.hunk.header(),
         "target_file": r.file}
    if isinstance(r, Placement):
        d.update(status="already-applied" if r.rung == Rung.ALREADY_APPLIED else "placed", rung=r.rung,
                 line=r.start + 1, offset=r.offset, confidence=round(r.confidence, 2), evidence=r.evidence)
        if r.relation:
            d["relation"] = r.relation
        if r.notes:
            d["notes"] = r.notes
    else:
        d.update(status="refused", code=str(r.code), reason=r.reason, candidates=r.candidates)
    if getattr(r, "upstream", None):  # porter/backport/evidence.py: already upstream in another form
        d["upstream"] = [e.as_dict() for e in r.upstream]
    return d


def result_dict(series: Series, result: PortResult, state: str) -> dict:
    return {"tree": result.tree.name, "status": state, "notes": series.notes + result.warnings,
            "commits": [{"subject": c.subject, "author": c.author} for c in series.commits],
            "hunks": [outcome_dict(o) for o in result.outcomes]}


def text_lines(series: Series, result: PortResult) -> list[str]:
    out = [f"tree {result.tree.name}:"]
    for o in result.outcomes:
        d = outcome_dict(o)
        # names quoted as git quotes them: a tab or a newline in a name must not split or fake a report line
        where = quote_c(d["target_file"]) + (f":{d['line']}" if "line" in d else "")
        moved = f" (patch: {quote_c(o.patch_file)})" if d["target_file"] != o.patch_file else ""
        prefix = f"  [{d['commit']}] " if len(series.commits) > 1 else "  "
        if d["status"] == "refused":
            cands = f"; nearest: {', '.join(d['candidates'])}" if d["candidates"] else ""
            out.append(f"{prefix}{quote_c(o.patch_file)} hunk {o.number}: REFUSED: {d['reason']}{cands}")
        else:
            out.append(f"{prefix}{where}{moved} hunk {o.number}: {d['rung']}, offset {d['offset']:+d}, "
                       f"confidence {d['confidence']:.2f}: {d['evidence']}")
    out += [f"  warning: {w}" for w in result.warnings]
    return out
