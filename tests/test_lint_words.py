"""The whole-word prefilter: one grep answers many words, answers are remembered per tree on disk, and a
changed tree is noticed (also when the remembered answers were used before the fingerprint was known)."""

from __future__ import annotations

import os
import subprocess

import pytest

from porter.lint import lint_tree, parse_rules_text
from porter.lint.engine import LintContext
from porter.lint.words import WordIndex, scan_words
from porter.tree import open_tree

RULE = '''
[[rule]]
id = "t/one-site"
kind = "single-site"
field = "pgmap"
message = "one site"
'''


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PORTER_NO_WORD_CACHE", raising=False)
    return tmp_path / "cache"


def make_tree(root):
    (root / "mm").mkdir(parents=True)
    (root / "mm" / "a.c").write_text("void f(struct page *page, void *m)\n{\n\tpage->pgmap = m;\n}\n")
    (root / "mm" / "b.c").write_text("void g(void)\n{\n\tfoo_bar();\n}\n")
    (root / "README").write_text("pgmap\n")
    return open_tree(str(root), require_kernel=False)


def bump(path, text):
    path.write_text(text)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


def test_one_pass_many_words(tmp_path, cache):
    tree = make_tree(tmp_path / "t")
    w = WordIndex(tree)
    got = w.files_with(["pgmap", "foo_bar", "page", "absent"])
    assert got == {"pgmap": {"mm/a.c"}, "foo_bar": {"mm/b.c"}, "page": {"mm/a.c"}, "absent": frozenset()}
    assert w.greps == 1
    assert w.files_with(["foo"]) == {"foo": frozenset()}  # whole words only: foo_bar is not foo
    w2 = WordIndex(tree)
    assert w2.files_with(["pgmap", "foo_bar"])["pgmap"] == {"mm/a.c"} and w2.greps == 0


def test_changed_tree_is_noticed(tmp_path, cache):
    tree = make_tree(tmp_path / "t")
    WordIndex(tree).files_with(["pgmap"])
    bump(tmp_path / "t" / "mm" / "b.c", "void g(struct page *page)\n{\n\tpage->pgmap = 0;\n}\n")
    w = WordIndex(tree)
    assert w.files_with(["pgmap"])["pgmap"] == {"mm/a.c", "mm/b.c"} and w.greps == 1


def test_optimistic_answers_are_confirmed_or_redone(tmp_path, cache):
    tree = make_tree(tmp_path / "t")
    rules = parse_rules_text(RULE, "t.toml")
    r = lint_tree(tree, rules)
    assert r.findings == [] and r.stats["greps"] == 1
    r = lint_tree(tree, rules)
    assert r.findings == [] and r.stats["greps"] == 0  # warm: nothing grepped
    bump(tmp_path / "t" / "mm" / "b.c", "void g(struct page *page)\n{\n\tpage->pgmap = 0;\n}\n")
    r = lint_tree(tree, rules)  # remembered answers say only a.c: the fingerprint check must redo the run
    assert {f.function for f in r.findings} == {"f", "g"}


def test_git_worktree_and_ref(tmp_path, cache):
    root = tmp_path / "g"
    make_tree(root)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    for cmd in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-q", "-m", "x"]):
        subprocess.run(cmd, cwd=root, check=True, env=env)
    tree = open_tree(str(root), require_kernel=False)
    assert WordIndex(tree).files_with(["pgmap"])["pgmap"] == {"mm/a.c"}
    bump(root / "mm" / "b.c", "void g(struct page *page)\n{\n\tpage->pgmap = 0;\n}\n")
    assert WordIndex(tree).files_with(["pgmap"])["pgmap"] == {"mm/a.c", "mm/b.c"}
    ref = open_tree("HEAD", cwd=root, require_kernel=False)
    assert WordIndex(ref).files_with(["pgmap"])["pgmap"] == {"mm/a.c"}


def test_overlay_replaces_file_contents(tmp_path, cache):
    tree = make_tree(tmp_path / "t")
    ctx = LintContext(tree, overlay={"mm/a.c": b"int x;\n", "mm/c.c": b"void h(void) { foo_bar(); }\n",
                                     "mm/b.c": None})
    got = ctx.files_with(["pgmap", "foo_bar"])
    assert got == {"pgmap": frozenset(), "foo_bar": {"mm/c.c"}}
    assert scan_words(b"a pgmap_x pgmap", ["pgmap", "x"]) == {"pgmap"}


@pytest.mark.parametrize("change", ["rename", "delete", "unreadable"])
def test_stale_answers_are_never_an_error(tmp_path, cache, change):
    """Remembered answers naming a file renamed, deleted or made unreadable since are thrown away and the run
    redone, before the rules read that file (they are used before the fingerprint is known)."""
    tree = make_tree(tmp_path / "t")
    (tmp_path / "t" / "mm" / "c.c").write_text("void h(struct page *page)\n{\n\tpage->pgmap = 0;\n}\n")
    rules = parse_rules_text(RULE, "t.toml")
    assert {f.path for f in lint_tree(tree, rules).findings} == {"mm/a.c", "mm/c.c"}
    a = tmp_path / "t" / "mm" / "a.c"
    if change == "rename":
        a.rename(a.with_name("z.c"))
        expect = {"mm/z.c", "mm/c.c"}
    elif change == "delete":
        a.unlink()
        expect = set()  # one site left
    else:
        a.chmod(0)
        if os.access(a, os.R_OK):
            pytest.skip("root reads a mode-000 file (see test_lint_unreadable.py for that case)")
        expect = set()
    for _ in range(2):  # the run that notices, and every run after it
        w = WordIndex(open_tree(str(tmp_path / "t"), require_kernel=False))
        result = lint_tree(w.tree, rules, words=w)
        assert {f.path for f in result.findings} == expect
        assert w.unreadable == ({"mm/a.c"} if change == "unreadable" else set())
