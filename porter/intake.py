"""Read a patch in any of the shapes kernel developers receive one, into porter.patch.Series.

Shapes: git format-patch mbox (one or many messages, cover letter skipped), a single mail, a plain `git diff`
or `diff -u` file, stdin, and a patch quoted in a reply (`> `, `> > `) whose whitespace the mailer mangled.
Anything we cannot read safely is a PorterError with one line saying why.
"""

from __future__ import annotations

import email
import email.policy
import re
import sys
from pathlib import Path

from porter.errors import PorterError
from porter.patch import Commit, FilePatch, Hunk, Line, Series
from porter.tree import check_relative_path

HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
MBOX_FROM_RE = re.compile(rb"^From \S+.*$", re.M)
PATCH_TAG_RE = re.compile(r"^\s*(?:(?:re|fwd?|aw):\s*)*\[([^\]]*)\]\s*", re.I)
NUMBER_RE = re.compile(r"(\d+)/(\d+)")
QUOTED_DIFF_RE = re.compile(r"^((?:\s*>)+)\s?(diff --git |--- a/|Index: )")
HEADER_LINE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*: ")


def read_input(source: str) -> bytes:
    """Bytes of the patch file, or of stdin for '-'."""
    if source == "-":
        return sys.stdin.buffer.read()
    p = Path(source)
    if not p.is_file():
        raise PorterError(f"{source}: no such patch file")
    return p.read_bytes()


def parse_series(data: bytes, source: str = "") -> Series:
    """Parse mbox / mail / plain diff bytes into a Series, or raise PorterError."""
    if not data.strip():
        raise PorterError(f"{source or 'input'}: empty patch")
    if b"\r\n" in data:
        raise PorterError(f"{source or 'input'}: CRLF line endings (a mail client rewrote the patch); "
                          "convert it with dos2unix first")
    if b"\0" in data:
        raise PorterError(f"{source or 'input'}: binary data (NUL bytes), not a text patch")
    series = Series(source=source)
    messages = _split_messages(data)
    cover_skipped = 0
    for idx, (headers, body) in enumerate(messages, 1):
        commit = _commit_from_message(headers, body, series, idx if len(messages) > 1 else 0)
        if commit is None:
            cover_skipped += 1
            continue
        series.commits.append(commit)
    if not series.commits:
        raise PorterError(f"{source or 'input'}: no diff found in the mail")
    if cover_skipped and len(messages) > 1:
        series.notes.append(f"skipped {cover_skipped} message(s) without a diff (cover letter)")
    if all(c.number for c in series.commits):
        series.commits.sort(key=lambda c: c.number[0])
    return series


# -- messages ---------------------------------------------------------------------------------------------

def _split_messages(data: bytes) -> list[tuple[dict, str]]:
    """[(headers, body text)] for an mbox, a single mail, or plain text (no headers)."""
    if data.startswith(b"From "):
        starts = [m.start() for m in MBOX_FROM_RE.finditer(data)
                  if m.start() == 0 or data[m.start() - 2:m.start()] == b"\n\n"]
        chunks = [data[s:e] for s, e in zip(starts, starts[1:] + [len(data)])]
        msgs = []
        for n, chunk in enumerate(chunks, 1):
            first_nl = chunk.find(b"\n")
            raw = chunk[first_nl + 1:]
            if not HEADER_LINE_RE.match(raw.decode("utf-8", "replace").split("\n", 1)[0]):
                raise PorterError(f"malformed mbox: message {n} has no mail headers after its 'From ' line")
            msgs.append(_parse_mail(raw, n))
        return msgs
    first = data.split(b"\n", 1)[0].decode("utf-8", "replace")
    if HEADER_LINE_RE.match(first) and b"\n\n" in data:
        head = data.split(b"\n\n", 1)[0]
        if re.search(rb"^(Subject|From): ", head, re.M) and all(HEADER_LINE_RE.match(ln) or ln[:1] in (" ", "\t")
               for ln in head.decode("utf-8", "replace").splitlines()):
            return [_parse_mail(data, 1)]
    return [({}, _decode(data, "input"))]


def _decode(raw: bytes, what: str, charset: str | None = None) -> str:
    try:
        return raw.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError) as exc:
        pos = getattr(exc, "start", 0)
        raise PorterError(f"{what}: not valid UTF-8 (byte {raw[pos:pos + 1]!r} at offset {pos}); "
                          "porter reads patches as UTF-8 text") from None


def _parse_mail(raw: bytes, n: int) -> tuple[dict, str]:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if msg.is_multipart():
        parts = [p for p in msg.walk() if p.get_content_maintype() == "text"]
        if not parts:
            raise PorterError(f"malformed mbox: message {n} has no text part")
        part = next((p for p in parts if p.get_content_subtype() in ("plain", "x-patch", "x-diff")), parts[0])
    else:
        part = msg
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = b""
    body = _decode(payload, f"message {n}", part.get_content_charset())
    headers = {k.lower(): _header_text(msg.get(k, "")) for k in ("From", "Date", "Subject")}
    return headers, body


def _header_text(value) -> str:
    parts = email.header.decode_header(str(value))
    text = "".join(p.decode(c or "utf-8", "replace") if isinstance(p, bytes) else p for p, c in parts)
    return " ".join(text.split())


def _split_subject(subject: str) -> tuple[str, tuple[int, int] | None]:
    number = None
    s = subject
    while True:
        m = PATCH_TAG_RE.match(s)
        if not m:
            break
        nm = NUMBER_RE.search(m.group(1))
        if nm and number is None:
            number = (int(nm.group(1)), int(nm.group(2)))
        s = s[m.end():]
    s = re.sub(r"^\s*(?:(?:re|fwd?|aw):\s*)+", "", s, flags=re.I)
    return s.strip(), number


# -- finding the diff inside a body -------------------------------------------------------------------------

def _unquote(lines: list[str], depth: int) -> list[str]:
    """Remove `depth` levels of '>' quoting (and one space after them)."""
    pat = re.compile(r"^(?:\s*>){%d} ?" % depth)
    return [pat.sub("", ln, count=1) for ln in lines]


def _quote_depth(line: str) -> int:
    m = re.match(r"^((?:\s*>)+)", line)
    return m.group(1).count(">") if m else 0


def _commit_from_message(headers: dict, body: str, series: Series, msg_no: int) -> Commit | None:
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    start = _find_diff_start(lines)
    quoted_depth = 0
    if start is None:
        for i, ln in enumerate(lines):
            m = QUOTED_DIFF_RE.match(ln)
            if m:
                quoted_depth = m.group(1).count(">")
                end = i
                while end < len(lines) and _quote_depth(lines[end]) >= quoted_depth:
                    end += 1
                begin = i
                while begin > 0 and _quote_depth(lines[begin - 1]) >= quoted_depth:
                    begin -= 1
                quoted = _unquote(lines[begin:end], quoted_depth)
                outer = lines[:begin]
                lines = quoted
                start = _find_diff_start(lines)
                break
    if start is None:
        if re.search(r"^(GIT binary patch|Binary files .* differ)$", body, re.M):
            raise PorterError("binary diff: porter ports text patches only")
        return None
    commit = Commit()
    subject = headers.get("subject", "")
    commit.author = headers.get("from", "")
    commit.date = headers.get("date", "")
    msg_lines = lines[:start]
    if quoted_depth:
        series.notes.append(f"recovered a patch quoted at depth {quoted_depth} ('{'> ' * quoted_depth}') "
                            "from a reply")
        # A quoted patch keeps its own author line; the reply's subject names the patch.
        if not subject:
            subject = next((ln for ln in outer if "[PATCH" in ln), "")
        for ln in outer:
            m = re.match(r"^(From|Date):\s*(.+)$", ln)
            if m and not headers.get(m.group(1).lower()):
                setattr(commit, "author" if m.group(1) == "From" else "date", m.group(2).strip())
        for ln in msg_lines:
            m = re.match(r"^From:\s*(.+)$", ln)
            if m:
                commit.author = m.group(1).strip()
        msg_lines = [ln for ln in msg_lines if not re.match(r"^From:\s", ln)]
    elif not subject and msg_lines and "[PATCH" in msg_lines[0]:
        subject = msg_lines[0]
    commit.subject, commit.number = _split_subject(subject)
    commit.message = _message_text(msg_lines)
    commit.files = parse_diff(lines[start:], series, label=f"message {msg_no}" if msg_no else "")
    if not commit.files:
        return None
    return commit


def _find_diff_start(lines: list[str]) -> int | None:
    for i, ln in enumerate(lines):
        if ln.startswith("diff --git ") or ln.startswith("Index: "):
            return i
        if ln.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            return i
    return None


def _message_text(lines: list[str]) -> str:
    """The commit message: text before the '---' separator, without the diffstat."""
    out = []
    for ln in lines:
        if ln.rstrip() == "---":
            break
        out.append(ln)
    return "\n".join(out).strip("\n")


# -- the diff itself --------------------------------------------------------------------------------------

def _strip_prefix(path: str) -> str | None:
    path = path.split("\t", 1)[0].strip()
    if path == "/dev/null":
        return None
    if path.startswith('"') and path.endswith('"'):
        path = path[1:-1]
    if path.startswith("/"):
        raise PorterError(f"path {path!r} in the patch is absolute")
    parts = path.split("/", 1)
    rel = parts[1] if len(parts) == 2 else parts[0]
    return check_relative_path(rel)


def parse_diff(lines: list[str], series: Series, label: str = "") -> list[FilePatch]:
    """Parse unified-diff lines into FilePatches. Tolerates mail damage and records what it repaired."""
    files: list[FilePatch] = []
    fp: FilePatch | None = None
    i = 0
    where = f"{label}: " if label else ""
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("diff --git "):
            m = re.match(r"^diff --git (\S+) (\S+)$", ln)
            if not m:
                raise PorterError(f"{where}malformed diff header: {ln[:80]}")
            fp = FilePatch(old_path=_strip_prefix(m.group(1)), new_path=_strip_prefix(m.group(2)))
            files.append(fp)
            i += 1
            continue
        if ln.startswith("GIT binary patch") or re.match(r"^Binary files .* differ$", ln):
            raise PorterError(f"{where}binary diff for {fp.path if fp else 'a file'}: "
                              "porter ports text patches only")
        if fp is not None and ln.startswith("index "):
            m = re.match(r"^index ([0-9a-f]+)\.\.([0-9a-f]+)(?: (\d+))?", ln)
            if m:
                fp.old_index, fp.new_index = m.group(1), m.group(2)
            i += 1
            continue
        if fp is not None and (ln.startswith("new file mode") or ln.startswith("deleted file mode")):
            if ln.startswith("new"):
                fp.old_path = None
                fp.new_mode = ln.split()[-1]
            else:
                fp.new_path = None
            i += 1
            continue
        if ln.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            old = _strip_prefix(ln[4:])
            new = _strip_prefix(lines[i + 1][4:])
            if fp is None or fp.hunks or (fp.path not in (old, new)):
                fp = FilePatch(old_path=old, new_path=new)
                files.append(fp)
            else:
                fp.old_path, fp.new_path = old, new
            i += 2
            continue
        if ln.startswith("@@"):
            if fp is None:
                raise PorterError(f"{where}hunk header before any file header: {ln[:80]}")
            hunk, i = _parse_hunk(lines, i, fp, series, where)
            fp.hunks.append(hunk)
            continue
        if ln.rstrip() == "--" or ln == "-- ":
            break  # mail signature after the last hunk
        i += 1
    for f in files:
        if not f.hunks and not (f.is_new or f.is_delete):
            raise PorterError(f"{where}{f.path}: file header without hunks (mode-only or rename-only "
                              "changes are not supported)")
    return files


def _parse_hunk(lines: list[str], i: int, fp: FilePatch, series: Series, where: str) -> tuple[Hunk, int]:
    m = HUNK_RE.match(lines[i])
    if not m:
        raise PorterError(f"{where}malformed hunk header in {fp.path}: {lines[i][:80]}")
    old_start, new_start = int(m.group(1)), int(m.group(3))
    old_len = int(m.group(2)) if m.group(2) is not None else 1
    new_len = int(m.group(4)) if m.group(4) is not None else 1
    hunk = Hunk(old_start, old_len, new_start, new_len, section=m.group(5).strip())
    i += 1
    old_seen = new_seen = 0
    while i < len(lines) and (old_seen < old_len or new_seen < new_len):
        ln = lines[i]
        if _starts_new_section(lines, i):
            break
        if ln.startswith("\\"):
            if hunk.lines:
                hunk.lines[-1].no_newline = True
            i += 1
            continue
        kind = ln[:1]
        if kind in ("+", "-") and not (kind == "-" and ln == "-- "):
            hunk.lines.append(Line(kind, ln[1:]))
        elif kind == " ":
            hunk.lines.append(Line(" ", ln[1:]))
        elif ln == "":
            hunk.lines.append(Line(" ", ""))  # a blank context line whose space the mailer dropped
        else:
            hunk.lines.append(Line(" ", ln))  # a context line whose leading space was stripped
            hunk.mangled = True
        if hunk.lines[-1].kind in " -":
            old_seen += 1
        if hunk.lines[-1].kind in " +":
            new_seen += 1
        i += 1
    if i < len(lines) and lines[i].startswith("\\") and hunk.lines:
        hunk.lines[-1].no_newline = True
        i += 1
    if (old_seen, new_seen) == (old_len, new_len) and i < len(lines) and lines[i][:1] in ("+", "-") \
            and not _starts_new_section(lines, i) and not lines[i].startswith("-- "):
        raise PorterError(f"{where}malformed hunk in {fp.path}: {hunk.header()} counts do not match its lines")
    if not hunk.lines:
        raise PorterError(f"{where}empty hunk in {fp.path}: {hunk.header()}")
    if old_seen != old_len or new_seen != new_len:
        if old_seen > old_len or new_seen > new_len:
            raise PorterError(f"{where}malformed hunk in {fp.path}: {hunk.header()} counts do not match its lines")
        series.notes.append(
            f"{fp.path}: hunk {hunk.header().split(' @@')[0]} @@ is truncated (header promises "
            f"-{old_len},+{new_len} lines, the mail holds -{old_seen},+{new_seen}); counts recomputed")
        # Drop trailing blank context the truncation may have left: it carries no position information.
        hunk.truncated = True
        hunk.old_len, hunk.new_len = old_seen, new_seen
    if not hunk.mangled and fp.path.endswith((".c", ".h")) and \
            any(ln.text.startswith("        ") for ln in hunk.lines) and \
            not any("\t" in ln.text for ln in hunk.lines):
        hunk.mangled = True  # tabs turned to spaces (C only: Kconfig and docs indent with spaces)
    if hunk.mangled and not any("whitespace-mangled" in n for n in series.notes):
        series.notes.append("whitespace-mangled mail (indentation lost): matched whitespace-insensitively, "
                            "added lines re-indented to the target")
    return hunk, i


def _starts_new_section(lines: list[str], i: int) -> bool:
    ln = lines[i]
    if ln.startswith("diff --git ") or ln.startswith("@@ ") or ln.startswith("Index: "):
        return True
    if ln == "-- ":
        return True
    return ln.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")
