"""The writer on real kernel files (Debian 6.1 sources): a change git made to copies of mm/page_alloc.c,
mm/internal.h and scripts/checkpatch.pl (an executable) - a hunk in the middle of page_alloc.c, a rename of
internal.h with an edit, checkpatch.pl edited (stays 0755), a new executable and a file deleted - gives, through
`porter apply`, exactly the tree `git apply` gives; the ported patch carries the real blob ids."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.corpus import check_same_as_git, git, make_scene, porter

pytestmark = pytest.mark.realtree

REAL = ["mm/page_alloc.c", "mm/internal.h", "scripts/checkpatch.pl", "include/linux/mmzone.h"]


def test_real_files_written_like_git_apply(tmp_path, linux_6_1):
    scene = make_scene(tmp_path, {p: (linux_6_1 / p).read_bytes() for p in REAL})
    os.chmod(scene.tree / "scripts/checkpatch.pl", 0o755)
    git(scene.tree, "add", "-A")
    git(scene.tree, "commit", "-qm", "real files")
    work = tmp_path / "edit"
    shutil.copytree(scene.tree, work, symlinks=True)
    pa = (work / "mm/page_alloc.c").read_text()
    anchor = "static void __init memmap_init_zone_range(struct zone *zone,"
    assert anchor in pa
    (work / "mm/page_alloc.c").write_text(pa.replace(anchor, "/* ported */\n" + anchor, 1))
    os.rename(work / "mm/internal.h", work / "mm/mm_internal.h")
    ih = (work / "mm/mm_internal.h").read_text()
    (work / "mm/mm_internal.h").write_text(ih.replace("#define __MM_INTERNAL_H", "#define __MM_INTERNAL_H\n/* moved */",
                                                      1))
    cp = (work / "scripts/checkpatch.pl").read_text()
    (work / "scripts/checkpatch.pl").write_text(cp.replace("use strict;", "use strict;\n# ported", 1))
    (work / "scripts/port-helper.sh").write_text("#!/bin/sh\nexec true\n")
    os.chmod(work / "scripts/port-helper.sh", 0o755)
    (work / "include/linux/mmzone.h").unlink()
    git(work, "add", "-A")
    diff = git(work, "diff", "--cached", "-M").stdout.decode()
    assert "rename from mm/internal.h" in diff
    patch = scene.write_patch("From: Dev <dev@example.org>\nDate: Tue, 1 Oct 2024 10:00:00 +0000\n"
                              "Subject: [PATCH] real\n\nreal\n---\n" + diff)
    res = porter(scene, "apply", str(patch), "--tree", "tree", "--dry-run", "--output", "-")
    assert res.exit_code == 0, res.stderr
    blob = git(scene.tree, "rev-parse", "HEAD:mm/page_alloc.c").stdout.decode().strip()
    assert f"index {blob[:12]}.." in res.stdout
    check_same_as_git(scene, patch)
    assert (scene.tree / "scripts/checkpatch.pl").stat().st_mode & 0o111
