"""The 3-way rung (porter/place/threeway.py) on real git repositories: a base blob, a drifted target, a patch
with an `index` line. Every accept case is checked against `git apply --3way` on the same repository."""

import os
import subprocess
from pathlib import Path

import pytest

from porter.intake import parse_series
from porter.patch import Hunk, Line
from porter.place.codes import Reason, Rung
from porter.place.result import Placement, Refusal
from porter.place.threeway import merge_file, three_way
from porter.porting import port
from porter.tree import Tree

ENV = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
           GIT_COMMITTER_EMAIL="t@t", GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")

BASE = """\
#include <linux/kernel.h>

int helper(struct dev *d);

static int setup(struct dev *d)
{
	int ret;

	ret = helper(d);
	if (ret)
		return ret;
	d->ready = 1;
	d->count = 0;
	d->flags = 0;
	return 0;
}

static void teardown(struct dev *d)
{
	d->ready = 0;
	d->count = 0;
	d->flags = 0;
}
"""


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=ENV, check=check)


def make_repo(tmp_path: Path, base: str, change, drift) -> tuple[Path, str]:
    """A kernel-looking repo: commit `base`, make the patch `change(base)` against it (with index line), then
    commit the drifted target `drift(base)` as the work tree. Returns (repo, patch text)."""
    repo = tmp_path / "repo"
    (repo / "include" / "linux").mkdir(parents=True)
    (repo / "Makefile").write_text("all:\n")
    (repo / "include" / "linux" / "kernel.h").write_text("")
    (repo / "drivers").mkdir()
    src = repo / "drivers" / "dev.c"
    src.write_text(base)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    src.write_text(change(base))
    patch = git(repo, "diff").stdout
    src.write_text(drift(base))
    git(repo, "commit", "-qam", "drift")
    return repo, patch


def porter_result(repo: Path, patch: str):
    series = parse_series(patch.encode(), "p.patch")
    return port(series, Tree(name="t", root=repo))


def git_3way(repo: Path, patch: str) -> tuple[int, str]:
    p = repo.parent / "p.patch"
    p.write_text(patch)
    proc = git(repo, "apply", "--3way", str(p), check=False)
    text = (repo / "drivers" / "dev.c").read_text()
    git(repo, "reset", "-q", "--hard")
    return proc.returncode, text


def add_after(text: str, anchor: str, new: str) -> str:
    assert text.count(anchor) == 1
    return text.replace(anchor, anchor + new)


def test_merge_file_reports_conflicts():
    base = ["a", "b", "c"]
    merged, conflicts = merge_file(["a", "B", "c"], base, ["a", "b", "c", "d"])
    assert (merged, conflicts) == (["a", "B", "c", "d"], 0)
    _, conflicts = merge_file(["a", "X", "c"], base, ["a", "Y", "c"])
    assert conflicts == 1


def test_drifted_context_is_carried_across(tmp_path):
    """The target rewrote the lines around the insertion point (beyond fuzz: both sides' context changed), and
    grew a function above: the line rungs cannot place the hunk, the merge can, and git agrees."""
    def change(t):
        return add_after(t, "\td->ready = 1;\n", "\td->state = STATE_UP;\n")

    def drift(t):
        t = t.replace("\tret = helper(d);\n", "\tret = helper(d, 0);\n")
        t = t.replace("\td->flags = 0;\n\treturn 0;", "\td->flags = DEV_F_NONE;\n\treturn 0;")
        return t.replace("int helper(struct dev *d);\n", "int helper(struct dev *d, int how);\n\n"
                         "static int other(void)\n{\n\treturn 1;\n}\n")

    repo, patch = make_repo(tmp_path, BASE, change, drift)
    res = porter_result(repo, patch)
    (o,) = res.outcomes
    assert o.placed and o.result.rung == Rung.THREE_WAY, o.result
    rc, expected = git_3way(repo, patch)
    assert rc == 0
    assert res.after["drivers/dev.c"].decode() == expected
    assert "\td->ready = 1;\n\td->state = STATE_UP;\n\td->count = 0;\n\td->flags = DEV_F_NONE;" in expected


def test_new_static_inline_after_drifted_prototype(tmp_path):
    """issue 12's mis-placed shape: a hunk adding a whole static inline function, trailing context intact,
    the prototype above it gained `const`. Carried by the merge to where its own context is, like git."""
    base = BASE.replace("int helper(struct dev *d);\n", "int helper(struct dev *d);\nint helper2(struct dev *d);\n")
    new_fn = "\nstatic inline int dev_ready(struct dev *d)\n{\n\treturn d->ready;\n}\n"

    def change(t):
        return add_after(t, "int helper2(struct dev *d);\n", new_fn)

    def drift(t):
        return t.replace("int helper2(struct dev *d);", "int helper2(const struct dev *d);")

    repo, patch = make_repo(tmp_path, base, change, drift)
    res = porter_result(repo, patch)
    (o,) = res.outcomes
    assert o.placed, o.result
    rc, expected = git_3way(repo, patch)
    assert rc == 0
    assert res.after["drivers/dev.c"].decode() == expected
    assert "int helper2(const struct dev *d);\n\nstatic inline int dev_ready" in expected


def test_conflict_is_refused_like_git(tmp_path):
    """The target changed the very line the hunk removes: git's merge conflicts, the rung refuses."""
    def change(t):
        return t.replace("\td->count = 0;\n\td->flags = 0;\n\treturn 0;",
                         "\td->count = 1;\n\td->flags = 0;\n\treturn 0;")

    def drift(t):
        return t.replace("\td->count = 0;\n\td->flags = 0;\n\treturn 0;",
                         "\td->count = 2;\n\td->flags = 0;\n\treturn 0;")

    repo, patch = make_repo(tmp_path, BASE, change, drift)
    series = parse_series(patch.encode(), "p.patch")
    fp = series.commits[0].files[0]
    blob = git(repo, "cat-file", "blob", fp.old_index).stdout
    ours = (repo / "drivers" / "dev.c").read_text().splitlines()
    res = three_way(fp.hunks[0], [], blob, fp.old_index, ours, "drivers/dev.c")
    assert isinstance(res, Refusal) and res.code == Reason.THREE_WAY_CONFLICT
    assert fp.old_index in res.reason
    rc, _ = git_3way(repo, patch)
    assert rc != 0
    assert not porter_result(repo, patch).ok  # and no other rung guesses


def test_merge_into_a_renamed_function_is_refused(tmp_path):
    """A clean merge is not enough: the function that enclosed the change (setup) is now called dev_setup, so
    the rung says where it landed instead of trusting it (the renamed rung has its own evidence)."""
    def change(t):
        return add_after(t, "\td->ready = 1;\n", "\td->state = STATE_UP;\n")

    def drift(t):
        return t.replace("static int setup(struct dev *d)", "static int dev_setup(struct dev *d)")

    repo, patch = make_repo(tmp_path, BASE, change, drift)
    series = parse_series(patch.encode(), "p.patch")
    fp = series.commits[0].files[0]
    blob = git(repo, "cat-file", "blob", fp.old_index).stdout
    ours = (repo / "drivers" / "dev.c").read_text().splitlines()
    res = three_way(fp.hunks[0], [], blob, fp.old_index, ours, "drivers/dev.c")
    assert isinstance(res, Refusal) and res.code == Reason.THREE_WAY_OTHER_DEFINITION
    assert "dev_setup()" in res.reason and "setup()" in res.reason


def test_blob_that_does_not_hold_the_preimage_does_not_apply():
    hunk = Hunk(2, 1, 2, 2, lines=[Line(" ", "b"), Line("+", "new")])
    assert three_way(hunk, [], "a\nx\nc\n", "abc1234", ["a", "b", "c"], "f.c") is None


def test_second_hunk_merges_against_the_blob_with_the_first_applied(tmp_path):
    """Two hunks in one file: the blob is rebased over hunk 1 before hunk 2 is merged (as git applies the
    whole file's patch to the blob first)."""
    def change(t):
        t = add_after(t, "\tint ret;\n", "\tint err = 0;\n")
        return add_after(t, "\td->ready = 0;\n", "\td->state = STATE_DOWN;\n")

    def drift(t):
        t = t.replace("\tret = helper(d);\n", "\tret = helper(d, 0);\n")
        t = t.replace("\td->flags = 0;\n}\n", "\td->flags = DEV_F_NONE;\n}\n")
        return t.replace("static void teardown(struct dev *d)\n{\n",
                         "static void teardown(struct dev *d)\n{\n\tpr_debug(\"down\\n\");\n")

    repo, patch = make_repo(tmp_path, BASE, change, drift)
    res = porter_result(repo, patch)
    assert res.ok, [o.result for o in res.outcomes]
    rc, expected = git_3way(repo, patch)
    assert rc == 0
    assert res.after["drivers/dev.c"].decode() == expected
    assert [o.result.rung for o in res.outcomes][1] == Rung.THREE_WAY


@pytest.mark.parametrize("target_has_blob", [True, False])
def test_without_the_blob_the_rung_stays_silent(tmp_path, target_has_blob):
    """The blob must be in the target's repository; a tree that is not a repository gets the other rungs."""
    def change(t):
        return add_after(t, "\td->ready = 1;\n", "\td->state = STATE_UP;\n")

    def drift(t):
        t = t.replace("\tret = helper(d);\n", "\tret = helper(d, 0);\n")
        return t.replace("\td->flags = 0;\n\treturn 0;", "\td->flags = DEV_F_NONE;\n\treturn 0;")

    repo, patch = make_repo(tmp_path, BASE, change, drift)
    if not target_has_blob:
        import shutil
        shutil.rmtree(repo / ".git")
    res = porter_result(repo, patch)
    (o,) = res.outcomes
    if target_has_blob:
        assert o.placed and o.result.rung == Rung.THREE_WAY
    else:
        assert not (o.placed and o.result.rung == Rung.THREE_WAY)
    assert isinstance(o.result, (Placement, Refusal)) or o.placed


def test_conflict_where_the_code_went_away_leaves_the_other_rungs_free(tmp_path):
    """The target moved setup() to another file: the merge conflicts (the hunk's lines are gone from here), but
    not in place, so the function rung still finds setup() where it went."""
    def change(t):
        return add_after(t, "\td->ready = 1;\n", "\td->state = STATE_UP;\n")

    setup = BASE[BASE.index("static int setup"):BASE.index("static void teardown")]

    def drift(t):
        return t.replace(setup, "")

    repo, patch = make_repo(tmp_path, BASE, change, drift)
    (repo / "drivers" / "setup.c").write_text("#include <linux/kernel.h>\n\n" + setup)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "move")
    series = parse_series(patch.encode(), "p.patch")
    fp = series.commits[0].files[0]
    blob = git(repo, "cat-file", "blob", fp.old_index).stdout
    ours = (repo / "drivers" / "dev.c").read_text().splitlines()
    res = three_way(fp.hunks[0], [], blob, fp.old_index, ours, "drivers/dev.c")
    assert res is None or (isinstance(res, Refusal) and not res.final)
    (o,) = porter_result(repo, patch).outcomes
    assert o.placed and o.result.file == "drivers/setup.c" and o.result.rung == Rung.FUNCTION_ANCHOR


def _three_way_on(tmp_path, base: str, change, drift):
    repo, patch = make_repo(tmp_path, base, change, drift)
    fp = parse_series(patch.encode(), "p.patch").commits[0].files[0]
    blob = git(repo, "cat-file", "blob", fp.old_index).stdout
    ours = (repo / "drivers" / "dev.c").read_text().splitlines()
    return three_way(fp.hunks[0], [], blob, fp.old_index, ours, "drivers/dev.c"), repo, patch


HEADER = """\
#include <linux/kernel.h>
#include <linux/slab.h>

#define CREATE_TRACE_POINTS
#include <trace/events/dev.h>

/*
 * Minimum number of devices
 */
#define MIN_DEVS 4
"""


def test_code_inserted_between_context_and_change_is_a_split(tmp_path):
    """The target put an #include between the hunk's leading and trailing context. git's merge picks a side
    without conflict; which side the new block belongs on is a guess, so the rung refuses (not final)."""
    def change(t):
        return add_after(t, "#include <trace/events/dev.h>\n", "#ifdef CONFIG_DEV\nextern int dev_knob;\n#endif\n")

    def drift(t):
        return t.replace("#include <trace/events/dev.h>\n\n", "#include <trace/events/dev.h>\n\n"
                         "#include <kunit/visibility.h>\n\n")

    res, _, _ = _three_way_on(tmp_path, HEADER + BASE[BASE.index("\nint helper"):], change, drift)
    assert isinstance(res, Refusal) and res.code == Reason.THREE_WAY_SPLIT and not res.final
    assert "inserted code between" in res.reason


def test_file_scope_change_that_loses_its_neighbour_is_refused(tmp_path):
    """An EXPORT_SYMBOL after setup(): in the target setup() became dev_setup(). The merge is clean (the line
    still follows a `}`), but the definition above it is another one now."""
    def change(t):
        return add_after(t, "\td->flags = 0;\n\treturn 0;\n}\n", "EXPORT_SYMBOL_GPL(setup);\n")

    def drift(t):
        return t.replace("static int setup(struct dev *d)", "static int dev_setup(struct dev *d)")

    res, repo, patch = _three_way_on(tmp_path, BASE, change, drift)
    assert isinstance(res, Refusal) and res.code == Reason.THREE_WAY_OTHER_DEFINITION
    assert "dev_setup()" in res.reason and "between setup()" in res.reason
    assert git_3way(repo, patch)[0] == 0  # git would have applied it


def test_file_scope_change_with_its_neighbours_is_placed(tmp_path):
    def change(t):
        return add_after(t, "\td->flags = 0;\n\treturn 0;\n}\n", "EXPORT_SYMBOL_GPL(setup);\n")

    def drift(t):
        return t.replace("\tret = helper(d);\n", "\tret = helper(d, 0);\n").replace(
            "\td->flags = 0;\n}\n", "\td->flags = 0;\n\td->gen++;\n}\n")

    res, repo, patch = _three_way_on(tmp_path, BASE, change, drift)
    assert isinstance(res, Placement) and res.rung == Rung.THREE_WAY
    rc, expected = git_3way(repo, patch)
    ours = (repo / "drivers" / "dev.c").read_text().splitlines()
    ours[res.start:res.end] = res.replacement
    assert rc == 0 and "\n".join(ours) + "\n" == expected


def test_conflict_around_intact_removed_lines_is_not_final(tmp_path):
    """The target rewrote the line next to the change, not the line the hunk removes: git's merge conflicts,
    but the removed line is still there, so the refusal is not final and the context rungs may anchor on it."""
    def change(t):
        return t.replace("\td->count = 0;\n\td->flags = 0;\n\treturn 0;",
                         "\td->count = 1;\n\td->flags = 0;\n\treturn 0;")

    def drift(t):
        return t.replace("\td->ready = 1;\n", "\td->ready = true;\n")

    res, repo, patch = _three_way_on(tmp_path, BASE, change, drift)
    assert isinstance(res, Refusal) and res.code == Reason.THREE_WAY_CONFLICT and not res.final
    assert git_3way(repo, patch)[0] != 0
    (o,) = porter_result(repo, patch).outcomes
    assert o.placed and o.result.rung != Rung.THREE_WAY, o.result
    text = porter_result(repo, patch).after["drivers/dev.c"].decode()
    assert "\td->ready = true;\n\td->count = 1;\n\td->flags = 0;\n\treturn 0;" in text
