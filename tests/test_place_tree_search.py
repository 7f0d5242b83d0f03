"""The tree-search rung (porter/place/tree_search.py): a hunk that names no function, whose file no longer holds
its context, goes where its whole pre-image occurs once in the tree; several places or none are refused."""

import os
import subprocess
from pathlib import Path

import pytest

from porter.intake import parse_series
from porter.patch import Hunk, Line
from porter.place.codes import Reason, Rung
from porter.place.result import Placement, Refusal
from porter.place.tree_search import key_lines, search_tree
from porter.porting import port
from porter.tree import Tree

FIXTURE = Path(__file__).parent.parent / "fixtures" / "verify" / "zone-device-init-under-hotplug-lock.patch"

LOOP = ["\tif (altmap) {",
        "\t\tstart_pfn = altmap->base_pfn + vmem_altmap_offset(altmap);",
        "\t\tnr_pages = end_pfn - start_pfn;",
        "\t}",
        "",
        "\tfor (pfn = start_pfn; pfn < end_pfn; pfn += pfns_per_compound) {",
        "\t\tstruct page *page = pfn_to_page(pfn);",
        "\t\tinit_one(page);",
        "\t}"]

# A hand-made diff against old/a.c: nothing after @@, no index line (the fixture patch's shape).
PATCH = ("--- a/old/a.c\n+++ b/old/a.c\n@@ -20,5 +20,6 @@\n"
         + "".join(f" {x}\n" for x in LOOP[2:5]) + "+\tlock_it();\n" + "".join(f" {x}\n" for x in LOOP[5:7]))


def function(name: str, body: list[str]) -> str:
    return f"void {name}(void)\n{{\n" + "\n".join(body) + "\n}\n"


def kernel(root: Path, files: dict[str, str], git: bool) -> Tree:
    (root / "include" / "linux").mkdir(parents=True)
    (root / "Makefile").write_text("all:\n")
    (root / "include" / "linux" / "kernel.h").write_text("")
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    if git:  # Tree.grep_files takes `git grep` in a work tree, `git grep --no-index` elsewhere: both must answer alike
        env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                   GIT_COMMITTER_EMAIL="t@t")
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"]):
            subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)
    return Tree(name=str(root), root=root)


def run(tree: Tree, patch: str = PATCH):
    return port(parse_series(patch.encode(), "p.patch"), tree)


@pytest.fixture(params=[False, True], ids=["dir", "git"])
def as_git(request):
    return request.param


def test_key_lines_are_the_longest_real_lines():
    hunk = parse_series(PATCH.encode(), "p").commits[0].files[0].hunks[0]
    assert key_lines(hunk) == ["for (pfn = start_pfn; pfn < end_pfn; pfn += pfns_per_compound) {",
                               "struct page *page = pfn_to_page(pfn);"]


def test_pre_image_found_once_elsewhere_is_where_the_code_went(tmp_path, as_git):
    tree = kernel(tmp_path / "t", {"old/a.c": function("other", ["\treturn;"]),
                                   "new/b.c": "int x;\n\n" + function("moved_here", LOOP)}, as_git)
    res = run(tree)
    (o,) = res.outcomes
    assert isinstance(o.result, type(o.result)) and o.placed, o.result
    assert (o.result.file, o.result.rung) == ("new/b.c", Rung.TREE_SEARCH)
    assert "old/a.c -> new/b.c:7" in o.result.evidence
    after = res.after["new/b.c"].decode().splitlines()
    loop = "\tfor (pfn = start_pfn; pfn < end_pfn; pfn += pfns_per_compound) {"
    assert after[after.index("\t}") + 1:after.index("\t}") + 4] == ["", "\tlock_it();", loop]
    # Only the file the hunk lands in is touched: candidates that were merely read are not.
    assert sorted(p for p in res.after if res.after[p] != res.before.get(p)) == ["new/b.c"]


def test_missing_file_too(tmp_path, as_git):
    tree = kernel(tmp_path / "t", {"new/b.c": function("moved_here", LOOP)}, as_git)
    (o,) = run(tree).outcomes
    assert o.placed and o.result.file == "new/b.c"


def test_several_places_are_refused_and_named(tmp_path, as_git):
    tree = kernel(tmp_path / "t", {"old/a.c": function("other", ["\treturn;"]),
                                   "new/b.c": function("one", LOOP), "new/c.h": function("two", LOOP)}, as_git)
    (o,) = run(tree).outcomes
    assert not o.placed
    assert "occurs at 2 places" in o.result.reason
    assert sorted(o.result.candidates) == ["new/b.c:5", "new/c.h:5"]


def test_nowhere_is_refused(tmp_path, as_git):
    other = [x.replace("pfns_per_compound", "step") for x in LOOP]
    tree = kernel(tmp_path / "t", {"old/a.c": function("other", ["\treturn;"]),
                                   "new/b.c": function("near_miss", other)}, as_git)
    (o,) = run(tree).outcomes
    assert not o.placed and "occurs nowhere else" in o.result.reason


def test_a_hunk_that_names_a_function_is_not_searched(tmp_path, as_git):
    """The function rungs own hunks that name their function: a tree-wide text match is weaker evidence. Here
    the only function like the vanished one (same signature, the hunk's lines) is elsewhere under another
    name: the renamed rung claims it, by the rename scorer, never the tree search."""
    patch = PATCH.replace("@@ -20,5 +20,6 @@\n", "@@ -20,5 +20,6 @@ void memmap_init_zone_device(void)\n")
    tree = kernel(tmp_path / "t", {"old/a.c": function("other", ["\treturn;"]),
                                   "new/b.c": function("moved_here", LOOP)}, as_git)
    (o,) = run(tree, patch).outcomes
    assert o.placed and o.result.rung == Rung.RENAMED, o.result
    assert "memmap_init_zone_device() renamed to moved_here() in new/b.c" in o.result.evidence
    twins = kernel(tmp_path / "t2", {"old/a.c": function("other", ["\treturn;"]),
                                     "new/b.c": function("moved_here", LOOP), "new/c.c": function("or_here", LOOP)},
                   as_git)
    (o,) = run(twins, patch).outcomes
    assert not o.placed and "memmap_init_zone_device() not found" in o.result.reason


def test_generic_pre_image_is_no_fingerprint(tmp_path):
    hunk = Hunk(1, 3, 1, 4, lines=[Line(" ", "\t}"), Line(" ", ""), Line("+", "\tx();"), Line(" ", "\treturn 0;")])
    tree = kernel(tmp_path / "t", {"new/b.c": function("f", ["\t}", "", "\treturn 0;"])}, False)
    assert search_tree(hunk, tree, "old/a.c", reader(tree)) is None


def test_already_applied_where_it_moved(tmp_path):
    applied = LOOP[:5] + ["\tlock_it();"] + LOOP[5:]
    tree = kernel(tmp_path / "t", {"old/a.c": function("other", ["\treturn;"]),
                                   "new/b.c": function("moved_here", applied)}, False)
    hunk = parse_series(PATCH.encode(), "p").commits[0].files[0].hunks[0]
    res = search_tree(hunk, tree, "old/a.c", reader(tree))
    assert isinstance(res, Placement) and res.rung == Rung.ALREADY_APPLIED and res.file == "new/b.c"


def reader(tree):
    """search_tree's read_lines: a file's lines, None when it does not exist."""
    return lambda p: (tree.root / p).read_text().splitlines() if (tree.root / p).is_file() else None


def test_refusal_codes(tmp_path):
    tree = kernel(tmp_path / "t", {"new/b.c": function("one", LOOP), "new/c.c": function("two", LOOP)}, False)
    hunk = parse_series(PATCH.encode(), "p").commits[0].files[0].hunks[0]
    res = search_tree(hunk, tree, "old/a.c", reader(tree))
    assert isinstance(res, Refusal) and res.code == Reason.TREE_SEARCH_AMBIGUOUS


@pytest.mark.realtree
def test_zone_device_patch_for_6_1_ports_into_6_12_mm_init(linux_6_12):
    """issue 12: the 6.1 fixture patch (mm/page_alloc.c, plain diff) onto Debian 6.12, where the code is in
    mm/mm_init.c. `git apply` refuses it; porter finds the pre-image's one place and reports the move."""
    proc = subprocess.run(["git", "apply", "--check", str(FIXTURE)], cwd=linux_6_12, capture_output=True, check=False)
    assert proc.returncode != 0
    res = port(parse_series(FIXTURE.read_bytes(), str(FIXTURE)), Tree(name="6.12", root=linux_6_12))
    (o,) = res.outcomes
    assert o.placed and (o.result.file, o.result.rung, o.result.start + 1) == ("mm/mm_init.c", "tree-search", 1099)
    assert "mm/page_alloc.c -> mm/mm_init.c:1099" in o.result.evidence
    assert list(res.after) == ["mm/page_alloc.c", "mm/mm_init.c"] or "mm/mm_init.c" in res.after
    assert res.after.get("mm/page_alloc.c") in (None, res.before.get("mm/page_alloc.c"))


FIXTURES = sorted((Path(__file__).parent.parent / "fixtures" / "placement" / "tree-search").glob("*/expected.toml"))


@pytest.mark.parametrize("spec", FIXTURES, ids=[p.parent.name for p in FIXTURES])
def test_rung_fixtures(spec, tmp_path):
    """fixtures/placement/tree-search/ (the per-rung fixture layout, run here until the shared harness has it)."""
    import shutil
    import tomllib

    from porter.porting import Porter
    from porter.tree import open_tree

    case = spec.parent
    shutil.copytree(case / "tree", tmp_path / "tree")
    series = parse_series((case / "patch.diff").read_bytes(), "patch.diff")
    outcomes = Porter(open_tree(str(tmp_path / "tree"), require_kernel=False)).run(series).outcomes
    wants = tomllib.loads(spec.read_text())["hunks"]
    assert len(outcomes) == len(wants)
    for want, o in zip(wants, outcomes):
        if want["status"] == "placed":
            assert o.placed and (o.result.rung, o.result.file, o.result.start + 1) == \
                (want["rung"], want["file"], want["line"])
        else:
            assert not o.placed and o.result.code == want["reason"]
