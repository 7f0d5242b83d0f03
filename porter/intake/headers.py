"""Mail header values decoded strictly: raw bytes must be UTF-8, encoded-words (RFC 2047) must name a known
charset and decode cleanly in it. git mailinfo also fails on a charset it cannot convert; Python's email
policies instead substitute U+FFFD or keep undecodable bytes, which would put a wrong author or subject in a
commit, so porter decodes header values itself and refuses what does not decode.
"""

from __future__ import annotations

import binascii
import codecs
import re

ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([^?\s])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n[ \t]")


class HeaderError(ValueError):
    pass


def decode_value(raw: str) -> str:
    """A header's value as text. `raw` is what the email parser stored (non-ASCII bytes as surrogates)."""
    data = raw.encode("ascii", "surrogateescape") if _has_surrogates(raw) else raw.encode("utf-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HeaderError(f"invalid UTF-8 (byte 0x{data[exc.start]:02x}) and no encoded-word charset") from None
    text = _FOLD.sub(" ", text)
    out, pos, after_word = [], 0, False
    for m in ENCODED_WORD.finditer(text):
        between = text[pos:m.start()]
        _check_plain(between)
        # Whitespace between two adjacent encoded-words is not part of the text (RFC 2047 6.2).
        if not (after_word and not between.strip()):
            out.append(between)
        out.append(_decode_word(m.group(1), m.group(2), m.group(3)))
        pos, after_word = m.end(), True
    _check_plain(text[pos:])
    out.append(text[pos:])
    return " ".join("".join(out).split())


def _check_plain(segment: str) -> None:
    """Text outside encoded-words must not hold a broken one (git mailinfo fails on those too)."""
    if re.search(r"=\?[^?\s]+\?[^?\s]\?", segment):
        raise HeaderError(f"malformed encoded-word in {_short(segment.strip())!r}")


def _decode_word(charset: str, encoding: str, payload: str) -> str:
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix
    try:
        codecs.lookup(charset)
    except LookupError:
        raise HeaderError(f"unknown charset {charset!r} in an encoded-word") from None
    try:
        if encoding in "bB":
            data = binascii.a2b_base64(payload + "=" * (-len(payload) % 4), strict_mode=True)
        elif encoding in "qQ":
            data = _decode_q(payload)
        else:
            raise HeaderError(f"unknown encoded-word encoding {encoding!r}")
    except binascii.Error:
        raise HeaderError(f"bad base64 in the encoded-word =?{charset}?{encoding}?{_short(payload)}?=") from None
    try:
        return data.decode(charset)
    except UnicodeDecodeError as exc:
        raise HeaderError(f"encoded-word is not valid {charset} (byte 0x{data[exc.start]:02x})") from None


def _decode_q(payload: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(payload):
        c = payload[i]
        if c == "=":
            pair = payload[i + 1:i + 3]
            if len(pair) != 2 or not all(ch in "0123456789abcdefABCDEF" for ch in pair):
                raise binascii.Error("bad =XX")
            out.append(int(pair, 16))
            i += 3
            continue
        out += b" " if c == "_" else c.encode("ascii", "surrogateescape")
        i += 1
    return bytes(out)


def _has_surrogates(s: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in s)


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
