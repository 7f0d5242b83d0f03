"""One mail taken apart: its headers (decoded strictly) and the lines of its body parts, transfer encoding
(base64, quoted-printable) undone but never decoded through a charset — the charset stays beside each line
so the message text can be decoded with it while the diff keeps its bytes (as `git mailinfo` writes the
patch). Python's email package finds the MIME structure; mailinfo.py applies git's body semantics.

Parts read, in document order: every text/* leaf but HTML (from a multipart/alternative only the plain
text), and attachments of any type named *.patch or *.diff (application/octet-stream). A mail that is not
multipart is read whatever its type, as mailinfo does.
"""

from __future__ import annotations

import codecs
import email
import email.errors
import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message

from porter.intake.common import split_lines
from porter.intake.headers import HeaderError, decode_value
from porter.intake.mbox import is_from_line

WANTED_HEADERS = ("from", "subject", "date", "message-id")
_HEADER_NAME = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")
_PATCH_NAME = re.compile(r"\.(patch|diff)$", re.IGNORECASE)
_BASE64_DEFECTS = (email.errors.InvalidBase64PaddingDefect, email.errors.InvalidBase64CharactersDefect,
                   email.errors.InvalidBase64LengthDefect)


@dataclass
class BodyLine:
    raw: bytes  # newline kept
    charset: str | None  # the part's declared charset
    flowed: bool = False  # the part is format=flowed


@dataclass
class Mail:
    headers: dict[str, str] = field(default_factory=dict)
    lines: list[BodyLine] = field(default_factory=list)


class MailError(ValueError):
    pass


def looks_like_mail(chunk: bytes) -> bool:
    """An mbox message, or a bare mail: its first block is all header lines and names From or Subject."""
    lines = split_lines(chunk)
    if lines and is_from_line(lines[0]):
        return True
    block = []
    for ln in lines:
        if ln.strip() == b"":
            break
        block.append(ln)
    if not block or not _HEADER_NAME.match(block[0]):
        return False
    if not all(_HEADER_NAME.match(ln) or ln[:1] in (b" ", b"\t") for ln in block):
        return False
    return any(re.match(rb"(?i)(from|subject):", ln) for ln in block)


def parse_mail(chunk: bytes) -> Mail:
    msg = email.message_from_bytes(chunk, policy=email.policy.default)
    mail = Mail()
    for name, value in msg.raw_items():
        key = name.lower()
        if key in WANTED_HEADERS:  # the last one wins, as in mailinfo
            try:
                mail.headers[key] = decode_value(value)
            except HeaderError as exc:
                raise MailError(f"{name} header: {exc}") from None
    for part in _parts(msg):
        mail.lines += _part_lines(part)
    return mail


def _parts(msg: Message):
    if not msg.is_multipart():
        yield msg
        return
    children = list(msg.iter_parts())
    if msg.get_content_subtype() == "alternative":
        plain = [p for p in children if p.get_content_type() == "text/plain"]
        children = plain[:1] or children[:1]
    for child in children:
        if child.is_multipart():
            yield from _parts(child)
        elif _wanted(child):
            yield child


def _wanted(part: Message) -> bool:
    if part.get_content_maintype() == "text" and part.get_content_subtype() != "html":
        return True
    return bool(_PATCH_NAME.search(part.get_filename() or ""))


def _part_lines(part: Message) -> list[BodyLine]:
    before = len(part.defects)
    payload = part.get_payload(decode=True) or b""
    if any(isinstance(d, _BASE64_DEFECTS) for d in part.defects[before:]):
        raise MailError(f"the {_part_name(part)} is not valid base64")
    charset = part.get_content_charset()
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            raise MailError(f"unknown charset {charset!r} in the {_part_name(part)}'s Content-Type") from None
    flowed = (part.get_param("format") or "").lower() == "flowed" and part.get_content_maintype() == "text"
    return [BodyLine(ln, charset, flowed) for ln in split_lines(payload)]


def _part_name(part: Message) -> str:
    name = part.get_filename()
    return f"attachment {name}" if name else f"{part.get_content_type()} part"
