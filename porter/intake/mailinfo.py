"""git mailinfo's reading of a mail body, on porter's Mail: in-body headers, scissors, where the patch starts,
the subject's [PATCH ...] prefix and the author.

- In-body headers: at the top of the body (blank lines before them skipped), `From:`, `Subject:`, `Date:`
  lines (with continuation lines) override the mail's own headers — the author of a forwarded patch. A blank
  line ends them. `[PATCH] subject` on the first line is a Subject.
- Scissors: with `scissors` (`porter apply --scissors`, as `git am --scissors`), a `-- >8 --` line (git's
  is_scissors_line) discards the message read so far, and in-body headers may follow it again. Without it,
  as plain `git am`, the line is part of the message: a commit may document scissors, and the author in an
  in-body `From:` above such a line must not be lost.
- The patch starts at git's patchbreak: a line starting `diff -`, `Index: `, `--- <name>`, or `---` alone.
  Everything before is the message (decoded with the part's charset); from there on lines stay bytes.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass, field

from porter.intake.headers import HeaderError, decode_value
from porter.intake.mail import BodyLine, Mail, MailError

INBODY = ("from", "subject", "date")
_FORMAT_PATCH_SEP = re.compile(rb"^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001\n$")
_SPACE = b" \t\n\v\f\r"


@dataclass
class Info:
    headers: dict[str, str] = field(default_factory=dict)  # mail headers, in-body ones applied
    message: list[str] = field(default_factory=list)  # log message lines (decoded)
    message_raw: list[BodyLine] = field(default_factory=list)  # the same lines as read (for quoted patches)
    patch: list[BodyLine] = field(default_factory=list)  # from the patchbreak on
    scissors: bool = False  # a scissors line cut the message


def read_body(mail: Mail, scissors: bool = False) -> Info:
    info = Info()
    state = _State(scissors)
    for bl in mail.lines:
        if info.patch:
            info.patch.append(bl)
            continue
        line = bl.raw
        if state.header_stage:
            if line in (b"", b"\n"):
                if state.accum:
                    state.flush(bl.charset)
                    state.header_stage = False
                continue
            state.header_stage = state.check_inbody(bl)
            if state.header_stage:
                continue
        text = decode_text(line, bl.charset)
        if scissors and is_scissors_line(line):
            info.message, info.message_raw = [], []
            info.scissors = True
            state.header_stage = True
            state.inbody = {}
            continue
        if patchbreak(line):
            info.patch.append(bl)
            continue
        info.message.append(text)
        info.message_raw.append(bl)
    state.flush(None)
    info.headers = dict(mail.headers)
    if info.patch:
        info.headers.update(state.inbody)
    return info


class _State:
    def __init__(self, scissors: bool = False):
        self.scissors = scissors
        self.header_stage = True
        self.accum: bytes = b""
        self.inbody: dict[str, str] = {}

    def check_inbody(self, bl: BodyLine) -> bool:
        line = bl.raw
        if self.accum and line[:1] in (b" ", b"\t"):
            if self.scissors and is_scissors_line(line):
                self.flush(bl.charset)
                return False
            self.accum = self.accum.rstrip(b"\n") + line
            return True
        self.flush(bl.charset)
        if line.startswith(b">From") and line[5:6] in (b" ", b"\t"):
            return bool(_FORMAT_PATCH_SEP.match(line[1:]))
        if line.startswith(b"[PATCH]") and line[7:8] and line[7:8] in _SPACE:
            self.inbody["subject"] = _header_text(line, bl.charset).strip()
            return True
        if self._inbody_header(line):
            self.accum = line
            return True
        return False

    def _inbody_header(self, line: bytes) -> bool:
        for name in INBODY:
            n = len(name)
            if name not in self.inbody and line[:n].lower() == name.encode() and line[n:n + 1] == b":" \
                    and line[n + 1:n + 2] and line[n + 1:n + 2] in _SPACE:
                return True
        return False

    def flush(self, charset: str | None) -> None:
        if not self.accum:
            return
        name, value = _header_text(self.accum, charset).split(":", 1)
        try:
            self.inbody[name.lower()] = decode_value(value.strip())
        except HeaderError as exc:
            raise MailError(f"in-body {name} line: {exc}") from None
        self.accum = b""


def _header_text(raw: bytes, charset: str | None) -> str:
    """An in-body header line: mailinfo reads it before converting the message's charset, so its bytes
    are taken as UTF-8 (a Latin-1 mail's in-body `From: Jörg` written in UTF-8 stays Jörg); only bytes that
    are not UTF-8 are decoded with the part's charset."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return decode_text(raw, charset)


def decode_text(raw: bytes, charset: str | None) -> str:
    """Message text: decoded by its part's charset (mailinfo converts it to UTF-8); no charset: UTF-8."""
    try:
        return raw.decode(charset or "utf-8")
    except UnicodeDecodeError as exc:
        raise MailError(f"message text is not valid {charset or 'UTF-8'} (byte 0x{raw[exc.start]:02x} in "
                        f"{raw[:60].decode('ascii', 'backslashreplace').strip()!r})") from None


def patchbreak(line: bytes) -> bool:
    if line.startswith((b"diff -", b"Index: ")):
        return True
    if len(line) < 4 or not line.startswith(b"---"):
        return False
    if line[3:4] == b" " and line[4:5] not in (b"", *[bytes([c]) for c in _SPACE]):
        return True
    rest = line[3:]
    return rest.strip(_SPACE) == b"" and rest.endswith(b"\n")


def is_scissors_line(line: bytes) -> bool:
    """git's is_scissors_line: a perforation of dashes with >8 / 8< (or >% / %<), at least 8 wide, filling
    over a third of the line, dashes and scissors over half of the perforation."""
    scissors = gap = perforation = 0
    in_perforation = False
    first = last = None
    i = 0
    while i < len(line):
        c = line[i:i + 1]
        if c in _SPACE:
            if in_perforation:
                perforation += 1
                gap += 1
            i += 1
            continue
        last = i
        if first is None:
            first = i
        if c == b"-":
            in_perforation = True
            perforation += 1
        elif line[i:i + 2] in (b">8", b"8<", b">%", b"%<"):
            in_perforation = True
            perforation += 2
            scissors += 2
            i += 1
        else:
            in_perforation = False
        i += 1
    visible = (last - first + 1) if first is not None else 0
    return bool(scissors) and visible >= 8 and visible < perforation * 3 and gap * 2 < perforation


def cleanup_subject(subject: str) -> tuple[str, list[str]]:
    """mailinfo's cleanup_subject: drop leading `Re:`, blanks, colons and every [...] group; the groups
    dropped are returned so the [PATCH v3 2/5] prefix can be kept."""
    removed = []
    s = subject
    while s:
        c = s[0]
        if c in "rR" and len(s) > 3 and s[1] in "eE" and s[2] == ":":
            s = s[3:]
        elif c in " \t:":
            s = s[1:]
        elif c == "[" and "]" in s:
            end = s.index("]") + 1
            removed.append(s[:end])
            s = s[end:]
        else:
            break
    return " ".join(s.split()), removed


def author(value: str) -> str:
    """'Name <email>' from a From value, with mailinfo's fallbacks (no usable name: the address); a name
    with address specials (`Lee, Chun-Yi`) is quoted."""
    # git's cleanup_space: every whitespace run (a decoded =0A too) is one space; a newline in the decoded
    # name otherwise cut it, and the author became the text after it.
    value = re.sub(r"[ \t\n\v\f\r]+", " ", value)
    m = re.search(r"<([^<>]*@[^<>]*)>\s*$", value)
    if m and ":" in value[:m.start()] and '"' not in value[:m.start()]:
        # parseaddr reads "Team: Bob <b@x>" as an RFC 822 group and keeps only "Bob"; git keeps it all.
        name, addr = value[:m.start()].strip(), m.group(1)
    else:
        name, addr = email.utils.parseaddr(value)
    if not addr or "@" not in addr or " " in addr.strip():
        m = re.search(r"<([^>]*)>", value)
        bare = re.search(r"(?:^|\s)(\S+@\S+)(?:\s|$)", value)
        if not m and bare:
            # git's handle_from: an address without <>, the rest of the line is the name.
            addr = bare.group(1).strip("()")
            name = (value[:bare.start(1)] + value[bare.end(1):]).strip(" ()")
        elif not m:
            return value.strip()
        else:
            name, addr = value[:m.start()].strip(), m.group(1)
    name = " ".join(name.split())
    if not name or len(name) > 60 or any(ch in name for ch in "@<>"):
        name = addr
    if any(ch in name for ch in ',;:"()[]\\<>@'):
        # Quoted, so that the author string parses back to the same name (email.utils.parseaddr).
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{addr}>"
