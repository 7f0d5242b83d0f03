"""Context diffs (`diff -c`) into the unified Hunk model, as GNU patch reads them.

    *** a/file.c	<date>            old name
    --- b/file.c	<date>            new name
    ***************
    *** 10,14 ****                   old range; lines "  " context, "- " removed, "! " changed
    --- 10,15 ----                   new range; lines "  " context, "+ " added, "! " changed

A side with nothing but context may be left out (its lines are the other side's context). Changed runs
("!") become the old run removed, then the new run added. Counts are taken from the lines and checked
against the ranges.
"""

from __future__ import annotations

import re

from porter.intake.common import MAX_LINE_NUMBER, Corrupt
from porter.intake.hunks import HunkReading
from porter.intake.names import has_epoch_timestamp, header_name, is_dev_null
from porter.patch import FilePatch, Hunk, Line

STARS = "***************"
OLD_RANGE = re.compile(r"^\*\*\* (\d+)(?:,(\d+))? \*\*\*\*\s*$")
NEW_RANGE = re.compile(r"^--- (\d+)(?:,(\d+))? ----\s*$")
_ITEM = re.compile(r"^([ \-+!]) (.*)$", re.DOTALL)


def header_at(lines: list[str], i: int) -> bool:
    return lines[i].startswith("*** ") and not OLD_RANGE.match(lines[i]) and i + 2 < len(lines) \
        and lines[i + 1].startswith("--- ") and lines[i + 2].startswith(STARS)


def parse_file(lines: list[str], i: int, strip: int, reading: HunkReading) -> tuple[FilePatch, int]:
    old_null, new_null = is_dev_null(lines[i][4:]), is_dev_null(lines[i + 1][4:])
    old = None if old_null else header_name(lines[i][4:], strip)
    new = None if new_null else header_name(lines[i + 1][4:], strip)
    if old is not None and new is not None:
        old = new = old if len(old) < len(new) and new.startswith(old) else new
        if has_epoch_timestamp(lines[i][4:]):
            old = None  # diff -N: a file that did not exist
        elif has_epoch_timestamp(lines[i + 1][4:]):
            new = None
    fp = FilePatch(old_path=old, new_path=new)
    i += 2
    while i < len(lines) and lines[i].startswith(STARS):
        hunk, i = parse_hunk(lines, i, fp.path)
        fp.hunks.append(hunk)
    return fp, i


def is_hunk_start(lines: list[str], i: int) -> bool:
    return lines[i].startswith(STARS) and i + 1 < len(lines) and bool(OLD_RANGE.match(lines[i + 1]))


def parse_hunk(lines: list[str], i: int, path: str) -> tuple[Hunk, int]:
    """The hunk at the `***************` line lines[i]; (hunk, index after it)."""
    start = i
    m = OLD_RANGE.match(lines[i + 1]) if i + 1 < len(lines) else None
    if not m:
        raise Corrupt(f"{path}: context hunk without its '*** a,b ****' range", i + 1)
    old_range = _range(m, i + 1)
    i += 2
    old, i = _section(lines, i, " -!", lambda ln: bool(NEW_RANGE.match(ln)))
    if i >= len(lines):
        raise Corrupt(f"{path}: context hunk without its '--- c,d ----' range", i)
    new_range = _range(NEW_RANGE.match(lines[i]), i)
    i += 1
    new, i = _section(lines, i, " +!", lambda ln: ln.startswith(STARS), limit=_count(new_range))
    hunk = Hunk(0, 0, 0, 0, lines=_merge(old, new, path, start))
    hunk.old_len, hunk.new_len = len(hunk.old_lines), len(hunk.new_lines)
    for (first, last, single), count, side in ((old_range, hunk.old_len, "old"), (new_range, hunk.new_len, "new")):
        expected = _count((first, last, single))
        if count != expected and not (single and count == 0):
            raise Corrupt(f"{path}: context hunk's {side} range {first},{last} does not match its {count} lines",
                          start)
    hunk.old_start, hunk.new_start = old_range[0], new_range[0]
    if not any(ln.kind != " " for ln in hunk.lines):
        raise Corrupt(f"{path}: context hunk changes nothing", start)
    return hunk, i


def _range(m: re.Match, i: int) -> tuple[int, int, bool]:
    if any(len(g or "") > 10 for g in m.groups()):
        raise Corrupt("context hunk range number too large", i)
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) is not None else first
    if max(first, last) > MAX_LINE_NUMBER or last < first - 1:
        raise Corrupt(f"bad context hunk range {m.group(0).strip()!r}", i)
    return first, last, m.group(2) is None


def _count(rng: tuple[int, int, bool]) -> int:
    first, last, single = rng
    if single:
        return 0 if first == 0 else 1
    return last - first + 1


def _section(lines, i, tags, stop, limit=None) -> tuple[list[Line], int]:
    out: list[Line] = []
    while i < len(lines) and not stop(lines[i]) and (limit is None or sum(1 for ln in out) < limit):
        ln = lines[i]
        if ln.startswith("\\ ") and out:
            out[-1].no_newline = True
            i += 1
            continue
        m = _ITEM.match(ln)
        if m and m.group(1) in tags:
            out.append(Line(m.group(1), m.group(2)))
        elif ln in ("", " ", "  "):
            out.append(Line(" ", ""))  # blank context line whose trailing spaces were trimmed
        elif limit is not None:
            break  # the new side ended (or was left out): the next file or hunk follows
        else:
            raise Corrupt(f"line {ln[:40]!r} in a context hunk", i)
        i += 1
    if i < len(lines) and lines[i].startswith("\\ ") and out:
        out[-1].no_newline = True
        i += 1
    return out, i


def _merge(old: list[Line], new: list[Line], path: str, at: int) -> list[Line]:
    if not old:
        old = [Line(" ", ln.text, ln.no_newline) for ln in new if ln.kind == " "]
    if not new:
        new = [Line(" ", ln.text, ln.no_newline) for ln in old if ln.kind == " "]
    out: list[Line] = []
    a = b = 0
    while a < len(old) or b < len(new):
        if a < len(old) and old[a].kind == "-":
            out.append(old[a])
            a += 1
        elif b < len(new) and new[b].kind == "+":
            out.append(new[b])
            b += 1
        elif a < len(old) and old[a].kind == "!":
            while a < len(old) and old[a].kind == "!":
                out.append(Line("-", old[a].text, old[a].no_newline))
                a += 1
            while b < len(new) and new[b].kind == "!":
                out.append(Line("+", new[b].text, new[b].no_newline))
                b += 1
        elif a < len(old) and b < len(new) and old[a].kind == new[b].kind == " " and old[a].text == new[b].text:
            out.append(Line(" ", old[a].text, old[a].no_newline or new[b].no_newline))
            a += 1
            b += 1
        else:
            raise Corrupt(f"{path}: the two sides of a context hunk do not line up", at)
    return out
