"""File names in diff headers, read as git apply reads them.

- C-quoted names ("a/foo\\tbar.c", octal escapes for non-ASCII bytes) are unquoted to their bytes.
- `diff --git a/x b/x` with unquoted names that contain spaces: git accepts the split where the two halves,
  after their first N components are stripped, are the same name (git_header_name); when they differ (a
  rename), the names come from `rename from/to` or `---/+++` lines instead.
- `---`/`+++` names end at a TAB (the timestamp of `diff -u`), spaces belong to the name; a traditional
  `--- name 2024-01-01 10:00:00.000000000 +0000` loses its timestamp.
- `-pN` strips N leading components like patch(1): a name with fewer components is refused.
"""

from __future__ import annotations

import re

from porter.intake.common import Corrupt

_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
_TIMESTAMP = re.compile(r"\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [+-]\d{4})?\s*$"
                        r"|\s+\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}(?: [+-]\d{4})?\s*$")
DEV_NULL = "/dev/null"


def unquote_c(text: str, start: int = 0) -> tuple[str, int]:
    """git's C-quoted name starting at text[start] == '"': (name, index after the closing quote)."""
    out = bytearray()
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return out.decode("utf-8", "surrogateescape"), i + 1
        if c == "\\":
            nxt = text[i + 1:i + 2]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            octal = text[i + 1:i + 4]
            if re.fullmatch(r"[0-3][0-7][0-7]", octal):
                out.append(int(octal, 8))
                i += 4
                continue
            raise Corrupt(f"bad escape in quoted file name {text[start:i + 2]!r}")
        out += c.encode("utf-8", "surrogateescape")
        i += 1
    raise Corrupt(f"unterminated quoted file name {text[start:]!r}")


_QUOTE = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\"}


def quote_c(name: str) -> str:
    """A name as git writes it in a diff (quote_c_style with core.quotePath): as is, unless it holds a quote,
    a backslash, a control character or a non-ASCII byte; then in double quotes with C escapes and octal bytes.
    The inverse of unquote_c: a name written raw with a tab or a newline reads back as another file."""
    data = name.encode("utf-8", "surrogateescape")
    if not any(b < 0x20 or b >= 0x7f or b in (34, 92) for b in data):
        return name
    body = "".join(_QUOTE.get(b) or (f"\\{b:03o}" if b < 0x20 or b >= 0x7f else chr(b)) for b in data)
    return f'"{body}"'


def skip_components(strip: int, name: str) -> str | None:
    """git's skip_tree_prefix: the name after its first `strip` components, None when it has too few."""
    if strip == 0:
        return None if name.startswith("/") else name
    parts = name.split("/")
    if len(parts) <= strip or any(p == "" for p in parts[:1]):
        return None
    return "/".join(parts[strip:])


def git_header_names(strip: int, rest: str) -> str | None:
    """The one name a `diff --git` line gives when both sides name the same file, else None."""
    rest = rest.rstrip("\r")
    if rest.startswith('"'):
        first, end = unquote_c(rest)
        first = skip_components(strip, first)
        second = rest[end:].lstrip(" \t")
        if first is None or not second:
            return None
        if second.startswith('"'):
            second = unquote_c(second)[0]
        second = skip_components(strip, second)
        return first if second == first else None
    name = skip_components(strip, rest)
    if name is None:
        return None
    quote = name.find('"')
    if quote >= 0:
        other = skip_components(strip, unquote_c(name, quote)[0])
        if other is not None and name.startswith(other) and name[len(other):len(other) + 1] in (" ", "\t"):
            return other
        return None
    for i, ch in enumerate(name):
        if ch in " \t":
            second = skip_components(strip, name[i + 1:])
            if second is not None and second == name[:i]:
                return second
    return None


def header_name(text: str, strip: int, terminate_at_tab: bool = True) -> str | None:
    """A `---`/`+++`/`rename from` name: None for /dev/null; `strip` components removed."""
    text = text.rstrip("\r\n")
    if text.startswith('"'):
        name = unquote_c(text)[0]
    else:
        if terminate_at_tab and "\t" in text:
            # git ends the name at a TAB and writes one after a name that ends in a space: keep the space
            name = text.split("\t", 1)[0]
        else:
            name = _TIMESTAMP.sub("", text).rstrip(" ") if terminate_at_tab else text
    if name == DEV_NULL:
        return None
    if name.startswith("/"):
        raise Corrupt(f"path {name!r} in the patch is absolute")
    stripped = skip_components(strip, name)
    if stripped is None or stripped == "":
        raise Corrupt(f"file name {name!r} has fewer than {strip} leading component(s) to strip (-p{strip})")
    return stripped


# ISO (`diff -u`, and `diff -c` outside the POSIX locale) or ctime (`diff -c` in the C/POSIX locale, where
# LC_TIME asks for the traditional format): the epoch in UTC, or an hour off it in a local time zone.
_EPOCH = re.compile(r"\s(?:(?:1970-01-01 00:00:00|1969-12-31 \d\d:00:00)(?:\.0+)?(?: [+-]\d{4})?"
                    r"|[A-Z][a-z]{2} (?:Jan  1 \d\d:00:00 1970|Dec 31 \d\d:00:00 1969))\s*$")


def has_epoch_timestamp(text: str) -> bool:
    """`diff -N` marks a missing side with the epoch as its date (git apply: a new or deleted file)."""
    return bool(_EPOCH.search(text.rstrip("\r\n")))


def is_dev_null(text: str) -> bool:
    return text.rstrip("\r\n").split("\t", 1)[0].rstrip(" ") == DEV_NULL
