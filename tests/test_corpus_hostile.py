"""Hostile bad-input corpus (issue 10), written independently of porter's intake and writer.

Each case is one test id. Valid input must give git's own result (`git apply`, `git am`, `git mailinfo` on the
same bytes, or GNU patch for context diffs); bad input must give exit 2 and ONE `porter: error:` line; in every
case the tree (content, modes, symlinks), its .git and a sibling directory must be byte-identical unless the
write is the right one. Where git itself refuses an input, porter refusing it (exit 1 or 2, tree untouched)
is right; where git accepts it, porter must give the same tree or refuse with one line (for shapes the issue
allows porter to refuse: binary patches, gitlinks).
"""

from __future__ import annotations

import base64
import os
import quopri
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.corpus import GIT_ENV, check_refused, git, make_scene, porter, snapshot
from tests.helpers import run

SAMPLE = "kernel/sample.c"
DATE = "Tue, 1 Oct 2024 10:00:00 +0000"


# == builders =================================================================================================

def gdiff(scene, edit, *args: str) -> bytes:
    """`git diff --cached` of `edit(dir)` made in a copy of the tree: a patch git itself wrote."""
    work = scene.base / "gd"
    shutil.copytree(scene.tree, work, symlinks=True)
    try:
        edit(work)
        git(work, "add", "-A")
        return git(work, "diff", "--cached", "--full-index", *args).stdout
    finally:
        shutil.rmtree(work)


def fpatch(scene, edit, message: str = "sample: comment f3\n\nBecause.\n", *args: str, env=None) -> bytes:
    """`git format-patch -1 --stdout` of a commit of `edit`."""
    work = scene.base / "fp"
    shutil.copytree(scene.tree, work, symlinks=True)
    try:
        edit(work)
        git(work, "add", "-A")
        subprocess.run(["git", "commit", "-q", "-m", message], cwd=work, check=True, capture_output=True,
                       env={**os.environ, **GIT_ENV, **(env or {})})
        return git(work, "format-patch", "-1", "--stdout", *args).stdout
    finally:
        shutil.rmtree(work)


def edit_f3(root: Path, new: str = "\treturn x + 33;\n") -> None:
    p = root / SAMPLE
    p.write_text(p.read_text().replace("\treturn x + 3;\n", new, 1))


def mail(diff: bytes, headers: str = "", body: str = "Why it matters.\n", subject="[PATCH] sample: f3",
         frm="Dev One <one@example.org>") -> bytes:
    head = f"From: {frm}\nDate: {DATE}\nSubject: {subject}\n" if frm is not None else f"Subject: {subject}\n"
    return (head + headers + "\n" + body + "---\n").encode() + diff


def sample_diff(scene) -> bytes:
    return gdiff(scene, edit_f3)


def simple_mail(scene, **kw) -> bytes:
    return mail(sample_diff(scene), **kw)


# == checks ===================================================================================================

def state(scene):
    return scene.state()


def git_am_tree(scene, patches: list[Path], *flags: str):
    copy = scene.base / "am-copy"
    shutil.copytree(scene.tree, copy, symlinks=True)
    try:
        proc = git(copy, "am", *flags, *map(str, patches), check=False)
        return proc.returncode, snapshot(copy)
    finally:
        shutil.rmtree(copy)


def git_apply_tree(scene, patch: Path, *flags: str):
    copy = scene.base / "ap-copy"
    shutil.copytree(scene.tree, copy, symlinks=True)
    try:
        proc = git(copy, "apply", *flags, str(patch), check=False)
        return proc.returncode, snapshot(copy), proc.stderr.decode()
    finally:
        shutil.rmtree(copy)


def mailinfo(scene, raw: bytes, *flags: str) -> dict:
    d = scene.base / "mi"
    d.mkdir(exist_ok=True)
    proc = git(scene.base, "mailinfo", *flags, str(d / "msg"), str(d / "patch"), input=raw, check=False)
    if proc.returncode:
        return {}
    info = dict(re.findall(r"^(\w+): (.*)$", proc.stdout.decode("utf-8", "replace"), re.MULTILINE))
    info["message"] = git(scene.base, "stripspace", input=(d / "msg").read_bytes()).stdout
    info["patch"] = (d / "patch").read_bytes()
    return info


def assert_one_error(res, code=2):
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    assert len(lines) == 1 and lines[0].startswith("porter: error: "), res.stderr


def refused_or_not_applied(scene, args, input=None):
    """Input git refuses: porter must not write; exit 1 (placement refusal) or 2 with one error line."""
    before = state(scene)
    res = porter(scene, *args, input=input)
    assert res.exit_code in (1, 2), (res.exit_code, res.stdout, res.stderr)
    if res.exit_code == 2:
        assert_one_error(res)
    assert state(scene) == before
    return res


def like_git_apply(scene, patch: Path, porter_args=(), git_args=(), may_refuse=False):
    """porter's result is git apply's: same tree when git applies, no write when git refuses. With
    may_refuse, porter may also refuse (one line, exit 2) a shape git applies."""
    code, expected, _ = git_apply_tree(scene, patch, *git_args)
    args = ["apply", str(patch), "--tree", "tree", *porter_args]
    if code:
        return refused_or_not_applied(scene, args)
    before = state(scene)
    res = porter(scene, *args)
    if may_refuse and res.exit_code == 2:
        assert_one_error(res)
        assert state(scene) == before
        return res
    assert res.exit_code == 0, (res.stdout, res.stderr)
    assert snapshot(scene.tree) == expected
    assert state(scene)[1:] == before[1:]
    return res


def like_git_am(scene, raw: bytes, am_flags=(), mi_flags=(), may_refuse=False, message=None):
    """A mail: the tree git am makes, and the ported patch's metadata (via --output -) is git mailinfo's."""
    p = scene.write_patch(raw, "in.mbox")
    code, expected = git_am_tree(scene, [p], *am_flags)
    before = state(scene)
    res = porter(scene, "apply", str(p), "--tree", "tree", "--output", "-")
    if may_refuse and res.exit_code == 2:
        assert_one_error(res)
        assert state(scene) == before
        return res
    if code:
        assert res.exit_code in (1, 2), (res.stdout, res.stderr)
        if res.exit_code == 2:
            assert_one_error(res)
        assert state(scene) == before
        return res
    assert res.exit_code == 0, (res.stdout, res.stderr)
    assert snapshot(scene.tree) == expected
    assert state(scene)[1:] == before[1:]
    want, got = mailinfo(scene, raw, *mi_flags), mailinfo(scene, res.stdout_bytes)
    if message is not None:
        want["message"] = message
    for key in ("Author", "Email", "Subject", "message"):
        assert got.get(key) == want.get(key), (key, got.get(key), want.get(key))
    return res


# == 1. mails: metadata as git mailinfo reads it, tree as git am makes it ====================================

def _m_from_paragraph(s):
    return simple_mail(s, body="Fix f3.\n\nFrom the beginning this was wrong.\nFrom 10:00 onwards too.\n")


def _m_escaped_from(s):
    return simple_mail(s, body="Fix f3.\n\n>From the beginning this was wrong.\n")


def _m_mbox_framed_from_in_body(s):
    return (b"From 1234567890abcdef1234567890abcdef12345678 Mon Sep 17 00:00:00 2001\n"
            + simple_mail(s, body="Fix.\n\nFrom dev@example.org and others this was reported.\n"))


def _m_inbody_from(s):
    return simple_mail(s, frm="Forwarder <fw@example.org>",
                       body="From: Real Author <real@example.org>\n\nThe real message.\n")


def _m_inbody_date(s):
    return simple_mail(s, body="Date: Mon, 2 Sep 2024 08:00:00 +0200\n\nThe real message.\n")


def _m_inbody_subject(s):
    return simple_mail(s, subject="Re: look at this",
                       body="Subject: [PATCH] sample: the real subject\n\nThe real message.\n")


def _m_inbody_all(s):
    return simple_mail(s, body="From: Real Author <real@example.org>\nDate: Mon, 2 Sep 2024 08:00:00 +0200\n"
                       "Subject: sample: the real one\n\nThe message.\n")


def _m_subject_prefixes(s):
    return simple_mail(s, subject="Re: [PATCH v3 2/7] [RFC] sample: f3 gets a better value")


def _m_subject_b64_utf8(s):
    enc = base64.b64encode("sample: für Jörg ☃".encode()).decode()
    return simple_mail(s, subject=f"[PATCH] =?UTF-8?B?{enc}?=")


def _m_subject_q_folded(s):
    return simple_mail(s, subject="[PATCH] =?UTF-8?Q?sample:_f=C3=BCr?=\n =?UTF-8?Q?_J=C3=B6rg?= and more")


def _m_from_latin1_word(s):
    return simple_mail(s, frm="=?ISO-8859-1?Q?J=F6rg_M=FCller?= <jm@example.org>")


def _m_from_comment_form(s):
    return simple_mail(s, frm="jm@example.org (Jorg Muller)")


def _m_from_quoted_comma(s):
    return simple_mail(s, frm='"Muller, Jorg" <jm@example.org>')


def _m_from_bare_address(s):
    return simple_mail(s, frm="jm@example.org")


def _m_body_b64(s):
    payload = base64.encodebytes(b"Why it matters.\n---\n" + sample_diff(s)).decode()
    return (f"From: Dev One <one@example.org>\nDate: {DATE}\nSubject: [PATCH] sample: f3\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n" + payload).encode()


def _m_body_qp(s):
    payload = quopri.encodestring(b"Why =it matters.\n---\n" + sample_diff(s)).decode()
    return (f"From: Dev One <one@example.org>\nDate: {DATE}\nSubject: [PATCH] sample: f3\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n"
            + payload).encode()


def _m_latin1_msg_utf8_diff(s):
    diff = gdiff(s, lambda w: edit_f3(w, "\treturn x + 3; /* Jörg */\n"))
    return (f"From: Dev One <one@example.org>\nDate: {DATE}\nSubject: [PATCH] sample: f3\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
            ).encode() + "Danke J\xf6rg.\n".encode("latin-1") + b"---\n" + diff


def _m_utf8_declared_latin1_diff(s):
    diff = gdiff(s, lambda w: (w / SAMPLE).write_bytes((w / SAMPLE).read_bytes().replace(
        b"\treturn x + 3;\n", b"\treturn x + 3; /* J\xf6rg */\n")))
    return (f"From: Dev One <one@example.org>\nDate: {DATE}\nSubject: [PATCH] sample: f3\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\nMessage.\n---\n"
            ).encode() + diff


def _m_no_charset_8bit(s):
    return simple_mail(s, body="Merci Hélène.\n")


def _m_crlf_mail(s):
    return simple_mail(s).replace(b"\n", b"\r\n")


def _mime(s, parts: str, outer="mixed", extra="") -> bytes:
    return (f"From: Dev One <one@example.org>\nDate: {DATE}\nSubject: [PATCH] sample: f3\nMIME-Version: 1.0\n"
            f"Content-Type: multipart/{outer}; boundary=\"BOUND\"{extra}\n\nThis is a MIME message.\n"
            + parts + "--BOUND--\n").encode()


def _part(ctype, payload: str, cte="8bit", disp="") -> str:
    return (f"--BOUND\nContent-Type: {ctype}\nContent-Transfer-Encoding: {cte}\n{disp}\n{payload}\n")


def _m_attach_inline_xpatch(s):
    d = sample_diff(s).decode()
    return _mime(s, _part("text/plain; charset=UTF-8", "Why it matters.\n")
                 + _part("text/x-patch; charset=UTF-8; name=\"0001.patch\"", d,
                         disp="Content-Disposition: inline; filename=\"0001.patch\"\n"))


def _m_attach_b64_attachment(s):
    d = base64.encodebytes(b"---\n" + sample_diff(s)).decode()
    return _mime(s, _part("text/plain; charset=UTF-8", "Why it matters.\n")
                 + _part("text/x-diff; name=\"f3.diff\"", d, cte="base64",
                         disp="Content-Disposition: attachment; filename=\"f3.diff\"\n"))


def _m_attach_octet_stream(s):
    d = base64.encodebytes(sample_diff(s)).decode()
    return _mime(s, _part("text/plain; charset=UTF-8", "Why it matters.\n")
                 + _part("application/octet-stream; name=\"f3.patch\"", d, cte="base64",
                         disp="Content-Disposition: attachment; filename=\"f3.patch\"\n"))


def _m_nested_multipart(s):
    d = quopri.encodestring(sample_diff(s)).decode()
    inner = ("--INNER\nContent-Type: text/plain; charset=UTF-8\n\nWhy it matters.\n"
             "--INNER\nContent-Type: text/html; charset=UTF-8\n\n<p>Why it matters.</p>\n--INNER--\n")
    return _mime(s, "--BOUND\nContent-Type: multipart/alternative; boundary=\"INNER\"\n\n" + inner
                 + _part("text/x-diff; charset=UTF-8", d, cte="quoted-printable",
                         disp="Content-Disposition: attachment; filename=\"f3.diff\"\n"))


def _m_multipart_signed(s):
    d = sample_diff(s).decode()
    return _mime(s, _part("text/plain; charset=UTF-8", "Why it matters.\n---\n" + d)
                 + _part("application/pgp-signature; name=\"signature.asc\"",
                         "-----BEGIN PGP SIGNATURE-----\nAAAA\n-----END PGP SIGNATURE-----\n"),
                 outer="signed", extra="; protocol=\"application/pgp-signature\"; micalg=pgp-sha256")


def _m_format_patch_attach(s):
    return fpatch(s, edit_f3, "sample: f3\n\nBody.\n", "--attach")


def _m_format_patch_inline(s):
    return fpatch(s, edit_f3, "sample: f3\n\nBody.\n", "--inline")


def _m_format_patch_utf8_author(s):
    return fpatch(s, edit_f3, "sample: für Jörg\n\nDanke, Jörg.\n",
                  env={"GIT_AUTHOR_NAME": "Jörg Müller", "GIT_AUTHOR_EMAIL": "jm@example.org"})


def _m_format_patch_prefix(s):
    return fpatch(s, edit_f3, "sample: f3\n\nBody.\n", "--subject-prefix=PATCH net-next", "-v4",
                  "--no-signature")


def _m_format_patch_long_subject(s):
    return fpatch(s, edit_f3, "sample: " + "very long subject words " * 8 + "\n\nBody.\n")


def _m_message_with_dashes(s):
    return fpatch(s, edit_f3, "sample: f3\n\nBody.\n---\nnot part of the message\n")


def _m_message_from_line(s):
    return fpatch(s, edit_f3, "sample: f3\n\nFrom the start f3 was off by thirty.\n")


def _m_message_with_diff_word(s):
    return fpatch(s, edit_f3, "sample: f3\n\nSee the diff below:\n  diff --git is not here\n")


def _m_scissors_without_flag(s):
    return simple_mail(s, body="Hi,\n\n-- >8 --\nSubject: sample: after scissors\n\nReal message.\n")


def _m_from_encoded_newline(s):
    return simple_mail(s, frm="=?UTF-8?Q?Evil=0AX-Injected:_yes?= <evil@example.org>")


def _m_subject_encoded_newline(s):
    return simple_mail(s, subject="[PATCH] =?UTF-8?Q?sample:_f3=0A=0AFrom:_Mallory_<m@example.org>?=")


def _m_message_diff_dash_line(s):
    return simple_mail(s, body="Why.\n\ndiff -u was used to make this.\nMore text.\n")


def _m_message_index_line(s):
    return simple_mail(s, body="Why.\nIndex: the lookup table is rebuilt.\n")


def _m_two_attachments(s):
    one = gdiff(s, edit_f3).decode()
    two = gdiff(s, lambda w: (w / "Makefile").write_text("obj-y += kernel/\nobj-y += mm/\n")).decode()
    return _mime(s, _part("text/plain; charset=UTF-8", "Why it matters.\n")
                 + _part("text/x-patch; name=a.patch", one, disp="Content-Disposition: attachment; filename=a.patch\n")
                 + _part("text/x-patch; name=b.patch", two, disp="Content-Disposition: attachment; filename=b.patch\n"))


def _m_crlf_inside_base64_attachment(s):
    d = base64.encodebytes(sample_diff(s).replace(b"\n", b"\r\n")).decode()
    return _mime(s, _part("text/plain; charset=UTF-8", "Why it matters.\n")
                 + _part("text/x-diff", d, cte="base64", disp="Content-Disposition: attachment; filename=f.diff\n"))


def _m_long_subject_10k(s):
    return simple_mail(s, subject="[PATCH] " + "word " * 2000)


def _m_date_garbage(s):
    return simple_mail(s).replace(DATE.encode(), b"yesterday at noon, more or less")


def _m_no_from_header(s):
    return simple_mail(s, frm=None)


MAIL_CASES = {
    "M01-from-paragraph-in-body": _m_from_paragraph,
    "M02-escaped-from-in-body": _m_escaped_from,
    "M03-mbox-framed-from-in-body": _m_mbox_framed_from_in_body,
    "M04-inbody-from": _m_inbody_from,
    "M05-inbody-date": _m_inbody_date,
    "M06-inbody-subject": _m_inbody_subject,
    "M07-inbody-from-date-subject": _m_inbody_all,
    "M08-subject-prefixes": _m_subject_prefixes,
    "M09-subject-b64-utf8": _m_subject_b64_utf8,
    "M10-subject-q-folded": _m_subject_q_folded,
    "M11-from-latin1-encoded-word": _m_from_latin1_word,
    "M12-from-comment-form": _m_from_comment_form,
    "M13-from-quoted-comma": _m_from_quoted_comma,
    "M14-from-bare-address": _m_from_bare_address,
    "M15-body-base64": _m_body_b64,
    "M16-body-quoted-printable": _m_body_qp,
    "M17-latin1-message-utf8-diff": _m_latin1_msg_utf8_diff,
    "M18-utf8-declared-latin1-diff-bytes": _m_utf8_declared_latin1_diff,
    "M19-no-charset-8bit-body": _m_no_charset_8bit,
    "M20-crlf-mail": _m_crlf_mail,
    "M21-attach-inline-x-patch": _m_attach_inline_xpatch,
    "M22-attach-base64-x-diff": _m_attach_b64_attachment,
    "M23-attach-octet-stream": _m_attach_octet_stream,
    "M24-nested-multipart-qp": _m_nested_multipart,
    "M25-multipart-signed": _m_multipart_signed,
    "M26-format-patch-attach": _m_format_patch_attach,
    "M27-format-patch-inline": _m_format_patch_inline,
    "M28-format-patch-utf8-author": _m_format_patch_utf8_author,
    "M29-format-patch-prefix-v4": _m_format_patch_prefix,
    "M30-format-patch-long-subject": _m_format_patch_long_subject,
    "M31-message-with-dashes": _m_message_with_dashes,
    "M32-message-from-line": _m_message_from_line,
    "M33-message-mentions-diff": _m_message_with_diff_word,
    "M34-scissors-without-flag": _m_scissors_without_flag,
    "M35-from-encoded-newline": _m_from_encoded_newline,
    "M36-subject-encoded-newline": _m_subject_encoded_newline,
    "M37-message-line-starting-diff-dash": _m_message_diff_dash_line,
    "M38-message-line-starting-index": _m_message_index_line,
    "M39-two-patch-attachments": _m_two_attachments,
    "M40-crlf-diff-in-base64-attachment": _m_crlf_inside_base64_attachment,
    "M41-subject-10k-chars": _m_long_subject_10k,
    "M42-date-garbage": _m_date_garbage,
}


# git mailinfo keeps a nested multipart/alternative's MIME lines and HTML in the message, porter keeps its
# text/plain part. (A scissors line without --scissors is part of the message, as in git am: M34.)
MAIL_FLAGS = {"M24-nested-multipart-qp": {"message": b"Why it matters.\n"},
              # git am refuses a date it cannot parse; the tree does not carry one: compare with --ignore-date
              "M42-date-garbage": {"am_flags": ["--ignore-date"]}}
XFAIL_MAIL: dict[str, str] = {}  # porter bugs still open, case -> reason (strict xfail)


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=XFAIL_MAIL[c]))
                                  if c in XFAIL_MAIL else c for c in sorted(MAIL_CASES)])
def test_mail_like_git_am(tmp_path, case):
    scene = make_scene(tmp_path)
    like_git_am(scene, MAIL_CASES[case](scene), **MAIL_FLAGS.get(case, {}))


def test_M40_quoted_crlf_refused_like_git_am(tmp_path):
    """git am (default --quoted-cr=warn) keeps the CRs of a base64 diff and fails to apply it; porter refuses
    it with one line naming the cause, instead of placing it ignoring the CRs and writing them into the file."""
    scene = make_scene(tmp_path)
    p = scene.write_patch(_m_crlf_inside_base64_attachment(scene), "in.mbox")
    code, _ = git_am_tree(scene, [p])
    assert code != 0
    before = state(scene)
    res = porter(scene, "apply", str(p), "--tree", "tree")
    assert res.exit_code == 2
    assert_one_error(res)
    assert "CRLF" in res.stderr and "base64" in res.stderr
    assert state(scene) == before
    # The same diff with LF endings in the same attachment applies as git am applies it.
    like_git_am(scene, _mime(scene, _part("text/plain; charset=UTF-8", "Why it matters.\n") + _part(
        "text/x-diff", base64.encodebytes(sample_diff(scene)).decode(), cte="base64",
        disp="Content-Disposition: attachment; filename=f.diff\n")))


def test_M43_mail_without_from_header(tmp_path):
    """git am refuses a mail with no author; porter may apply it as it applies a plain diff (the tree holds no
    author) or refuse it with one line."""
    scene = make_scene(tmp_path)
    p = scene.write_patch(_m_no_from_header(scene))
    code, expected, _ = git_apply_tree(scene, p)
    before = state(scene)
    res = porter(scene, "apply", str(p), "--tree", "tree")
    if res.exit_code == 2:
        assert_one_error(res)
        assert state(scene) == before
    else:
        assert res.exit_code == 0 and code == 0 and snapshot(scene.tree) == expected


@pytest.mark.parametrize("case", ["no-from", "bad-date"])
def test_mail_without_author_or_date_is_not_committed(tmp_path, case):
    """Onto a git ref porter commits with the mail's author and date; a mail with no From: or a Date git
    cannot read is refused in one line, as git am refuses it: no branch, no object, no invented metadata."""
    scene = make_scene(tmp_path)
    raw = _m_no_from_header(scene) if case == "no-from" else _m_date_garbage(scene)
    p = scene.write_patch(raw, "in.mbox")
    assert git(scene.clone_for_git(), "am", str(p), check=False).returncode != 0
    before = state(scene)
    res = run("apply", str(p), "--tree", "HEAD", "--branch", "ported", cwd=scene.tree)
    assert res.exit_code == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "git am refuses it too" in res.stderr, res.stderr
    assert state(scene)[:2] == before[:2]
    assert git(scene.tree, "rev-parse", "--verify", "--quiet", "refs/heads/ported", check=False).returncode != 0


# == 2. mails and inputs that must be refused with one line (or read as git reads them) ====================

def _r_broken_encoded_word(s):
    return simple_mail(s, subject="[PATCH] =?UTF-8?B?%%%not-base64?= sample")


def _r_unknown_charset_from(s):
    return simple_mail(s, frm="=?x-no-such-charset?Q?J=F6rg?= <jm@example.org>")


def _r_unknown_charset_subject(s):
    return simple_mail(s, subject="[PATCH] =?x-klingon?B?cXVlc3Rpb24=?=")


def _r_unknown_body_charset(s):
    return simple_mail(s, headers="MIME-Version: 1.0\nContent-Type: text/plain; charset=x-unknown-8bit\n",
                       body="Gr\xfc\xdfe.\n")


def _r_bad_cte(s):
    return simple_mail(s, headers="MIME-Version: 1.0\nContent-Transfer-Encoding: x-uuencode\n")


def _r_broken_b64_body(s):
    return (f"From: Dev One <one@example.org>\nDate: {DATE}\nSubject: [PATCH] x\nMIME-Version: 1.0\n"
            "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n!!!!not base64 at all\n").encode()


def _r_multipart_no_boundary(s):
    return (f"From: Dev One <one@example.org>\nDate: {DATE}\nSubject: [PATCH] x\nMIME-Version: 1.0\n"
            "Content-Type: multipart/mixed\n\n").encode() + sample_diff(s)


def _r_format_flowed(s):
    return simple_mail(s, headers="MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8; format=flowed\n")


def _r_huge_subject_number(s):
    return simple_mail(s, subject="[PATCH " + "9" * 5000 + "/" + "9" * 5000 + "] sample: f3")


def _r_huge_hunk_number(s):
    n = "1" + "0" * 5000
    return mail(f"diff --git a/{SAMPLE} b/{SAMPLE}\n--- a/{SAMPLE}\n+++ b/{SAMPLE}\n@@ -{n},2 +{n},3 @@\n"
                " int f0(int x)\n+/* x */\n {\n".encode())


def _r_huge_hunk_count(s):
    return mail(f"diff --git a/{SAMPLE} b/{SAMPLE}\n--- a/{SAMPLE}\n+++ b/{SAMPLE}\n"
                f"@@ -1,{'9' * 30} +1,3 @@\n int f0(int x)\n+/* x */\n {{\n".encode())


def _r_empty(s):
    return b""


def _r_only_whitespace(s):
    return b"\n\n   \n"


def _r_headers_only(s):
    return f"From: Dev One <one@example.org>\nDate: {DATE}\nSubject: [PATCH] x\n".encode()


def _r_cover_letter_only(s):
    return mail(b"", subject="[PATCH 0/3] sample: a series", body="This series does things.\n\n")


def _r_binary_garbage(s):
    return bytes(range(256)) * 8


def _r_gzip(s):
    import gzip
    return gzip.compress(sample_diff(s))


def _r_nul_in_message(s):
    return simple_mail(s, body="Why\x00it matters.\n")


def _r_diff_header_only(s):
    return mail(f"diff --git a/{SAMPLE} b/{SAMPLE}\n".encode())


def _r_hunk_garbage_header(s):
    return mail(f"diff --git a/{SAMPLE} b/{SAMPLE}\n--- a/{SAMPLE}\n+++ b/{SAMPLE}\n@@ -a,b +c,d @@\n"
                " int f0(int x)\n".encode())


def _r_new_and_deleted(s):
    return mail("diff --git a/x.c b/x.c\nnew file mode 100644\ndeleted file mode 100644\n--- /dev/null\n"
                "+++ b/x.c\n@@ -0,0 +1 @@\n+x\n".encode())


def _r_bad_mode(s):
    return mail(f"diff --git a/{SAMPLE} b/{SAMPLE}\nold mode 100644\nnew mode 999999\n".encode())


def _r_counts_too_large(s):
    d = sample_diff(s).decode()
    return mail(re.sub(r"@@ -(\d+),7 \+(\d+),7 @@", r"@@ -\1,9 +\2,9 @@", d).encode())


def _r_counts_too_small(s):
    d = sample_diff(s).decode()
    return mail(re.sub(r"@@ -(\d+),7 \+(\d+),7 @@", r"@@ -\1,4 +\2,4 @@", d).encode())


def _r_bad_line_in_hunk(s):
    d = sample_diff(s).decode().splitlines(keepends=True)
    i = next(k for k, ln in enumerate(d) if ln.startswith("-"))
    d.insert(i, "?garbage\n")
    return mail("".join(d).encode())


def _r_bare_hunk_no_file(s):
    d = sample_diff(s).decode()
    return d[d.index("@@"):].encode()


def _r_mismatched_names(s):
    return mail(f"diff --git a/{SAMPLE} b/other.c\n--- a/{SAMPLE}\n+++ b/other.c\n@@ -1 +1 @@\n-int f0(int x)\n"
                "+int g0(int x)\n".encode())


def _r_minus_minus_names_disagree(s):
    return mail(f"diff --git a/{SAMPLE} b/{SAMPLE}\n--- a/Makefile\n+++ b/Makefile\n@@ -1 +1,2 @@\n"
                " obj-y += kernel/\n+obj-y += mm/\n".encode())


def _r_no_newline_mid_hunk(s):
    return mail("diff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n@@ -1 +1,2 @@\n"
                " obj-y += kernel/\n\\ No newline at end of file\n+obj-y += mm/\n".encode())


def _r_binary_no_data(s):
    return mail(b"diff --git a/fw.bin b/fw.bin\nnew file mode 100644\nindex 0000000..1234567\n"
                b"Binary files /dev/null and b/fw.bin differ\n")


def _r_huge_similarity(s):
    return mail(("diff --git a/Makefile b/M2\nsimilarity index " + "9" * 5000 + "%\nrename from Makefile\n"
                 "rename to M2\n").encode())


def _r_unicode_digit_similarity(s):
    return mail("diff --git a/Makefile b/M2\nsimilarity index ²%\nrename from Makefile\nrename to M2\n".encode())


def _r_huge_context_number(s):
    n = "9" * 5000
    return (f"*** a/Makefile\n--- b/Makefile\n***************\n*** {n},1 ****\n--- {n},2 ----\n"
            "  obj-y += kernel/\n+ obj-y += mm/\n").encode()


REFUSE_CASES = {
    "R01-broken-encoded-word": _r_broken_encoded_word,
    "R02-unknown-charset-from": _r_unknown_charset_from,
    "R03-unknown-charset-subject": _r_unknown_charset_subject,
    "R04-unknown-body-charset": _r_unknown_body_charset,
    "R05-unknown-transfer-encoding": _r_bad_cte,
    "R06-broken-base64-body": _r_broken_b64_body,
    "R07-multipart-without-boundary": _r_multipart_no_boundary,
    "R08-format-flowed": _r_format_flowed,
    "R09-huge-subject-number": _r_huge_subject_number,
    "R10-huge-hunk-number": _r_huge_hunk_number,
    "R11-huge-hunk-count": _r_huge_hunk_count,
    "R12-empty-file": _r_empty,
    "R13-only-whitespace": _r_only_whitespace,
    "R14-headers-only": _r_headers_only,
    "R15-cover-letter-only": _r_cover_letter_only,
    "R16-binary-garbage": _r_binary_garbage,
    "R17-gzip-compressed-patch": _r_gzip,
    "R18-nul-in-message": _r_nul_in_message,
    "R19-diff-header-only": _r_diff_header_only,
    "R20-hunk-garbage-header": _r_hunk_garbage_header,
    "R21-new-and-deleted-mode": _r_new_and_deleted,
    "R22-bad-mode": _r_bad_mode,
    "R23-counts-too-large": _r_counts_too_large,
    "R24-counts-too-small": _r_counts_too_small,
    "R25-bad-line-in-hunk": _r_bad_line_in_hunk,
    "R26-bare-hunk-without-file": _r_bare_hunk_no_file,
    "R27-mismatched-git-names": _r_mismatched_names,  # git: implicit rename; porter: refusal is fine
    "R28-minus-names-disagree-with-git-header": _r_minus_minus_names_disagree,
    "R29-no-newline-marker-mid-hunk": _r_no_newline_mid_hunk,
    "R30-binary-without-data": _r_binary_no_data,
    "R31-huge-similarity-index": _r_huge_similarity,
    "R32-unicode-digit-similarity": _r_unicode_digit_similarity,
    "R33-huge-context-diff-number": _r_huge_context_number,
}

# Shapes git reads (possibly with its own lenient decoding) where porter may instead refuse with one line.
REFUSE_OR_LIKE_GIT = {"R01-broken-encoded-word", "R02-unknown-charset-from", "R03-unknown-charset-subject",
                      "R04-unknown-body-charset", "R05-unknown-transfer-encoding", "R09-huge-subject-number",
                      "R18-nul-in-message", "R07-multipart-without-boundary"}


@pytest.mark.parametrize("case", sorted(REFUSE_CASES))
def test_refused_or_like_git(tmp_path, case):
    scene = make_scene(tmp_path)
    raw = REFUSE_CASES[case](scene)
    if case in REFUSE_OR_LIKE_GIT:
        like_git_am(scene, raw, may_refuse=True)
        return
    p = scene.write_patch(raw)
    if case == "R27-mismatched-git-names":
        refused_or_not_applied(scene, ["apply", str(p), "--tree", "tree"])
        return
    check_refused(scene, ["apply", str(p), "--tree", "tree"])


@pytest.mark.parametrize("case", ["R01-broken-encoded-word", "R02-unknown-charset-from", "R10-huge-hunk-number",
                                  "R12-empty-file", "R16-binary-garbage", "R21-new-and-deleted-mode",
                                  "R11-huge-hunk-count"])
def test_review_bad_input(tmp_path, case):
    """porter review on the same inputs: one line or a verdict, never a traceback; the tree untouched."""
    scene = make_scene(tmp_path)
    p = scene.write_patch(REFUSE_CASES[case](scene))
    before = state(scene)
    res = porter(scene, "review", str(p), "--tree", "tree", "--no-rules")
    assert res.exit_code in (0, 1, 2), res.stderr
    if res.exit_code == 2:
        assert_one_error(res)
    assert state(scene) == before


# == 3. where the bytes come from ============================================================================

def test_S01_stdin_dash(tmp_path):
    scene = make_scene(tmp_path)
    raw = simple_mail(scene)
    p = scene.write_patch(raw)
    code, expected = git_am_tree(scene, [p])
    res = porter(scene, "apply", "-", "--tree", "tree", input=raw)
    assert code == 0 and res.exit_code == 0, res.stderr
    assert snapshot(scene.tree) == expected


def test_S02_dev_fd_pipe_subprocess(tmp_path):
    """A real pipe (like `porter apply <(git format-patch ...)`), in a child process."""
    scene = make_scene(tmp_path)
    raw = simple_mail(scene)
    code, expected = git_am_tree(scene, [scene.write_patch(raw)])
    r, w = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "porter", "apply", f"/dev/fd/{r}", "--tree", "tree"],
                            cwd=scene.base, pass_fds=(r,), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(r)
    os.write(w, raw)
    os.close(w)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert snapshot(scene.tree) == expected


def test_S03_two_patch_args_one_missing_writes_nothing(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(simple_mail(scene))
    check_refused(scene, ["apply", str(p), str(scene.base / "nope.patch"), "--tree", "tree"])


def test_S04_two_patch_args_second_corrupt_writes_nothing(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(simple_mail(scene))
    q = scene.write_patch(_r_counts_too_large(scene), "bad.patch")
    check_refused(scene, ["apply", str(p), str(q), "--tree", "tree"])


def test_S05_same_patch_twice_never_written_twice(tmp_path):
    scene = make_scene(tmp_path)
    raw = mail(gdiff(scene, lambda w: (w / "Makefile").write_text("obj-y += kernel/\nobj-y += mm/\n")))
    p = scene.write_patch(raw)
    code, once, _ = git_apply_tree(scene, p)
    before = state(scene)
    res = porter(scene, "apply", str(p), str(p), "--tree", "tree")
    if res.exit_code == 0:
        assert snapshot(scene.tree) == once
    else:
        assert res.exit_code in (1, 2) and state(scene) == before
    assert (scene.tree / "Makefile").read_text().count("mm/") <= 1


def test_S06_directory_not_maildir(tmp_path):
    scene = make_scene(tmp_path)
    (scene.base / "d").mkdir()
    check_refused(scene, ["apply", str(scene.base / "d"), "--tree", "tree"])


def test_S07_dangling_symlink_patch(tmp_path):
    scene = make_scene(tmp_path)
    (scene.base / "l.patch").symlink_to(scene.base / "gone")
    check_refused(scene, ["apply", str(scene.base / "l.patch"), "--tree", "tree"])


def test_S08_read_error_eio(tmp_path):
    """/proc/self/mem cannot be read at offset 0 (EIO): a read error, also as root."""
    scene = make_scene(tmp_path)
    check_refused(scene, ["apply", "/proc/self/mem", "--tree", "tree"])


def test_S09_dev_null(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["apply", "/dev/null", "--tree", "tree"])


def test_S10_maildir_with_one_mail_in_new(tmp_path):
    scene = make_scene(tmp_path)
    raw = simple_mail(scene)
    md = scene.base / "md"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    (md / "new" / "1700000000.M1P1.host").write_bytes(raw)
    (md / "tmp" / "partial").write_bytes(b"garbage being delivered")
    code, expected = git_am_tree(scene, [md])
    res = porter(scene, "apply", str(md), "--tree", "tree")
    assert code == 0 and res.exit_code == 0, res.stderr
    assert snapshot(scene.tree) == expected


def test_S11_empty_maildir(tmp_path):
    scene = make_scene(tmp_path)
    for sub in ("cur", "new", "tmp"):
        (scene.base / "md" / sub).mkdir(parents=True)
    check_refused(scene, ["apply", str(scene.base / "md"), "--tree", "tree"])


def test_S12_mbox_with_cover_and_two_patches(tmp_path):
    scene = make_scene(tmp_path)
    work = scene.base / "w"
    shutil.copytree(scene.tree, work, symlinks=True)
    edit_f3(work)
    git(work, "commit", "-qam", "one")
    (work / "Makefile").write_text("obj-y += kernel/\nobj-y += mm/\n")
    git(work, "commit", "-qam", "two")
    out = work / "out"
    git(work, "format-patch", "-q", "--cover-letter", "-o", str(out), "HEAD~2")
    mails = [f.read_bytes() for f in sorted(out.iterdir())]
    mbox = b"".join(mails)
    shutil.rmtree(work)
    pats = [scene.write_patch(m, f"p{i}") for i, m in enumerate(mails[1:])]
    code, expected = git_am_tree(scene, pats)
    p = scene.write_patch(mbox, "series.mbox")
    res = porter(scene, "apply", str(p), "--tree", "tree")
    assert code == 0 and res.exit_code == 0, res.stdout + res.stderr
    assert snapshot(scene.tree) == expected


def test_S13_mboxrd_double_escaped_from(tmp_path):
    scene = make_scene(tmp_path)
    like_git_am(scene, simple_mail(scene, body="Fix.\n\n>>From the archive.\n"))


def test_S15_mbox_from_line_with_huge_year(tmp_path):
    """git's strtol saturates: a 5,000-digit year still makes a separator line; no traceback."""
    scene = make_scene(tmp_path)
    like_git_am(scene, b"From dev@example.org Tue Oct  1 10:00:00 " + b"9" * 5000 + b"\n" + simple_mail(scene))


def test_S16_maildir_names_with_unicode_digits(tmp_path):
    scene = make_scene(tmp_path)
    raw = simple_mail(scene)
    md = scene.base / "md"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    (md / "cur" / "1\u00b2").write_bytes(raw)
    (md / "cur" / "1\u00b3").write_bytes(b"From: x <x@example.org>\nSubject: chatter\n\nno patch here\n")
    code, expected = git_am_tree(scene, [scene.write_patch(raw)])
    res = porter(scene, "apply", str(md), "--tree", "tree")
    assert res.exit_code in (0, 2), res.stdout + res.stderr
    if res.exit_code == 2:
        assert_one_error(res)
    else:
        assert snapshot(scene.tree) == expected


def test_S14_nonexistent_patch(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["apply", str(scene.base / "missing.patch"), "--tree", "tree"])


# == 4. diff shapes against git apply ========================================================================

def _d_rename(w):
    os.rename(w / SAMPLE, w / "kernel/renamed.c")


def _d_rename_edit(w):
    edit_f3(w)
    os.rename(w / SAMPLE, w / "kernel/renamed.c")


def _d_rename_new_dir(w):
    (w / "lib").mkdir()
    os.rename(w / SAMPLE, w / "lib/sample.c")


def _d_copy(w):
    shutil.copy(w / SAMPLE, w / "kernel/copy.c")
    edit_f3(w)


def _d_copy_edit(w):
    text = (w / SAMPLE).read_text()
    (w / "kernel/copy.c").write_text(text.replace("return x + 5;", "return x + 55;"))


def _d_mode_plus_x(w):
    os.chmod(w / "Makefile", 0o755)


def _d_mode_minus_x(w):
    os.chmod(w / "scripts/tool.sh", 0o644)


def _d_mode_and_edit(w):
    os.chmod(w / "scripts/tool.sh", 0o644)
    (w / "scripts/tool.sh").write_text("#!/bin/sh\necho tool2\n")


def _d_new_exec(w):
    (w / "scripts/new.sh").write_text("#!/bin/sh\necho new\n")
    os.chmod(w / "scripts/new.sh", 0o755)


def _d_delete_exec(w):
    os.unlink(w / "scripts/tool.sh")


def _d_new_symlink(w):
    os.symlink("../include/linux/kernel.h", w / "kernel/k.h")


def _d_new_symlink_dangling(w):
    os.symlink("does/not/exist", w / "kernel/dangling")


def _d_new_empty_file(w):
    (w / "kernel/empty.c").write_text("")


def _d_empty_existing(w):
    (w / "Makefile").write_text("")


def _d_file_to_symlink(w):
    os.unlink(w / "Makefile")
    os.symlink("scripts/tool.sh", w / "Makefile")


def _d_delete_all_of_dir(w):
    shutil.rmtree(w / "include")


def _d_space_name(w):
    (w / "docs dir").mkdir()
    (w / "docs dir/my file.txt").write_text("hello\n")


def _d_utf8_name(w):
    (w / "kernel/größe.c").write_text("int g;\n")


def _d_escape_names(w):
    (w / 'kernel/tab\there.c').write_text("int t;\n")
    (w / 'kernel/quote"d.c').write_text("int q;\n")


def _d_backslash_name(w):
    (w / 'kernel/back\\slash.c').write_text("int q;\n")


def _d_newline_name(w):
    (w / "kernel/new\nline.c").write_text("int n;\n")


def _d_dash_name(w):
    (w / "-rf").write_text("int d;\n")


def _d_no_newline_add(w):
    (w / "Makefile").write_text("obj-y += kernel/\nobj-y += mm/")


def _d_no_newline_remove(w):
    (w / "Makefile").write_text("obj-y += kernel/")


def _d_deep_new(w):
    (w / "a/b/c/d/e").mkdir(parents=True)
    (w / "a/b/c/d/e/f.c").write_text("int f;\n")


def _d_two_hunks(w):
    t = (w / SAMPLE).read_text()
    (w / SAMPLE).write_text(t.replace("x + 1;", "x + 11;").replace("x + 10;", "x + 1010;"))


def _d_delete_function(w):
    t = (w / SAMPLE).read_text()
    (w / SAMPLE).write_text(t.replace("int f5(int x)\n{\n\treturn x + 5;\n}\n\n", ""))


def _d_append_end(w):
    (w / SAMPLE).write_text((w / SAMPLE).read_text() + "int f99(int x)\n{\n\treturn x;\n}\n")


def _d_prepend_start(w):
    (w / SAMPLE).write_text("// SPDX-License-Identifier: GPL-2.0\n" + (w / SAMPLE).read_text())


def _d_crlf_file_edit(w):
    (w / "kernel/crlf.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")


GIT_DIFFS = {
    "D01-rename-pure": (_d_rename, ["-M"]),
    "D02-rename-with-edit": (_d_rename_edit, ["-M"]),
    "D03-rename-to-new-dir": (_d_rename_new_dir, ["-M"]),
    "D04-copy-with-edit-of-source": (_d_copy, ["-C", "--find-copies-harder"]),
    "D05-copy-with-edit-of-copy": (_d_copy_edit, ["-C", "--find-copies-harder"]),
    "D06-mode-plus-x": (_d_mode_plus_x, []),
    "D07-mode-minus-x": (_d_mode_minus_x, []),
    "D08-mode-and-edit": (_d_mode_and_edit, []),
    "D09-new-executable": (_d_new_exec, []),
    "D10-delete-executable": (_d_delete_exec, []),
    "D11-new-symlink": (_d_new_symlink, []),
    "D12-new-dangling-symlink": (_d_new_symlink_dangling, []),
    "D13-new-empty-file": (_d_new_empty_file, []),
    "D14-empty-an-existing-file": (_d_empty_existing, []),
    "D15-file-to-symlink": (_d_file_to_symlink, []),
    "D16-delete-whole-directory": (_d_delete_all_of_dir, []),
    "D17-names-with-spaces": (_d_space_name, []),
    "D18-utf8-name-quoted": (_d_utf8_name, []),
    "D19-tab-quote-names": (_d_escape_names, []),
    "D19b-backslash-in-name": (_d_backslash_name, []),
    "D20-newline-in-name": (_d_newline_name, []),
    "D21-name-starting-with-dash": (_d_dash_name, []),
    "D22-no-newline-added": (_d_no_newline_add, []),
    "D23-no-newline-removed": (_d_no_newline_remove, []),
    "D24-deep-new-directories": (_d_deep_new, []),
    "D25-two-hunks": (_d_two_hunks, []),
    "D26-delete-function": (_d_delete_function, []),
    "D27-append-at-end": (_d_append_end, []),
    "D28-prepend-at-start": (_d_prepend_start, []),
    "D29-unified-zero-context": (_d_two_hunks, ["-U0"]),
    "D30-one-line-context": (_d_two_hunks, ["-U1"]),
    "D31-new-crlf-file": (_d_crlf_file_edit, []),
    "D32-no-prefix": (_d_rename_edit, ["--no-prefix"]),
    "D33-odd-prefixes": (_d_two_hunks, ["--src-prefix=old/", "--dst-prefix=new/"]),
}
# git apply takes gitlinks/binary; porter may refuse those shapes with one line.
MAY_REFUSE = {"D11-new-symlink", "D12-new-dangling-symlink", "D15-file-to-symlink",
              "D19b-backslash-in-name"}
GIT_ARGS = {"D29-unified-zero-context": ["--unidiff-zero"], "D32-no-prefix": ["-p0"]}
PORTER_ARGS = {"D32-no-prefix": ["-p", "0"]}


@pytest.mark.parametrize("case", sorted(GIT_DIFFS))
def test_git_diff_like_git_apply(tmp_path, case):
    scene = make_scene(tmp_path)
    edit, args = GIT_DIFFS[case]
    p = scene.write_patch(gdiff(scene, edit, *args))
    if case == "D29-unified-zero-context":
        # git apply needs --unidiff-zero for this; porter refusing it (one line, or a placement refusal)
        # or matching git apply --unidiff-zero are both faithful.
        code, expected, _ = git_apply_tree(scene, p, "--unidiff-zero")
        before = state(scene)
        res = porter(scene, "apply", str(p), "--tree", "tree")
        if res.exit_code == 0:
            assert snapshot(scene.tree) == expected
        else:
            assert res.exit_code in (1, 2) and state(scene) == before
        return
    like_git_apply(scene, p, PORTER_ARGS.get(case, ()), GIT_ARGS.get(case, ()), may_refuse=case in MAY_REFUSE)


def test_D34_as_mail_rename_with_edit(tmp_path):
    scene = make_scene(tmp_path)
    like_git_am(scene, fpatch(scene, _d_rename_edit, "sample: move\n\nMoved.\n", "-M"))


def test_D35_binary_literal(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(gdiff(scene, lambda w: (w / "fw.bin").write_bytes(bytes(range(256))), "--binary"))
    like_git_apply(scene, p, may_refuse=True)


def test_D36_binary_delta(tmp_path):
    scene = make_scene(tmp_path, {"fw.bin": bytes(range(256)) * 16})
    p = scene.write_patch(gdiff(scene, lambda w: (w / "fw.bin").write_bytes(bytes(range(256)) * 15 + b"x"),
                                "--binary"))
    like_git_apply(scene, p, may_refuse=True)


def test_D37_submodule_gitlink_added(tmp_path):
    scene = make_scene(tmp_path)
    text = ("diff --git a/sub b/sub\nnew file mode 160000\nindex 0000000..1234567\n--- /dev/null\n+++ b/sub\n"
            "@@ -0,0 +1 @@\n+Subproject commit 1234567890123456789012345678901234567890\n")
    like_git_apply(scene, scene.write_patch(text), may_refuse=True)


def test_D38_symlink_target_change(tmp_path):
    scene = make_scene(tmp_path)
    os.symlink("tool.sh", scene.tree / "scripts/link")
    git(scene.tree, "add", "-A")
    git(scene.tree, "commit", "-qm", "link")
    p = scene.write_patch(gdiff(scene, lambda w: (os.unlink(w / "scripts/link"),
                                                  os.symlink("../Makefile", w / "scripts/link"))))
    like_git_apply(scene, p, may_refuse=True)


def test_D39_delete_symlink(tmp_path):
    scene = make_scene(tmp_path)
    os.symlink("tool.sh", scene.tree / "scripts/link")
    git(scene.tree, "add", "-A")
    git(scene.tree, "commit", "-qm", "link")
    like_git_apply(scene, scene.write_patch(gdiff(scene, lambda w: os.unlink(w / "scripts/link"))), may_refuse=True)


def test_D40_no_newline_on_context_only(tmp_path):
    scene = make_scene(tmp_path, {"kernel/nonl.txt": "a\nb\nc\nd"})
    p = scene.write_patch(gdiff(scene, lambda w: (w / "kernel/nonl.txt").write_text("a\nB\nc\nd")))
    like_git_apply(scene, p)


def test_D41_no_newline_on_both_sides_last_line_changed(tmp_path):
    scene = make_scene(tmp_path, {"kernel/nonl.txt": "a\nb\nc\nd"})
    p = scene.write_patch(gdiff(scene, lambda w: (w / "kernel/nonl.txt").write_text("a\nb\nc\nD")))
    like_git_apply(scene, p)


def _hand(scene, text: str) -> Path:
    return scene.write_patch(text)


def test_D42_hunks_out_of_order(tmp_path):
    scene = make_scene(tmp_path)
    d = gdiff(scene, _d_two_hunks).decode()
    head, rest = d.split("@@", 1)
    hunks = re.split(r"(?m)^(?=@@ )", "@@" + rest)
    like_git_apply(scene, _hand(scene, head + hunks[1] + hunks[0]))


def test_D43_overlapping_hunks(tmp_path):
    scene = make_scene(tmp_path)
    d = gdiff(scene, lambda w: edit_f3(w)).decode()
    head, rest = d.split("@@", 1)
    once = scene.write_patch(d, "once.patch")
    _, expected, _ = git_apply_tree(scene, once)
    before = state(scene)
    res = porter(scene, "apply", str(_hand(scene, head + "@@" + rest + "@@" + rest)), "--tree", "tree")
    if res.exit_code == 0:  # git refuses; porter may call the repeated hunk already applied, never apply it twice
        assert snapshot(scene.tree) == expected and "already" in res.stdout
    else:
        assert res.exit_code in (1, 2) and state(scene) == before


def test_D44_duplicate_file_sections_sequential(tmp_path):
    scene = make_scene(tmp_path)
    one = gdiff(scene, lambda w: (w / "Makefile").write_text("obj-y += kernel/\nobj-y += mm/\n")).decode()
    two = ("diff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n@@ -1,2 +1,3 @@\n"
           " obj-y += kernel/\n obj-y += mm/\n+obj-y += fs/\n")
    like_git_apply(scene, _hand(scene, one + two))


def test_D45_empty_hunk(tmp_path):
    scene = make_scene(tmp_path)
    p = _hand(scene, f"diff --git a/{SAMPLE} b/{SAMPLE}\n--- a/{SAMPLE}\n+++ b/{SAMPLE}\n@@ -0,0 +0,0 @@\n")
    refused_or_not_applied(scene, ["apply", str(p), "--tree", "tree"])


def test_D46_crlf_patch_on_lf_tree(tmp_path):
    """A diff saved with CRLF line ends (not a mail): git apply refuses; porter must not write CRs."""
    scene = make_scene(tmp_path)
    p = scene.write_patch(sample_diff(scene).replace(b"\n", b"\r\n"))
    code, expected, _ = git_apply_tree(scene, p)
    before = state(scene)
    res = porter(scene, "apply", str(p), "--tree", "tree")
    if code == 0:
        assert res.exit_code == 0 and snapshot(scene.tree) == expected
    elif res.exit_code == 0:
        assert b"\r" not in (scene.tree / SAMPLE).read_bytes()
    else:
        assert state(scene) == before


def test_D47_crlf_lines_in_crlf_file(tmp_path):
    scene = make_scene(tmp_path, {"kernel/crlf.txt": b"one\r\ntwo\r\nthree\r\n"})
    p = scene.write_patch(gdiff(scene, lambda w: (w / "kernel/crlf.txt").write_bytes(b"one\r\n2\r\nthree\r\n")))
    like_git_apply(scene, p)


def test_D48_empty_context_lines_from_mail(tmp_path):
    """Mailers strip the lone space of an empty context line; git apply still accepts it."""
    scene = make_scene(tmp_path)
    d = sample_diff(scene).replace(b"\n \n", b"\n\n")
    like_git_apply(scene, scene.write_patch(mail(d)))


def test_D49_new_file_on_existing_path(tmp_path):
    scene = make_scene(tmp_path)
    p = _hand(scene, "diff --git a/Makefile b/Makefile\nnew file mode 100644\n--- /dev/null\n+++ b/Makefile\n"
                     "@@ -0,0 +1 @@\n+obj-y += evil/\n")
    like_git_apply(scene, p)


def test_D50_delete_with_wrong_content(tmp_path):
    scene = make_scene(tmp_path)
    p = _hand(scene, "diff --git a/Makefile b/Makefile\ndeleted file mode 100644\n--- a/Makefile\n+++ /dev/null\n"
                     "@@ -1 +0,0 @@\n-obj-y += something-else/\n")
    like_git_apply(scene, p)


def test_D51_delete_missing_file(tmp_path):
    scene = make_scene(tmp_path)
    p = _hand(scene, "diff --git a/nope.c b/nope.c\ndeleted file mode 100644\n--- a/nope.c\n+++ /dev/null\n"
                     "@@ -1 +0,0 @@\n-x\n")
    like_git_apply(scene, p)


def test_D52_rename_onto_existing(tmp_path):
    scene = make_scene(tmp_path)
    p = _hand(scene, "diff --git a/Makefile b/scripts/tool.sh\nsimilarity index 100%\nrename from Makefile\n"
                     "rename to scripts/tool.sh\n")
    like_git_apply(scene, p)


def test_D53_rename_from_missing(tmp_path):
    scene = make_scene(tmp_path)
    p = _hand(scene, "diff --git a/gone.c b/here.c\nsimilarity index 100%\nrename from gone.c\nrename to here.c\n")
    like_git_apply(scene, p)


def test_D54_file_replaced_by_directory(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(gdiff(scene, lambda w: (os.unlink(w / "Makefile"), (w / "Makefile").mkdir(),
                                                  (w / "Makefile/inner.mk").write_text("x\n"))))
    like_git_apply(scene, p)


def test_D55_directory_replaced_by_file(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(gdiff(scene, lambda w: (shutil.rmtree(w / "include"),
                                                  (w / "include").write_text("flat\n"))))
    like_git_apply(scene, p)


def test_D55b_directory_not_emptied_is_not_replaced(tmp_path):
    """A new file named like a directory the patch does not empty: git apply refuses, porter too."""
    scene = make_scene(tmp_path)
    p = _hand(scene, "diff --git a/include b/include\nnew file mode 100644\n--- /dev/null\n+++ b/include\n"
                     "@@ -0,0 +1 @@\n+flat\n")
    assert git_apply_tree(scene, p)[0] != 0
    check_refused(scene, ["apply", str(p), "--tree", "tree"], "include is a directory")


@pytest.mark.parametrize("edit", ["file-to-dir", "dir-to-file"])
@pytest.mark.parametrize("point", ["first-rename", "mid-rename"])
def test_D54_D55_killed_mid_write_is_rolled_back(tmp_path, edit, point):
    """SIGKILL inside a write that changes a path's kind: the next porter command restores the old tree."""
    scene = make_scene(tmp_path)

    def change(w):
        if edit == "file-to-dir":
            os.unlink(w / "Makefile")
            (w / "Makefile").mkdir()
            (w / "Makefile/inner.mk").write_text("x\n")
        else:
            shutil.rmtree(w / "include")
            (w / "include").write_text("flat\n")

    p = scene.write_patch(gdiff(scene, change))
    before = state(scene)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
           "PORTER_TEST_SIGNAL_AT": f"{point}:KILL"}
    proc = subprocess.run([sys.executable, "-m", "porter", "apply", str(p), "--tree", "tree"], cwd=scene.base,
                          env=env, capture_output=True, check=False, timeout=120)
    assert proc.returncode == -9, proc.stderr
    killed = state(scene)
    assert killed != before
    # A dry run writes nothing, a rollback included: it says the tree may be half written.
    res = porter(scene, "apply", str(p), "--tree", "tree", "--dry-run")
    assert res.exit_code == 2 and "interrupted porter write" in res.stderr, res.stderr
    assert state(scene) == killed
    # The next write rolls the old tree back first, then applies the patch to it as to a fresh tree.
    res = porter(scene, "apply", str(p), "--tree", "tree")
    assert res.exit_code == 0 and "was rolled back" in res.stderr, res.stderr
    (tmp_path / "fresh").mkdir()
    fresh = make_scene(tmp_path / "fresh")
    assert state(fresh)[:2] == before[:2]
    assert porter(fresh, "apply", str(p), "--tree", "tree").exit_code == 0
    assert state(scene)[:2] == state(fresh)[:2] and state(scene)[2] == before[2]  # .git untouched


def test_D56_new_file_and_new_file_beneath_it(tmp_path):
    scene = make_scene(tmp_path)
    p = _hand(scene, "diff --git a/nd b/nd\nnew file mode 100644\n--- /dev/null\n+++ b/nd\n@@ -0,0 +1 @@\n+x\n"
                     "diff --git a/nd/x b/nd/x\nnew file mode 100644\n--- /dev/null\n+++ b/nd/x\n@@ -0,0 +1 @@\n+y\n")
    like_git_apply(scene, p)


def test_D57_same_new_file_twice(tmp_path):
    scene = make_scene(tmp_path)
    sec = "diff --git a/n.c b/n.c\nnew file mode 100644\n--- /dev/null\n+++ b/n.c\n@@ -0,0 +1 @@\n+x\n"
    like_git_apply(scene, _hand(scene, sec + sec))


def test_D58_plain_diff_u_with_timestamps(tmp_path):
    scene = make_scene(tmp_path)
    d = sample_diff(scene).decode()
    body = d[d.index("@@"):]
    text = (f"--- a/{SAMPLE}\t2024-10-01 10:00:00.000000000 +0000\n+++ b/{SAMPLE}\t2024-10-02 10:00:00.0 +0000\n"
            + body)
    like_git_apply(scene, _hand(scene, text))


def test_D59_plain_diff_new_file_dev_null(tmp_path):
    scene = make_scene(tmp_path)
    like_git_apply(scene, _hand(scene, "--- /dev/null\n+++ b/kernel/new.c\n@@ -0,0 +1,2 @@\n+int n;\n+int m;\n"))


def test_D60_svn_index_header(tmp_path):
    scene = make_scene(tmp_path)
    d = sample_diff(scene).decode()
    text = f"Index: {SAMPLE}\n" + "=" * 67 + "\n" + d[d.index("--- "):]
    like_git_apply(scene, _hand(scene, text))


def test_D61_no_trailing_context_not_at_end(tmp_path):
    """A hunk without trailing context only applies at end of file (git's rule)."""
    scene = make_scene(tmp_path)
    p = _hand(scene, f"diff --git a/{SAMPLE} b/{SAMPLE}\n--- a/{SAMPLE}\n+++ b/{SAMPLE}\n@@ -17,2 +17,3 @@\n"
                     " {\n \treturn x + 3;\n+\t/* end? */\n")
    like_git_apply(scene, p)


def test_D62_no_leading_context_not_at_start(tmp_path):
    scene = make_scene(tmp_path)
    p = _hand(scene, f"diff --git a/{SAMPLE} b/{SAMPLE}\n--- a/{SAMPLE}\n+++ b/{SAMPLE}\n@@ -18,2 +18,3 @@\n"
                     "+\t/* start? */\n \treturn x + 3;\n }\n")
    like_git_apply(scene, p)


def test_D63_offset_hunk(tmp_path):
    scene = make_scene(tmp_path)
    d = sample_diff(scene).decode()
    p = _hand(scene, re.sub(r"@@ -(\d+),7 \+(\d+),7 @@", "@@ -3,7 +3,7 @@", d))
    code, expected, _ = git_apply_tree(scene, p)
    before = state(scene)
    res = porter(scene, "apply", str(p), "--tree", "tree")
    if res.exit_code == 0:
        assert snapshot(scene.tree) == expected
    else:  # placement quality is not this corpus's business; not writing is
        assert res.exit_code == 1 and state(scene) == before


def test_D64_wrong_index_hashes(tmp_path):
    scene = make_scene(tmp_path)
    d = re.sub(r"(?m)^index \w+\.\.\w+", "index " + "1" * 40 + ".." + "2" * 40, sample_diff(scene).decode())
    like_git_apply(scene, _hand(scene, d))


def test_D65_new_file_mode_100600(tmp_path):
    scene = make_scene(tmp_path)
    like_git_apply(scene, _hand(scene, "diff --git a/n.c b/n.c\nnew file mode 100600\n--- /dev/null\n+++ b/n.c\n"
                                       "@@ -0,0 +1 @@\n+x\n"), may_refuse=True)


def test_D66_mode_change_to_symlink_mode_without_content(tmp_path):
    scene = make_scene(tmp_path)
    like_git_apply(scene, _hand(scene, "diff --git a/Makefile b/Makefile\nold mode 100644\nnew mode 120000\n"))


def test_D67_context_diff_like_gnu_patch(tmp_path):
    scene = make_scene(tmp_path)
    a, b = scene.base / "a", scene.base / "b"
    shutil.copytree(scene.tree / "kernel", a / "kernel")
    shutil.copytree(scene.tree / "kernel", b / "kernel")
    edit_f3(b)
    ctx = subprocess.run(["diff", "-c", "a/kernel/sample.c", "b/kernel/sample.c"], cwd=scene.base,
                         capture_output=True).stdout
    p = scene.write_patch(ctx)
    copy = scene.base / "pc"
    shutil.copytree(scene.tree, copy, symlinks=True)
    assert subprocess.run(["patch", "-s", "-p1", "-i", str(p)], cwd=copy).returncode == 0
    expected = snapshot(copy)
    shutil.rmtree(copy)
    res = porter(scene, "apply", str(p), "--tree", "tree")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert snapshot(scene.tree) == expected


def test_D68_rej_file_with_file_option(tmp_path):
    scene = make_scene(tmp_path)
    d = sample_diff(scene).decode()
    rej = scene.write_patch(d[d.index("@@"):], "sample.c.rej")
    code, expected, _ = git_apply_tree(scene, scene.write_patch(d, "full.patch"))
    res = porter(scene, "apply", str(rej), "--tree", "tree", "--file", SAMPLE)
    assert code == 0 and res.exit_code == 0, res.stdout + res.stderr
    assert snapshot(scene.tree) == expected


def test_D69_rej_file_with_file_outside_tree(tmp_path):
    scene = make_scene(tmp_path)
    d = sample_diff(scene).decode()
    rej = scene.write_patch(d[d.index("@@"):], "sample.c.rej")
    check_refused(scene, ["apply", str(rej), "--tree", "tree", "--file", "../sibling/keep.txt"])


def test_D70_rej_file_with_file_into_git(tmp_path):
    scene = make_scene(tmp_path)
    rej = scene.write_patch("@@ -1,1 +1,2 @@\n [core]\n+\tfsmonitor = \"touch /tmp/pwned\"\n", "c.rej")
    refused_or_not_applied(scene, ["apply", str(rej), "--tree", "tree", "--file", ".git/config"])


def test_D71_strip_more_than_components(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(sample_diff(scene))
    refused_or_not_applied(scene, ["apply", str(p), "--tree", "tree", "-p", "5"])


def test_D72_no_prefix_without_p0(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(gdiff(scene, edit_f3, "--no-prefix"))
    code, expected, _ = git_apply_tree(scene, p, "-p0")
    before = state(scene)
    res = porter(scene, "apply", str(p), "--tree", "tree")
    if res.exit_code == 0:
        assert snapshot(scene.tree) == expected
    else:
        assert res.exit_code in (1, 2) and state(scene) == before


def _two_mails(scene, first, second) -> list[bytes]:
    work = scene.base / "w2"
    shutil.copytree(scene.tree, work, symlinks=True)
    try:
        out = []
        for n, edit in enumerate((first, second)):
            edit(work)
            git(work, "add", "-A")
            git(work, "commit", "-qm", f"step {n}")
            out.append(git(work, "format-patch", "-1", "--stdout", "-M").stdout)
        return out
    finally:
        shutil.rmtree(work)


def _series_like_git_am(scene, mails):
    pats = [scene.write_patch(m, f"{i:04d}.patch") for i, m in enumerate(mails)]
    code, expected = git_am_tree(scene, pats)
    before = state(scene)
    res = porter(scene, "apply", *map(str, pats), "--tree", "tree")
    if code:
        assert res.exit_code in (1, 2) and state(scene) == before
    else:
        assert res.exit_code == 0, res.stdout + res.stderr
        assert snapshot(scene.tree) == expected


def test_D73_series_create_then_delete(tmp_path):
    scene = make_scene(tmp_path)
    _series_like_git_am(scene, _two_mails(scene, lambda w: (w / "kernel/tmp.c").write_text("int t;\n"),
                                          lambda w: os.unlink(w / "kernel/tmp.c")))


def test_D74_series_rename_then_edit_renamed(tmp_path):
    scene = make_scene(tmp_path)
    _series_like_git_am(scene, _two_mails(scene, _d_rename, lambda w: (w / "kernel/renamed.c").write_text(
        (w / "kernel/renamed.c").read_text().replace("x + 7;", "x + 77;"))))


def test_D75_series_second_refused_writes_nothing(tmp_path):
    scene = make_scene(tmp_path)
    one = simple_mail(scene)
    two = mail(b"diff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n@@ -1 +1 @@\n"
               b"-obj-y += nothing-like-this/\n+obj-y += x/\n")
    p1, p2 = scene.write_patch(one, "1.patch"), scene.write_patch(two, "2.patch")
    refused_or_not_applied(scene, ["apply", str(p1), str(p2), "--tree", "tree"])


def test_D76_new_file_under_existing_file(tmp_path):
    scene = make_scene(tmp_path)
    like_git_apply(scene, scene.write_patch(mail(_newfile("Makefile/sub.mk").encode())))


def test_D77_name_too_long(tmp_path):
    scene = make_scene(tmp_path)
    like_git_apply(scene, scene.write_patch(mail(_newfile("kernel/" + "n" * 300 + ".c").encode())))


def test_D78_path_too_deep_for_the_os(tmp_path):
    scene = make_scene(tmp_path)
    like_git_apply(scene, scene.write_patch(mail(_newfile("/".join(["d" * 200] * 25) + "/x.c").encode())))


def test_D79_latin1_bytes_in_file_name(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(gdiff(scene, lambda w: (w / os.fsdecode(b"kernel/gr\xf6sse.c")).write_text("int g;\n")))
    like_git_apply(scene, p, may_refuse=True)


def test_D80_dot_component_in_path(tmp_path):
    scene = make_scene(tmp_path)
    d = sample_diff(scene).decode()
    code, expected, _ = git_apply_tree(scene, scene.write_patch(d, "plain.patch"))
    before = state(scene)
    res = porter(scene, "apply", str(scene.write_patch(d.replace("kernel/sample.c", "kernel/./sample.c"))),
                 "--tree", "tree")
    if res.exit_code == 0:  # git refuses a '.' component; porter reading it as kernel/sample.c is harmless
        assert snapshot(scene.tree) == expected
    else:
        assert res.exit_code in (1, 2) and state(scene) == before


def test_D81_empty_file_names(tmp_path):
    scene = make_scene(tmp_path)
    like_git_apply(scene, scene.write_patch("diff --git a/ b/\n--- a/\n+++ b/\n@@ -1 +1 @@\n-x\n+y\n"))


def test_D82_trailing_slash_name(tmp_path):
    scene = make_scene(tmp_path)
    like_git_apply(scene, scene.write_patch(mail(_newfile("kernel/").encode())))


def test_D83_stdin_twice(tmp_path):
    """`porter apply - -`: the second '-' reads an empty stdin; never the series applied twice."""
    scene = make_scene(tmp_path)
    raw = mail(gdiff(scene, _d_append_end))
    code, expected, _ = git_apply_tree(scene, scene.write_patch(raw))
    before = state(scene)
    res = porter(scene, "apply", "-", "-", "--tree", "tree", input=raw)
    if res.exit_code == 0:
        assert snapshot(scene.tree) == expected
    else:
        assert res.exit_code in (1, 2) and state(scene) == before
        if res.exit_code == 2:
            assert_one_error(res)


def test_D84_partial_rej_over_existing_file(tmp_path):
    """--partial writes .rej files for refused hunks; an existing tracked file of that name is not lost
    silently: either refused or the tree still has its old content somewhere git can restore (it is tracked)."""
    scene = make_scene(tmp_path, {"Makefile.rej": "tracked content\n"})
    p = scene.write_patch(mail(b"diff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n@@ -1 +1 @@\n"
                               b"-obj-y += nothing-like-this/\n+obj-y += x/\n"))
    before = state(scene)
    res = porter(scene, "apply", str(p), "--tree", "tree", "--partial")
    assert res.exit_code in (1, 2), res.stdout
    if res.exit_code == 2:
        assert_one_error(res)
        assert state(scene) == before
    assert (scene.tree / "Makefile.rej").read_text() == "tracked content\n" or res.exit_code == 1


# == 5. the tree boundary ====================================================================================

def _into(path: str, line="+\tfsmonitor = \"touch pwned; false\"\n") -> str:
    return (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1,3 +1,4 @@\n [core]\n"
            f"{line}\trepositoryformatversion = 0\n\tfilemode = true\n")


def _newfile(path: str, mode="100644") -> str:
    return (f"diff --git a/{path} b/{path}\nnew file mode {mode}\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n"
            "+#!/bin/sh\n")


BOUNDARY = {
    "B01-dotgit-config": _into(".git/config"),
    "B02-dotgit-upper": _into(".GIT/config"),
    "B03-dotgit-mixed-nested": _newfile("kernel/.gIt/hooks/post-checkout", "100755"),
    "B04-dotgit-via-dotdot": _into("kernel/../.git/config"),
    "B05-dotgit-via-dot": _into("./.git/config"),
    "B06-dotgit-double-slash": _into("kernel//..//.git/config"),
    "B07-new-hook": _newfile(".git/hooks/pre-commit", "100755"),
    "B08-dotgit-itself-as-file": _newfile(".git"),
    "B09-dotdot-escape": _newfile("../sibling/evil.txt"),
    "B10-dotdot-deep": _newfile("kernel/../../sibling/evil.txt"),
    "B11-absolute-in-plain-diff": ("--- /dev/null\n+++ /tmp/porter-hostile-abs.txt\n@@ -0,0 +1 @@\n+x\n"),
    "B12-rename-into-git": ("diff --git a/Makefile b/.git/hooks/post-merge\nsimilarity index 100%\n"
                            "rename from Makefile\nrename to .git/hooks/post-merge\n"),
    "B13-copy-into-git": ("diff --git a/scripts/tool.sh b/.git/hooks/pre-push\nsimilarity index 100%\n"
                          "copy from scripts/tool.sh\ncopy to .git/hooks/pre-push\n"),
    "B14-rename-out-of-tree": ("diff --git a/Makefile b/../sibling/Makefile\nsimilarity index 100%\n"
                               "rename from Makefile\nrename to ../sibling/Makefile\n"),
    "B15-symlink-then-write-through": ("diff --git a/evil b/evil\nnew file mode 120000\n--- /dev/null\n"
                                       "+++ b/evil\n@@ -0,0 +1 @@\n+.git\n\\ No newline at end of file\n"
                                       + _newfile("evil/hooks/pre-commit", "100755")),
    "B16-symlink-out-then-write-through": ("diff --git a/out b/out\nnew file mode 120000\n--- /dev/null\n"
                                           "+++ b/out\n@@ -0,0 +1 @@\n+../sibling\n"
                                           "\\ No newline at end of file\n" + _newfile("out/evil.txt")),
    "B17-git-in-quoted-name": ('diff --git "a/\\056git/config" "b/\\056git/config"\n--- "a/\\056git/config"\n'
                               '+++ "b/\\056git/config"\n@@ -1,3 +1,4 @@\n [core]\n+\tbare = true\n'
                               "\trepositoryformatversion = 0\n\tfilemode = true\n"),
    "B18-git-trailing-dot-ntfs": _newfile(".git./hooks/x"),
}


@pytest.mark.parametrize("case", sorted(BOUNDARY))
def test_boundary(tmp_path, case):
    scene = make_scene(tmp_path)
    hooks = scene.tree / ".git/hooks"
    p = scene.write_patch(mail(BOUNDARY[case].encode()))
    refused_or_not_applied(scene, ["apply", str(p), "--tree", "tree"])
    assert not Path("/tmp/porter-hostile-abs.txt").exists()
    assert not (scene.sibling / "evil.txt").exists() and hooks.is_dir()


def test_B19_strip_zero_absolute(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch("--- /dev/null\n+++ /tmp/porter-hostile-abs2.txt\n@@ -0,0 +1 @@\n+x\n")
    refused_or_not_applied(scene, ["apply", str(p), "--tree", "tree", "-p", "0"])
    assert not Path("/tmp/porter-hostile-abs2.txt").exists()


def _link_scene(tmp_path, rel: str, target: str):
    scene = make_scene(tmp_path)
    os.symlink(target, scene.tree / rel)
    git(scene.tree, "add", "-A")
    git(scene.tree, "commit", "-qm", "link")
    return scene


def test_B20_edit_through_symlinked_dir_in_tree(tmp_path):
    scene = _link_scene(tmp_path, "klink", "kernel")
    d = sample_diff(scene).decode().replace("kernel/sample.c", "klink/sample.c")
    like_git_apply(scene, scene.write_patch(d))


def test_B21_edit_file_symlinked_outside(tmp_path):
    scene = _link_scene(tmp_path, "keep.txt", "../sibling/keep.txt")
    p = scene.write_patch("diff --git a/keep.txt b/keep.txt\n--- a/keep.txt\n+++ b/keep.txt\n@@ -1 +1,2 @@\n"
                          " outside the tree\n+written\n")
    refused_or_not_applied(scene, ["apply", str(p), "--tree", "tree"])


def test_B22_new_file_through_dir_symlinked_outside(tmp_path):
    scene = _link_scene(tmp_path, "ext", "../sibling")
    refused_or_not_applied(scene, ["apply", str(scene.write_patch(_newfile("ext/new.txt"))), "--tree", "tree"])


def test_B23_delete_through_dir_symlinked_outside(tmp_path):
    scene = _link_scene(tmp_path, "ext", "../sibling")
    p = scene.write_patch("diff --git a/ext/keep.txt b/ext/keep.txt\ndeleted file mode 100644\n--- a/ext/keep.txt\n"
                          "+++ /dev/null\n@@ -1 +0,0 @@\n-outside the tree\n")
    refused_or_not_applied(scene, ["apply", str(p), "--tree", "tree"])


def test_B24_symlink_to_dotgit_in_tree(tmp_path):
    scene = _link_scene(tmp_path, "g", ".git")
    refused_or_not_applied(scene, ["apply", str(scene.write_patch(_into("g/config"))), "--tree", "tree"])


def _run_sub(scene, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "porter", *args], cwd=scene.base, capture_output=True,
                          timeout=timeout)


def test_B25_fifo_at_edited_path_does_not_hang(tmp_path):
    scene = make_scene(tmp_path)
    os.unlink(scene.tree / "Makefile")
    os.mkfifo(scene.tree / "Makefile")
    p = scene.write_patch(b"diff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n@@ -1 +1,2 @@\n"
                          b" obj-y += kernel/\n+obj-y += mm/\n")
    before = state(scene)
    proc = _run_sub(scene, "apply", str(p), "--tree", "tree")
    assert proc.returncode in (1, 2), proc.stderr
    assert state(scene) == before


def test_B26_socket_at_edited_path(tmp_path):
    scene = make_scene(tmp_path)
    os.unlink(scene.tree / "Makefile")
    s = socket.socket(socket.AF_UNIX)
    os.chdir(scene.tree)
    try:
        s.bind("Makefile")
    finally:
        os.chdir(tmp_path)
    p = scene.write_patch(b"diff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n@@ -1 +1,2 @@\n"
                          b" obj-y += kernel/\n+obj-y += mm/\n")
    before = state(scene)
    proc = _run_sub(scene, "apply", str(p), "--tree", "tree")
    s.close()
    assert proc.returncode in (1, 2), proc.stderr
    assert state(scene) == before


def test_B27_submodule_checkout_file_edited(tmp_path):
    """A file inside a submodule's work tree belongs to another repository."""
    scene = make_scene(tmp_path)
    sub = scene.tree / "drivers/sub"
    sub.mkdir(parents=True)
    git(sub, "init", "-q")
    (sub / "a.c").write_text("int a;\n")
    git(sub, "add", "-A")
    git(sub, "commit", "-qm", "s")
    p = scene.write_patch("diff --git a/drivers/sub/a.c b/drivers/sub/a.c\n--- a/drivers/sub/a.c\n"
                          "+++ b/drivers/sub/a.c\n@@ -1 +1,2 @@\n int a;\n+int b;\n")
    before = state(scene)
    sub_git = snapshot(sub / ".git")
    res = porter(scene, "apply", str(p), "--tree", "tree")
    assert res.exit_code in (1, 2), res.stdout
    assert state(scene) == before and snapshot(sub / ".git") == sub_git


def test_B28_nested_git_dir_config(tmp_path):
    scene = make_scene(tmp_path)
    (scene.tree / "kernel/.git").mkdir()
    (scene.tree / "kernel/.git/config").write_text("[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n")
    refused_or_not_applied(scene, ["apply", str(scene.write_patch(_into("kernel/.git/config"))), "--tree", "tree"])


def test_B29_tree_is_symlink_to_dir(tmp_path):
    scene = make_scene(tmp_path)
    os.symlink("tree", scene.base / "tlink")
    p = scene.write_patch(simple_mail(scene))
    code, expected, _ = git_apply_tree(scene, p)
    res = porter(scene, "apply", str(p), "--tree", "tlink")
    if res.exit_code == 2:
        assert_one_error(res)
    else:
        assert res.exit_code == 0 and snapshot(scene.tree) == expected
    assert (scene.base / "tlink").is_symlink()


def test_B30_tree_missing(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["apply", str(scene.write_patch(simple_mail(scene))), "--tree", "nowhere"])


def test_B31_tree_is_a_file(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["apply", str(scene.write_patch(simple_mail(scene))), "--tree", "tree/Makefile"])


def test_B32_tree_is_dotgit(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["apply", str(scene.write_patch(_into("config"))), "--tree", "tree/.git"])


# == 6. writing ==============================================================================================

def test_W01_output_missing_directory(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["apply", str(scene.write_patch(simple_mail(scene))), "--tree", "tree",
                          "--output", str(scene.base / "no/such/dir/out.patch")])


def test_W02_output_inside_git_dir(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["apply", str(scene.write_patch(simple_mail(scene))), "--tree", "tree",
                          "--output", str(scene.tree / ".git/ported.patch")])


def test_W03_output_parent_is_a_file(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["apply", str(scene.write_patch(simple_mail(scene))), "--tree", "tree",
                          "--output", str(scene.base / "in.patch" / "out.patch")])


def test_W04_output_dash_reapplies_like_git(tmp_path):
    scene = make_scene(tmp_path)
    raw = simple_mail(scene)
    p = scene.write_patch(raw)
    code, expected, _ = git_apply_tree(scene, p)
    fresh = scene.base / "fresh"
    shutil.copytree(scene.tree, fresh, symlinks=True)
    res = porter(scene, "apply", str(p), "--tree", "tree", "--output", "-")
    assert res.exit_code == 0, res.stderr
    assert res.stdout_bytes.startswith(b"From "), res.stdout[:200]
    out = scene.write_patch(res.stdout_bytes, "ported.patch")
    assert git(fresh, "am", str(out), check=False).returncode == 0
    assert snapshot(fresh) == expected == snapshot(scene.tree)


def test_W05_output_to_fd_pipe(tmp_path):
    """--output >(cat): the ported patch goes into the pipe, or a one-line refusal; never a half write."""
    scene = make_scene(tmp_path)
    p = scene.write_patch(simple_mail(scene))
    r, w = os.pipe()
    got = []
    t = threading.Thread(target=lambda: got.append(os.fdopen(r, "rb").read()))
    t.start()
    proc = subprocess.Popen([sys.executable, "-m", "porter", "apply", str(p), "--tree", "tree",
                             "--output", f"/dev/fd/{w}"], cwd=scene.base, pass_fds=(w,),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(w)
    out, err = proc.communicate(timeout=120)
    t.join(10)
    assert proc.returncode == 0 and got and got[0].startswith(b"From "), (err, got)


def test_W06_output_to_dev_full_rolls_back(tmp_path):
    """Writing the patch fails (ENOSPC, like /dev/full): the tree must be as it was."""
    scene = make_scene(tmp_path)
    p = scene.write_patch(simple_mail(scene))
    os.mknod(scene.base / "full", 0o666 | 0o020000, os.makedev(1, 7))
    before = state(scene)
    res = porter(scene, "apply", str(p), "--tree", "tree", "--output", str(scene.base / "full"))
    assert_one_error(res)
    assert state(scene) == before
    assert (scene.base / "full").is_char_device()  # written into, not replaced by a renamed file


def test_W06b_output_to_null_device_through_symlink(tmp_path):
    """`--output /dev/null` (here a null device node behind a symlink): the tree is written, the device and
    the symlink stay what they are (as root, a rename over /dev/null would replace the system's /dev/null)."""
    scene = make_scene(tmp_path)
    p = scene.write_patch(simple_mail(scene))
    code, expected, _ = git_apply_tree(scene, p)
    os.mknod(scene.base / "null", 0o666 | 0o020000, os.makedev(1, 3))
    os.symlink("null", scene.base / "out.patch")
    res = porter(scene, "apply", str(p), "--tree", "tree", "--output", str(scene.base / "out.patch"))
    assert res.exit_code == 0, res.stdout + res.stderr
    assert snapshot(scene.tree) == expected
    assert (scene.base / "out.patch").is_symlink() and (scene.base / "null").is_char_device()


def test_W07_output_over_tree_file(tmp_path):
    """--output names a file the patch changes: the tree must still be git's result, or a refusal."""
    scene = make_scene(tmp_path)
    p = scene.write_patch(simple_mail(scene))
    code, expected, _ = git_apply_tree(scene, p)
    before = state(scene)
    res = porter(scene, "apply", str(p), "--tree", "tree", "--output", str(scene.tree / SAMPLE))
    if res.exit_code == 2:
        assert_one_error(res)
        assert state(scene) == before
    else:
        assert res.exit_code == 0 and snapshot(scene.tree) == expected


def test_W08_dry_run_leaves_no_trace(tmp_path, monkeypatch):
    scene = make_scene(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    p = scene.write_patch(simple_mail(scene))
    before = state(scene)
    base_before = sorted(x.name for x in scene.base.iterdir())
    refs = git(scene.tree, "for-each-ref").stdout
    res = porter(scene, "apply", str(p), "--tree", "tree", "--dry-run", "--output", str(scene.base / "o.patch"))
    assert res.exit_code == 0, res.stderr
    assert state(scene) == before
    assert sorted(x.name for x in scene.base.iterdir()) == base_before
    assert git(scene.tree, "for-each-ref").stdout == refs


def test_W09_reapply_is_already_applied(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(simple_mail(scene))
    code, expected, _ = git_apply_tree(scene, p)
    assert porter(scene, "apply", str(p), "--tree", "tree").exit_code == 0
    before = state(scene)
    res = porter(scene, "apply", str(p), "--tree", "tree")
    assert res.exit_code == 0 and state(scene) == before and snapshot(scene.tree) == expected


def test_W10_reapply_new_file_patch(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(mail(gdiff(scene, _d_new_exec)))
    assert porter(scene, "apply", str(p), "--tree", "tree").exit_code == 0
    before = state(scene)
    res = porter(scene, "apply", str(p), "--tree", "tree")
    assert res.exit_code in (0, 1, 2) and state(scene) == before
    if res.exit_code == 2:
        assert_one_error(res)


def test_W11_same_tree_twice(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(mail(gdiff(scene, _d_append_end)))
    code, expected, _ = git_apply_tree(scene, p)
    before = state(scene)
    res = porter(scene, "apply", str(p), "--tree", "tree", "--tree", "./tree/")
    if res.exit_code == 0:
        assert snapshot(scene.tree) == expected
    else:
        assert res.exit_code in (1, 2) and state(scene) == before
    assert (scene.tree / SAMPLE).read_text().count("f99") <= 1


def test_W12_second_tree_missing_first_untouched(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["apply", str(scene.write_patch(simple_mail(scene))), "--tree", "tree",
                          "--tree", "missing"])


def test_W13_second_tree_refuses_first_untouched(tmp_path):
    scene = make_scene(tmp_path)
    other = scene.base / "other"
    other.mkdir()
    (other / "kernel").mkdir()
    (other / "kernel/sample.c").write_text("/* nothing like it */\n")
    p = scene.write_patch(simple_mail(scene))
    before, obefore = state(scene), snapshot(other)
    res = porter(scene, "apply", str(p), "--tree", "tree", "--tree", "other")
    assert res.exit_code in (1, 2)
    assert state(scene) == before and snapshot(other) == obefore


def test_W14_immutable_target_file_restores(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(mail(gdiff(scene, lambda w: (edit_f3(w), (w / "Makefile").write_text("obj-y += x/\n")))))
    before = state(scene)
    if subprocess.run(["chattr", "+i", str(scene.tree / "Makefile")], capture_output=True).returncode:
        pytest.skip("no chattr")
    try:
        res = porter(scene, "apply", str(p), "--tree", "tree")
    finally:
        subprocess.run(["chattr", "-i", str(scene.tree / "Makefile")])
    assert_one_error(res)
    assert state(scene) == before
    assert not [x for x in os.listdir(scene.tree) if x.startswith(".porter")]


def test_W15_immutable_directory_for_new_file(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(mail(gdiff(scene, lambda w: (edit_f3(w), _d_new_exec(w)))))
    before = state(scene)
    if subprocess.run(["chattr", "+i", str(scene.tree / "scripts")], capture_output=True).returncode:
        pytest.skip("no chattr")
    try:
        res = porter(scene, "apply", str(p), "--tree", "tree")
    finally:
        subprocess.run(["chattr", "-i", str(scene.tree / "scripts")])
    assert_one_error(res)
    assert state(scene) == before


def test_W16_stale_journal_like_file_is_not_trusted(tmp_path):
    """A file the patch itself names `.porter-journal` is just a file (or refused), never an instruction."""
    scene = make_scene(tmp_path)
    p = scene.write_patch(mail(_newfile(".porter-journal").encode()))
    like_git_apply(scene, p, may_refuse=True)


# -- git refs, no identity ---------------------------------------------------------------------------------

@pytest.fixture
def no_identity(tmp_path, monkeypatch):
    home = tmp_path / "emptyhome"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("XDG_CONFIG_HOME", "EMAIL", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                "GIT_COMMITTER_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):
        monkeypatch.delenv(var, raising=False)


def test_G01_ref_commit_matches_git_am(tmp_path, no_identity):
    scene = make_scene(tmp_path)
    raw = fpatch(scene, lambda w: (edit_f3(w), _d_new_exec(w), _d_mode_minus_x(w), _d_mode_plus_x(w)),
                 "sample: many things\n\nBody here.\n")
    p = scene.write_patch(raw)
    before = state(scene)
    res = run("apply", str(p), "--tree", "HEAD", "--branch", "ported", cwd=scene.tree)
    assert res.exit_code == 0, res.stdout + res.stderr
    assert state(scene)[0] == before[0]
    am = scene.base / "am"
    shutil.copytree(scene.tree, am, symlinks=True)
    git(am, "am", str(p))
    want = git(am, "ls-tree", "-r", "HEAD").stdout
    got = git(scene.tree, "ls-tree", "-r", "ported").stdout
    assert got == want
    fmt = "--format=%an|%ae|%ad|%s|%b"
    assert git(scene.tree, "log", "-1", fmt, "ported").stdout == git(am, "log", "-1", fmt, "HEAD").stdout


def test_G02_ref_missing(tmp_path, no_identity):
    scene = make_scene(tmp_path)
    before = state(scene)
    res = run("apply", str(scene.write_patch(simple_mail(scene))), "--tree", "no-such-ref", cwd=scene.tree)
    assert_one_error(res)
    assert state(scene) == before


def test_G03_branch_exists(tmp_path, no_identity):
    scene = make_scene(tmp_path)
    git(scene.tree, "branch", "taken")
    before = state(scene)
    res = run("apply", str(scene.write_patch(simple_mail(scene))), "--tree", "HEAD", "--branch", "taken",
              cwd=scene.tree)
    assert res.exit_code in (1, 2), res.stdout
    if res.exit_code == 2:
        assert_one_error(res)
    assert state(scene) == before


def test_G04_branch_invalid_name(tmp_path, no_identity):
    scene = make_scene(tmp_path)
    before = state(scene)
    res = run("apply", str(scene.write_patch(simple_mail(scene))), "--tree", "HEAD", "--branch", "a..b~^:",
              cwd=scene.tree)
    assert_one_error(res)
    assert state(scene) == before


def test_G05_ref_refusal_creates_no_branch(tmp_path, no_identity):
    scene = make_scene(tmp_path)
    before = state(scene)
    res = run("apply", str(scene.write_patch(_r_counts_too_large(scene))), "--tree", "HEAD", "--branch", "x",
              cwd=scene.tree)
    assert_one_error(res)
    assert state(scene) == before


def test_G06_ref_mail_without_author(tmp_path, no_identity):
    """No From: and no git identity: a commit needs an author; one line, not a traceback."""
    scene = make_scene(tmp_path)
    before = state(scene)
    res = run("apply", str(scene.write_patch(sample_diff(scene))), "--tree", "HEAD", "--branch", "x",
              cwd=scene.tree)
    assert res.exit_code in (0, 2), res.stdout + res.stderr
    if res.exit_code == 2:
        assert_one_error(res)
        assert state(scene) == before
    else:
        assert state(scene)[0] == before[0]


# == 7. review and lint with bad inputs =====================================================================

def test_L01_review_missing_patch(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["review", str(scene.base / "none"), "--tree", "tree", "--no-rules"])


def test_L02_review_directory(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["review", str(scene.base / "sibling"), "--tree", "tree", "--no-rules"])


def test_L03_review_missing_tree(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["review", str(scene.write_patch(simple_mail(scene))), "--tree", "nowhere",
                          "--no-rules"])


def test_L04_review_missing_rules(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["review", str(scene.write_patch(simple_mail(scene))), "--tree", "tree",
                          "--rules", str(scene.base / "norules")])


def test_L05_review_malformed_rules_toml(tmp_path):
    scene = make_scene(tmp_path)
    (scene.base / "bad.toml").write_text("this is = = not toml [\n")
    check_refused(scene, ["review", str(scene.write_patch(simple_mail(scene))), "--tree", "tree",
                          "--rules", str(scene.base / "bad.toml")])


def test_L06_review_rule_missing_fields(tmp_path):
    scene = make_scene(tmp_path)
    (scene.base / "r.toml").write_text("[rule]\nid = 42\n")
    check_refused(scene, ["review", str(scene.write_patch(simple_mail(scene))), "--tree", "tree",
                          "--rules", str(scene.base / "r.toml")])


def test_L07_review_stdin_garbage(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["review", "-", "--tree", "tree", "--no-rules"], input=b"\x00\x01garbage\n")


def test_L08_lint_missing_tree(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["lint", "--tree", "nowhere"])


def test_L09_lint_path_outside_tree(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["lint", "--tree", "tree", "../sibling/keep.txt"])


def test_L10_lint_missing_path(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["lint", "--tree", "tree", "kernel/nope.c"])


def test_L11_lint_path_in_dotgit(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["lint", "--tree", "tree", ".git/config"])


def test_L12_lint_garbage_patch(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(b"\x00\xff garbage")
    check_refused(scene, ["lint", "--tree", "tree", "--patch", str(p)])


def test_L13_lint_malformed_rules(tmp_path):
    scene = make_scene(tmp_path)
    (scene.base / "bad.toml").write_text("[[[\n")
    check_refused(scene, ["lint", "--tree", "tree", "--rules", str(scene.base / "bad.toml")])


def test_L14_lint_unknown_rule_id(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["lint", "--tree", "tree", "--rule", "no-such-rule-id"])


def test_L15_lint_invalid_utf8_file(tmp_path):
    scene = make_scene(tmp_path, {"kernel/bad.c": b"int \xff\xfe x;\n/* \xc3 */\n"})
    before = state(scene)
    res = porter(scene, "lint", "--tree", "tree", "kernel/bad.c")
    assert res.exit_code in (0, 1, 2), res.stderr
    if res.exit_code == 2:
        assert_one_error(res)
    assert state(scene) == before


def test_L16_lint_fifo_in_tree_does_not_hang(tmp_path):
    scene = make_scene(tmp_path)
    os.mkfifo(scene.tree / "kernel/pipe.c")
    before = state(scene)
    proc = _run_sub(scene, "lint", "--tree", "tree", timeout=120)
    assert b"Traceback" not in proc.stderr, proc.stderr
    assert state(scene) == before


def test_L17_lint_unreadable_file_is_not_clean(tmp_path):
    """A file lint cannot read (EIO) must not be silently skipped with a clean result."""
    scene = make_scene(tmp_path)
    os.symlink("/proc/self/mem", scene.tree / "kernel/mem.c")
    before = state(scene)
    res = porter(scene, "lint", "--tree", "tree", "kernel/mem.c")
    assert res.exit_code != 0, res.stdout
    if res.exit_code == 2:
        assert_one_error(res)
    assert state(scene) == before


def test_L18_lint_symlink_escaping_tree(tmp_path):
    scene = _link_scene(tmp_path, "kernel/out.c", "../../sibling/keep.txt")
    before = state(scene)
    res = porter(scene, "lint", "--tree", "tree", "kernel/out.c")
    assert res.exit_code in (0, 1, 2), res.stderr
    if res.exit_code == 2:
        assert_one_error(res)
    assert state(scene) == before


# == 8. second round: names that are not UTF-8 in every command, trees and outputs reaching into .git =========

def _latin1_name_patch(scene) -> Path:
    return scene.write_patch(gdiff(scene, lambda w: (w / os.fsdecode(b"kernel/gr\xf6sse.c")).write_text("int g;\n")))


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_L19_review_latin1_file_name(tmp_path, fmt):
    scene = make_scene(tmp_path)
    p = _latin1_name_patch(scene)
    before = state(scene)
    res = porter(scene, "review", str(p), "--tree", "tree", "--no-rules", "--format", fmt)
    assert res.exit_code in (0, 1, 2), res.stderr
    if res.exit_code == 2:
        assert_one_error(res)
    assert state(scene) == before


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_W18_apply_latin1_name_report_formats(tmp_path, fmt):
    scene = make_scene(tmp_path)
    p = _latin1_name_patch(scene)
    like_git_apply(scene, p, ["--format", fmt], may_refuse=True)


def test_L20_lint_patch_latin1_file_name(tmp_path):
    scene = make_scene(tmp_path)
    p = _latin1_name_patch(scene)
    before = state(scene)
    res = porter(scene, "lint", "--tree", "tree", "--patch", str(p))
    assert res.exit_code in (0, 1, 2), res.stderr
    if res.exit_code == 2:
        assert_one_error(res)
    assert state(scene) == before


@pytest.mark.parametrize("where", ["tree/.git/hooks", "tree/.git/../.git/info", "hooks-link"])
def test_B33_tree_inside_dotgit(tmp_path, where):
    scene = make_scene(tmp_path)
    os.symlink("tree/.git/hooks", scene.base / "hooks-link")
    p = scene.write_patch(mail(_newfile("pre-commit", "100755").encode()))
    before = state(scene)
    res = porter(scene, "apply", str(p), "--tree", where)
    assert res.exit_code in (1, 2), res.stdout
    if res.exit_code == 2:
        assert_one_error(res)
    assert state(scene) == before and not (scene.tree / ".git/hooks/pre-commit").exists()


def test_W19_output_through_symlink_into_dotgit(tmp_path):
    scene = make_scene(tmp_path)
    os.symlink("tree/.git", scene.base / "gl")
    check_refused(scene, ["apply", str(scene.write_patch(simple_mail(scene))), "--tree", "tree",
                          "--output", str(scene.base / "gl/hooks/pre-commit")])


def test_W20_output_symlink_file_into_dotgit(tmp_path):
    """--output is a symlink whose target is .git/hooks/pre-commit: writing through it would plant a hook."""
    scene = make_scene(tmp_path)
    os.symlink("tree/.git/hooks/pre-commit", scene.base / "out.patch")
    before = state(scene)
    res = porter(scene, "apply", str(scene.write_patch(simple_mail(scene))), "--tree", "tree",
                 "--output", str(scene.base / "out.patch"))
    assert not (scene.tree / ".git/hooks/pre-commit").exists()
    if res.exit_code == 2:
        assert_one_error(res)
        assert state(scene) == before


def test_D85_added_lines_invalid_utf8(tmp_path):
    scene = make_scene(tmp_path)
    p = scene.write_patch(gdiff(scene, lambda w: (w / SAMPLE).write_bytes((w / SAMPLE).read_bytes().replace(
        b"\treturn x + 3;\n", b"\treturn x + 3; /* \xff\xfe\xc3( */\n"))))
    like_git_apply(scene, p)


def test_D86_text_file_with_nul_bytes(tmp_path):
    scene = make_scene(tmp_path, {"kernel/data.txt": b"one\ntwo\x00zero\nthree\n"})
    p = scene.write_patch(gdiff(scene, lambda w: (w / "kernel/data.txt").write_bytes(b"one\ntwo\x00zero\nTHREE\n"),
                                "--text"))
    like_git_apply(scene, p, may_refuse=True)


def test_D87_c_file_with_invalid_utf8_context(tmp_path):
    scene = make_scene(tmp_path, {"kernel/latin.c": "/* M\xfcller */\nint a;\nint b;\n".encode("latin-1")})
    p = scene.write_patch(gdiff(scene, lambda w: (w / "kernel/latin.c").write_bytes(
        "/* M\xfcller */\nint a;\nint bb;\n".encode("latin-1"))))
    like_git_apply(scene, p)


def test_D88_file_option_is_symlink_outside(tmp_path):
    scene = _link_scene(tmp_path, "kernel/out.c", "../../sibling/keep.txt")
    rej = scene.write_patch("@@ -1 +1,2 @@\n outside the tree\n+written\n", "x.rej")
    refused_or_not_applied(scene, ["apply", str(rej), "--tree", "tree", "--file", "kernel/out.c"])


# == 9. a journal that is not porter's: a tree (cloned repository, tarball) holding a crafted .porter-journal ==

JOURNALS = {
    "J01-restore-into-git-hooks": ({"path": ".git/hooks/pre-commit", "existed": True, "backup": "b0"}, None),
    "J02-delete-outside": ({"path": "../sibling/keep.txt", "existed": False, "backup": "b0"}, None),
    "J03-delete-absolute": ({"path": "ABS", "existed": False, "backup": "b0"}, None),
    "J04-backup-from-outside": ({"path": "Makefile", "existed": True, "backup": "../../sibling/keep.txt"}, None),
    "J05-through-symlinked-dir": ({"path": "out/keep.txt", "existed": False, "backup": "b0"}, "out"),
    "J06-created-dir-outside": (None, None),
}


@pytest.mark.parametrize("case", sorted(JOURNALS))
@pytest.mark.parametrize("command", ["apply", "lint"])
def test_J_crafted_journal_is_not_obeyed(tmp_path, case, command):
    import json

    scene = make_scene(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    entry, link = JOURNALS[case]
    jdir = scene.tree / ".porter-journal-999999"
    jdir.mkdir()
    (jdir / "lock").write_text("")
    (jdir / "b0").write_text("#!/bin/sh\ntouch pwned\n")
    os.chmod(jdir / "b0", 0o755)
    if link:
        os.symlink("../sibling", scene.tree / link)
    if entry and entry["path"] == "ABS":
        entry = dict(entry, path=str(victim))
    record = {"version": 1, "pid": 999999, "entries": [entry] if entry else [],
              "created_dirs": ["../sibling/newdir"] if entry is None else [], "removed_dirs": []}
    (jdir / "journal.json").write_text(json.dumps(record))
    before = state(scene)
    args = (["apply", str(scene.write_patch(simple_mail(scene))), "--tree", "tree"] if command == "apply"
            else ["lint", "--tree", "tree"])
    res = porter(scene, *args)
    assert not (scene.tree / ".git/hooks/pre-commit").exists()
    assert victim.read_text() == "precious\n"
    assert state(scene)[1:] == before[1:]  # the sibling and .git untouched
    assert not (scene.sibling / "newdir").exists()
    if res.exit_code == 2:
        assert_one_error(res)
        assert state(scene) == before


@pytest.mark.parametrize("name", [".porter-journal-notes", ".porter-journal-notes.done"])
def test_J07_tree_directory_named_like_a_journal_is_not_deleted(tmp_path, name):
    scene = make_scene(tmp_path, {f"{name}/README": "the tree's own files\n"})
    before = state(scene)
    res = porter(scene, "lint", "--tree", "tree")
    assert res.exit_code in (0, 1), res.stderr
    assert state(scene) == before


# == 10. files whose inode reaches outside the tree, and unusual modes ======================================

def test_B35_hard_link_to_outside_file_is_not_written_through(tmp_path):
    """tree/hl.txt is a hard link to sibling/keep.txt: patching it must not change the file outside."""
    scene = make_scene(tmp_path, git_init=False)
    os.link(scene.sibling / "keep.txt", scene.tree / "hl.txt")
    p = scene.write_patch("diff --git a/hl.txt b/hl.txt\n--- a/hl.txt\n+++ b/hl.txt\n@@ -1 +1,2 @@\n"
                          " outside the tree\n+changed\n")
    sib = snapshot(scene.sibling)
    res = porter(scene, "apply", str(p), "--tree", "tree")
    assert res.exit_code in (0, 1, 2), res.stderr
    if res.exit_code == 2:
        assert_one_error(res)
    assert snapshot(scene.sibling) == sib


@pytest.mark.parametrize("mode", [0o600, 0o775, 0o4755])
def test_D89_edit_keeps_mode_like_git(tmp_path, mode):
    scene = make_scene(tmp_path)
    os.chmod(scene.tree / "Makefile", mode)
    p = scene.write_patch(gdiff(scene, lambda w: (w / "Makefile").write_text("obj-y += kernel/\nobj-y += mm/\n")))
    code, expected, _ = git_apply_tree(scene, p)
    res = porter(scene, "apply", str(p), "--tree", "tree")
    assert res.exit_code == 0, res.stderr
    got = snapshot(scene.tree)
    assert got["Makefile"][2] == expected["Makefile"][2]  # content as git
    # mode: git's own, or the file's old mode kept (never widened beyond it)
    assert got["Makefile"][1] in (expected["Makefile"][1], mode & 0o777, mode), (oct(got["Makefile"][1]),
                                                                               oct(expected["Makefile"][1]))


def test_traditional_diff_creating_a_file_without_dev_null(tmp_path):
    """`--- a/x` / `+++ b/x` with one `@@ -0,0 +1,N @@` hunk and no /dev/null: a file the tree lacks is
    created, as git apply and patch(1) create it; a series that touched the path before keeps its own say."""
    scene = make_scene(tmp_path)
    p = _hand(scene, "--- a/lib/new2.txt\n+++ b/lib/new2.txt\n@@ -0,0 +1,2 @@\n+hello\n+world\n")
    like_git_apply(scene, p)
    assert (scene.tree / "lib/new2.txt").read_text() == "hello\nworld\n"


def test_traditional_diff_adding_at_line_0_of_an_existing_file(tmp_path):
    """The same hunk onto a file the tree has: git apply's result, or a refusal with the tree unchanged."""
    scene = make_scene(tmp_path)
    p = _hand(scene, f"--- a/{SAMPLE}\n+++ b/{SAMPLE}\n@@ -0,0 +1 @@\n+/* first */\n")
    like_git_apply(scene, p, may_refuse=True)


def test_hunks_that_overlap_are_refused_like_git_apply(tmp_path):
    """Hunk 2's old lines 2-4 include line 2, which hunk 1 rewrites: git apply refuses the patch; porter
    must not drop that context line and apply hunk 2 anyway."""
    scene = make_scene(tmp_path, {"lib/f.txt": "a\nb\nc\nd\ne\n"})
    p = _hand(scene, "--- a/lib/f.txt\n+++ b/lib/f.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
                     "@@ -2,3 +2,3 @@\n b\n-c\n+C\n d\n")
    res = like_git_apply(scene, p)
    assert "hunks overlap" in res.stdout + res.stderr


def test_hunks_with_hand_edited_numbers_are_not_an_overlap(tmp_path):
    """@@ numbers that overlap while the hunks' texts do not (a hand-edited header): git apply finds hunk 2
    at an offset; porter too, no "hunks overlap"."""
    body = "".join(f"int f{i}(int v)\n{{\n\tint r = v + {i};\n\n\tr *= {i};\n\treturn r;\n}}\n\n" for i in range(1, 4))
    scene = make_scene(tmp_path, {"lib/a.c": body})
    p = _hand(scene, "--- a/lib/a.c\n+++ b/lib/a.c\n@@ -10,7 +10,7 @@ int f2(int v)\n {\n \tint r = v + 2;\n \n"
                     "-\tr *= 2;\n+\tr *= 22;\n \treturn r;\n }\n \n"
                     "@@ -12,6 +12,6 @@ int f2(int v)\n int f3(int v)\n {\n-\tint r = v + 3;\n+\tint r = v + 33;\n \n"
                     " \tr *= 3;\n \treturn r;\n")
    like_git_apply(scene, p)
    assert "r *= 22;" in (scene.tree / "lib/a.c").read_text()


def test_lines_added_to_an_empty_file_end_with_a_newline(tmp_path):
    """git diff of an empty tracked file that gained lines is `@@ -0,0 +1,2 @@` with no `\\ No newline`: the
    result ends with a newline, as git apply writes it."""
    scene = make_scene(tmp_path, {"lib/empty.c": ""})
    p = _hand(scene, "diff --git a/lib/empty.c b/lib/empty.c\n--- a/lib/empty.c\n+++ b/lib/empty.c\n"
                     "@@ -0,0 +1,2 @@\n+int n1;\n+int n2;\n")
    like_git_apply(scene, p)
    assert (scene.tree / "lib/empty.c").read_text() == "int n1;\nint n2;\n"


@pytest.mark.parametrize("n", [2, 3])
def test_renames_that_swap_or_rotate_files_like_git_apply(tmp_path, n):
    """a -> b and b -> a in one patch (or a -> b -> c -> a): git apply reads every source before it writes a
    target; so does porter, instead of refusing "target already exists"."""
    names = [f"lib/r{i}.txt" for i in range(n)]
    scene = make_scene(tmp_path, {p: f"file {i}\n" * 8 for i, p in enumerate(names)})

    text = "".join(f"diff --git a/{a} b/{b}\nsimilarity index 100%\nrename from {a}\nrename to {b}\n"
                   for a, b in zip(names, names[1:] + names[:1]))
    like_git_apply(scene, _hand(scene, text))
    assert (scene.tree / names[1]).read_text() == "file 0\n" * 8


def test_ported_patch_quotes_names_as_git_does(tmp_path):
    """A name with a tab, a quote or a non-ASCII byte is C-quoted in the ported patch, as git writes it.
    Written raw, `a/lib/t<TAB>ab.c` reads back as `lib/t`: git apply of porter's own patch changed another
    file (`lib/t`, identical to the one porter changed) and said it applied cleanly."""
    names = ["lib/t", "lib/t\tab.c", "lib/f\u00e9.c", 'lib/q"uote.c']
    scene = make_scene(tmp_path, {n: "one\ntwo\nthree\n" for n in names})

    def edit(w):
        for n in names[1:]:
            (w / n).write_text("one\nTWO\nthree\n")

    p = scene.write_patch(gdiff(scene, edit), "in.patch")
    pristine = scene.base / "pristine"
    shutil.copytree(scene.tree, pristine, symlinks=True)
    out = scene.base / "out.patch"
    res = porter(scene, "apply", str(p), "--tree", "tree", "--output", str(out))
    assert res.exit_code == 0, (res.stdout, res.stderr)
    assert (scene.tree / "lib/t").read_text() == "one\ntwo\nthree\n"
    text = out.read_text()
    assert '"a/lib/t\\tab.c"' in text and '"b/lib/f\\303\\251.c"' in text and '"a/lib/q\\"uote.c"' in text
    git(pristine, "apply", str(out))
    assert snapshot(pristine) == snapshot(scene.tree)


def test_file_option_is_normalised_in_the_ported_patch(tmp_path):
    """`--file ./lib//f.txt` names lib/f.txt: the ported patch says so, or git refuses porter's own patch."""
    scene = make_scene(tmp_path, {"lib/f.txt": "a\nb\nc\n"})
    p = _hand(scene, "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n")
    pristine = scene.base / "pristine"
    shutil.copytree(scene.tree, pristine, symlinks=True)
    out = scene.base / "out.patch"
    res = porter(scene, "apply", str(p), "--tree", "tree", "--file", "./lib//f.txt", "--output", str(out))
    assert res.exit_code == 0, (res.stdout, res.stderr)
    assert "diff --git a/lib/f.txt b/lib/f.txt\n" in out.read_text()
    git(pristine, "apply", str(out))
    assert (pristine / "lib/f.txt").read_text() == "a\nB\nc\n"


def test_no_newline_on_both_sides_keeps_the_targets_newline(tmp_path):
    """The patch's old and new file both end without a newline; the target ends with one. The patch does not
    change the file's end, so the target keeps its newline (git apply refuses; porter must not silently drop
    it and call that exact)."""
    scene = make_scene(tmp_path, {"lib/d.txt": "line1\nline2\nlast\n"})
    p = _hand(scene, "--- a/lib/d.txt\n+++ b/lib/d.txt\n@@ -1,3 +1,3 @@\n line1\n line2\n-last\n"
                     "\\ No newline at end of file\n+LAST\n\\ No newline at end of file\n")
    res = porter(scene, "apply", str(p), "--tree", "tree")
    if res.exit_code == 0:
        assert (scene.tree / "lib/d.txt").read_text() == "line1\nline2\nLAST\n"
    else:
        assert (scene.tree / "lib/d.txt").read_text() == "line1\nline2\nlast\n"


@pytest.mark.parametrize("drift", [0, 2])
def test_reported_offsets_are_git_applys(tmp_path, drift):
    """Hunk 1 adds three lines; hunk 2 is then found at its @@ new start, as `git apply -v` reports it: in
    the tree the patch was made from both hunks are exact, not hunk 2 "offset +3"; after two lines of drift
    above, both are offset +2."""
    body = "".join(f"int f{i}(int v)\n{{\n\tint r = v + {i};\n\n\tr *= {i};\n\treturn r;\n}}\n\n" for i in range(1, 5))
    scene = make_scene(tmp_path, {"lib/a.c": body})

    def edit(w):
        text = (w / "lib/a.c").read_text()
        text = text.replace("\tr *= 1;\n", "\tr *= 1;\n\tr += 1;\n\tr += 2;\n\tr += 3;\n")
        (w / "lib/a.c").write_text(text.replace("\tr *= 4;\n", "\tr *= 44;\n"))

    p = scene.write_patch(gdiff(scene, edit), "in.patch")
    (scene.tree / "lib/a.c").write_text("/* one */\n/* two */\n" * (drift // 2) + body)
    proc = git(scene.tree, "apply", "-v", "--check", str(p))
    git_offsets = [int(m) for m in re.findall(r"offset (-?\d+) line", proc.stderr.decode())] or [0, 0]
    res = porter(scene, "apply", str(p), "--tree", "tree", "--dry-run")
    assert res.exit_code == 0, (res.stdout, res.stderr)
    offsets = [int(m) for m in re.findall(r"offset ([-+]\d+),", res.stdout)]
    assert offsets == git_offsets == [drift, drift]
    assert res.stdout.count(": exact, offset +0") == (2 if drift == 0 else 0)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_is_refused_not_read_whole(tmp_path, device):
    """A device that is no patch ends at its first NUL byte with one line, in bounded memory (it was read
    whole: a MemoryError traceback under a memory limit, all the memory there is without one)."""
    import resource

    scene = make_scene(tmp_path)
    before = scene.state()

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    proc = subprocess.run([sys.executable, "-m", "porter", "apply", device, "--tree", "tree"], cwd=scene.base,
                          capture_output=True, text=True, timeout=120, preexec_fn=limit)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [f"porter: error: {device}: binary data (NUL bytes), not a text patch"]
    assert scene.state() == before


def test_input_larger_than_the_cap_is_refused(tmp_path, monkeypatch):
    from porter.intake import sources

    monkeypatch.setattr(sources, "MAX_INPUT", 3 << 20)
    scene = make_scene(tmp_path)
    big = scene.write_patch("+x\n" * (2 << 20), "big.patch")
    check_refused(scene, ["apply", str(big), "--tree", "tree"], "more than")


def test_partial_with_output_is_refused_not_ignored(tmp_path):
    """A ported patch holds every hunk or none: `--partial --output` silently wrote nothing and no .rej."""
    scene = make_scene(tmp_path, {"lib/f.txt": "a\nb\nc\n"})
    p = _hand(scene, "--- a/lib/f.txt\n+++ b/lib/f.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n")
    check_refused(scene, ["apply", str(p), "--tree", "tree", "--partial", "--output", "out.patch"],
                  "--partial and --output")
    assert not (scene.base / "out.patch").exists()


def test_report_quotes_a_name_with_a_newline(tmp_path):
    """A name holding a newline is shown quoted, as git shows it: printed raw it split one report line in two
    (and a crafted name could fake a line)."""
    name = "lib/evil\n  lib/f.txt:1 hunk 9: exact"
    scene = make_scene(tmp_path, {name: "a\nb\nc\n"})
    p = scene.write_patch(gdiff(scene, lambda w: (w / name).write_text("a\nB\nc\n")), "in.patch")
    res = porter(scene, "apply", str(p), "--tree", "tree", "--dry-run")
    assert res.exit_code == 0, (res.stdout, res.stderr)
    assert '  "lib/evil\\n  lib/f.txt:1 hunk 9: exact":1 hunk 1: exact' in res.stdout
    assert len(res.stdout.splitlines()) == 3


@pytest.mark.parametrize("command", ["apply", "review"])
def test_same_directory_twice_or_an_empty_tree_name_is_refused(tmp_path, command):
    """`--tree T --tree ./T/` is one directory named twice (review accepted it, with two reports of one tree);
    `--tree ''` quietly meant the current directory."""
    scene = make_scene(tmp_path, {"lib/f.txt": "a\nb\nc\n"})
    p = _hand(scene, "--- a/lib/f.txt\n+++ b/lib/f.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n")
    check_refused(scene, [command, str(p), "--tree", "tree", "--tree", "./tree/"], "given twice")
    check_refused(scene, [command, str(p), "--tree", ""], "empty name")


def test_name_ending_in_a_space_like_git_apply(tmp_path):
    """git writes `--- a/lib/trail.c <TAB>` for a name that ends in a space: the TAB ends the name, the space
    is part of it (porter stripped it and called the patch corrupt)."""
    name = "lib/trail.c "
    scene = make_scene(tmp_path, {name: "a\nb\nc\n"})
    p = scene.write_patch(gdiff(scene, lambda w: (w / name).write_text("a\nB\nc\n")), "in.patch")
    like_git_apply(scene, p)
    assert (scene.tree / name).read_text() == "a\nB\nc\n"
