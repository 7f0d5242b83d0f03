"""porter locate on real kernel trees: defined / declared / called, moved between files, renamed."""

import json

import pytest
from click.testing import CliRunner

from porter.cli import main
from porter.commands.locate import RENAME_THRESHOLD


def run(*args):
    result = CliRunner().invoke(main, ["locate", *map(str, args)])
    return result


@pytest.fixture(scope="module")
def zone_device_report(linux_6_1, linux_6_12):
    res = run("memmap_init_zone_device", "--tree", linux_6_1, "--tree", linux_6_12, "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_moved_to_mm_init(zone_device_report):
    old, new = zone_device_report["trees"]
    assert [(d["path"], d["kind"], d["static"]) for d in old["definitions"]] == [("mm/page_alloc.c", "function", False)]
    assert [(d["path"], d["kind"]) for d in new["definitions"]] == [("mm/mm_init.c", "function")]
    assert old["moved"] is None
    assert new["moved"]["from"] == ["mm/page_alloc.c"] and new["moved"]["to"] == ["mm/mm_init.c"]
    assert new["renamed"] == []


def test_declared_and_called(zone_device_report):
    for t in zone_device_report["trees"]:
        assert [d["path"] for d in t["declarations"]] == ["include/linux/mmzone.h"]
        assert [(c["path"], c["function"]) for c in t["calls"]] == [("mm/memremap.c", "pagemap_range")]


def test_renamed_between_5_10_and_6_1(linux_5_10, linux_6_1):
    res = run("memmap_init_zone", "--tree", linux_5_10, "--tree", linux_6_1, "--format", "json")
    assert res.exit_code == 0, res.output
    old, new = json.loads(res.output)["trees"]
    assert [d["path"] for d in old["definitions"]] == ["mm/page_alloc.c"]
    assert new["definitions"] == []
    (ren,) = new["renamed"]
    assert (ren["name"], ren["path"]) == ("memmap_init_range", "mm/page_alloc.c")
    assert ren["score"] >= 0.9 > RENAME_THRESHOLD
    assert "move_pfn_range_to_zone" in ren["shared_callers"]
    # the runners-up are listed, each below the threshold
    assert new["candidates"] and all(c["score"] < RENAME_THRESHOLD for c in new["candidates"])


def test_text_output_and_scope_change(linux_6_1, linux_6_12):
    res = run("__init_single_page", "--tree", linux_6_1, "--tree", linux_6_12)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == "__init_single_page"
    assert any(line.strip().startswith("defined   mm/page_alloc.c:") and "static" in line for line in lines)
    assert any(line.strip().startswith("declared  mm/internal.h:") for line in lines)
    assert any(line.strip().startswith("moved     mm/page_alloc.c") and line.endswith("-> mm/mm_init.c")
               for line in lines)
    assert any(line.strip().startswith("scope     global here, static in") for line in lines)
    assert any("in memmap_init_range" in line for line in lines)


def test_absent_everywhere_exits_1(linux_6_12):
    res = run("no_such_function_anywhere_xyz", "--tree", linux_6_12)
    assert res.exit_code == 1
    assert "not defined here" in res.output


def test_bad_name_is_usage_error(linux_6_12):
    res = run("not-a-name", "--tree", linux_6_12)
    assert res.exit_code == 2
    assert "not a C identifier" in res.output


BODY = """\tunsigned long pfn;

\tfor (pfn = start; pfn < end; pfn++) {
\t\tstruct page *page = pfn_to_page(pfn);

\t\tinit_one(page, pfn, zone);
\t\tif (!(pfn & (pageblock_nr_pages - 1)))
\t\t\tset_block(page, MIGRATE_MOVABLE);
\t}
\treturn end - start;
"""


def small_tree(root, functions: dict[str, str]):
    """A directory that passes for a kernel tree, with mm/init.c holding `functions` (name -> body)."""
    (root / "include" / "linux").mkdir(parents=True)
    (root / "include" / "linux" / "kernel.h").write_text("")
    (root / "Makefile").write_text("")
    (root / "mm").mkdir()
    text = "".join(f"unsigned long {name}(unsigned long start, unsigned long end, int zone)\n{{\n{body}}}\n\n"
                   for name, body in functions.items())
    text += "void user(void)\n{\n\t" + "; ".join(f"{n}(0, 1, 2)" for n in functions) + ";\n}\n"
    (root / "mm" / "init.c").write_text(text)
    return root


def test_clear_rename_is_claimed(tmp_path):
    old = small_tree(tmp_path / "old", {"init_range_old": BODY})
    new = small_tree(tmp_path / "new", {"init_range_new": BODY.replace("MIGRATE_MOVABLE", "MIGRATE_CMA")})
    res = run("init_range_old", "--tree", old, "--tree", new, "--format", "json")
    _, t = json.loads(res.output)["trees"]
    assert [(r["name"], r["shared_callers"]) for r in t["renamed"]] == [("init_range_new", ["user"])]


def test_two_near_twins_refuse_to_claim_a_rename(tmp_path):
    old = small_tree(tmp_path / "old", {"init_range_old": BODY})
    new = small_tree(tmp_path / "new", {"init_range_a": BODY, "init_range_b": BODY.replace("pfn++", "pfn += 2")})
    res = run("init_range_old", "--tree", old, "--tree", new)
    assert res.exit_code == 0
    _, t = json.loads(run("init_range_old", "--tree", old, "--tree", new, "--format", "json").output)["trees"]
    assert t["renamed"] == []
    assert {c["name"] for c in t["candidates"]} == {"init_range_a", "init_range_b"}
    assert "no clear rename" in res.output


def test_rename_found_through_callers_when_the_file_is_gone(tmp_path):
    old = small_tree(tmp_path / "old", {"init_range_old": BODY})
    new = small_tree(tmp_path / "new", {"unrelated": "\treturn 0;\n"})
    # in the new tree the function and its caller moved to another file under a new name
    (new / "mm" / "init.c").unlink()
    (new / "mm" / "setup.c").write_text(
        "unsigned long init_range_new(unsigned long start, unsigned long end, int zone)\n{\n" + BODY + "}\n\n"
        "void user(void)\n{\n\tinit_range_new(0, 1, 2);\n}\n")
    _, t = json.loads(run("init_range_old", "--tree", old, "--tree", new, "--format", "json").output)["trees"]
    assert [(r["name"], r["path"], r["shared_callers"]) for r in t["renamed"]] == [
        ("init_range_new", "mm/setup.c", ["user"])]


def test_no_callers_still_finds_definitions(linux_6_12):
    res = run("pfn_to_page", "--tree", linux_6_12, "--no-callers", "--format", "json")
    assert res.exit_code == 0, res.output
    (t,) = json.loads(res.output)["trees"]
    assert t["calls"] == []
    assert {d["path"] for d in t["definitions"]} >= {"include/asm-generic/memory_model.h"}
