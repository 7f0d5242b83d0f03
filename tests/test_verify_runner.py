"""porter verify's tree handling (--patch copy, --base export) and reports, without building a kernel."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from porter.errors import PorterError
from porter.verify import report, runner
from porter.verify.console import parse_console

DATA = Path(__file__).parent / "data" / "verify"
FIXTURE_PATCH = Path(__file__).parent.parent / "fixtures" / "verify" / "zone-device-init-under-hotplug-lock.patch"


def git(cwd, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True, env=env)


def test_mirror_paths_keep_the_relative_layout(tmp_path):
    tree = Path("/home/u/src/linux")
    bdir = Path("/home/u/.cache/porter/build/linux-1234")
    copy, cbdir = runner._mirror_paths(tree, bdir, tmp_path)
    assert os.path.relpath(copy, cbdir) == os.path.relpath(tree, bdir)
    assert copy.is_relative_to(tmp_path) and cbdir.is_relative_to(tmp_path)


def _toy_kernel(root: Path) -> Path:
    """The least porter takes for a kernel tree (porter.tree.Tree.looks_like_kernel)."""
    (root / "include" / "linux").mkdir(parents=True)
    (root / "Makefile").write_text("all:\n")
    (root / "include" / "linux" / "kernel.h").write_text("")
    return root


def test_copy_and_apply_patch_leave_the_tree_alone(tmp_path):
    tree = _toy_kernel(tmp_path / "tree")
    (tree / "mm").mkdir(parents=True)
    (tree / "mm" / "a.c").write_text("int a;\n")
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/mm/a.c\n+++ b/mm/a.c\n@@ -1 +1 @@\n-int a;\n+int b;\n")
    ported = runner.port_patch(tree, patch)
    assert [h["rung"] for h in ported.hunks] == ["exact"]
    copy = tmp_path / "copy" / "tree"
    runner.copy_tree(tree, copy)
    runner.apply_patch(copy, ported)
    assert (copy / "mm" / "a.c").read_text() == "int b;\n"
    assert (tree / "mm" / "a.c").read_text() == "int a;\n"
    with pytest.raises(PorterError, match="already applied"):
        runner.port_patch(copy, patch)


def test_patch_that_does_not_port_is_refused_before_any_copy(tmp_path):
    tree = _toy_kernel(tmp_path / "tree")
    (tree / "mm").mkdir(parents=True)
    (tree / "mm" / "a.c").write_text("int c;\n")
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/mm/a.c\n+++ b/mm/a.c\n@@ -1 +1,2 @@\n int a;\n+int b;\n")
    with pytest.raises(PorterError, match="could not be placed"):
        runner.port_patch(tree, patch)


def test_port_step_is_porters_not_git_apply(tmp_path):
    """A drifted tree (the context moved to another file): `git apply` refuses, porter's ladder ports it."""
    tree = _toy_kernel(tmp_path / "tree")
    (tree / "mm").mkdir(parents=True)
    body = ["\tif (altmap) {", "\t\tstart_pfn = altmap->base_pfn + vmem_altmap_offset(altmap);",
            "\t\tnr_pages = end_pfn - start_pfn;", "\t}", "", "\tfor (pfn = start_pfn; pfn < end_pfn; pfn++) {",
            "\t\tstruct page *page = pfn_to_page(pfn);", "\t}"]
    (tree / "mm" / "page_alloc.c").write_text("int unrelated;\n")
    (tree / "mm" / "mm_init.c").write_text("void f(void)\n{\n" + "\n".join(body) + "\n}\n")
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/mm/page_alloc.c\n+++ b/mm/page_alloc.c\n@@ -10,5 +10,6 @@\n"
                     + "".join(f" {x}\n" for x in body[2:4]) + " \n+\tmem_hotplug_begin();\n"
                     + "".join(f" {x}\n" for x in body[5:7]))
    assert subprocess.run(["git", "apply", "--check", str(patch)], cwd=tree, capture_output=True,
                          check=False).returncode
    ported = runner.port_patch(tree, patch)
    assert [(h["target_file"], h["rung"]) for h in ported.hunks] == [("mm/mm_init.c", "tree-search")]
    assert "mem_hotplug_begin();" in ported.after["mm/mm_init.c"].decode()
    assert "mm/page_alloc.c" not in ported.after or ported.after["mm/page_alloc.c"] == b"int unrelated;\n"


@pytest.mark.realtree
def test_fixture_patch_applies_to_6_1_page_alloc(linux_6_1):
    tree = linux_6_1
    ported = runner.port_patch(tree, FIXTURE_PATCH)
    assert [(h["target_file"], h["rung"]) for h in ported.hunks] == [("mm/page_alloc.c", "exact")]
    assert "__init_single_page(pfn_to_page(pfn), pfn, zone_idx, nid);" in ported.after["mm/page_alloc.c"].decode()


@pytest.mark.realtree
def test_fixture_patch_ports_to_6_12_mm_init(linux_6_12):
    """issue 12's must-show, the port step: the 6.1 patch (no function after @@, no index line) lands in
    mm/mm_init.c of 6.12, where its whole pre-image occurs once, inside memmap_init_zone_device()."""
    tree = linux_6_12
    ported = runner.port_patch(tree, FIXTURE_PATCH)
    (h,) = ported.hunks
    assert (h["target_file"], h["rung"], h["line"]) == ("mm/mm_init.c", "tree-search", 1099)
    assert "mm/page_alloc.c -> mm/mm_init.c:1099" in h["evidence"]
    after = ported.after["mm/mm_init.c"].decode()
    start = after.index("void __ref memmap_init_zone_device(")
    assert start < after.index("\tmem_hotplug_begin();") < after.index("\n}\n", start)
    # Exactly the patch's lines were added, nothing else changed.
    before = (tree / "mm" / "mm_init.c").read_text().splitlines()
    assert len(after.splitlines()) - len(before) == 10


def test_export_ref(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "f").write_text("one\n")
    git(repo, "add", "f")
    git(repo, "commit", "-qm", "1")
    (repo / "f").write_text("two\n")
    git(repo, "commit", "-qam", "2")
    (repo / "f").write_text("dirty\n")
    runner.export_ref(repo, "HEAD~1", tmp_path / "out")
    assert (tmp_path / "out" / "f").read_text() == "one\n"
    assert (repo / "f").read_text() == "dirty\n"
    with pytest.raises(PorterError, match="not a commit"):
        runner.export_ref(repo, "no-such-ref", tmp_path / "out2")


def _side(label, names):
    side = runner.Side(label=label, tree=None, desc=label)
    for i, name in enumerate(names):
        rep = parse_console((DATA / name).read_text())
        side.boots.append(runner.Boot(mode="legacy", index=i + 1, seconds=5.0 + i, timed_out=False, report=rep,
                                      console_path=None))
    return side


def test_side_by_side_report():
    before = _side("before", ["debian-6.1-legacy.console"] * 3)
    after = _side("after", ["debian-6.1-legacy.console", "debian-6.1-panic.console"])
    text = report.to_text([before, after], ["legacy"])
    assert text.startswith("porter verify: FAIL")
    assert "ZONE_DEVICE init (memmap_init_zone_device), median over boots:" in text
    assert "131072 pages 24 ms" in text
    assert "| [    5.854791] Kernel panic - not syncing: VFS" in text
    out = json.loads(report.to_json([before, after], ["legacy"]))
    assert out["verdict"] == "FAIL"
    row = out["comparison"][0]
    assert row["before"]["pages"] == 131072 and row["before"]["ms"] == [24, 24, 24]
    assert row["after"]["ms"] == [24]
    assert out["sides"][1]["boots"][1]["incidents"][0]["kinds"] == ["panic"]


def test_single_pass_report():
    side = _side("kernel", ["debian-6.1-legacy.console"])
    text = report.to_text([side], ["legacy"])
    assert text.splitlines()[0] == "porter verify: PASS"
    assert "pmem0 512M rw ok; init 131072 pages in 24 ms" in text


def test_report_says_where_the_patch_was_ported():
    before = _side("before", ["debian-6.1-legacy.console"])
    after = _side("after", ["debian-6.1-legacy.console"])
    after.placement = [{"file": "mm/page_alloc.c", "hunk": 1, "target_file": "mm/mm_init.c", "line": 1099,
                        "rung": "tree-search", "evidence": "code moved: mm/page_alloc.c -> mm/mm_init.c:1099"}]
    text = report.to_text([before, after], ["legacy"])
    after_part = text[text.index("[after]"):]
    assert "ported: mm/page_alloc.c hunk 1 -> mm/mm_init.c:1099 (tree-search): code moved" in after_part
    assert "ported:" not in text[:text.index("[after]")]
    out = json.loads(report.to_json([before, after], ["legacy"]))
    assert out["sides"][1]["placement"][0]["target_file"] == "mm/mm_init.c"
