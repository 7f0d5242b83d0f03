"""Patch intake: every shape a kernel developer receives a patch in, into one model."""

from __future__ import annotations

import pytest

from porter.errors import PorterError
from porter.intake import parse_series
from tests.helpers import SEED, run

MAIL = """From {sha} Mon Sep 17 00:00:00 2001
From: Dev One <one@example.org>
Date: Mon, 10 Sep 2018 16:43:0{n} -0700
Subject: [PATCH {n}/2] mm: change {n}

Message {n}.

Signed-off-by: Dev One <one@example.org>
---
 mm/a.c | 1 +
 1 file changed, 1 insertion(+)

diff --git a/mm/a.c b/mm/a.c
index 1111111..2222222 100644
--- a/mm/a.c
+++ b/mm/a.c
@@ -1,3 +1,4 @@ int f(void)
 a
 b
+added {n}
 c
-- 
2.17.1

"""

COVER = """From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Dev One <one@example.org>
Subject: [PATCH 0/2] the series

Cover letter text.

"""


def test_seed_quoted_mangled_patch():
    s = parse_series(SEED.read_bytes(), "seed")
    assert len(s.commits) == 1
    c = s.commits[0]
    assert [f.path for f in c.files] == ["include/linux/mm.h", "kernel/memremap.c", "mm/hmm.c", "mm/page_alloc.c"]
    assert c.subject.startswith("mm: Defer ZONE_DEVICE page initialization")
    assert c.number == (3, 4)
    assert "Alexander Duyck" in c.author
    assert ("Signed-off-by", "Alexander Duyck <alexander.h.duyck@xxxxxxxxx>") in c.trailers
    assert any("quoted at depth 2" in n for n in s.notes)
    assert any("whitespace-mangled" in n for n in s.notes)
    # Every hunk's lines agree with its (possibly recomputed) header.
    for fp in c.files:
        for h in fp.hunks:
            assert len(h.old_lines) == h.old_len and len(h.new_lines) == h.new_len
    assert sum(len(h.added) for fp in c.files for h in fp.hunks) == 105
    assert sum(len(h.removed) for fp in c.files for h in fp.hunks) == 22


def test_series_is_ordered_and_cover_letter_skipped():
    data = COVER + MAIL.format(sha="b" * 40, n=2) + MAIL.format(sha="a" * 40, n=1)
    s = parse_series(data.encode())
    assert [c.number for c in s.commits] == [(1, 2), (2, 2)]
    assert [c.subject for c in s.commits] == ["mm: change 1", "mm: change 2"]
    assert s.commits[0].message.startswith("Message 1.")
    assert any("cover letter" in n for n in s.notes)


def test_plain_git_diff_and_diff_u():
    git_diff = "diff --git a/mm/a.c b/mm/a.c\n--- a/mm/a.c\n+++ b/mm/a.c\n@@ -1,2 +1,3 @@\n a\n+x\n b\n"
    diff_u = ("--- linux.orig/mm/a.c\t2018-09-10 10:00:00\n+++ linux/mm/a.c\t2018-09-10 10:00:01\n"
              "@@ -1,2 +1,3 @@\n a\n+x\n b\n")
    for text in (git_diff, diff_u):
        s = parse_series(text.encode())
        assert s.commits[0].files[0].path == "mm/a.c"
        assert s.commits[0].files[0].hunks[0].added == ["x"]


def test_truncated_quoted_hunk_is_reported_and_recounted():
    quoted = ("> On Mon, someone wrote:\n> diff --git a/mm/a.c b/mm/a.c\n> --- a/mm/a.c\n> +++ b/mm/a.c\n"
              "> @@ -10,8 +10,9 @@ int f(void)\n>  a\n>  b\n> +x\n>  c\n\nThanks, looks fine.\n")
    s = parse_series(quoted.encode())
    h = s.commits[0].files[0].hunks[0]
    assert h.truncated and (h.old_len, h.new_len) == (3, 4)
    assert any("truncated" in n and "-8,+9" in n for n in s.notes)


def test_subject_number_from_patch_tag_only():
    s = parse_series(MAIL.format(sha="c" * 40, n=1).replace("[PATCH 1/2]", "[PATCH v3 1/2]").encode())
    assert s.commits[0].number == (1, 2) and s.commits[0].subject == "mm: change 1"


def test_stdin(tmp_path):
    res = run("apply", "-", "--tree", str(tmp_path / "missing"), input=b"")
    assert res.exit_code == 2 and "empty patch" in res.stderr


@pytest.mark.parametrize("bad", [
    b"diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n+d\n+e\n"])
def test_hunk_longer_than_header_is_malformed(bad):
    with pytest.raises(PorterError, match="corrupt patch at line 8"):
        parse_series(bad)


@pytest.mark.parametrize("section, name", [
    ("write_one(char *dest, int *size)", "write_one"),  # return type on the line above (kernel style)
    ("ref_scale_init(void)", "ref_scale_init"),
    ("mprotect_fixup(struct vma_iterator *vmi, struct mmu_gather *tlb,", "mprotect_fixup"),
    ("SYSCALL_DEFINE1(stime, __kernel_old_time_t __user *, tptr)", "stime"),  # as the C model names it
    ("static int foo(int a)", "foo"),
    ("module_exit(exit_btrfs_fs)", None),  # a macro call at file scope: bare-name arguments
    ("DEFINE_MUTEX(lock)", None),
    ("EXPORT_SYMBOL(foo);", None),
    ("static const struct file_operations fops = {", None),
])
def test_section_function_names(section, name):
    """The @@ section names the function the hunk is in; the guards and the function rungs rely on it. A
    header whose return type sits on the line above was taken for a macro call (no name: a look-alike block
    in another function was then accepted), and SYSCALL_DEFINEn named the macro, not the function."""
    from porter.patch import Hunk

    hunk = Hunk(old_start=1, old_len=1, new_start=1, new_len=1, section=section, lines=[])
    assert hunk.section_function() == name
