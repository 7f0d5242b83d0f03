"""Shared pieces of intake: the options a user gives, byte/line helpers, and how a problem is reported."""

from __future__ import annotations

from dataclasses import dataclass

from porter.errors import PorterError

# Hunk header numbers beyond this are not line numbers of any real file (git reads them with strtoul and
# overflows); refusing them keeps a 5,000-digit number from becoming a traceback or a huge allocation.
MAX_LINE_NUMBER = 10**9


@dataclass(frozen=True)
class Options:
    """How to read the diff: `strip` is patch's -pN (None: guess — 1 for `a/` `b/` names, 0 for slash-less
    traditional names as git guesses, else `default_strip`: 1, or 0 for a `.rej`, whose names patch(1) wrote
    already stripped); `file` names the target of bare hunks (a `.rej` or hunks without a file header)."""

    strip: int | None = None
    file: str | None = None
    default_strip: int = 1
    scissors: bool = False  # honour a `-- >8 --` line in a mail, as `git am --scissors` (git's default: not)


DEFAULT_OPTIONS = Options()


class Corrupt(Exception):
    """A structural problem at a line of the diff; parse_diff turns it into one PorterError line."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def shown(text: str, limit: int = 80) -> str:
    """Text safe to print in a one-line error: undecodable bytes as \\xNN, cut to `limit` characters."""
    safe = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    safe = safe.replace("\r", "\\r").replace("\n", "\\n")
    return safe if len(safe) <= limit else safe[:limit - 3] + "..."


def split_lines(data: bytes) -> list[bytes]:
    """Lines with their b'\\n' kept; only LF ends a line (a CR is content, as in git)."""
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def as_text(raw: bytes) -> str:
    """Diff bytes as str that encodes back to the same bytes (utf-8, surrogateescape): never re-decoded
    through a mail's charset."""
    return raw.decode("utf-8", "surrogateescape")


def fail(where: str, message: str) -> PorterError:
    return PorterError(f"{where}: {message}" if where else message)
