"""The seed's three invariants on Debian's real trees, and mutations of real 6.1 code that must break them.

Mutations never touch the shared trees: the changed file is laid over the tree in memory (LintContext overlay),
or, for --patch, placed by porter's own apply without writing anything."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from porter.lint import lint_tree, load_rules
from porter.tree import open_tree
from tests.helpers import run

pytestmark = pytest.mark.realtree

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "rules" / "zone-device.toml"
STATIC, REGION, SITE = ("zone-device/init-single-page-static", "zone-device/no-pfn-init-under-hotplug-lock",
                        "zone-device/pgmap-init-single-site")


@pytest.fixture(scope="module")
def rules():
    return load_rules(RULES)


def by_rule(findings, rule_id):
    return [f for f in findings if f.rule_id == rule_id]


def line_of(text: str, pattern: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if re.search(pattern, line):
            return i
    raise AssertionError(pattern)


def test_6_1_keeps_all_three(linux_6_1, rules):
    result = lint_tree(open_tree(str(linux_6_1)), rules)
    assert result.findings == [], [f.message for f in result.findings]


def test_6_12_reports_init_single_page_only(linux_6_12, rules):
    result = lint_tree(open_tree(str(linux_6_12)), rules)
    assert by_rule(result.findings, REGION) == []
    assert by_rule(result.findings, SITE) == []
    static = by_rule(result.findings, STATIC)
    assert {f.path for f in static} == {"mm/mm_init.c", "mm/internal.h"}
    (defn,) = [f for f in static if f.path == "mm/mm_init.c"]
    mm_init = (linux_6_12 / "mm" / "mm_init.c").read_text()
    assert defn.line == line_of(mm_init, r"^void __meminit __init_single_page\(")
    assert "not static" in defn.message and "mm/internal.h" in defn.message
    (decl,) = [f for f in static if f.path == "mm/internal.h"]
    internal = (linux_6_12 / "mm" / "internal.h").read_text()
    assert decl.line == line_of(internal, r"__init_single_page\(")


def without_zone_device_guard(src: str) -> str:
    i = src.index("\tif (zone == ZONE_DEVICE) {\n\t\tif (!altmap)")
    j = src.index("\n\t}\n", i) + len("\n\t}\n")
    return src[:i] + src[j:]


def test_mutation_guard_deleted(linux_6_1, rules):
    tree = open_tree(str(linux_6_1))
    page_alloc = tree.read("mm/page_alloc.c").decode()
    result = lint_tree(tree, rules, overlay={"mm/page_alloc.c": without_zone_device_guard(page_alloc).encode()})
    region = by_rule(result.findings, REGION)
    chains = {tuple(s.function for s in f.chain[1:]): f for f in region}
    key = ("pagemap_range", "move_pfn_range_to_zone", "memmap_init_range")
    assert key in chains, list(chains)
    f = chains[key]
    assert f.path == "mm/memremap.c" and "pagemap_range -> move_pfn_range_to_zone -> memmap_init_range" in f.message
    memremap = tree.read("mm/memremap.c").decode()
    assert f.line == line_of(memremap, r"^\t\tmove_pfn_range_to_zone\(")
    assert f.chain[0].message == "mem_hotplug_begin() opens the region"
    assert [s.path for s in f.chain[1:]] == ["mm/memremap.c", "mm/memory_hotplug.c", "mm/page_alloc.c"]
    assert "__init_single_page" in f.chain[-1].message
    # every finding of the rule starts at a mem_hotplug_begin() region
    assert all(x.chain[0].message.startswith("mem_hotplug_begin()") for x in region)
    assert by_rule(result.findings, STATIC) == [] and by_rule(result.findings, SITE) == []


LOOP = ("\tfor_each_device_pfn(pfn, pgmap, range_id) {\n\t\tstruct page *page = pfn_to_page(pfn);\n\n"
        "\t\tpage->pgmap = pgmap;\n\t}\n")
ANCHOR = "\tmem_hotplug_done();\n\tif (error)\n\t\tgoto err_add_memory;\n"


def test_mutation_pgmap_loop_before_hotplug_done(linux_6_1, rules):
    tree = open_tree(str(linux_6_1))
    memremap = tree.read("mm/memremap.c").decode()
    assert memremap.count(ANCHOR) == 1
    mutated = memremap.replace(ANCHOR, "\tunsigned long pfn;\n" + LOOP + ANCHOR)
    result = lint_tree(tree, rules, overlay={"mm/memremap.c": mutated.encode()})
    (region,) = by_rule(result.findings, REGION)
    assert region.path == "mm/memremap.c" and region.function == "pagemap_range"
    assert region.line == line_of(mutated, r"^\tfor_each_device_pfn\(")
    assert "for_each_device_pfn loop that writes page->pgmap" in region.message
    sites = by_rule(result.findings, SITE)
    assert {(f.path, f.function) for f in sites} == {("mm/memremap.c", "pagemap_range"),
                                                      ("mm/page_alloc.c", "__init_zone_device_page")}


def test_mutation_second_pgmap_site(linux_6_1, rules):
    tree = open_tree(str(linux_6_1))
    memremap = tree.read("mm/memremap.c").decode()
    anchor = "\tpercpu_ref_get_many(&pgmap->ref, pfn_len(pgmap, range_id));\n"
    assert anchor in memremap
    extra = "\tpfn_to_page(PHYS_PFN(range->start))->pgmap = pgmap;\n"  # a page form too
    mutated = memremap.replace(anchor, anchor + extra + "\tfolio = page_folio(pfn_to_page(PHYS_PFN(range->start)));\n"
                               "\tfolio->pgmap = pgmap;\n")
    result = lint_tree(tree, rules, overlay={"mm/memremap.c": mutated.encode()})
    sites = by_rule(result.findings, SITE)
    assert {f.function for f in sites} == {"pagemap_range", "__init_zone_device_page"}
    assert by_rule(result.findings, REGION) == []  # after mem_hotplug_done(), not in a loop


def test_patch_mode_on_real_tree(linux_6_1, tmp_path):
    """--patch on 6.1: porter places the guard-deleting patch and reports the chain as introduced."""
    src = (linux_6_1 / "mm" / "page_alloc.c").read_text()
    after = without_zone_device_guard(src)
    diff = "".join(difflib.unified_diff(src.splitlines(True), after.splitlines(True),
                                        "a/mm/page_alloc.c", "b/mm/page_alloc.c"))
    p = tmp_path / "guard.mbox"
    p.write_text("From: Dev <dev@example.org>\nSubject: [PATCH] mm: drop the ZONE_DEVICE clamp\n\n---\n"
                 "diff --git a/mm/page_alloc.c b/mm/page_alloc.c\n" + diff)
    r = run("lint", "--tree", str(linux_6_1), "--rules", str(RULES), "--patch", str(p))
    assert r.exit_code == 1, r.output
    intro = r.stdout.split("# removed by the patch")[0]
    assert "mm/memremap.c:" in intro and "pagemap_range -> move_pfn_range_to_zone -> memmap_init_range" in intro
    assert "# removed by the patch: 0" in r.stdout and "# unchanged by the patch: 0" in r.stdout


def test_mutation_guard_deleted_6_12(linux_6_12, rules):
    """The same mutation where the code moved (memmap_init_range in mm/mm_init.c): the chain follows it."""
    tree = open_tree(str(linux_6_12))
    mm_init = tree.read("mm/mm_init.c").decode()
    result = lint_tree(tree, rules, overlay={"mm/mm_init.c": without_zone_device_guard(mm_init).encode()})
    chains = {tuple(s.path for s in f.chain[1:]) for f in by_rule(result.findings, REGION)
              if f.function == "pagemap_range"}
    assert chains == {("mm/memremap.c", "mm/memory_hotplug.c", "mm/mm_init.c")}
