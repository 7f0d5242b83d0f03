"""Where the patch bytes come from: files, pipes and /dev/fd/N, stdin ('-'), and Maildir directories.

A Maildir is read as `git mailsplit` reads one: the files of cur/ then new/, hidden names skipped, ordered by
mailsplit's name comparison (runs of digits compare as numbers).
"""

from __future__ import annotations

import functools
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from porter.errors import PorterError


@dataclass
class Source:
    label: str  # as the user named it, for messages
    chunks: list[bytes]  # one entry per file read: the whole input, or each mail of a Maildir


CHUNK = 1 << 20
MAX_INPUT = 1 << 30  # a patch series, even a whole mbox of them, is far below this; /dev/zero is not


def read_input(source: str) -> bytes:
    """Bytes of a patch file, a pipe or /dev/fd/N, or stdin for '-'."""
    if source == "-":
        return _read_stream(sys.stdin.buffer, "standard input")
    kind = _kind(source)
    if kind == "dir":
        raise PorterError(f"{source}: is a directory, not a patch file or a Maildir (no cur/ or new/ in it)")
    return _read(source)


def read_source(source: str) -> Source:
    """One PATCH argument: a file-like input, or a Maildir's mails."""
    if source != "-" and _kind(source) == "dir":
        if not any(os.path.isdir(os.path.join(source, sub)) for sub in ("cur", "new")):
            raise PorterError(f"{source}: is a directory, not a patch file or a Maildir (no cur/ or new/ in it)")
        mails = [_read(os.path.join(source, name)) for name in maildir_names(source)]
        if not mails:
            raise PorterError(f"{source}: the Maildir holds no mail")
        return Source(source, mails)
    return Source(source, [read_input(source)])


def _kind(source: str) -> str:
    try:
        st = os.stat(source)
    except FileNotFoundError:
        raise PorterError(f"{source}: no such patch file, nor a git revision here") from None
    except OSError as exc:
        raise PorterError(f"{source}: cannot read the patch: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    return "file"  # regular file, FIFO (`<(...)`), character device: anything open() can read


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return _read_stream(fh, path)
    except OSError as exc:
        raise PorterError(f"{path}: cannot read the patch: {exc.strerror or exc}") from None


def _read_stream(fh, label: str) -> bytes:
    """Read in chunks and stop at the first NUL byte or past MAX_INPUT: a device or a stream that is no
    patch (/dev/zero, /dev/urandom, `yes`) gets one line, not all the memory there is."""
    chunks, size = [], 0
    while chunk := fh.read(CHUNK):
        if b"\0" in chunk:
            raise PorterError(f"{label}: binary data (NUL bytes), not a text patch")
        size += len(chunk)
        if size > MAX_INPUT:
            raise PorterError(f"{label}: more than {MAX_INPUT >> 20} MiB, not a patch porter reads")
        chunks.append(chunk)
    return b"".join(chunks)


def maildir_names(root: str) -> list[str]:
    """Paths of a Maildir's mails, relative to root, in git mailsplit's order."""
    names = []
    for sub in ("cur", "new"):
        d = Path(root) / sub
        if not d.is_dir():
            continue
        try:
            entries = os.listdir(d)
        except OSError as exc:
            raise PorterError(f"{d}: cannot read the Maildir: {exc.strerror}") from None
        names += [f"{sub}/{n}" for n in entries if not n.startswith(".")]
    return sorted(names, key=functools.cmp_to_key(maildir_cmp))


def _digit(c: str) -> bool:
    # ASCII only, as git's isdigit: str.isdigit() is true for '²', which int() then refuses.
    return "0" <= c <= "9"


def maildir_cmp(a: str, b: str) -> int:
    """mailsplit's maildir_filename_cmp: character order, but digit runs compare by their value."""
    i = j = 0
    while i < len(a) and j < len(b):
        if _digit(a[i]) and _digit(b[j]):
            ei, ej = i, j
            while ei < len(a) and _digit(a[ei]):
                ei += 1
            while ej < len(b) and _digit(b[ej]):
                ej += 1
            na, nb = int(a[i:ei]), int(b[j:ej])
            if na != nb:
                return -1 if na < nb else 1
            i, j = ei, ej
        else:
            if a[i] != b[j]:
                return -1 if a[i] < b[j] else 1
            i += 1
            j += 1
    rest_a, rest_b = len(a) - i, len(b) - j
    return (rest_a > 0) - (rest_b > 0)
