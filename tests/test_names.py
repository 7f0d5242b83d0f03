"""unknown_names searches include/ and the touched directories first, then the whole tree: same answer as one
whole-tree search, in git work trees and in plain directories."""

import pytest

from porter.names import unknown_names
from porter.tree import Tree
from tests.corpus import git

FILES = {
    "include/linux/a.h": "int in_header(void);\n",
    "fs/x/near.c": "static int near_only(void) { return 0; }\n",
    "drivers/far/far.c": "int far_only(void) { return 1; }\n",
    "drivers/far/notes.txt": "not_in_c_sources\n",
}


@pytest.mark.parametrize("with_git", [True, False])
def test_staged_search_gives_the_whole_tree_answer(tmp_path, with_git):
    for rel, text in FILES.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    if with_git:
        git(tmp_path, "init", "-q")
        git(tmp_path, "add", "-A")
    tree = Tree(name="t", root=tmp_path)
    names = {"in_header", "near_only", "far_only", "not_in_c_sources", "nowhere_at_all"}
    assert unknown_names(tree, names, near=["fs/x/near.c"]) == {"not_in_c_sources", "nowhere_at_all"}
    assert unknown_names(tree, names) == {"not_in_c_sources", "nowhere_at_all"}
    assert unknown_names(tree, set()) == set()
