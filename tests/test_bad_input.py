"""Every bad input gets one clear error line, exit status 2, and leaves the target byte-identical."""

from __future__ import annotations

import os
import re

import pytest

from porter.write.patchfile import file_diff
from tests.helpers import copy_tree, fingerprint, run


def good_patch(tree) -> str:
    """A valid one-line change of kernel/memremap.c in `tree`, as a format-patch mail."""
    path = "kernel/memremap.c"
    old = (tree / path).read_bytes()
    lines = old.decode().splitlines(keepends=True)
    idx = next(i for i, ln in enumerate(lines) if ln.strip().startswith("int ") or "error" in ln)
    new_lines = lines[:idx] + ["\t/* porter test */\n"] + lines[idx:]
    diff = "".join(file_diff(path, old, "".join(new_lines).encode()))
    return ("From 1234567890abcdef1234567890abcdef12345678 Mon Sep 17 00:00:00 2001\n"
            "From: Dev <dev@example.org>\nDate: Mon, 10 Sep 2018 16:43:00 -0700\n"
            "Subject: [PATCH] test: a comment\n\nBody.\n\nSigned-off-by: Dev <dev@example.org>\n---\n"
            + diff + "-- \n2.17.1\n\n")


@pytest.fixture
def tree(tmp_path):
    return copy_tree("linux", tmp_path)


def check_refused(tree, patch_bytes: bytes, tmp_path, expect: str, extra=()):
    before = fingerprint(tree)
    pfile = tmp_path / "in.mbox"
    pfile.write_bytes(patch_bytes)
    res = run("apply", str(pfile), "--tree", str(tree), *extra)
    assert res.exit_code == 2, (res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("porter: error: ")
    assert expect in lines[0], lines[0]
    assert fingerprint(tree) == before


def test_good_patch_applies(tree, tmp_path):
    """The baseline the bad inputs are derived from is itself fine (so each failure below is the input's)."""
    pfile = tmp_path / "ok.mbox"
    pfile.write_text(good_patch(tree))
    res = run("apply", str(pfile), "--tree", str(tree))
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "/* porter test */" in (tree / "kernel/memremap.c").read_text()


def test_empty_patch(tree, tmp_path):
    check_refused(tree, b"\n  \n", tmp_path, "empty patch")


def test_no_diff_in_mail(tree, tmp_path):
    mail = b"From: Dev <dev@example.org>\nSubject: [PATCH] nothing\n\nJust words, no diff.\n"
    check_refused(tree, mail, tmp_path, "no diff found")


def test_malformed_mbox(tree, tmp_path):
    check_refused(tree, b"From nobody Mon Sep 17 00:00:00 2001\nthis is not a header\n\n@@ garbage\n",
                  tmp_path, "malformed mbox")


def test_malformed_hunk_header(tree, tmp_path):
    text = good_patch(tree).replace("@@ -", "@@ -x", 1)
    check_refused(tree, text.encode(), tmp_path, "malformed hunk header")


def test_binary_diff(tree, tmp_path):
    text = ("diff --git a/fw.bin b/fw.bin\nindex 1111111..2222222 100644\nGIT binary patch\n"
            "literal 4\nLcmZQzU|;|M00aO5\n\n")
    check_refused(tree, text.encode(), tmp_path, "binary diff")


def test_non_utf8_header(tree, tmp_path):
    data = good_patch(tree).replace("Subject: [PATCH] test", "Subject: [PATCH] caf\udce9").encode(
        "utf-8", "surrogateescape")
    check_refused(tree, data, tmp_path, "invalid UTF-8")


def test_latin1_byte_in_diff_is_written_as_is(tree, tmp_path):
    """The diff is bytes (git am writes them unchanged): a Latin-1 byte in an added line lands as that byte."""
    data = good_patch(tree).replace("/* porter test */", "/* caf\udce9 */").encode("utf-8", "surrogateescape")
    pfile = tmp_path / "in.mbox"
    pfile.write_bytes(data)
    res = run("apply", str(pfile), "--tree", str(tree))
    assert res.exit_code == 0, res.stdout + res.stderr
    assert b"/* caf\xe9 */\n" in (tree / "kernel/memremap.c").read_bytes()


def test_crlf_mail_is_read_as_git_am_reads_it(tree, tmp_path):
    """A mail whose every line ends in CRLF (the transport's doing): git mailsplit drops the CRs."""
    pfile = tmp_path / "in.mbox"
    pfile.write_bytes(good_patch(tree).replace("\n", "\r\n").encode())
    res = run("apply", str(pfile), "--tree", str(tree))
    assert res.exit_code == 0, res.stdout + res.stderr
    assert b"\r" not in (tree / "kernel/memremap.c").read_bytes()


def test_dotdot_path(tree, tmp_path):
    text = good_patch(tree).replace("a/kernel/memremap.c", "a/../outside.c").replace(
        "b/kernel/memremap.c", "b/../outside.c")
    check_refused(tree, text.encode(), tmp_path, "escapes the tree")


def test_absolute_path(tree, tmp_path):
    text = good_patch(tree).replace("--- a/kernel/memremap.c", "--- /etc/passwd").replace(
        "+++ b/kernel/memremap.c", "+++ /etc/passwd").replace(
        "diff --git a/kernel/memremap.c b/kernel/memremap.c\n", "")
    check_refused(tree, text.encode(), tmp_path, "absolute")


def test_symlink_leaving_tree(tree, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "memremap.c").write_bytes((tree / "kernel/memremap.c").read_bytes())
    text = good_patch(tree)
    (tree / "kernel/memremap.c").unlink()
    os.symlink(outside / "memremap.c", tree / "kernel/memremap.c")
    before_outside = (outside / "memremap.c").read_bytes()
    check_refused(tree, text.encode(), tmp_path, "symlink leaves the tree")
    assert (outside / "memremap.c").read_bytes() == before_outside


def test_file_missing_in_target(tree, tmp_path):
    # No function name in the hunk header, and the hunk's pre-image occurs nowhere in the tree (the tree-search
    # rung looked): the missing file is the one clear error. (With a function name porter looks for the
    # function in other files: see test_apply_real.)
    text = re.sub(r"^(@@ [^@]* @@).*$", r"\1", good_patch(tree), flags=re.MULTILINE)
    text = text.replace("kernel/memremap.c", "kernel/no_such_file.c")
    text = re.sub(r"^ (\S.*)$", r" \1 /* nowhere */", text, flags=re.MULTILINE)
    check_refused(tree, text.encode(), tmp_path, "no such file")


def test_file_missing_but_its_code_is_found_once_elsewhere(tree, tmp_path):
    """The same hunk with its real context: its whole pre-image occurs once in the tree (kernel/memremap.c),
    so the tree-search rung places it there and reports the move."""
    text = re.sub(r"^(@@ [^@]* @@).*$", r"\1", good_patch(tree), flags=re.MULTILINE)
    text = text.replace("kernel/memremap.c", "kernel/no_such_file.c")
    pfile = tmp_path / "in.mbox"
    pfile.write_text(text)
    before = fingerprint(tree)
    res = run("apply", str(pfile), "--tree", str(tree), "--dry-run")
    assert res.exit_code == 0, (res.stdout, res.stderr)
    assert "tree-search" in res.stdout and "kernel/no_such_file.c -> kernel/memremap.c:" in res.stdout
    assert fingerprint(tree) == before


def test_target_not_a_directory_or_ref(tree, tmp_path):
    pfile = tmp_path / "in.mbox"
    pfile.write_text(good_patch(tree))
    res = run("apply", str(pfile), "--tree", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert res.exit_code == 2
    assert "no such directory, configured tree or git ref" in res.stderr


def test_target_not_a_kernel_tree(tree, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "README").write_text("hello\n")
    before = fingerprint(plain)
    pfile = tmp_path / "in.mbox"
    pfile.write_text(good_patch(tree))
    res = run("apply", str(pfile), "--tree", str(plain))
    assert res.exit_code == 2
    assert "not a kernel tree" in res.stderr
    assert fingerprint(plain) == before


def test_missing_patch_file(tree, tmp_path):
    res = run("apply", str(tmp_path / "absent.mbox"), "--tree", str(tree))
    assert res.exit_code == 2
    assert "no such patch file" in res.stderr


@pytest.mark.parametrize("args", [
    ["verify", "--tree", "/nonexistent-porter-tree"],
    ["apply", "--tree", "."],
    ["apply", "x.patch", "--no-such-option"],
    ["lint", "--format", "yaml"],
    ["no-such-command"],
])
def test_usage_errors_are_one_line(args):
    """click's usage errors are bad input like any other: one `porter: error:` line, exit 2 (they were a
    three-line usage block)."""
    res = run(*args)
    assert res.exit_code == 2, (res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("porter: error: ") and "--help" in lines[0], res.stderr
    named = args[0] if args[0] in ("apply", "lint", "verify", "review", "locate") else None
    assert lines[0].endswith(f"(see 'porter {named} --help')" if named else "(see 'porter --help')"), lines[0]


def test_option_missing_its_value_points_to_the_subcommand_help():
    res = run("apply", "x.patch", "--tree")
    assert res.exit_code == 2
    assert res.stderr.strip() == "porter: error: Option '--tree' requires an argument. (see 'porter apply --help')"
