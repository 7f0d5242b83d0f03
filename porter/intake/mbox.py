"""Splitting an input into mails the way `git mailsplit` does.

A message starts at a line that mailsplit's is_from_line() accepts: "From " followed by text whose last colon
has digits around it ("hh:mm:ss") and a year above 90 after it, as in "From <sha> Mon Sep 17 00:00:00 2001".
A commit-message paragraph that merely starts with "From " is not a separator. An input whose first line is
not such a line is one bare message (git am passes -b).

CR handling: mailsplit turns every CRLF into LF (git am without --keep-cr). porter does that when the mail's
own header lines end in CRLF (the transport converted the whole mail); when the headers end in LF, a CR
inside the body belongs to the patched file (a CRLF file's diff), and is kept — the result `git am --keep-cr`
and `git apply` give, where plain `git am` would fail to apply it.
"""

from __future__ import annotations

import re

from porter.intake.common import split_lines

_YEAR = re.compile(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)")


def is_from_line(line: bytes) -> bool:
    """git mailsplit's test for an mbox separator line (`line` includes its newline)."""
    if len(line) < 20 or not line.startswith(b"From "):
        return False
    colon = line.rfind(b":", 5, len(line) - 2)
    if colon < 0:
        return False

    def digit(k: int) -> bool:
        return 0 <= k < len(line) and line[k:k + 1].isdigit()

    if not all(digit(colon + d) for d in (-4, -2, -1, 1, 2)):
        return False
    year = _YEAR.match(line, colon + 3)
    return bool(year) and _after_90(year.group(1))


def _after_90(year: bytes) -> bool:
    """strtol(year) > 90 as git computes it: a huge year saturates (no int() of thousands of digits)."""
    if year.startswith(b"-"):
        return False
    digits = year.lstrip(b"+").lstrip(b"0")
    return len(digits) > 2 or (bool(digits) and int(digits) > 90)


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox, each starting with its From line; a bare input is one message."""
    start = len(data) - len(data.lstrip())
    lines = split_lines(data[start:])
    if not lines or not is_from_line(lines[0]):
        return [data[start:]]
    messages: list[list[bytes]] = []
    for line in lines:
        if is_from_line(line) or not messages:
            messages.append([])
        messages[-1].append(line)
    return [b"".join(m) for m in messages]


def strip_transport_cr(message: bytes) -> bytes:
    """CRLF -> LF on every line when the mail's first header line ends in CRLF (see module doc)."""
    lines = split_lines(message)
    first = next((ln for ln in lines if not is_from_line(ln)), b"")
    if not first.endswith(b"\r\n"):
        return message
    return b"".join(ln[:-2] + b"\n" if ln.endswith(b"\r\n") else ln for ln in lines)
