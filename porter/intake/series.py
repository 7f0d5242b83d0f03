"""From inputs to a Series: each input split into mails (mbox.py), each mail read with git mailinfo's
semantics (mail.py, mailinfo.py) or, for a plain diff, as git apply reads it; then the diff (diff.py).

Inputs are taken in argument order; within one mbox or Maildir, numbered patches ([PATCH n/m]) are put in
order and messages without a diff (the cover letter) are skipped with a note.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re

from porter.errors import PorterError
from porter.intake import quoted as quoting
from porter.intake.common import (
    DEFAULT_OPTIONS,
    Options,
    as_text,
    fail,
    shown,
    split_lines,
)
from porter.intake.diff import diff_start, parse_diff
from porter.intake.mail import MailError, looks_like_mail, parse_mail
from porter.intake.mailinfo import author, cleanup_subject, read_body
from porter.intake.mbox import is_from_line, split_mbox, strip_transport_cr
from porter.intake.rejects import is_bare
from porter.intake.sources import read_source
from porter.patch import Commit, Series
from porter.tree import check_relative_path

_NUMBER = re.compile(r"(\d+)/(\d+)")
_HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")


def load_series(sources: list[str], options: Options = DEFAULT_OPTIONS) -> Series:
    """The one Series all PATCH arguments make, in argument order."""
    series = Series(source=", ".join(sources))
    with _printable_errors():
        for name in sources:
            source = read_source(name)
            for n, chunk in enumerate(source.chunks, 1):
                label = name if len(source.chunks) == 1 else f"{name} mail {n}"
                _add_input(series, chunk, label, options)
        return _finish(series, options)


def parse_series(data: bytes, source: str = "", options: Options = DEFAULT_OPTIONS) -> Series:
    """A Series from one input's bytes (mbox, mail, plain diff, quoted reply)."""
    series = Series(source=source)
    with _printable_errors():
        _add_input(series, data, source, options)
        return _finish(series, options)


@contextlib.contextmanager
def _printable_errors():
    """Error lines (and notes) may quote file names or text with undecodable bytes: print them as \\xNN."""
    try:
        yield
    except PorterError as exc:
        raise PorterError(shown(str(exc), 1000)) from None


def _finish(series: Series, options: Options) -> Series:
    series.notes = [shown(n, 1000) for n in series.notes]
    if not series.commits:
        raise PorterError(f"{series.source or 'input'}: no diff found")
    if options.file:
        files = [fp for c in series.commits for fp in c.files]
        if len(files) != 1:
            raise PorterError(f"--file names one target file, but the patch changes {len(files)} files")
        fp = files[0]
        name = check_relative_path(options.file)  # `./mm//x.c/` is mm/x.c, also in the ported patch
        if fp.path != name and not (fp.rename or fp.copy):
            series.notes.append(f"--file {name}: used instead of the patch's file name {fp.path}")
            fp.old_path = None if fp.is_new else name
            fp.new_path = None if fp.is_delete else name
    return series


def _add_input(series: Series, data: bytes, label: str, options: Options) -> None:
    where = label or "input"
    if not data.strip():
        raise PorterError(f"{where}: empty patch")
    if b"\0" in data:
        raise PorterError(f"{where}: binary data (NUL bytes), not a text patch")
    if re.search(rb"^(?:\x1b\[[0-9;]*m)+(?:diff|@@|[-+ ])", data, re.MULTILINE):
        raise PorterError(f"{where}: the diff holds terminal colour codes (git diff --color); make it again "
                          "without colour")
    if label.endswith(".rej") and options.strip is None:
        options = dataclasses.replace(options, default_strip=0)  # patch(1) wrote the names already stripped
    messages = split_mbox(data)
    commits, skipped = [], 0
    for n, msg in enumerate(messages, 1):
        at = f"{where}: message {n}" if len(messages) > 1 else where
        if is_from_line(split_lines(msg)[0]):
            second = (split_lines(msg) + [b"", b""])[1]
            if not _HEADER_LINE.match(second):
                raise PorterError(f"{at}: malformed mbox: no mail headers after the 'From ' line")
        if looks_like_mail(msg):
            commit = _from_mail(strip_transport_cr(msg), at, series, options, len(messages) == 1)
        else:
            commit = _from_text(msg, at, series, options, len(messages) == 1)
        if commit is None:
            skipped += 1
        else:
            commits.append(commit)
    if commits and all(c.number for c in commits):
        commits.sort(key=lambda c: c.number[0])
    if skipped and len(messages) > 1:
        series.notes.append(f"{where}: skipped {skipped} message(s) without a diff (cover letter)")
    series.commits += commits


def _text_lines(raws) -> list[str]:
    out = []
    for raw in raws:
        text = as_text(raw)
        out.append(text.removesuffix("\n"))
    return out


def _from_mail(msg: bytes, at: str, series: Series, options: Options, alone: bool) -> Commit | None:
    try:
        info = read_body(parse_mail(msg), scissors=options.scissors)
    except MailError as exc:
        raise fail(at, str(exc)) from None
    headers = info.headers
    commit = Commit(date=headers.get("date", ""), message_id=headers.get("message-id", ""), mail=True)
    commit.author = author(headers["from"]) if headers.get("from") else ""
    commit.subject, groups = cleanup_subject(headers.get("subject", ""))
    commit.subject_prefix = " ".join(groups)
    commit.number = _number(groups)
    if info.patch:
        if any(bl.flowed for bl in info.patch):
            raise fail(at, "the mail is format=flowed (its mailer may have re-wrapped lines and changed "
                           "spaces in the diff); get the patch as sent by git send-email, or as an attachment")
        commit.message = stripspace(info.message)
        commit.files = _mail_diff(_text_lines(bl.raw for bl in info.patch), series, at, options)
        return commit if commit.files else None
    if any(bl.flowed for bl in info.message_raw) and any(quoting.QUOTED_DIFF_RE.match(as_text(bl.raw))
                                                         for bl in info.message_raw):
        raise fail(at, "the reply is format=flowed (its mailer may have re-wrapped the quoted patch)")
    return _from_quoted(_text_lines(bl.raw for bl in info.message_raw), commit, at, series, options, alone)


def _mail_diff(lines: list[str], series: Series, at: str, options: Options):
    """A mail's diff, read strictly; only a mail whose mailer evidently mangled whitespace (tabs turned into
    spaces everywhere in a C diff) gets the tolerant reading, and a note saying so."""
    try:
        return parse_diff(lines, series, at, options)
    except PorterError:
        if not _tabs_lost(lines):
            raise
    files = parse_diff(lines, series, at, options, tolerant=True)
    series.notes.append(f"{at}: the mail's diff is not well-formed and its tabs were turned into spaces: read "
                        "it as a mangled mail (context lines without their leading space taken as context)")
    return files


def _tabs_lost(lines: list[str]) -> bool:
    c_files = any(re.match(r"^(\+\+\+|---) .*\.[ch]\s*$", ln) for ln in lines)
    return c_files and not any("\t" in ln for ln in lines) and \
        any(re.match(r"^[-+ ] {8}", ln) for ln in lines)


def _from_text(msg: bytes, at: str, series: Series, options: Options, alone: bool) -> Commit | None:
    stripped = strip_transport_cr(msg)
    if stripped != msg:
        # Its first line ends in CRLF: the whole file went through an editor or mailer that converted it
        # (git's own diff lines never end so). git apply would keep the CRs and write them into LF files.
        series.notes.append(f"{at}: every line ended in CRLF (converted on the way): read with LF endings, "
                            "as git am reads such a mail")
        msg = stripped
    lines = _text_lines(split_lines(msg))
    start = diff_start(lines)
    commit = Commit()
    if start is None:
        if is_bare(lines):
            commit.files = parse_diff(lines, series, at, options)
            return commit
        return _from_quoted(lines, commit, at, series, options, alone)
    msg_lines = lines[:start]
    if msg_lines and "[PATCH" in msg_lines[0]:
        commit.subject, groups = cleanup_subject(msg_lines[0])
        commit.subject_prefix, commit.number = " ".join(groups), _number(groups)
        msg_lines = msg_lines[1:]
    commit.message = _message_text(msg_lines)
    commit.files = parse_diff(lines[start:], series, at, options, first_line=start + 1)
    return commit if commit.files else None


def _from_quoted(lines: list[str], commit: Commit, at: str, series: Series, options: Options,
                 alone: bool) -> Commit | None:
    """A patch recovered from a reply — only when the reply is the whole input: in a thread's mbox a reply
    quoting a patch is discussion of a message that is there itself, not another patch."""
    q = quoting.find_quoted(lines)
    if q is None:
        if any(re.match(r"^(GIT binary patch|Binary files .* differ)$", ln) for ln in lines):
            raise fail(at, "binary diff: porter ports text patches only")
        return None
    if not alone:
        series.notes.append(f"{at}: a reply quoting a patch, skipped (the series' own messages are the patches)")
        return None
    start = diff_start(q.lines)
    if start is None:
        return None
    series.notes.append(f"recovered a patch quoted at depth {q.depth} ('{'> ' * q.depth}') from a reply")
    if q.comments:
        series.notes.append(f"skipped {len(q.comments)} reviewer comment line(s) inside the quoted patch "
                            f"(input lines {quoting.spans(q.comments)})")
    _quoted_metadata(commit, q, start)
    try:
        commit.files = parse_diff(q.lines[start:], series, "", options, tolerant=True)
    except PorterError as exc:
        if not q.comments:
            raise fail(at, str(exc)) from None
        raise _comments_cut(at, q, str(exc)) from None
    truncated = [h for fp in commit.files for h in fp.hunks if h.truncated]
    if q.comments and truncated:
        raise _comments_cut(at, q, f"hunk {truncated[0].header()} does not add up")
    return commit if commit.files else None


def _comments_cut(at: str, q: quoting.Quoted, problem: str) -> PorterError:
    return fail(at, f"the quoted patch has {len(q.comments)} reviewer comment line(s) inside it (input lines "
                    f"{quoting.spans(q.comments)}); with them skipped, {problem}: refusing rather than guessing "
                    "what the comments replaced")


def _quoted_metadata(commit: Commit, q: quoting.Quoted, start: int) -> None:
    """A quoted patch keeps its own From:/Date: lines; the reply's subject (or a [PATCH line) names it."""
    for ln in q.outer:
        m = re.match(r"^(From|Date):\s*(.+)$", ln)
        if m and not getattr(commit, "author" if m.group(1) == "From" else "date"):
            setattr(commit, "author" if m.group(1) == "From" else "date", m.group(2).strip())
    if not commit.subject:
        subject = next((ln for ln in q.outer if "[PATCH" in ln), "")
        commit.subject, groups = cleanup_subject(subject)
        commit.subject_prefix, commit.number = " ".join(groups), _number(groups)
    msg_lines = q.lines[:start]
    for ln in msg_lines:
        m = re.match(r"^From:\s*(.+)$", ln)
        if m:
            commit.author = m.group(1).strip()
    commit.message = _message_text([ln for ln in msg_lines if not re.match(r"^From:\s", ln)])


def _number(groups: list[str]) -> tuple[int, int] | None:
    for g in groups:
        m = _NUMBER.search(g)
        # A number too long to be a series position ([PATCH 999...9/...]) is no number, not a traceback.
        if m and max(len(m.group(1)), len(m.group(2))) <= 9:
            return int(m.group(1)), int(m.group(2))
    return None


def _message_text(lines: list[str]) -> str:
    """The commit message of a non-mail input: text before a '---' separator."""
    out = []
    for ln in lines:
        if ln.rstrip() == "---":
            break
        out.append(ln)
    return stripspace(out)


def stripspace(lines: list[str]) -> str:
    """git stripspace: trailing blanks off, runs of blank lines to one, none at either end."""
    out: list[str] = []
    for ln in lines:
        ln = ln.rstrip()
        if not ln and (not out or not out[-1]):
            continue
        out.append(ln)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
