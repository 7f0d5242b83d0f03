"""Bad-input corpus, intake part (issue 10 item 3): unusual or broken mails and diffs.

Every case builds a scene (a small git work tree beside an untouched sibling directory) and checks either a
refusal (exit 2, one `porter: error:` line, tree/.git/sibling byte-identical) or, for valid input, the very
result git gives on the same input: `git am` (mailsplit + mailinfo + apply), `git apply`, GNU `patch` for
context diffs, and `git mailinfo` / `git mailsplit` / `git apply --summary` for what the model records.
"""

from __future__ import annotations

import builtins
import email.policy
import email.utils
import importlib.util
import os
import re
import shutil
import subprocess
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest

from porter.intake import Options, load_series, parse_series
from porter.intake.mbox import split_mbox
from tests.corpus import (
    check_refused,
    check_same_as_git,
    git,
    make_scene,
    porter,
    snapshot,
)

SAMPLE = "kernel/sample.c"


# -- building real patches with git ------------------------------------------------------------------------

def edit_sample(root: Path, after: str = "\treturn x + 3;\n", add: str = "\t/* three */\n") -> None:
    p = root / SAMPLE
    p.write_text(p.read_text().replace(after, after + add, 1))


def make_patch(scene, edit=edit_sample, message="sample: comment f3\n\nWhy it matters.\n",
               mode="format-patch", diff_args=()) -> bytes:
    """A real patch: commit `edit` in a copy of the tree and ask git for it (format-patch mail or git diff)."""
    work = scene.base / "work"
    shutil.copytree(scene.tree, work, symlinks=True)
    try:
        edit(work)
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", message)
        if mode == "format-patch":
            return git(work, "format-patch", "-1", "--stdout", *diff_args).stdout
        return git(work, "diff", "HEAD~1", "HEAD", *diff_args).stdout
    finally:
        shutil.rmtree(work)


def body_of(mail: bytes) -> tuple[bytes, bytes]:
    """(message text, diff) of a format-patch mail."""
    body = mail.split(b"\n\n", 1)[1]
    msg, diff = body.split(b"\n---\n", 1)
    return msg + b"\n", b"---\n" + diff


def git_am_state(scene, patches: list[Path], *flags: str) -> dict:
    """The tree `git am` makes of the same mails (on a copy); asserts git am succeeded."""
    copy = scene.clone_for_git()
    try:
        proc = git(copy, "am", *flags, *map(str, patches), check=False)
        assert proc.returncode == 0, proc.stderr
        return snapshot(copy)
    finally:
        shutil.rmtree(copy)


def check_same_as_git_am(scene, patches: list[Path], porter_args=(), am_flags=()):
    expected = git_am_state(scene, patches, *am_flags)
    sib = snapshot(scene.sibling)
    res = porter(scene, "apply", *map(str, patches), "--tree", "tree", *porter_args)
    assert res.exit_code == 0, (res.stdout, res.stderr)
    assert snapshot(scene.tree) == expected
    assert snapshot(scene.sibling) == sib
    return res


def git_mailinfo(scene, raw: bytes, *flags: str) -> dict:
    """git mailinfo's reading: Author/Email/Subject/Date and the message, stripspace'd like git am does."""
    d = scene.base / "mi"
    d.mkdir(exist_ok=True)
    proc = git(scene.base, "mailinfo", *flags, str(d / "msg"), str(d / "patch"), input=raw)
    info = dict(re.findall(r"^(\w+): (.*)$", proc.stdout.decode(), re.MULTILINE))
    info["message"] = git(scene.base, "stripspace", input=(d / "msg").read_bytes()).stdout.decode().strip("\n")
    info["patch"] = (d / "patch").read_bytes()
    return info


def assert_commit_matches_mailinfo(commit, info: dict) -> None:
    assert email.utils.parseaddr(commit.author) == (info["Author"], info["Email"])
    assert commit.subject == info["Subject"]
    assert commit.date == info.get("Date", "").strip()  # git keeps an in-body Date's newline as a space
    assert commit.message == info["message"]


def mime_mail(text: str, subject="[PATCH] sample: comment f3", sender="Dev One <one@example.org>") -> EmailMessage:
    m = EmailMessage(policy=email.policy.SMTP)
    m["From"] = sender
    m["Date"] = "Tue, 01 Oct 2024 10:00:00 +0000"
    m["Subject"] = subject
    m["Message-Id"] = "<20241001100000.1234-1-one@example.org>"
    m.set_content(text)
    return m


def refused(tmp_path, data: bytes | str, expect: str, args=(), files=None):
    scene = make_scene(tmp_path, files)
    p = scene.write_patch(data)
    return check_refused(scene, ["apply", str(p), "--tree", "tree", *args], expect)


# == 1. mbox splitting: git mailsplit's From rule ===========================================================

FROM_LINES = {
    "format-patch-separator": (b"From 1234567890abcdef1234567890abcdef12345678 Mon Sep 17 00:00:00 2001\n", True),
    "mbox-address-date": (b"From dev@example.org Tue Oct  1 10:00:00 2024\n", True),
    "prose-paragraph": (b"From the start this code assumed 4K pages.\n", False),
    "prose-with-time": (b"From 10:30 on the lock is held\n", False),
    "two-digit-year-90": (b"From dev@example.org Tue Oct  1 10:00:00 90\n", False),
}


@pytest.mark.parametrize("case", sorted(FROM_LINES))
def test_mbox_from_rule_matches_git_mailsplit(tmp_path, case):
    line, splits = FROM_LINES[case]
    scene = make_scene(tmp_path, git_init=False)
    mail = (b"From 1234567890abcdef1234567890abcdef12345678 Mon Sep 17 00:00:00 2001\n"
            b"From: Dev <dev@example.org>\nSubject: [PATCH] x\n\nFirst paragraph.\n\n" + line +
            b"More text.\n---\ndiff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n"
            b"@@ -1 +1,2 @@\n obj-y += kernel/\n+obj-y += mm/\n")
    (scene.base / "split").mkdir()
    count = int(git(scene.base, "mailsplit", "-b", f"-o{scene.base / 'split'}", input=mail).stdout)
    assert len(split_mbox(mail)) == count == (2 if splits else 1)


def test_commit_message_paragraph_starting_from_is_not_a_separator(tmp_path):
    scene = make_scene(tmp_path)
    mbox = make_patch(scene, message="sample: comment f3\n\nFrom the start f3 lacked a comment.\n")
    p = scene.write_patch(mbox)
    res = check_same_as_git_am(scene, [p])
    assert "1/1 hunks placed" in res.stdout
    assert "From the start" in parse_series(mbox).commits[0].message


def make_series(scene) -> list[bytes]:
    """Two format-patch mails, the second made on top of the first."""
    work = scene.base / "work"
    shutil.copytree(scene.tree, work, symlinks=True)
    try:
        edit_sample(work)
        git(work, "commit", "-q", "-am", "sample: comment f3")
        edit_sample(work, "\t/* three */\n", "\t/* more */\n")
        git(work, "commit", "-q", "-am", "sample: second")
        return [git(work, "format-patch", "-1", "--stdout", rev).stdout for rev in ("HEAD~1", "HEAD")]
    finally:
        shutil.rmtree(work)


def test_several_patch_arguments_make_one_series_in_order(tmp_path):
    scene = make_scene(tmp_path)
    one, two = make_series(scene)
    first, second = scene.write_patch(one, "0001.patch"), scene.write_patch(two, "0002.patch")
    series = load_series([str(first), str(second)])
    assert [c.subject for c in series.commits] == ["sample: comment f3", "sample: second"]
    check_same_as_git_am(scene, [first, second])


def test_maildir_in_mailsplit_order(tmp_path):
    scene = make_scene(tmp_path)
    one, two = make_series(scene)
    md = scene.base / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    # mailsplit order: cur/ before new/, digit runs by value (9 before 10).
    (md / "cur" / "9.mail").write_bytes(one)
    (md / "cur" / "10.mail").write_bytes(two)
    (md / "new" / ".hidden").write_bytes(b"not a mail")
    assert [c.subject for c in load_series([str(md)]).commits] == ["sample: comment f3", "sample: second"]
    check_same_as_git_am(scene, [md])


def test_pipe_dev_fd(tmp_path):
    scene = make_scene(tmp_path)
    data = make_patch(scene)
    r, w = os.pipe()

    def feed():
        os.write(w, data)
        os.close(w)

    t = threading.Thread(target=feed)
    t.start()
    try:
        expected = git_am_state(scene, [scene.write_patch(data, "copy.patch")])
        res = porter(scene, "apply", f"/dev/fd/{r}", "--tree", "tree")
    finally:
        t.join()
        os.close(r)
    assert res.exit_code == 0, res.stderr
    assert snapshot(scene.tree) == expected


def test_stdin_dash(tmp_path):
    scene = make_scene(tmp_path)
    data = make_patch(scene)
    expected = git_am_state(scene, [scene.write_patch(data)])
    res = porter(scene, "apply", "-", "--tree", "tree", input=data)
    assert res.exit_code == 0, res.stderr
    assert snapshot(scene.tree) == expected


# == 2. mailinfo semantics =================================================================================

def test_in_body_from_is_the_author(tmp_path):
    scene = make_scene(tmp_path)
    msg, diff = body_of(make_patch(scene))
    raw = (b"From: Maintainer <maint@example.org>\nDate: Tue, 1 Oct 2024 10:00:00 +0000\n"
           b"Subject: [PATCH] sample: comment f3\n\n"
           b"From: Original Author <orig@example.org>\nDate: Mon, 30 Sep 2024 09:00:00 +0200\n\n" + msg + diff)
    commit = parse_series(raw).commits[0]
    info = git_mailinfo(scene, raw)
    assert_commit_matches_mailinfo(commit, info)
    assert commit.author == "Original Author <orig@example.org>"
    check_same_as_git_am(scene, [scene.write_patch(raw)])


def test_in_body_subject_and_patch_line(tmp_path):
    scene = make_scene(tmp_path)
    msg, diff = body_of(make_patch(scene))
    raw = (b"From: Dev <dev@example.org>\nSubject: Re: please look\n\n"
           b"[PATCH] sample: the real subject\n\n" + msg + diff)
    commit = parse_series(raw).commits[0]
    assert_commit_matches_mailinfo(commit, git_mailinfo(scene, raw))
    assert commit.subject == "sample: the real subject"


def test_scissors_line_like_git_am_scissors(tmp_path):
    scene = make_scene(tmp_path)
    msg, diff = body_of(make_patch(scene))
    raw = (b"From: Reviewer <rev@example.org>\nSubject: Re: [PATCH] sample: thoughts\n\n"
           b"How about this instead?\n\n-- >8 --\nFrom: Dev One <one@example.org>\nSubject: sample: better\n\n"
           + msg + diff)
    commit = parse_series(raw, options=Options(scissors=True)).commits[0]
    assert_commit_matches_mailinfo(commit, git_mailinfo(scene, raw, "--scissors"))
    assert "How about" not in commit.message
    check_same_as_git_am(scene, [scene.write_patch(raw)], porter_args=["--scissors"], am_flags=["--scissors"])


def test_scissors_line_is_message_without_the_flag_like_git_am(tmp_path):
    """Plain git am keeps a scissors line and what is above it (a commit may document scissors): the author
    of an in-body From: above it stays the author."""
    scene = make_scene(tmp_path)
    msg, diff = body_of(make_patch(scene))
    raw = (b"From: Sender <sender@example.org>\nSubject: [PATCH] docs: explain scissors\n\n"
           b"From: Real Author <real@example.org>\n\nA line like this one ends the discussion:\n\n"
           b"-- >8 --\n\nwhen git am --scissors reads the mail.\n\n" + msg + diff)
    commit = parse_series(raw).commits[0]
    assert_commit_matches_mailinfo(commit, git_mailinfo(scene, raw))
    assert commit.author.startswith("Real Author") and "-- >8 --" in commit.message


def test_subject_prefix_message_id_and_date_kept(tmp_path):
    scene = make_scene(tmp_path)
    raw = make_patch(scene).replace(b"Subject: [PATCH]", b"Subject: [RFC] [PATCH v3 2/5]")
    raw = raw.replace(b"\nSubject:", b"\nMessage-Id: <abc.123@example.org>\nSubject:", 1)
    commit = parse_series(raw).commits[0]
    assert_commit_matches_mailinfo(commit, git_mailinfo(scene, raw))
    assert commit.subject_prefix == "[RFC] [PATCH v3 2/5]"
    assert commit.number == (2, 5)
    assert commit.message_id == "<abc.123@example.org>"


def test_attachment_base64_text_x_patch(tmp_path):
    scene = make_scene(tmp_path)
    mbox = make_patch(scene)
    msg, diff = body_of(mbox)
    m = mime_mail(msg.decode())
    m.add_attachment(diff, maintype="text", subtype="x-patch", filename="0001-sample.patch")
    raw = m.as_bytes()
    assert b"Content-Transfer-Encoding: base64" in raw
    commit = parse_series(raw).commits[0]
    assert_commit_matches_mailinfo(commit, git_mailinfo(scene, raw))
    check_same_as_git_am(scene, [scene.write_patch(raw)])


@pytest.mark.parametrize("ctype", ["text/x-diff", "text/plain", "application/octet-stream"])
def test_attachment_types(tmp_path, ctype):
    scene = make_scene(tmp_path)
    msg, diff = body_of(make_patch(scene))
    m = mime_mail(msg.decode())
    main, sub = ctype.split("/")
    m.add_attachment(diff, maintype=main, subtype=sub, filename="fix.diff")
    check_same_as_git_am(scene, [scene.write_patch(m.as_bytes())])


def test_quoted_printable_body(tmp_path):
    scene = make_scene(tmp_path)
    mbox = make_patch(scene, lambda r: edit_sample(r, add="\t/* a=b, trailing space */ \n"))
    msg, diff = body_of(mbox)
    m = mime_mail("")
    m.set_content((msg + diff).decode(), cte="quoted-printable")
    raw = m.as_bytes()
    assert b"=3D" in raw and b"=20" in raw
    check_same_as_git_am(scene, [scene.write_patch(raw)])


def test_latin1_message_with_utf8_diff_keeps_diff_bytes(tmp_path):
    scene = make_scene(tmp_path)
    mbox = make_patch(scene, lambda r: edit_sample(r, add="\t/* J\u00f6rg */\n"))
    _, diff = body_of(mbox)
    raw = (b"From: =?iso-8859-1?q?J=F6rg_M=FCller?= <jm@example.org>\nSubject: [PATCH] sample: umlaut\n"
           b"Date: Tue, 1 Oct 2024 10:00:00 +0000\nMIME-Version: 1.0\n"
           b"Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
           b"Thanks to M\xfcller.\n" + diff)
    commit = parse_series(raw).commits[0]
    assert_commit_matches_mailinfo(commit, git_mailinfo(scene, raw))
    assert "Müller" in commit.message and commit.author == "Jörg Müller <jm@example.org>"
    check_same_as_git_am(scene, [scene.write_patch(raw)])
    assert "/* J\u00f6rg */".encode() in (scene.tree / SAMPLE).read_bytes()


def test_crlf_mail_transport(tmp_path):
    scene = make_scene(tmp_path)
    raw = make_patch(scene).replace(b"\n", b"\r\n")
    check_same_as_git_am(scene, [scene.write_patch(raw)])


def test_crlf_file_diff_in_lf_mail_keeps_crs(tmp_path):
    """A CRLF file's patch: the CRs are content; the result is git apply's (= git am --keep-cr)."""
    scene = make_scene(tmp_path, {"Documentation/win.txt": b"one\r\ntwo\r\nthree\r\n"})
    raw = make_patch(scene, lambda r: (r / "Documentation/win.txt").write_bytes(b"one\r\nTWO\r\nthree\r\n"))
    check_same_as_git_am(scene, [scene.write_patch(raw)], am_flags=["--keep-cr"])
    assert (scene.tree / "Documentation/win.txt").read_bytes() == b"one\r\nTWO\r\nthree\r\n"


def test_format_flowed_refused(tmp_path):
    scene = make_scene(tmp_path)
    raw = make_patch(scene).replace(b"\nSubject:", b"\nContent-Type: text/plain; charset=utf-8; format=flowed"
                                                     b"\nSubject:", 1)
    check_refused(scene, ["apply", str(scene.write_patch(raw)), "--tree", "tree"], "format=flowed")


# == 3. header and encoding errors: one line, exit 2 =======================================================

BAD_HEADERS = {
    "bad-base64-encoded-word": (b"Subject: =?UTF-8?B?!!!x?=\n", "bad base64"),
    "invalid-utf8-in-encoded-word": (b"Subject: =?utf-8?q?caf=C3?=\n", "not valid utf-8"),
    "unterminated-encoded-word": (b"Subject: =?utf-8?q?abc\n", "malformed encoded-word"),
    "unknown-charset-in-from": (b"From: =?x-klingon?q?J=F6rg?= <j@example.org>\n", "unknown charset"),
    "raw-latin1-in-subject": (b"Subject: caf\xe9 fix\n", "invalid utf-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_bad_header_refused(tmp_path, case):
    header, expect = BAD_HEADERS[case]
    scene = make_scene(tmp_path)
    raw = make_patch(scene)
    name = header.split(b":")[0]
    raw = re.sub(rb"\n" + name + rb": [^\n]*\n", b"\n" + header, raw, count=1)
    check_refused(scene, ["apply", str(scene.write_patch(raw)), "--tree", "tree"], expect)


def test_bad_header_refused_in_review_too(tmp_path):
    scene = make_scene(tmp_path)
    raw = re.sub(rb"\nSubject: [^\n]*\n", b"\nSubject: =?UTF-8?B?!!!x?=\n", make_patch(scene), count=1)
    check_refused(scene, ["review", str(scene.write_patch(raw)), "--tree", "tree", "--no-rules"], "bad base64")


def test_unknown_body_charset_refused(tmp_path):
    raw = ("From: Dev <d@example.org>\nSubject: [PATCH] x\nContent-Type: text/plain; charset=x-martian\n\n"
           "msg\n---\ndiff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n@@ -1 +1,2 @@\n"
           " obj-y += kernel/\n+obj-y += mm/\n")
    refused(tmp_path, raw, "unknown charset")


def test_broken_base64_attachment_refused(tmp_path):
    raw = ("From: Dev <d@example.org>\nSubject: [PATCH] x\nMIME-Version: 1.0\n"
           "Content-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nmsg\n"
           "--XX\nContent-Type: text/x-patch; name=a.patch\nContent-Transfer-Encoding: base64\n\n"
           "ZGlmZiAtLWdpdCBh!!!\n--XX--\n")
    refused(tmp_path, raw, "not valid base64")


def test_unreadable_patch_file(tmp_path, monkeypatch):
    scene = make_scene(tmp_path)
    p = scene.write_patch(make_patch(scene))
    p.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make open() fail the way it would for a user
        real_open = builtins.open

        def deny(file, *a, **kw):
            if str(file) == str(p):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *a, **kw)

        monkeypatch.setattr(builtins, "open", deny)
    check_refused(scene, ["apply", str(p), "--tree", "tree"], "permission denied")


def test_directory_that_is_not_a_maildir(tmp_path):
    scene = make_scene(tmp_path)
    (scene.base / "patches").mkdir()
    check_refused(scene, ["apply", "patches", "--tree", "tree"], "not a patch file or a Maildir")


def test_empty_maildir(tmp_path):
    scene = make_scene(tmp_path)
    (scene.base / "md" / "cur").mkdir(parents=True)
    check_refused(scene, ["apply", "md", "--tree", "tree"], "holds no mail")


# == 4. diff structure ====================================================================================

def test_huge_hunk_number_refused(tmp_path):
    diff = ("diff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n"
            f"@@ -{'9' * 5000},1 +1,2 @@\n obj-y += kernel/\n+obj-y += mm/\n")
    refused(tmp_path, diff, "number too large")


def test_new_and_deleted_file_mode_together_refused(tmp_path):
    diff = ("diff --git a/x.c b/x.c\nnew file mode 100644\ndeleted file mode 100644\n--- /dev/null\n"
            "+++ b/x.c\n@@ -0,0 +1 @@\n+int x;\n")
    refused(tmp_path, diff, "'new file mode' and 'deleted file mode'")


def test_invalid_mode_refused(tmp_path):
    diff = "diff --git a/x.c b/x.c\nnew file mode 100999\n--- /dev/null\n+++ b/x.c\n@@ -0,0 +1 @@\n+int x;\n"
    refused(tmp_path, diff, "invalid mode")


def test_header_counts_too_small_refused(tmp_path):
    scene = make_scene(tmp_path)
    diff = re.sub(r"@@ -16,6 \+16,7 @@", "@@ -16,5 +16,6 @@", make_patch(scene, mode="diff").decode())
    assert "@@ -16,5 +16,6 @@" in diff
    line = check_refused(scene, ["apply", str(scene.write_patch(diff)), "--tree", "tree"], "corrupt patch at line")
    assert "holds more lines" in line


def test_header_counts_too_large_refused(tmp_path):
    scene = make_scene(tmp_path)
    diff = re.sub(r"@@ -16,6 \+16,7 @@", "@@ -16,8 +16,9 @@", make_patch(scene, mode="diff").decode())
    assert "@@ -16,8 +16,9 @@" in diff
    assert git(scene.tree, "apply", "--check", "-", input=diff.encode(), check=False).returncode != 0
    check_refused(scene, ["apply", str(scene.write_patch(diff)), "--tree", "tree"], "corrupt patch at line")


def test_inconsistent_file_names_refused(tmp_path):
    diff = ("diff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Other\n@@ -1 +1,2 @@\n"
            " obj-y += kernel/\n+obj-y += mm/\n")
    refused(tmp_path, diff, "inconsistent file names")


def test_header_without_change_refused(tmp_path):
    refused(tmp_path, "diff --git a/Makefile b/Makefile\nindex 1111111..2222222 100644\n", "without any change")


def test_binary_patch_refused(tmp_path):
    diff = ("diff --git a/fw.bin b/fw.bin\nnew file mode 100644\nindex 0000000..2222222\n"
            "GIT binary patch\nliteral 4\nLcmZQzU|;|M00aO5\n\n")
    refused(tmp_path, diff, "binary diff")


def test_hunk_without_file_header_amid_files_refused(tmp_path):
    diff = ("diff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n@@ -1 +1,2 @@\n"
            " obj-y += kernel/\n+obj-y += mm/\nsome words\n@@ -1 +1,2 @@\n obj-y += kernel/\n+obj-y += fs/\n")
    refused(tmp_path, diff, "hunk without a file header")


def test_dotdot_in_rename_refused(tmp_path):
    diff = ("diff --git a/Makefile b/../evil\nsimilarity index 100%\nrename from Makefile\n"
            "rename to ../evil\n")
    refused(tmp_path, diff, "escapes the tree")


def test_git_names_with_spaces(tmp_path):
    scene = make_scene(tmp_path, {"Documentation/my notes.txt": "alpha\nbeta\n"})
    diff = make_patch(scene, lambda r: (r / "Documentation/my notes.txt").write_text("alpha\nBETA\n"), mode="diff")
    assert b"diff --git a/Documentation/my notes.txt b/Documentation/my notes.txt" in diff
    check_same_as_git(scene, scene.write_patch(diff))


def test_c_quoted_names(tmp_path):
    scene = make_scene(tmp_path, {"Documentation/tab\there-\u00e9.txt": "alpha\nbeta\n"})
    diff = make_patch(scene, lambda r: (r / "Documentation/tab\there-\u00e9.txt").write_text("alpha\nBETA\n"),
                      mode="diff")
    assert b'"a/Documentation/tab\\there-\\303\\251.txt"' in diff
    check_same_as_git(scene, scene.write_patch(diff))


@pytest.mark.parametrize("strip,prefix", [(0, "--no-prefix"), (2, "--src-prefix=x/a/ --dst-prefix=y/b/")])
def test_strip_option_like_git_apply(tmp_path, strip, prefix):
    scene = make_scene(tmp_path)
    diff = make_patch(scene, mode="diff", diff_args=prefix.split())
    assert b"a/kernel" not in diff or strip == 2
    p = scene.write_patch(diff)
    assert load_series([str(p)], Options(strip=strip)).commits[0].files[0].path == SAMPLE
    check_same_as_git(scene, p, ["-p", str(strip)], [f"-p{strip}"])


def test_traditional_diff_without_directories_guesses_p0(tmp_path):
    scene = make_scene(tmp_path)
    diff = "--- Makefile\t2024-10-01 10:00:00\n+++ Makefile\t2024-10-01 10:00:01\n@@ -1 +1,2 @@\n " \
           "obj-y += kernel/\n+obj-y += mm/\n"
    check_same_as_git(scene, scene.write_patch(diff))


def test_context_diff_same_as_gnu_patch(tmp_path):
    scene = make_scene(tmp_path)
    old = (scene.tree / SAMPLE).read_text()
    new = old.replace("\treturn x + 3;\n", "\t/* three */\n\treturn x + 3;\n").replace(
        "\treturn x + 7;\n", "\treturn x + 77;\n").replace("int f9(int x)\n{\n\treturn x + 9;\n}\n\n", "")
    (scene.base / "a/kernel").mkdir(parents=True)
    (scene.base / "b/kernel").mkdir(parents=True)
    (scene.base / "a" / SAMPLE).write_text(old)
    (scene.base / "b" / SAMPLE).write_text(new)
    diff = subprocess.run(["diff", "-c", "a/" + SAMPLE, "b/" + SAMPLE], cwd=scene.base, capture_output=True,
                          check=False).stdout
    shutil.rmtree(scene.base / "a")
    shutil.rmtree(scene.base / "b")
    assert b"***************" in diff and b"! " in diff
    p = scene.write_patch(diff, "c.diff")
    ref = scene.clone_for_git()
    subprocess.run(["patch", "-p1", "-s", "-i", str(p)], cwd=ref, check=True)
    expected = snapshot(ref)
    shutil.rmtree(ref)
    res = porter(scene, "apply", str(p), "--tree", "tree")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert snapshot(scene.tree) == expected
    assert (scene.tree / SAMPLE).read_text() == new


def test_context_diff_parses_to_the_unified_hunks(tmp_path):
    scene = make_scene(tmp_path)
    udiff = make_patch(scene, lambda r: edit_sample(r, "\treturn x + 5;\n", "\t/* five */\n"), mode="diff")
    old = (scene.tree / SAMPLE).read_text()
    (scene.base / "new.c").write_text(old.replace("\treturn x + 5;\n", "\treturn x + 5;\n\t/* five */\n"))
    (scene.base / "old.c").write_text(old)
    cdiff = subprocess.run(["diff", "-c", "--label", "a/" + SAMPLE, "--label", "b/" + SAMPLE, "old.c", "new.c"],
                           cwd=scene.base, capture_output=True, check=False).stdout
    u = parse_series(udiff).commits[0].files[0]
    c = parse_series(cdiff).commits[0].files[0]
    assert c.path == u.path == SAMPLE
    assert [(h.old_start, h.old_len, h.new_start, h.new_len, [(ln.kind, ln.text) for ln in h.lines])
            for h in c.hunks] == \
           [(h.old_start, h.old_len, h.new_start, h.new_len, [(ln.kind, ln.text) for ln in h.lines])
            for h in u.hunks]


def test_bare_hunks_with_file(tmp_path):
    scene = make_scene(tmp_path)
    diff = make_patch(scene, mode="diff").decode()
    bare = diff[diff.index("@@ "):]
    p = scene.write_patch(bare, "sample.c.rej")
    expected_code, expected = _git_apply_state(scene, scene.write_patch(diff, "full.patch"))
    assert expected_code == 0
    res = porter(scene, "apply", str(p), "--file", SAMPLE, "--tree", "tree")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert snapshot(scene.tree) == expected


def test_bare_hunks_without_file_refused(tmp_path):
    scene = make_scene(tmp_path)
    diff = make_patch(scene, mode="diff").decode()
    p = scene.write_patch(diff[diff.index("@@ "):], "sample.c.rej")
    check_refused(scene, ["apply", str(p), "--tree", "tree"], "--file PATH")


def test_file_option_with_several_files_refused(tmp_path):
    scene = make_scene(tmp_path)
    diff = make_patch(scene, lambda r: (edit_sample(r), (r / "Makefile").write_text("obj-y += mm/\n")), mode="diff")
    check_refused(scene, ["apply", str(scene.write_patch(diff)), "--file", SAMPLE, "--tree", "tree"],
                  "changes 2 files")


def _git_apply_state(scene, patch: Path):
    from tests.corpus import git_apply_result

    return git_apply_result(scene, patch)


# == 5. extended headers: the model agrees with git apply --summary / --numstat ===========================

def summary(scene, diff: bytes) -> str:
    return git(scene.tree, "apply", "--summary", "--numstat", "-", input=diff).stdout.decode()


def test_rename_only_model(tmp_path):
    scene = make_scene(tmp_path)
    diff = make_patch(scene, lambda r: (r / "scripts/tool.sh").rename(r / "scripts/tool2.sh"), mode="diff",
                      diff_args=["-M"])
    fp = parse_series(diff).commits[0].files[0]
    assert "rename scripts/{tool.sh => tool2.sh} (100%)" in summary(scene, diff)
    assert (fp.old_path, fp.new_path, fp.rename, fp.similarity, fp.hunks) == \
           ("scripts/tool.sh", "scripts/tool2.sh", True, 100, [])


def test_rename_with_change_and_copy_model(tmp_path):
    scene = make_scene(tmp_path)

    def edit(r):
        text = (r / SAMPLE).read_text()
        (r / "kernel/copy.c").write_text(text)
        (r / "kernel/moved.c").write_text(text.replace("return x + 3;", "return x + 33;"))
        (r / SAMPLE).unlink()

    diff = make_patch(scene, edit, mode="diff", diff_args=["-C", "-C", "-M"])
    files = parse_series(diff).commits[0].files
    s = summary(scene, diff)
    by_new = {f.new_path: f for f in files}
    assert "copy kernel/{sample.c => copy.c} (100%)" in s and "rename kernel/{sample.c => moved.c}" in s
    assert by_new["kernel/copy.c"].copy and by_new["kernel/copy.c"].old_path == SAMPLE
    moved = by_new["kernel/moved.c"]
    assert moved.rename and moved.old_path == SAMPLE and len(moved.hunks) == 1
    assert moved.similarity == int(re.search(r"moved.c} \((\d+)%\)", s).group(1))


def test_mode_only_and_new_executable_model(tmp_path):
    scene = make_scene(tmp_path)

    def edit(r):
        (r / "scripts/tool.sh").chmod(0o644)
        (r / "scripts/new.sh").write_text("#!/bin/sh\n")
        (r / "scripts/new.sh").chmod(0o755)

    diff = make_patch(scene, edit, mode="diff")
    s = summary(scene, diff)
    assert "mode change 100755 => 100644 scripts/tool.sh" in s and "create mode 100755 scripts/new.sh" in s
    files = {f.path: f for f in parse_series(diff).commits[0].files}
    tool, new = files["scripts/tool.sh"], files["scripts/new.sh"]
    assert (tool.old_mode, tool.new_mode, tool.mode_change, tool.hunks) == ("100755", "100644", True, [])
    assert new.is_new and new.new_mode == "100755"


def test_no_newline_sides_model(tmp_path):
    scene = make_scene(tmp_path, {"Documentation/a.txt": "one\ntwo", "Documentation/b.txt": "one\ntwo\n"})

    def edit(r):
        (r / "Documentation/a.txt").write_text("one\ntwo\n")  # old side lacks the newline
        (r / "Documentation/b.txt").write_text("one\ntwo")  # new side lacks it

    diff = make_patch(scene, edit, mode="diff")
    assert diff.count(b"\\ No newline at end of file") == 2
    files = {f.path: f for f in parse_series(diff).commits[0].files}
    a, b = files["Documentation/a.txt"].hunks[0], files["Documentation/b.txt"].hunks[0]
    assert (a.old_no_newline, a.new_no_newline) == (True, False)
    assert (b.old_no_newline, b.new_no_newline) == (False, True)


def test_deleted_file_model(tmp_path):
    scene = make_scene(tmp_path)
    diff = make_patch(scene, lambda r: (r / "scripts/tool.sh").unlink(), mode="diff")
    fp = parse_series(diff).commits[0].files[0]
    assert fp.is_delete and fp.old_path == "scripts/tool.sh" and fp.old_mode == "100755"
    assert "delete mode 100755 scripts/tool.sh" in summary(scene, diff)


# == 6. patches quoted in replies =========================================================================

def _quote(text: str) -> list[str]:
    return ["> " + ln if ln else ">" for ln in text.split("\n")]


def test_quoted_reply_with_reviewer_comments_inside(tmp_path):
    scene = make_scene(tmp_path)
    diff = make_patch(scene, lambda r: (edit_sample(r), edit_sample(r, "\treturn x + 9;\n", "\t/* nine */\n")),
                      mode="diff").decode()
    quoted = _quote(diff.rstrip("\n"))
    cut = next(i for i, ln in enumerate(quoted) if "/* three */" in ln) + 1
    reply = ["On Tue, Dev One wrote:"] + quoted[:cut] + ["", "Nice, but see below.", ""] + quoted[cut:] + \
        ["", "Reviewed-by: Rev <rev@example.org>"]
    p = scene.write_patch("\n".join(reply) + "\n", "reply.txt")
    expected_code, expected = _git_apply_state(scene, scene.write_patch(diff, "orig.patch"))
    assert expected_code == 0
    res = porter(scene, "apply", str(p), "--tree", "tree")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert f"skipped 1 reviewer comment line(s) inside the quoted patch (input lines {cut + 3})" in res.stdout
    assert snapshot(scene.tree) == expected


def test_quoted_reply_whose_comment_replaced_patch_lines_refused(tmp_path):
    scene = make_scene(tmp_path)
    diff = make_patch(scene, mode="diff").decode()
    quoted = _quote(diff.rstrip("\n"))
    cut = next(i for i, ln in enumerate(quoted) if "/* three */" in ln)
    reply = ["On Tue, Dev One wrote:"] + quoted[:cut] + ["", "[snip]", ""] + quoted[cut + 2:]
    p = scene.write_patch("\n".join(reply) + "\n", "reply.txt")
    check_refused(scene, ["apply", str(p), "--tree", "tree"], "reviewer comment line(s) inside it")


def test_quoted_reply_in_a_mail_keeps_outer_metadata(tmp_path):
    scene = make_scene(tmp_path)
    diff = make_patch(scene, mode="diff").decode()
    raw = ("From: Reviewer <rev@example.org>\nSubject: Re: [PATCH v2] sample: comment f3\n\n"
           "Dev One wrote:\n" + "\n".join(_quote(diff.rstrip("\n"))) + "\n\nLooks good.\n")
    series = parse_series(raw.encode())
    c = series.commits[0]
    assert c.subject == "sample: comment f3" and c.subject_prefix == "[PATCH v2]"
    assert any("quoted at depth 1" in n for n in series.notes)
    assert c.files[0].path == SAMPLE and c.files[0].hunks[0].added == ["\t/* three */"]


def test_options_are_passed_through_load_series(tmp_path):
    scene = make_scene(tmp_path)
    diff = make_patch(scene, mode="diff", diff_args=["--no-prefix"])
    p = scene.write_patch(diff)
    assert load_series([str(p)], Options(strip=0)).commits[0].files[0].path == SAMPLE


# == 7. more mailinfo comparisons on tricky headers =========================================================

TRICKY_FROM = {
    "quoted-comma-name": '"Doe, John" <john@example.org>',
    "comment-form": "john.doe@example.org (John Doe)",
    "encoded-name": "=?utf-8?b?SsO2cmcgTcO8bGxlcg==?= <jm@example.org>",
    "bare-address": "john@example.org",
    "short-name": "Jo <jo@example.org>",
}


@pytest.mark.parametrize("case", sorted(TRICKY_FROM))
def test_author_forms_match_git_mailinfo(tmp_path, case):
    scene = make_scene(tmp_path, git_init=False)
    raw = (f"From: {TRICKY_FROM[case]}\nSubject: Re: Re: [PATCH 1/3]  sample:\tcomment  f3\n"
           "Date: Tue, 1 Oct 2024 10:00:00 +0000\n\nBody.\n---\ndiff --git a/Makefile b/Makefile\n"
           "--- a/Makefile\n+++ b/Makefile\n@@ -1 +1,2 @@\n obj-y += kernel/\n+obj-y += mm/\n").encode()
    commit = parse_series(raw).commits[0]
    assert_commit_matches_mailinfo(commit, git_mailinfo(scene, raw))


def test_multipart_alternative_with_attachment(tmp_path):
    scene = make_scene(tmp_path)
    msg, diff = body_of(make_patch(scene))
    m = mime_mail(msg.decode())
    m.add_alternative("<p>" + msg.decode() + "</p>", subtype="html")
    outer = EmailMessage(policy=email.policy.SMTP)
    for h in ("From", "Date", "Subject", "Message-Id"):
        outer[h] = m[h]
    outer.make_mixed()
    body = EmailMessage(policy=email.policy.SMTP)
    body.set_content(msg.decode())
    body.add_alternative("<p>html copy</p>", subtype="html")
    outer.attach(body)
    outer.add_attachment(diff, maintype="text", subtype="x-diff", filename="fix.patch")
    raw = outer.as_bytes()
    commit = parse_series(raw).commits[0]
    assert commit.message == msg.decode().strip() and "html" not in commit.message
    check_same_as_git_am(scene, [scene.write_patch(raw)])


def test_series_out_of_order_with_cover_letter(tmp_path):
    scene = make_scene(tmp_path)
    one, two = make_series(scene)
    one = one.replace(b"[PATCH]", b"[PATCH 1/2]")
    two = two.replace(b"[PATCH]", b"[PATCH 2/2]")
    cover = (b"From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
             b"From: Dev <dev@example.org>\nSubject: [PATCH 0/2] two changes\n\nCover letter.\n\n")
    series = load_series([str(scene.write_patch(cover + two + one, "series.mbox"))])
    assert [c.number for c in series.commits] == [(1, 2), (2, 2)]
    assert any("cover letter" in n for n in series.notes)
    expected = git_am_state(scene, [scene.write_patch(one, "1.patch"), scene.write_patch(two, "2.patch")])
    res = porter(scene, "apply", "series.mbox", "--tree", "tree")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert snapshot(scene.tree) == expected


def test_whitespace_mangled_mail_is_repaired_and_noted(tmp_path):
    """Tabs turned to spaces and a context line's leading space lost: git refuses; porter reads it as the
    mangled mail it evidently is, says so, and lands the same change git lands from the intact mail."""
    scene = make_scene(tmp_path)
    intact = make_patch(scene)
    expected = git_am_state(scene, [scene.write_patch(intact, "intact.patch")])
    mangled = intact.replace(b"\t", b"        ").replace(b"\n int f4(int x)\n", b"\nint f4(int x)\n")
    assert mangled != intact
    p = scene.write_patch(mangled, "mangled.patch")
    assert git(scene.tree, "apply", "--check", str(p), check=False).returncode != 0
    res = porter(scene, "apply", str(p), "--tree", "tree")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "read it as a mangled mail" in res.stdout
    assert snapshot(scene.tree) == expected


def test_well_formed_looking_mail_with_missing_marker_refused(tmp_path):
    """The same lost leading space in a mail whose tabs are intact is not evident mangling: corrupt."""
    scene = make_scene(tmp_path)
    broken = make_patch(scene).replace(b"\n int f4(int x)\n", b"\nint f4(int x)\n")
    check_refused(scene, ["apply", str(scene.write_patch(broken)), "--tree", "tree"], "corrupt patch at line")


# == 8. extended headers end to end (intake + the transactional writer, porter.write) =======================
# These run once the writer's porter.write package is merged beside intake; intake alone guarantees the
# model (section 5 above).

EXTENDED = {
    "rename-only": (lambda r: (r / "scripts/tool.sh").rename(r / "scripts/tool2.sh"), ["-M"]),
    "rename-with-change": (lambda r: ((r / SAMPLE).write_text((r / SAMPLE).read_text().replace("x + 3;", "x + 33;")),
                                      (r / SAMPLE).rename(r / "kernel/moved.c")), ["-M"]),
    "copy-with-change": (lambda r: (r / "kernel/copy.c").write_text((r / SAMPLE).read_text() + "int g;\n"),
                         ["-C", "-C"]),
    "mode-only": (lambda r: (r / "scripts/tool.sh").chmod(0o644), []),
    "new-executable": (lambda r: ((r / "scripts/new.sh").write_text("#!/bin/sh\n"),
                                  (r / "scripts/new.sh").chmod(0o755)), []),
    "delete-executable": (lambda r: (r / "scripts/tool.sh").unlink(), []),
    "old-side-lacks-newline": (lambda r: (r / "Documentation/a.txt").write_text("one\ntwo\n"), []),
    "new-side-lacks-newline": (lambda r: (r / "Documentation/b.txt").write_text("one\ntwo"), []),
}


@pytest.mark.parametrize("case", sorted(EXTENDED))
def test_extended_headers_applied_like_git(tmp_path, case):
    pytest.importorskip("porter.write", reason="needs the transactional writer (porter.write) merged")
    scene = make_scene(tmp_path, {"Documentation/a.txt": "one\ntwo", "Documentation/b.txt": "one\ntwo\n"})
    edit, args = EXTENDED[case]
    diff = make_patch(scene, edit, mode="diff", diff_args=args)
    check_same_as_git(scene, scene.write_patch(diff))


def test_thread_mbox_reply_quoting_the_patch_is_not_a_second_patch(tmp_path):
    scene = make_scene(tmp_path)
    mail = make_patch(scene)
    diff = mail.split(b"\n---\n", 1)[1].decode()
    reply = ("From 0000000000000000000000000000000000000001 Mon Sep 17 00:00:00 2001\n"
             "From: Reviewer <rev@example.org>\nSubject: Re: [PATCH] sample: comment f3\n\n"
             "Dev wrote:\n" + "\n".join(_quote(diff.rstrip("\n"))) + "\n\nLooks fine.\n").encode()
    series = parse_series(mail + reply)
    assert len(series.commits) == 1
    assert any("a reply quoting a patch, skipped" in n for n in series.notes)
    expected = git_am_state(scene, [scene.write_patch(mail, "only.patch")])
    res = porter(scene, "apply", str(scene.write_patch(mail + reply, "thread.mbox")), "--tree", "tree")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert snapshot(scene.tree) == expected


def _diff_n(scene, flag: str, locale: str) -> bytes:
    """`diff -N<flag> -r` of the tree against a copy with a new file, a deleted file and a changed file."""
    a, b = scene.base / "a", scene.base / "b"
    for d in (a, b):
        for rel in ("Makefile", "include/linux/kernel.h"):
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(scene.tree / rel, d / rel)
    (b / "include/linux/kernel.h").write_text((a / "include/linux/kernel.h").read_text().replace(
        "int twice(int x);", "int twice(int x);\nint thrice(int x);"))
    (a / "Makefile").unlink()  # b keeps it: reversed below to delete
    (b / "include/linux/extra.h").write_text("/* extra */\n")
    (a / "Makefile").write_text((scene.tree / "Makefile").read_text())
    (b / "Makefile").unlink()
    env = {**os.environ, "LC_ALL": locale, "TZ": "UTC"}
    out = subprocess.run(["diff", f"-N{flag}", "-r", "a", "b"], cwd=scene.base, capture_output=True,
                         check=False, env=env).stdout
    shutil.rmtree(a)
    shutil.rmtree(b)
    return out


@pytest.mark.parametrize("flag, locale, epoch", [
    ("u", "C.UTF-8", b"1970-01-01 00:00:00"),
    ("c", "C.UTF-8", b"1970-01-01 00:00:00"),
    ("c", "C", b"Thu Jan  1 00:00:00 1970"),  # diff -c in the POSIX locale: the traditional date format
])
def test_diff_dash_n_new_and_deleted_files_like_gnu_patch(tmp_path, flag, locale, epoch):
    scene = make_scene(tmp_path)
    diff = _diff_n(scene, flag, locale)
    assert epoch in diff
    p = scene.write_patch(diff, f"n{flag}.diff")
    files = {(f.old_path, f.new_path) for f in parse_series(diff).commits[0].files}
    assert files == {("Makefile", None), (None, "include/linux/extra.h"),
                     ("include/linux/kernel.h", "include/linux/kernel.h")}
    ref = scene.clone_for_git()
    subprocess.run(["patch", "-p1", "-s", "-E", "-i", str(p)], cwd=ref, check=True)
    expected = snapshot(ref)
    shutil.rmtree(ref)
    if flag == "u":
        assert _git_apply_state(scene, p) == (0, expected)
    if not importlib.util.find_spec("porter.write"):
        return  # deleting and creating files the git way is the writer's (porter.write) part
    res = porter(scene, "apply", str(p), "--tree", "tree")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert snapshot(scene.tree) == expected


def test_in_body_from_in_utf8_inside_a_latin1_mail(tmp_path):
    """mailinfo takes in-body header bytes before the charset conversion: UTF-8 there stays UTF-8."""
    scene = make_scene(tmp_path)
    _, diff = body_of(make_patch(scene))
    raw = (b"From: Forwarder <fw@example.org>\nSubject: [PATCH] sample: comment f3\n"
           b"Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
           + "From: Jörg Müller <jm@example.org>\n\n".encode() + b"Gru\xdf.\n" + diff)
    commit = parse_series(raw).commits[0]
    assert_commit_matches_mailinfo(commit, git_mailinfo(scene, raw))
    assert commit.author == "Jörg Müller <jm@example.org>" and commit.message == "Gruß."


@pytest.mark.parametrize("tool", ["gnu-patch", "git-apply-reject"])
def test_rej_file_written_by_a_tool_is_read_back(tmp_path, tool):
    """A hunk `patch` / `git apply --reject` could not place (the target drifted), saved as a .rej, is ported
    from that .rej: it names its file itself, and lands where git puts the original patch."""
    scene = make_scene(tmp_path)
    diff = make_patch(scene, mode="diff")
    original = scene.write_patch(diff, "orig.patch")
    drifted = scene.base / "drifted"
    shutil.copytree(scene.tree, drifted, symlinks=True)
    (drifted / SAMPLE).write_text((drifted / SAMPLE).read_text().replace("\treturn x + 3;", "\treturn x + 3; /**/"))
    if tool == "gnu-patch":
        subprocess.run(["patch", "-p1", "-s", "-i", str(original)], cwd=drifted, check=False, capture_output=True)
    else:
        git(drifted, "apply", "--reject", str(original), check=False)
    rej = drifted / (SAMPLE + ".rej")
    assert rej.is_file()
    series = load_series([str(rej)])
    fp = series.commits[0].files[0]
    assert fp.path == SAMPLE
    assert [(ln.kind, ln.text) for ln in fp.hunks[0].lines] == \
        [(ln.kind, ln.text) for ln in parse_series(diff).commits[0].files[0].hunks[0].lines]
    shutil.copy(rej, scene.base / "sample.c.rej")
    shutil.rmtree(drifted)
    code, expected = _git_apply_state(scene, original)
    assert code == 0
    res = porter(scene, "apply", "sample.c.rej", "--tree", "tree")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert snapshot(scene.tree) == expected


def test_coloured_diff_refused(tmp_path):
    scene = make_scene(tmp_path)
    coloured = make_patch(scene, mode="diff", diff_args=["--color=always"])
    assert b"\x1b[" in coloured
    check_refused(scene, ["apply", str(scene.write_patch(coloured)), "--tree", "tree"], "colour codes")


def test_combined_diff_of_a_merge_refused(tmp_path):
    diff = ("diff --cc kernel/sample.c\nindex 1111111,2222222..3333333\n--- a/kernel/sample.c\n"
            "+++ b/kernel/sample.c\n@@@ -1,4 -1,4 +1,5 @@@\n  int f0(int x)\n  {\n++\t/* both */\n  \treturn x + 0;\n"
            "  }\n")
    refused(tmp_path, diff, "combined diff")


def test_plain_diff_converted_to_crlf_is_read_with_lf(tmp_path):
    """A diff whose every line (headers too) ends in CRLF was converted on the way: read like git am reads such
    a mail, and noted; git apply would put the CRs into the LF file (or refuse)."""
    scene = make_scene(tmp_path)
    diff = make_patch(scene, mode="diff")
    expected = _git_apply_state(scene, scene.write_patch(diff, "lf.patch"))[1]
    res = porter(scene, "apply", str(scene.write_patch(diff.replace(b"\n", b"\r\n"), "crlf.patch")), "--tree", "tree")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "every line ended in CRLF" in res.stdout
    assert snapshot(scene.tree) == expected


MAKEFILE_HEAD = "diff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n"
MAKEFILE_BODY = " obj-y += kernel/\n+obj-y += mm/\n"
REVIEW_BAD = {
    "huge-hunk-number": (MAKEFILE_HEAD + f"@@ -{'9' * 5000},1 +1,2 @@\n" + MAKEFILE_BODY, "number too large"),
    "new-and-deleted": ("diff --git a/x.c b/x.c\nnew file mode 100644\ndeleted file mode 100644\n",
                        "deleted file mode"),
    "unknown-charset-in-from": ("From: =?x-klingon?q?J=F6rg?= <j@example.org>\nSubject: [PATCH] x\n\nm\n---\n"
                                + MAKEFILE_HEAD + "@@ -1 +1,2 @@\n" + MAKEFILE_BODY, "unknown charset"),
    "counts-too-small": (MAKEFILE_HEAD + "@@ -1,3 +1,4 @@\n" + MAKEFILE_BODY, "corrupt patch at line"),
}


@pytest.mark.parametrize("case", sorted(REVIEW_BAD))
def test_review_refuses_bad_input_with_one_line(tmp_path, case):
    text, expect = REVIEW_BAD[case]
    scene = make_scene(tmp_path)
    check_refused(scene, ["review", str(scene.write_patch(text)), "--tree", "tree", "--no-rules"], expect)
