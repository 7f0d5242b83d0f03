"""`porter lint` on the command line: exit status 0 clean / 1 findings / 2 error, PATHS, --rule, formats,
and --patch (lint before and after porter's own apply, report introduced / removed / unchanged)."""

from __future__ import annotations

import difflib
import json
import shutil
from pathlib import Path

from tests.helpers import fingerprint, run

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "lint"
REGION = FIX / "forbidden-in-region"


def lint(*args):
    return run("lint", *args)


def test_clean_tree_exits_0():
    r = lint("--tree", str(REGION / "keeps"), "--rules", str(REGION / "rules.toml"))
    assert r.exit_code == 0 and r.stdout == ""
    assert "0 findings" in r.stderr


def test_findings_exit_1_in_compiler_format():
    r = lint("--tree", str(REGION / "breaks"), "--rules", str(REGION / "rules.toml"))
    assert r.exit_code == 1
    assert r.stdout == (REGION / "breaks.expected").read_text()


def test_paths_limit_where_findings_are_reported():
    r = lint("--tree", str(REGION / "breaks"), "--rules", str(REGION / "rules.toml"), "mm/memremap.c")
    heads = [ln for ln in r.stdout.splitlines() if ": error: " in ln]
    assert r.exit_code == 1 and len(heads) == 2 and all(ln.startswith("mm/memremap.c:") for ln in heads)
    # the chain still goes through files outside PATHS
    assert "mm/page_alloc.c:19:2: note: for loop that calls __init_single_page" in r.stdout
    r = lint("--tree", str(REGION / "breaks"), "--rules", str(REGION / "rules.toml"), "include/")
    assert r.exit_code == 0 and r.stdout == ""


def test_rule_selection_and_default_rules_dir():
    r = lint("--tree", str(FIX / "static-to-file" / "breaks"), "--rule", "zone-device/init-single-page-static")
    assert r.exit_code == 1 and "[zone-device/init-single-page-static]" in r.stdout
    r = lint("--tree", str(FIX / "static-to-file" / "breaks"), "--rule", "no/such-rule")
    assert r.exit_code == 2 and "no/such-rule" in r.stderr


def test_json_and_sarif_formats():
    r = lint("--tree", str(REGION / "breaks"), "--rules", str(REGION / "rules.toml"), "--format", "json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 1 and doc["summary"]["total"] == 4
    r = lint("--tree", str(REGION / "breaks"), "--rules", str(REGION / "rules.toml"), "--format", "sarif")
    doc = json.loads(r.stdout)
    assert r.exit_code == 1 and doc["version"] == "2.1.0" and len(doc["runs"][0]["results"]) == 4
    assert doc["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"].startswith("file:///")


def test_malformed_rule_file_exits_2_naming_file_and_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "x"\nkind = "single-site"\nmessage = "m"\nfield = "pgmap"\nmax_functions = "one"\n')
    r = lint("--tree", str(REGION / "keeps"), "--rules", str(bad))
    assert r.exit_code == 2 and r.stdout == ""
    assert str(bad) in r.stderr and "key 'max_functions'" in r.stderr


def test_missing_tree_exits_2(tmp_path):
    r = lint("--tree", str(tmp_path / "nope"), "--rules", str(REGION / "rules.toml"))
    assert r.exit_code == 2 and "nope" in r.stderr


# ------------------------------------------------------------------------------------------------- --patch

def make_patch(tree: Path, rel: str, old: str, new: str, dest: Path) -> Path:
    text = (tree / rel).read_text()
    assert old in text
    after = text.replace(old, new, 1)
    diff = difflib.unified_diff(text.splitlines(True), after.splitlines(True), f"a/{rel}", f"b/{rel}")
    body = "".join(diff)
    dest.write_text(f"From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
                    f"From: Dev <dev@example.org>\nSubject: [PATCH] test\n\n---\n"
                    f"diff --git a/{rel} b/{rel}\n{body}-- \n2.40.0\n")
    return dest


LOOP = ("\tfor_each_device_pfn(pfn, pgmap) {\n\t\tstruct page *page = pfn_to_page(pfn);\n\n"
        "\t\tpage->pgmap = pgmap;\n\t}\n")


def test_patch_introducing_a_violation(tmp_path):
    tree = tmp_path / "keeps"
    shutil.copytree(REGION / "keeps", tree)
    before = fingerprint(tree)
    p = make_patch(tree, "mm/memremap.c", "\tmove_pfn_range_to_zone(zone, pgmap->start, pgmap->size, pgmap->altmap);\n",
                   "\tmove_pfn_range_to_zone(zone, pgmap->start, pgmap->size, pgmap->altmap);\n" + LOOP,
                   tmp_path / "p.mbox")
    r = lint("--tree", str(tree), "--rules", str(REGION / "rules.toml"), "--patch", str(p))
    assert r.exit_code == 1, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "# introduced by the patch: 1"
    assert lines[1].startswith("mm/memremap.c:16:2: error: ") and "for_each_device_pfn loop" in lines[1]
    assert "# removed by the patch: 0" in lines and "# unchanged by the patch: 0" in lines
    assert fingerprint(tree) == before  # nothing written
    doc = json.loads(lint("--tree", str(tree), "--rules", str(REGION / "rules.toml"), "--patch", str(p),
                          "--format", "json").stdout)
    assert len(doc["introduced"]) == 1 and doc["touched"] == ["mm/memremap.c"]


def test_patch_removing_a_violation_and_leaving_others(tmp_path):
    tree = tmp_path / "breaks"
    shutil.copytree(REGION / "breaks", tree)
    # restore the ZONE_DEVICE guard in memmap_init_range: the pagemap_range chain goes away
    p = make_patch(tree, "mm/page_alloc.c", "\tif (altmap && start_pfn == altmap->base_pfn)\n",
                   "\tif (zone == ZONE_DEVICE)\n\t\treturn;\n\tif (altmap && start_pfn == altmap->base_pfn)\n",
                   tmp_path / "fix.mbox")
    r = lint("--tree", str(tree), "--rules", str(REGION / "rules.toml"), "--patch", str(p), "--format", "json")
    assert r.exit_code == 0, r.output  # the patch introduces nothing
    doc = json.loads(r.stdout)
    assert [f["function"] for f in doc["removed"]] == ["pagemap_range"]
    assert len(doc["unchanged"]) == 3 and doc["introduced"] == []
    r = lint("--tree", str(tree), "--rules", str(REGION / "rules.toml"), "--patch", str(p), "--format", "sarif")
    states = sorted(x["baselineState"] for x in json.loads(r.stdout)["runs"][0]["results"])
    assert states == ["absent", "unchanged", "unchanged", "unchanged"]


def test_several_patches_are_one_series_and_strip(tmp_path):
    """--patch P1 --patch P2: P2 was written on top of P1 and is placed after it (alone it does not apply);
    -pN strips file names as porter apply -pN does."""
    tree = tmp_path / "keeps"
    shutil.copytree(REGION / "keeps", tree)
    before = fingerprint(tree)
    anchor = "\tmove_pfn_range_to_zone(zone, pgmap->start, pgmap->size, pgmap->altmap);\n"
    p1 = make_patch(tree, "mm/memremap.c", anchor, anchor + "\t/* then the pages */\n", tmp_path / "1.mbox")
    on_top = tmp_path / "on-top"
    shutil.copytree(tree, on_top)
    text = (on_top / "mm/memremap.c").read_text()
    (on_top / "mm/memremap.c").write_text(text.replace(anchor, anchor + "\t/* then the pages */\n", 1))
    p2 = make_patch(on_top, "mm/memremap.c", "\t/* then the pages */\n", LOOP, tmp_path / "2.mbox")
    rules = ("--tree", str(tree), "--rules", str(REGION / "rules.toml"))
    r = lint(*rules, "--patch", str(p1), "--patch", str(p2), "--format", "json")
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    assert len(doc["introduced"]) == 1 and doc["patch"] == [str(p1), str(p2)]
    assert lint(*rules, "--patch", str(p2)).exit_code == 2  # alone: the line it replaces is not in the tree
    assert lint(*rules, "--patch", str(p1)).exit_code == 0
    p2_names = tmp_path / "p2.diff"  # made in a directory above the tree: a/linux/mm/memremap.c
    p2_names.write_text(p1.read_text().replace("a/mm/", "a/linux/mm/").replace("b/mm/", "b/linux/mm/"))
    r = lint(*rules, "--patch", str(p2_names), "-p", "2", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["touched"] == ["mm/memremap.c"], r.output
    r = lint(*rules, "--patch", str(p2_names), "--format", "json")  # -p1: names linux/mm/memremap.c
    assert r.exit_code == 2 or json.loads(r.stdout)["touched"] != ["mm/memremap.c"], r.output
    assert lint(*rules, "-p", "0").exit_code == 2  # -p without --patch: a usage error
    assert fingerprint(tree) == before


def test_patch_that_does_not_apply_exits_2(tmp_path):
    tree = tmp_path / "keeps"
    shutil.copytree(REGION / "keeps", tree)
    p = make_patch(tree, "mm/memremap.c", "\tmem_hotplug_done();\n\n", "\tmem_hotplug_done();\n\tx();\n\n",
                   tmp_path / "p.mbox")
    (tree / "mm" / "memremap.c").write_text("/* rewritten */\nint nothing;\n")
    r = lint("--tree", str(tree), "--rules", str(REGION / "rules.toml"), "--patch", str(p))
    assert r.exit_code == 2 and "--patch" in r.stderr


def test_paths_relative_to_the_current_directory():
    breaks = REGION / "breaks"
    r = run("lint", "--tree", "..", "--rules", str(REGION / "rules.toml"), "memremap.c", cwd=breaks / "mm")
    heads = [ln for ln in r.stdout.splitlines() if ": error: " in ln]
    assert r.exit_code == 1 and len(heads) == 2 and all(ln.startswith("mm/memremap.c:") for ln in heads)
    r = run("lint", "--tree", str(breaks), "--rules", str(REGION / "rules.toml"), str(breaks / "kernel"))
    assert [ln.split(":")[0] for ln in r.stdout.splitlines() if ": error: " in ln] == ["kernel/memremap.c"]


def test_path_that_names_nothing_is_an_error_not_a_clean_result():
    r = lint("--tree", str(REGION / "breaks"), "--rules", str(REGION / "rules.toml"), "fs/")
    assert r.exit_code == 2 and r.stderr.startswith("porter: error: fs/: no such file")
