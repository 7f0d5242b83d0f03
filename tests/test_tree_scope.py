"""What a whole-tree search sees (Tree.grep_files, the lint word index, the names check): a git work tree answers as
the same directory without .git does. Files not yet `git add`ed count (ignored build products do not), and file
names git would C-quote (non-ASCII, tab, double quote) are read back as they are, in every kind of tree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from porter.lint.words import WordIndex
from porter.tree import Tree, open_tree
from tests.corpus import git, make_scene, porter, snapshot

NEW = "int brand_new(void)\n{\n\treturn 42;\n}\n"
BAR = "int bar(int x)\n{\n\tint z = x + 3;\n\tz *= 2;\n\treturn z;\n}\n"
ODD = ["mm/fé.c", "mm/t\tb.c", 'mm/q"x.c']

# Adds brand_new to kernel/sample.c: a tree that already defines it elsewhere has it applied already.
ADD_FN = ("--- a/kernel/sample.c\n+++ b/kernel/sample.c\n@@ -58,3 +58,8 @@ int f11(int x)\n"
          " {\n \treturn x + 11;\n }\n+\n+int brand_new(void)\n+{\n+\treturn 42;\n+}\n")

# Changes bar in mm/old.c, which the target no longer has: bar moved to another file.
CHANGE_BAR = ("--- a/mm/old.c\n+++ b/mm/old.c\n@@ -1,6 +1,6 @@\n int bar(int x)\n {\n"
              " \tint z = x + 3;\n-\tz *= 2;\n+\tz *= 4;\n \treturn z;\n }\n")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PORTER_NO_WORD_CACHE", raising=False)


@pytest.fixture(params=["git", "dir"])
def kind(request):
    return request.param


def scene_with(tmp_path: Path, kind: str, committed: dict[str, str], later: dict[str, str]):
    """A kernel-looking tree with `committed` files (in the commit, for a git tree) and `later` files written after
    the commit (untracked in a git tree); a plain directory has no .git at all."""
    scene = make_scene(tmp_path, committed, git_init=kind == "git")
    for rel, text in later.items():
        (scene.tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (scene.tree / rel).write_text(text)
    return scene


def locate_json(scene, name: str, tree: str = "tree") -> tuple[int, dict]:
    res = porter(scene, "locate", name, "--tree", tree, "--format", "json")
    assert res.exit_code in (0, 1), (res.stdout, res.stderr)
    return res.exit_code, json.loads(res.stdout)


def defined_in(report: dict) -> list[str]:
    (entry,) = report["trees"]
    return [d["path"] for d in entry["definitions"]]


def test_untracked_file_is_searched(tmp_path, kind):
    scene = scene_with(tmp_path, kind, {}, {"mm/newfile.c": NEW})
    code, report = locate_json(scene, "brand_new")
    assert code == 0 and defined_in(report) == ["mm/newfile.c"]
    assert WordIndex(open_tree(str(scene.tree))).files_with(["brand_new"]) == {"brand_new": {"mm/newfile.c"}}


def test_ignored_build_product_is_not_searched_in_a_work_tree(tmp_path):
    # generated sources are what .gitignore is for; in a work tree they do not answer for the sources
    scene = scene_with(tmp_path, "git", {".gitignore": "*.mod.c\n"}, {"mm/x.mod.c": NEW})
    code, report = locate_json(scene, "brand_new")
    assert code == 1 and defined_in(report) == []
    assert WordIndex(open_tree(str(scene.tree))).files_with(["brand_new"]) == {"brand_new": frozenset()}


def test_new_function_in_an_untracked_file_is_already_applied(tmp_path, kind):
    scene = scene_with(tmp_path, kind, {}, {"mm/newfile.c": NEW})
    patch = scene.write_patch(ADD_FN)
    before = snapshot(scene.tree)
    res = porter(scene, "apply", str(patch), "--tree", "tree", "--format", "json")
    assert res.exit_code == 0, (res.stdout, res.stderr)
    assert "same body at mm/newfile.c:1" in res.stdout
    assert snapshot(scene.tree) == before  # not defined a second time


def test_lint_sees_untracked_files(tmp_path, kind):
    region = Path(__file__).parent.parent / "fixtures" / "lint" / "forbidden-in-region"
    keeps = {str(p.relative_to(region / "keeps")): p.read_text() for p in (region / "keeps").rglob("*") if p.is_file()}
    # it breaks the rule: a ZONE_DEVICE pfn loop inside the hotplug lock
    scene = scene_with(tmp_path, kind, keeps, {"mm/untracked.c": (region / "breaks/mm/memremap.c").read_text()})
    res = porter(scene, "lint", "--tree", "tree", "--rules", str(region / "rules.toml"))
    assert res.exit_code == 1 and "mm/untracked.c:" in res.stdout, (res.stdout, res.stderr)


def test_work_tree_search_notices_a_new_untracked_file(tmp_path):
    """The remembered word answers of a work tree go stale when a file is created without `git add`."""
    scene = scene_with(tmp_path, "git", {}, {})
    tree = open_tree(str(scene.tree))
    assert WordIndex(tree).files_with(["brand_new"]) == {"brand_new": frozenset()}
    (scene.tree / "mm").mkdir()
    (scene.tree / "mm/newfile.c").write_text(NEW)
    assert WordIndex(tree).files_with(["brand_new"]) == {"brand_new": {"mm/newfile.c"}}


@pytest.mark.parametrize("tracked", [True, False], ids=["tracked", "untracked"])
def test_names_git_would_quote(tmp_path, kind, tracked):
    files = {p: NEW for p in ODD}
    scene = scene_with(tmp_path, kind, files if tracked else {}, {} if tracked else files)
    code, report = locate_json(scene, "brand_new")
    assert code == 0 and defined_in(report) == sorted(ODD)
    tree = open_tree(str(scene.tree))
    assert tree.grep_files(["brand_new"]) == sorted(ODD)
    assert tree.grep_files(["brand_new"], paths=[ODD[0]]) == [ODD[0]]
    assert WordIndex(tree).files_with(["brand_new"]) == {"brand_new": set(ODD)}


def test_names_git_would_quote_in_a_ref(tmp_path):
    scene = scene_with(tmp_path, "git", {p: NEW for p in ODD}, {})
    shutil.rmtree(scene.tree / "mm")  # the ref is read from objects, never from the directory
    ref = open_tree("HEAD", cwd=scene.tree)
    assert ref.grep_files(["brand_new"]) == sorted(ODD)
    assert WordIndex(ref).files_with(["brand_new"]) == {"brand_new": set(ODD)}


def test_function_moved_to_a_file_git_would_quote(tmp_path, kind):
    scene = scene_with(tmp_path, kind, {"mm/old.c": "int other;\n", "mm/fé.c": BAR}, {})
    patch = scene.write_patch(CHANGE_BAR)
    res = porter(scene, "apply", str(patch), "--tree", "tree")
    assert res.exit_code == 0, (res.stdout, res.stderr)
    assert "\tz *= 4;\n" in (scene.tree / "mm/fé.c").read_text()


def test_literal_paths_are_not_patterns(tmp_path):
    scene = scene_with(tmp_path, "git", {"mm/a.c": NEW, "mm/[ab].c": "int x;\n"}, {})
    tree = Tree(name="t", root=scene.tree)
    assert tree.grep_files(["brand_new"], paths=["mm/[ab].c"]) == []


def test_name_defined_in_an_untracked_file_is_known(tmp_path, kind):
    """--strict refuses a hunk using a name the tree does not define; one the developer just wrote counts."""
    scene = scene_with(tmp_path, kind, {}, {"drivers/newfile.c": NEW})
    patch = scene.write_patch("--- a/kernel/sample.c\n+++ b/kernel/sample.c\n@@ -1,4 +1,4 @@\n int f0(int x)\n"
                              " {\n-\treturn x + 0;\n+\treturn x + brand_new();\n }\n")
    res = porter(scene, "apply", str(patch), "--tree", "tree", "--strict", "--dry-run")
    assert res.exit_code == 0, (res.stdout, res.stderr)
    assert "brand_new" not in res.stderr


def test_user_grep_config_does_not_change_the_answers(tmp_path, kind, monkeypatch):
    scene = scene_with(tmp_path, kind, {}, {"mm/newfile.c": NEW})
    config = tmp_path / "gitconfig"
    config.write_text("[grep]\n\tlineNumber = true\n\tcolumn = true\n[color]\n\tui = always\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    tree = open_tree(str(scene.tree))
    assert tree.grep_files(["brand_new"]) == ["mm/newfile.c"]
    assert WordIndex(tree).files_with(["brand_new"]) == {"brand_new": {"mm/newfile.c"}}


def test_tracked_files_under_an_ignored_top_level_are_searched(tmp_path):
    """Debian's kernel trees track everything and ignore everything at the top level (`/*`, `!/debian/`):
    `git grep --untracked` skipped every tracked file under an ignored directory and found nothing, so a
    function that moved to another file was "not found" in every Debian worktree."""
    scene = scene_with(tmp_path, "dir", {".gitignore": "/*\n!/debian/\n", "mm/new.c": BAR}, {})
    git(scene.tree, "init", "-q")
    git(scene.tree, "add", "-A", "-f")
    git(scene.tree, "commit", "-qm", "base")
    code, report = locate_json(scene, "bar")
    assert code == 0 and defined_in(report) == ["mm/new.c"]
    assert WordIndex(open_tree(str(scene.tree))).files_with(["bar"]) == {"bar": {"mm/new.c"}}


def test_a_tree_inside_a_repository_answers_for_its_own_files(tmp_path):
    """A tree that is a subdirectory of a repository is searched as part of it: its ignored build products
    do not count (with `git grep --no-index` they did), and paths are the tree's own."""
    repo = tmp_path / "repo"
    scene = scene_with(tmp_path, "dir", {"mm/new.c": BAR}, {})
    repo.mkdir()
    shutil.move(str(scene.tree), repo / "linux")
    (repo / ".gitignore").write_text("*.mod.c\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    (repo / "linux/mm/x.mod.c").write_text(NEW)
    (repo / "linux/mm/untracked.c").write_text(NEW.replace("brand_new", "fresh_fn"))
    tree = Tree(name="linux", root=(repo / "linux").resolve())
    assert tree.grep_files(["bar"]) == ["mm/new.c"]
    assert tree.grep_files(["brand_new"]) == []
    assert tree.grep_files(["fresh_fn"]) == ["mm/untracked.c"]


def test_a_tree_under_an_unrelated_work_tree_is_a_plain_directory(tmp_path, monkeypatch):
    """A kernel unpacked under a home directory that is a dotfiles repository ignoring everything: that
    repository tracks nothing in the tree, so the tree is searched as a plain directory, not as git's view of
    the dotfiles repository (which would see nothing). GIT_DIR from the caller does not change that."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitignore").write_text("*\n")
    git(home, "init", "-q")
    scene = scene_with(home, "dir", {"mm/new.c": BAR}, {})
    tree = Tree(name="tree", root=scene.tree.resolve())
    assert tree.grep_files(["bar"]) == ["mm/new.c"]
    monkeypatch.setenv("GIT_DIR", str(home / ".git"))
    assert Tree(name="tree", root=scene.tree.resolve()).grep_files(["bar"]) == ["mm/new.c"]
