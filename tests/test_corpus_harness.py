"""The corpus harness itself: a good patch is applied exactly like git apply, a bad one leaves all as it was."""

from tests.corpus import check_refused, check_same_as_git, make_scene, snapshot

GOOD = """diff --git a/kernel/sample.c b/kernel/sample.c
--- a/kernel/sample.c
+++ b/kernel/sample.c
@@ -1,4 +1,5 @@
 int f0(int x)
 {
+\t/* corpus */
 \treturn x + 0;
 }
"""


def test_good_patch_same_as_git(tmp_path):
    scene = make_scene(tmp_path)
    check_same_as_git(scene, scene.write_patch(GOOD))
    assert "/* corpus */" in (scene.tree / "kernel/sample.c").read_text()


def test_missing_patch_file_refused(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, ["apply", "nope.patch", "--tree", "tree"], "nope.patch")


def test_snapshot_sees_modes(tmp_path):
    scene = make_scene(tmp_path)
    before = snapshot(scene.tree)
    (scene.tree / "scripts/tool.sh").chmod(0o644)
    assert snapshot(scene.tree) != before
