"""Intake's small rules against git's own implementation of them: mailsplit's Maildir order, mailinfo's
scissors line, subject cleanup and patch break, run on the same bytes."""

from __future__ import annotations

import email.utils
import re

import pytest

from porter.intake import Options, parse_series
from porter.intake.mailinfo import cleanup_subject, is_scissors_line
from porter.intake.sources import maildir_names
from tests.corpus import git

DIFF = ("diff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n@@ -1 +1,2 @@\n"
        " obj-y += kernel/\n+obj-y += mm/\n")


def mailinfo(tmp_path, raw: bytes, *flags: str) -> tuple[str, str]:
    (tmp_path / "mi").mkdir(exist_ok=True)
    out = git(tmp_path, "mailinfo", *flags, str(tmp_path / "mi/msg"), str(tmp_path / "mi/patch"), input=raw)
    subject = re.search(r"^Subject: (.*)$", out.stdout.decode(), re.MULTILINE)
    return (tmp_path / "mi/msg").read_text(), subject.group(1) if subject else ""


@pytest.mark.parametrize("line", ["-- >8 --", "--- 8< ---", "-->8--", "------------ >8 ------------",
                                  "-- >% cut here --", "8<", "-- >8 ... a long explanation that is not a cut",
                                  ">8 -----", "- - - - >8 - - - -", "-- 8< -- and some words after it"])
def test_scissors_line_as_git_sees_it(tmp_path, line):
    raw = f"From: A <a@example.org>\nSubject: s\n\nabove\n{line}\nbelow\n---\n{DIFF}".encode()
    msg, _ = mailinfo(tmp_path, raw, "--scissors")
    git_cut = "above" not in msg
    assert is_scissors_line((line + "\n").encode()) == git_cut
    assert ("above" in parse_series(raw, options=Options(scissors=True)).commits[0].message) == (not git_cut)
    assert "above" in parse_series(raw).commits[0].message  # plain git am: no cut


@pytest.mark.parametrize("subject", ["[PATCH v3 2/5] mm: x", "Re: [PATCH] mm: x", "RE:re: [RFC][PATCH] a: b",
                                     "[PATCH]mm: no space", "Fwd: [PATCH] kept fwd", ":: [x] [y] z",
                                     "Re: Re:", "[PATCH] Re: inner re kept?"])
def test_subject_cleanup_as_git_mailinfo(tmp_path, subject):
    raw = f"From: A <a@example.org>\nSubject: {subject}\n\nbody\n---\n{DIFF}".encode()
    _, git_subject = mailinfo(tmp_path, raw)
    assert cleanup_subject(subject)[0] == git_subject


def test_maildir_order_as_git_mailsplit(tmp_path):
    md = tmp_path / "md"
    names = ["10", "9", "a10b", "a9b", "1.2", "1.10", "x"]
    for sub in ("cur", "new"):
        (md / sub).mkdir(parents=True)
    for n, name in enumerate(names):
        (md / ("new" if n % 2 else "cur") / name).write_text(f"From: a@b\nSubject: {name}\n\nx\n")
    out = tmp_path / "out"
    out.mkdir()
    git(tmp_path, "mailsplit", f"-o{out}", str(md))
    git_order = [re.search(r"Subject: (\S+)", p.read_text()).group(1) for p in sorted(out.iterdir())]
    assert [p.split("/")[1] for p in maildir_names(str(md))] == git_order


@pytest.mark.parametrize("frm", ["John Doe john@example.com", "john@example.com (John Doe)", "Name Only",
                                 "john at example.com (John Doe)", '"Doe, John" <j@x.org>'])
def test_author_as_git_mailinfo_reads_it(tmp_path, frm):
    """git mailinfo's handle_from: an address without <> with the name around it; no address at all gives no
    author (git am refuses such a mail, and porter will not commit it: test_corpus_hostile)."""
    raw = f"From: {frm}\nSubject: s\n\nbody\n---\n{DIFF}".encode()
    (tmp_path / "mi").mkdir()
    out = git(tmp_path, "mailinfo", str(tmp_path / "mi/msg"), str(tmp_path / "mi/patch"), input=raw).stdout.decode()
    name = re.search(r"^Author: ?(.*)$", out, re.MULTILINE).group(1)
    mail = re.search(r"^Email: ?(.*)$", out, re.MULTILINE).group(1)
    name2, mail2 = email.utils.parseaddr(parse_series(raw).commits[0].author)
    if mail:
        assert (name2, mail2) == (name, mail)
    else:
        assert "@" not in mail2
