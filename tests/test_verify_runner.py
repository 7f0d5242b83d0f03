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


def test_copy_and_apply_patch_leave_the_tree_alone(tmp_path):
    tree = tmp_path / "tree"
    (tree / "mm").mkdir(parents=True)
    (tree / "mm" / "a.c").write_text("int a;\n")
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/mm/a.c\n+++ b/mm/a.c\n@@ -1 +1,2 @@\n int a;\n+int b;\n")
    copy = tmp_path / "copy" / "tree"
    runner.copy_tree(tree, copy)
    runner.apply_patch(copy, patch)
    assert (copy / "mm" / "a.c").read_text() == "int a;\nint b;\n"
    assert (tree / "mm" / "a.c").read_text() == "int a;\n"
    with pytest.raises(PorterError, match="git apply failed"):
        runner.apply_patch(copy, patch)  # already applied


@pytest.mark.realtree
def test_fixture_patch_applies_to_6_1_page_alloc(tmp_path, linux_6_1):
    src = linux_6_1 / "mm" / "page_alloc.c"
    (tmp_path / "mm").mkdir()
    (tmp_path / "mm" / "page_alloc.c").write_bytes(src.read_bytes())
    runner.apply_patch(tmp_path, FIXTURE_PATCH)
    text = (tmp_path / "mm" / "page_alloc.c").read_text()
    assert "__init_single_page(pfn_to_page(pfn), pfn, zone_idx, nid);" in text


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
