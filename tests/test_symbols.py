"""porter.cmodel.symbols.SymbolIndex on real kernel trees (directories) and on a git ref."""

import subprocess

import pytest

from porter.cmodel import cache as parse_cache
from porter.cmodel.symbols import SymbolIndex
from porter.tree import open_tree


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTER_CACHE", str(tmp_path / "cache"))
    parse_cache.clear_memory()
    yield tmp_path / "cache"
    parse_cache.clear_memory()


_indexes = {}


def index(path):
    """One index per tree for the whole module: its per-name search results are reused between tests."""
    if path not in _indexes:
        _indexes[path] = SymbolIndex(open_tree(str(path)))
    return _indexes[path]


def test_definitions_follow_the_move(linux_6_1, linux_6_12):
    old = index(linux_6_1).definitions("memmap_init_zone_device")
    new = index(linux_6_12).definitions("memmap_init_zone_device")
    assert [(p, d.kind, d.is_static) for p, d in old] == [("mm/page_alloc.c", "function", False)]
    assert [(p, d.kind, d.is_static) for p, d in new] == [("mm/mm_init.c", "function", False)]


def test_declarations_only_prototypes(linux_6_1, linux_6_12):
    assert index(linux_6_1).declarations("__init_single_page") == []
    decl = index(linux_6_12).declarations("__init_single_page")
    assert [(p, d.kind) for p, d in decl] == [("mm/internal.h", "prototype")]
    ix = index(linux_6_12)
    # and the definition is not counted as a declaration, nor the prototype as a definition
    assert [p for p, _ in ix.definitions("__init_single_page")] == ["mm/mm_init.c"]


def test_callers_with_enclosing_function(linux_6_12):
    callers = index(linux_6_12).callers("memmap_init_range")
    assert sorted((p, c.function) for p, c in callers) == [
        ("mm/memory_hotplug.c", "move_pfn_range_to_zone"), ("mm/mm_init.c", "memmap_init_zone_range")]


def test_parses_only_files_that_mention_the_name(linux_6_12, monkeypatch):
    ix = SymbolIndex(open_tree(str(linux_6_12)))
    parsed = []
    real = ix.file_model
    monkeypatch.setattr(ix, "file_model", lambda p: parsed.append(p) or real(p))
    ix.definitions("memmap_init_zone_device")
    ix.callers("memmap_init_zone_device")
    assert set(parsed) == set(ix.files_with("memmap_init_zone_device"))
    assert set(parsed) == {"include/linux/mmzone.h", "mm/memremap.c", "mm/mm_init.c"}


def test_prefetch_matches_single_searches(linux_6_12):
    one = index(linux_6_12)
    many = SymbolIndex(open_tree(str(linux_6_12)))
    names = ["memmap_init_range", "__init_single_page"]
    many.prefetch(names)
    for n in names:
        assert many._files[n] == one.files_with(n)


def test_similar_functions_finds_the_rename(linux_5_10, linux_6_1):
    old = index(linux_5_10)
    (path, d), = old.definitions("memmap_init_zone")
    text = old.definition_text(path, d)
    ranked = index(linux_6_1).similar_functions(text, [path, "mm/memory_hotplug.c"], limit=3)
    (top, top_path, top_def), (second, _, _) = ranked[:2]
    assert (top_path, top_def.name) == ("mm/page_alloc.c", "memmap_init_range")
    assert top > 0.9
    assert second < 0.6  # a clear margin, which is what the rename threshold relies on


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_git_ref_tree_uses_blob_ids_and_cache(tmp_path, private_cache, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "mm").mkdir(parents=True)
    (repo / "mm" / "a.c").write_text(
        "static int helper(int x)\n{\n\treturn x + 1;\n}\n\nint user(int y)\n{\n\treturn helper(y) * 2;\n}\n")
    (repo / "mm" / "b.c").write_text(
        "int renamed_helper(int x)\n{\n\treturn x + 1;\n}\n\nint other(void)\n{\n\treturn 7;\n}\n")
    (repo / "mm" / "a.h").write_text("int user(int y);\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x")
    tree = open_tree("HEAD", cwd=repo, require_kernel=False)
    ix = SymbolIndex(tree)
    assert [(p, d.is_static) for p, d in ix.definitions("helper")] == [("mm/a.c", True)]
    assert [(p, c.function) for p, c in ix.callers("helper")] == [("mm/a.c", "user")]
    assert [p for p, _ in ix.declarations("user")] == ["mm/a.h"]
    ranked = ix.similar_functions("static int helper(int x)\n{\n\treturn x + 1;\n}\n", ["mm/b.c"])
    assert ranked[0][2].name == "renamed_helper" and ranked[0][0] > 0.95
    assert ranked[1][0] < ranked[0][0]

    # a second index over the same ref finds every model in the cache by blob id: it reads no blob
    parse_cache.clear_memory()
    again = SymbolIndex(open_tree("HEAD", cwd=repo, require_kernel=False))
    monkeypatch.setattr(again.tree, "read", lambda p: (_ for _ in ()).throw(AssertionError(f"read {p}")))
    # ... and runs no text search either: a commit's search results are cached on disk
    monkeypatch.setattr(again.tree, "grep_files", lambda *a, **k: (_ for _ in ()).throw(AssertionError("grep")))
    assert [p for p, _ in again.definitions("helper")] == ["mm/a.c"]
    assert (private_cache / "grep" / tree.commit / "helper").read_text() == "mm/a.c\n"


def test_definition_prefilter_loses_nothing(linux_6_12):
    ix = index(linux_6_12)
    for name in ("max_pfn", "node_data", "getpid"):
        everything = {(p, d.kind, d.start_line) for p in ix.files_with(name) for d in ix.file_model(p).find(name)}
        kept = set(ix.definition_files(name))
        assert everything and {p for p, _k, _l in everything} <= kept
        assert len(kept) < len(ix.files_with(name))  # and it is a real filter


def test_definition_prefilter_on_a_popular_name(linux_6_12):
    ix = index(linux_6_12)
    # thousands of files use list_for_each_entry; a handful can define it
    assert len(ix.files_with("list_for_each_entry")) > 1000
    assert len(ix.definition_files("list_for_each_entry")) < 50
    assert ("include/linux/list.h", "macro") in {(p, d.kind) for p, d in ix.definitions("list_for_each_entry")}
