"""A commit x tree matrix: what happened to each commit of a series on each target tree, as text, JSON and
JUnit XML (one test case per commit and tree, so CI shows which commit failed on which stable branch)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from enum import Enum


class Cell(Enum):
    APPLIED = "applied"  # committed / written
    ALREADY = "already-applied"  # every hunk already there (maybe in another form)
    RESOLVED = "applied-by-hand"  # refused, fixed by the user, committed by --continue
    PLACED = "placed"  # dry run: every hunk placed, nothing written
    EMPTY = "empty"  # the commit changes no file content
    REFUSED = "refused"  # some hunk refused: the series stopped here on this tree
    SKIPPED = "skipped"  # refused, then --skip
    PARTIAL = "partial"  # --partial on a directory: placed hunks written, .rej for the rest
    NOT_ATTEMPTED = "not-attempted"  # after a refusal earlier in the series (or the whole series refused)


OK_CELLS = {Cell.APPLIED, Cell.ALREADY, Cell.RESOLVED, Cell.PLACED, Cell.EMPTY}


@dataclass
class Row:
    sha: str
    subject: str

    @property
    def label(self) -> str:
        return f"{self.sha[:12]} {self.subject}"


@dataclass
class Entry:
    status: Cell
    reason: str = ""  # why refused / not attempted (rendered from the hunk outcomes)
    hunks: list[dict] = field(default_factory=list)  # report.outcome_dict of each hunk
    commit: str | None = None  # commit created on the target branch


@dataclass
class Matrix:
    rows: list[Row]
    trees: list[str]
    cells: dict[tuple[str, str], Entry] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)  # per tree: branch, worktree, how to go on

    def get(self, row: Row, tree: str) -> Entry:
        return self.cells.get((row.sha, tree), Entry(Cell.NOT_ATTEMPTED))

    @property
    def ok(self) -> bool:
        return all(self.get(r, t).status in OK_CELLS for r in self.rows for t in self.trees)

    # -- text ------------------------------------------------------------------------------------------------
    def text_lines(self) -> list[str]:
        width = max((len(t) for t in self.trees), default=4)
        out = []
        for tree in self.trees:
            out.append(f"tree {tree}:")
            for row in self.rows:
                e = self.get(row, tree)
                out.append(f"  {row.label[:70]:70s}  {e.status.value}" + (f" ({e.commit[:12]})" if e.commit else ""))
                for h in e.hunks:
                    out.append("      " + _hunk_text(h))
                if e.reason and e.status not in OK_CELLS and not e.hunks:
                    out.append(f"      reason: {e.reason}")
            out += [f"  {n}" for n in self.notes.get(tree, [])]
        if len(self.trees) > 1 or len(self.rows) > 1:
            out.append("")
            out.append(f"{'commit':70s}  " + "  ".join(t[-width:].rjust(width) for t in self.trees))
            for row in self.rows:
                out.append(f"{row.label[:70]:70s}  " +
                           "  ".join(self.get(row, t).status.value.rjust(width) for t in self.trees))
        return out

    # -- JSON ------------------------------------------------------------------------------------------------
    def as_dict(self) -> dict:
        return {"ok": self.ok, "trees": self.trees,
                "commits": [{"sha": r.sha, "subject": r.subject,
                             "trees": {t: _entry_dict(self.get(r, t)) for t in self.trees}} for r in self.rows],
                "notes": self.notes}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    # -- JUnit -----------------------------------------------------------------------------------------------
    def to_junit(self) -> str:
        """<testsuites> with one <testsuite> per tree and one <testcase> per commit: refused -> <failure>,
        skipped / not attempted -> <skipped>, with the reason as message and the hunk report as text."""
        suites = ET.Element("testsuites", name="porter apply")
        total = failures = 0
        for tree in self.trees:
            entries = [(r, self.get(r, tree)) for r in self.rows]
            fails = sum(1 for _, e in entries if e.status in (Cell.REFUSED, Cell.PARTIAL))
            skips = sum(1 for _, e in entries if e.status in (Cell.SKIPPED, Cell.NOT_ATTEMPTED))
            suite = ET.SubElement(suites, "testsuite", name=tree, tests=str(len(entries)), failures=str(fails),
                                  errors="0", skipped=str(skips))
            for row, e in entries:
                case = ET.SubElement(suite, "testcase", name=row.label, classname=tree)
                body = "\n".join(_hunk_text(h) for h in e.hunks)
                if e.status in (Cell.REFUSED, Cell.PARTIAL):
                    ET.SubElement(case, "failure", type=e.status.value, message=e.reason or e.status.value).text = body
                elif e.status in (Cell.SKIPPED, Cell.NOT_ATTEMPTED):
                    ET.SubElement(case, "skipped", message=e.reason or e.status.value)
                elif body:
                    ET.SubElement(case, "system-out").text = f"{e.status.value}\n{body}"
            total += len(entries)
            failures += fails
        suites.set("tests", str(total))
        suites.set("failures", str(failures))
        suites.set("errors", "0")
        ET.indent(suites)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _hunk_text(h: dict) -> str:
    where = h.get("target_file", h.get("file", "")) + (f":{h['line']}" if h.get("line") else "")
    if h.get("status") == "refused":
        return f"{h['file']} hunk {h['hunk']}: REFUSED: {h.get('reason', '')}"
    return f"{where} ({h['file']} hunk {h['hunk']}): {h.get('rung', h.get('status'))}: {h.get('evidence', '')}"


def _entry_dict(e: Entry) -> dict:
    d = {"status": e.status.value, "hunks": e.hunks}
    if e.reason:
        d["reason"] = e.reason
    if e.commit:
        d["commit"] = e.commit
    return d
