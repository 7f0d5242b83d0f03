"""What one rung says about one hunk: a `Placement` (where it goes and the lines that replace the match), a
`Refusal` (a reason code with its parameters and the candidates it saw), or None (the rung does not apply).

These types are shared by every rung module and by the ladder; they are stable API for new rungs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from porter.place.codes import Reason, Rung, render


@dataclass
class Placement:
    """Where one hunk goes in one target file, how it was found, and the lines that replace the match."""

    file: str
    rung: Rung
    start: int = 0  # 0-based first target line of the matched region
    length: int = 0  # target lines replaced
    replacement: list[str] = field(default_factory=list)
    offset: int = 0  # start - stated start
    confidence: float = 1.0
    evidence: str = ""
    notes: list[str] = field(default_factory=list)
    relation: str = ""  # for new definitions: "below memmap_init_zone" etc., shared across trees

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def already_applied(self) -> bool:
        return self.rung == Rung.ALREADY_APPLIED


@dataclass
class Refusal:
    """Why a hunk cannot be placed. `code` decides what porter does; `reason` (rendered) is for people.

    `final`: the rung settled the question (e.g. the function the hunk changes was found, and the hunk does
    not fit it): later rungs must not try elsewhere. A plain string as `code` is accepted for code that has no
    reason code yet (it becomes Reason.OTHER); porter's own rungs always pass a Reason."""

    file: str
    code: Reason | str
    candidates: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    rung: Rung | None = None  # the rung that refused, when one did
    final: bool = False

    def __post_init__(self):
        if not isinstance(self.code, Reason):
            self.params = {**self.params, "text": str(self.code)}
            self.code = Reason.OTHER

    @property
    def reason(self) -> str:
        return render(self.code, self.params)


def refuse(file: str, code: Reason, candidates: list[str] | None = None, rung: Rung | None = None,
           final: bool = False, **params) -> Refusal:
    """Shorthand: refuse(path, Reason.AMBIGUOUS, cands, count=3)."""
    return Refusal(file, code, list(candidates or []), params, rung, final)


Result = Placement | Refusal | None
