"""What a rule reports: a finding with a location, a message, and for chains the steps that lead to it."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Step:
    """One step of a call chain (or one related location): where, and what happens there."""

    path: str
    line: int
    col: int  # 1-based
    message: str
    function: str | None = None


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: str
    path: str  # tree-relative; "" for a finding about the tree as a whole
    line: int  # 1-based (0 when there is no line)
    col: int  # 1-based (0 when there is no column)
    message: str
    key: str  # what the finding is about, without line numbers: stable across unrelated edits (patch mode)
    function: str | None = None
    chain: tuple[Step, ...] = ()  # call chain / related locations, first step first
    state: str | None = None  # patch mode: "introduced" | "removed" | "unchanged"

    @property
    def fingerprint(self) -> str:
        return hashlib.sha1(f"{self.rule_id}\0{self.key}".encode()).hexdigest()[:16]

    def sort_key(self):
        return (self.path, self.line, self.col, self.rule_id, self.message)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["chain"] = [asdict(s) for s in self.chain]
        d["fingerprint"] = self.fingerprint
        if d["state"] is None:
            del d["state"]
        return d


def with_state(f: Finding, state: str) -> Finding:
    from dataclasses import replace

    return replace(f, state=state)
