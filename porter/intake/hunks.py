"""Unified hunks: `@@ -a,b +c,d @@ section` and the lines under it, into porter.patch.Hunk.

Strict (the default, git apply's parse_fragment): every line starts with ' ', '-', '+', '\\' (the "No newline
at end of file" marker) or is empty (a blank context line); the lines must add up to the header's counts —
fewer (cut short) or more are a corrupt patch, refused with the line number.

Tolerant (only for a patch recovered from a quoted reply, where mail damage is evident): a context line whose
leading space was lost is taken as context and the hunk marked mangled; a hunk that ends early (the reviewer
stopped quoting) is recounted and noted. A tab-less C hunk indented with spaces is marked mangled in both
modes (the mailer turned tabs into spaces).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from porter.intake.common import MAX_LINE_NUMBER, Corrupt
from porter.patch import Hunk, Line

HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")


@dataclass
class HunkReading:
    """What reading hunks found beyond the model: notes for the series (truncation, mangling)."""

    tolerant: bool = False
    notes: list[str] = field(default_factory=list)


def parse_header(line: str) -> Hunk:
    m = HUNK_RE.match(line.rstrip("\r"))
    if not m:
        raise Corrupt(f"malformed hunk header {line[:60]!r}")
    if any(len(g or "") > 10 for g in m.group(1, 2, 3, 4)):
        raise Corrupt(f"hunk header number too large in {line[:40]!r}...")
    numbers = [int(g) if g is not None else 1 for g in m.group(1, 2, 3, 4)]
    if max(numbers) > MAX_LINE_NUMBER:
        raise Corrupt(f"hunk header number too large in {line[:40]!r}")
    return Hunk(numbers[0], numbers[1], numbers[2], numbers[3], section=m.group(5).strip())


def is_hunk_start(line: str) -> bool:
    return line.startswith("@@ -") and bool(HUNK_RE.match(line.rstrip("\r")))


def parse_hunk(lines: list[str], i: int, path: str, reading: HunkReading) -> tuple[Hunk, int]:
    """The hunk whose header is lines[i]; (hunk, index of the first line after it)."""
    hunk = parse_header(lines[i])
    header_line = i
    i += 1
    old_seen = new_seen = 0
    while i < len(lines) and (old_seen < hunk.old_len or new_seen < hunk.new_len):
        ln = lines[i]
        if ln.startswith("\\"):
            _mark_no_newline(hunk, ln, i)
            i += 1
            continue
        kind = ln[:1]
        if kind in (" ", "-", "+"):
            line = Line(kind, ln[1:])
        elif ln == "":
            line = Line(" ", "")  # a blank context line (newer GNU diff, or a mailer ate the space)
        elif reading.tolerant and not starts_section(lines, i):
            line = Line(" ", ln)  # a context line whose leading space a mailer stripped
            hunk.mangled = True
        else:
            break
        if reading.tolerant and starts_section(lines, i):
            break
        hunk.lines.append(line)
        old_seen += kind != "+"
        new_seen += kind != "-"
        i += 1
    if i < len(lines) and lines[i].startswith("\\"):
        _mark_no_newline(hunk, lines[i], i)
        i += 1
    if old_seen > hunk.old_len or new_seen > hunk.new_len:
        raise Corrupt(f"{path}: hunk {hunk.header()} holds more lines than its header counts", header_line)
    if (old_seen, new_seen) != (hunk.old_len, hunk.new_len):
        if not reading.tolerant or not hunk.lines:
            raise Corrupt(f"{path}: hunk {_short(hunk)} promises -{hunk.old_len},+{hunk.new_len} lines, the patch "
                          f"holds -{old_seen},+{new_seen}", i)
        reading.notes.append(f"{path}: hunk {_short(hunk)} is truncated (header promises -{hunk.old_len},"
                             f"+{hunk.new_len} lines, the mail holds -{old_seen},+{new_seen}); counts recomputed")
        hunk.truncated = True
        hunk.old_len, hunk.new_len = old_seen, new_seen
    elif i < len(lines) and lines[i][:1] in ("+", "-", " ") and not starts_section(lines, i) \
            and lines[i] != "-- ":
        raise Corrupt(f"{path}: hunk {hunk.header()} holds more lines than its header counts", i)
    if not any(ln.kind != " " for ln in hunk.lines):
        raise Corrupt(f"{path}: hunk {_short(hunk)} changes nothing", header_line)
    _check_no_newline_last(hunk, path, header_line)
    _check_indentation(hunk, path)
    return hunk, i


def _short(hunk: Hunk) -> str:
    return hunk.header().split(" @@")[0] + " @@"


def _mark_no_newline(hunk: Hunk, text: str, i: int) -> None:
    """`\\ No newline at end of file` belongs to the line just before it (that side's last line)."""
    if not hunk.lines or len(text) < 11 or not text.startswith("\\ "):
        raise Corrupt(f"stray {text[:40]!r}", i)
    hunk.lines[-1].no_newline = True


def _check_no_newline_last(hunk: Hunk, path: str, at: int) -> None:
    """`\\ No newline at end of file` can only follow the last line of its side (old: ' ' and '-', new: ' ' and
    '+'); a line after it on the same side contradicts it (git apply refuses such a hunk too)."""
    for kinds in (" -", " +"):
        side = [ln for ln in hunk.lines if ln.kind in kinds]
        if any(ln.no_newline for ln in side[:-1]):
            raise Corrupt(f"{path}: hunk {_short(hunk)} has lines after '\\ No newline at end of file'", at)


def _check_indentation(hunk: Hunk, path: str) -> None:
    if not hunk.mangled and path.endswith((".c", ".h")) and \
            any(ln.text.startswith("        ") for ln in hunk.lines) and \
            not any("\t" in ln.text for ln in hunk.lines):
        hunk.mangled = True  # tabs turned to spaces (C only: Kconfig and docs indent with spaces)


def starts_section(lines: list[str], i: int) -> bool:
    """A line that begins something else than a hunk line: a file header, a hunk header, a signature."""
    ln = lines[i]
    if ln.startswith(("diff --git ", "Index: ")) or is_hunk_start(ln) or ln == "-- ":
        return True
    return ln.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")
