"""Each rule kind against its fixture trees (fixtures/lint/<kind>/{keeps,breaks}), in the manner of ruff: the tree
that keeps the rule lints clean, the tree that breaks it gives exactly the findings in <kind>/breaks.expected."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from porter.lint import lint_tree, load_rules, parse_rules_text
from porter.lint.output import format_text
from porter.tree import open_tree
from tests.helpers import run

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "lint"
KINDS = ["static-to-file", "forbidden-in-region", "single-site", "query"]


def lint(kind: str, variant: str):
    rules = load_rules(FIX / kind / "rules.toml")
    assert [r.kind for r in rules] == [kind]
    return lint_tree(open_tree(str(FIX / kind / variant), require_kernel=False), rules)


@pytest.mark.parametrize("kind", KINDS)
def test_keeps(kind):
    result = lint(kind, "keeps")
    assert result.findings == [], format_text(result.findings)


@pytest.mark.parametrize("kind", KINDS)
def test_breaks(kind):
    result = lint(kind, "breaks")
    assert result.findings, f"{kind}: the breaking fixture gave no finding"
    expected = (FIX / kind / "breaks.expected").read_text()
    assert format_text(result.findings) == expected


def test_static_to_file_names_definition_and_header():
    f = {x.path: x for x in lint("static-to-file", "breaks").findings}
    assert set(f) == {"mm/mm_init.c", "mm/internal.h"}
    assert "not static" in f["mm/mm_init.c"].message and "mm/internal.h" in f["mm/mm_init.c"].message
    assert "declared in header mm/internal.h" in f["mm/internal.h"].message


def test_region_findings_carry_the_call_chain():
    by_fn = {f.function: f for f in lint("forbidden-in-region", "breaks").findings}
    assert set(by_fn) == {"devm_memremap_pages", "add_device_memory", "pagemap_range", "hmm_devmem_pages_create"}
    chain = by_fn["pagemap_range"].chain
    assert [s.function for s in chain] == ["pagemap_range", "pagemap_range", "move_pfn_range_to_zone",
                                           "memmap_init_range"]
    assert chain[0].message == "mem_hotplug_begin() opens the region"
    assert [s.path for s in chain[1:]] == ["mm/memremap.c", "mm/memory_hotplug.c", "mm/page_alloc.c"]
    assert "pagemap_range -> move_pfn_range_to_zone -> memmap_init_range" in by_fn["pagemap_range"].message
    # a loop that calls a per-page initialiser counts (memmap_init_zone_device -> __init_zone_device_page)
    assert "__init_zone_device_page" in by_fn["hmm_devmem_pages_create"].message
    # the negated guard `!is_dev_zone(zone)` does not make memmap_init_zone_device safe: it is reported


def test_single_site_every_site_names_the_others():
    fs = lint("single-site", "breaks").findings
    assert {f.function for f in fs} == {"__init_zone_device_page", "zone_device_page_init"}
    for f in fs:
        other = ({"__init_zone_device_page", "zone_device_page_init"} - {f.function}).pop()
        assert other in f.message and f.chain[0].function == other


def test_query_fills_captures_and_function():
    fs = lint("query", "breaks").findings
    assert [f.message.split(":")[0] for f in fs] == ["mem_hotplug_begin() called in pmem_attach",
                                                      "mem_hotplug_done() called in pmem_attach"]
    assert all(f.path.startswith("drivers/") for f in fs)  # mm/ is outside the rule's paths


def test_region_depth_limits_the_chain():
    text = (FIX / "forbidden-in-region" / "rules.toml").read_text()
    tree = open_tree(str(FIX / "forbidden-in-region" / "breaks"), require_kernel=False)
    for depth, expected in [(0, {"devm_memremap_pages", "add_device_memory"}),
                            (1, {"devm_memremap_pages", "add_device_memory", "hmm_devmem_pages_create"}),
                            (2, {"devm_memremap_pages", "add_device_memory", "hmm_devmem_pages_create",
                                 "pagemap_range"})]:
        rules = parse_rules_text(text.replace("depth = 3", f"depth = {depth}"), "r.toml")
        assert {f.function for f in lint_tree(tree, rules).findings} == expected, depth


def test_lint_a_git_ref(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIX / "forbidden-in-region" / "breaks", repo)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    for cmd in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-q", "-m", "x"],
                ["git", "rm", "-q", "-r", "kernel"], ["git", "commit", "-q", "-m", "y"]):
        subprocess.run(cmd, cwd=repo, check=True, env=env)
    rules = str(FIX / "forbidden-in-region" / "rules.toml")
    r = run("lint", "--tree", "HEAD~1", "--rules", rules, cwd=repo)
    assert r.exit_code == 1 and r.stdout == (FIX / "forbidden-in-region" / "breaks.expected").read_text()
    r = run("lint", "--tree", "HEAD", "--rules", rules, cwd=repo)  # kernel/memremap.c removed in HEAD
    assert r.exit_code == 1 and "kernel/memremap.c" not in r.stdout and r.stdout.count(": error: ") == 3


def test_query_without_prefilter_words_walks_only_its_paths():
    rules = parse_rules_text('''
[[rule]]
id = "t/match"
kind = "query"
severity = "note"
query = '((call_expression function: (identifier) @fn) (#match? @fn "^mem_hotplug_"))'
paths = ["drivers"]
message = "{fn} in {function}"
''', "q.toml")
    from porter.lint.query import words

    assert words(rules[0]) == []  # #match? gives no whole word to search for
    for variant, n in (("keeps", 0), ("breaks", 2)):
        tree = open_tree(str(FIX / "query" / variant), require_kernel=False)
        fs = lint_tree(tree, rules).findings
        assert len(fs) == n and all(f.path == "drivers/nvdimm/pmem.c" for f in fs)


def test_region_reports_the_innermost_of_nested_loops(tmp_path):
    (tmp_path / "mm").mkdir()
    (tmp_path / "mm" / "a.c").write_text(
        "static void __init_single_page(struct page *page, unsigned long pfn, unsigned long zone, int nid)\n"
        "{\n\tmm_zero_struct_page(page);\n}\n\n"
        "int add_sections(int nid, unsigned long start, unsigned long nr)\n{\n\tunsigned long sec, pfn;\n\n"
        "\tmem_hotplug_begin();\n"
        "\tfor (sec = 0; sec < nr; sec += PAGES_PER_SECTION) {\n"
        "\t\tfor (pfn = start + sec; pfn < start + sec + PAGES_PER_SECTION; pfn++)\n"
        "\t\t\t__init_single_page(pfn_to_page(pfn), pfn, ZONE_DEVICE, nid);\n"
        "\t}\n\tmem_hotplug_done();\n\treturn 0;\n}\n")
    rules = load_rules(FIX / "forbidden-in-region" / "rules.toml")
    fs = lint_tree(open_tree(str(tmp_path), require_kernel=False), rules).findings
    assert [(f.path, f.line, f.function) for f in fs] == [("mm/a.c", 12, "add_sections")]
