"""How much a function looks like another one, names aside: the one rename scorer `apply` (renamed rung)
and `locate` (rename search) share, with one threshold.

Score (0..1): 0.2 x signature + 0.8 x body, each a difflib ratio over C tokens with the function's own name
replaced by a placeholder; a bag-of-tokens Dice coefficient ranks candidates cheaply first. A rename is
claimed when the best candidate scores at least RENAME_MIN_SCORE and leads the runner-up by RENAME_MIN_MARGIN.
Calibrated on 187 functions that survived 5.10->6.1 and 6.1->6.12 (mm/page_alloc.c, mm_init.c,
memory_hotplug.c, memremap.c, vmscan.c), each searched for as if renamed: 0.6/0.1 names the right function in
165, refuses 19, and the 3 others are bodies that moved into a new helper. Without the margin, near-twins
(unregister_shrinker vs free_prealloced_shrinker, 0.79 vs 0.72) were claimed wrongly; the true rename
memmap_init_zone -> memmap_init_range scores 0.99 against 0.45 for the runner-up.

When only the hunk is known (no pre-image blob), `hunk_similarity` stands in: half how well the @@ header's
signature matches the candidate's, half the share of the hunk's identifiers found in the candidate, each
weighted by how rare it is in the file (`pfn` is everywhere, `highest_memmap_pfn` not).
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter

from porter.cmodel import Definition, body_tokens, build_model

RENAME_MIN_SCORE = 0.6
RENAME_MIN_MARGIN = 0.1
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
C_KEYWORDS = frozenset("""auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef union unsigned void
volatile while bool true false NULL""".split())


class FunctionShape:
    """Token view of one function: signature tokens and body tokens, its own name replaced by a placeholder."""

    __slots__ = ("sig", "body", "bag", "size")

    def __init__(self, sig: list[str], body: list[str]):
        self.sig = sig
        self.body = body
        self.bag = Counter(body)
        self.size = len(body)

    @classmethod
    def from_definition(cls, src: bytes, d: Definition) -> "FunctionShape":
        body_at = d.body_start_byte if d.body_start_byte is not None else d.start_byte
        sig = src[d.start_byte:body_at].decode("utf-8", "replace")
        body = src[body_at:d.end_byte].decode("utf-8", "replace")
        return cls._make(sig, body, d.name)

    @classmethod
    def from_text(cls, text: str) -> "FunctionShape":
        data = text.encode("utf-8", "surrogateescape")
        funcs = build_model(data).functions()
        if funcs:
            d = max(funcs, key=lambda f: f.end_byte - f.start_byte)
            return cls.from_definition(data, d)
        return cls._make("", text, None)

    @classmethod
    def _make(cls, sig: str, body: str, name: str | None) -> "FunctionShape":
        def norm(toks):
            return ["$F" if t == name else t for t in toks]

        return cls(norm(body_tokens(sig)), norm(body_tokens(body)))

    def quick(self, other: "FunctionShape") -> float:
        """Dice over token multisets: cheap, order-insensitive (a first cut)."""
        if not self.size or not other.size:
            return 0.0
        common = sum((self.bag & other.bag).values())
        return 2.0 * common / (self.size + other.size)

    def score(self, other: "FunctionShape") -> float:
        ratio = difflib.SequenceMatcher
        body = ratio(None, self.body, other.body, autojunk=False).ratio() if self.body and other.body else 0.0
        sig = ratio(None, self.sig, other.sig, autojunk=False).ratio() if self.sig and other.sig else 0.0
        # the body carries most of the identity; the signature separates same-bodied wrappers
        return 0.2 * sig + 0.8 * body


def rank_functions(old_text: str, candidates, limit: int = 5) -> list[tuple[float, object, Definition]]:
    """`candidates`: (where, source bytes, Definition) triples. The `limit` most similar, best first, as
    (score, where, definition). Functions three times larger or smaller are skipped untokenized."""
    old = FunctionShape.from_text(old_text)
    old_len = max(len(old_text), 1)
    cut = []
    for where, src, d in candidates:
        if not old_len / 3 <= d.end_byte - d.start_byte <= old_len * 3:
            continue
        shape = FunctionShape.from_definition(src, d)
        cut.append((old.quick(shape), where, d, shape))
    cut.sort(key=lambda c: -c[0])
    scored = [(round(old.score(shape), 3), where, d) for _q, where, d, shape in cut[:max(limit * 2, 10)]]
    scored.sort(key=lambda s: (-s[0], str(s[1]), s[2].start_line))
    return scored[:limit]


def is_clear(ranked) -> bool:
    """The best candidate is a rename: high enough, and clearly ahead of the runner-up."""
    if not ranked:
        return False
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    return ranked[0][0] >= RENAME_MIN_SCORE and ranked[0][0] - runner_up >= RENAME_MIN_MARGIN


def identifiers(text: str) -> list[str]:
    return [t for t in IDENT_RE.findall(text) if t not in C_KEYWORDS]


def hunk_similarity(old_name: str, signature: str, hunk_lines: list[str], src: bytes,
                    funcs: list[Definition]) -> list[tuple[float, Definition]]:
    """Functions of one file ranked by how well they match what the hunk shows of the old function."""
    bodies = {id(d): src[d.start_byte:d.end_byte].decode("utf-8", "surrogateescape") for d in funcs}
    sig = [t for t in body_tokens(signature) if t != old_name]
    part = set(identifiers("\n".join(hunk_lines)))
    idents = {id(d): set(identifiers(bodies[id(d)])) for d in funcs}
    df = Counter(t for ids in idents.values() for t in ids & part)
    weight = {t: math.log((len(funcs) + 1) / (df[t] + 0.5)) for t in part}
    total = sum(weight.values()) or 1.0
    scored = []
    for d in funcs:
        cand = [t for t in body_tokens(d.signature) if t != d.name][:len(sig)]
        sig_score = difflib.SequenceMatcher(None, sig, cand, autojunk=False).ratio() if sig else 0.0
        body_score = sum(weight[t] for t in part & idents[id(d)]) / total
        scored.append((0.5 * sig_score + 0.5 * body_score, d))
    scored.sort(key=lambda x: -x[0])
    return scored


def claimed_by_other(src: bytes, cand: Definition, score: float, old_src: bytes, others: list[Definition]) -> str:
    """The name of a function of the pre-image file (other than the one looked for) that `cand` resembles at
    least as much as `score`: then `cand` is that function, renamed or not, and no rename of the old one.
    '' when none does. Cheap bag-of-tokens first; the full score only for near ones."""
    shape = FunctionShape.from_definition(src, cand)
    for d in others:
        other = FunctionShape.from_definition(old_src, d)
        if other.quick(shape) + RENAME_MIN_MARGIN < score:
            continue
        if other.score(shape) >= score:
            return d.name
    return ""

