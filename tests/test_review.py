"""porter review: placement per tree, one common patch or not, rule findings per patch and per series, verdicts.

The demo trees are only read (a review writes nothing), which the fingerprint checks prove; the real-tree test
writes its 6.1 patch in memory with porter.write.patchfile.file_diff."""

from __future__ import annotations

import json
import re
import time

import pytest

from porter.review_render import to_json, to_text
from porter.write.patchfile import file_diff
from tests.helpers import DEMO, SEED, fingerprint, run

STATIC, REGION, SITE = ("zone-device/init-single-page-static", "zone-device/no-pfn-init-under-hotplug-lock",
                        "zone-device/pgmap-init-single-site")
LINUX, NEXT = str(DEMO / "linux"), str(DEMO / "linux-next")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def review_json(*args, code=None):
    r = run("review", *args, "--format", "json")
    if code is not None:
        assert r.exit_code == code, r.output
    return r, json.loads(r.stdout)


def placements(doc, tree_label, patch=0):
    (t,) = [t for t in doc["patches"][patch]["trees"] if t["label"] == tree_label]
    return t["placements"]


def tree(doc, label):
    (t,) = [t for t in doc["trees"] if t["label"] == label]
    return t


# ---------------------------------------------------------------------------------------------- the seed

def test_seed_json_placement_common_patch_and_rules():
    before = {n: fingerprint(DEMO / n) for n in ("linux", "linux-next")}
    _, doc = review_json(str(SEED), "--tree", LINUX, "--tree", NEXT, code=0)
    assert doc["verdict"] == "PASS"
    assert any("quoted at depth 2" in n for n in doc["notes"])
    assert [p["number"] for p in doc["patches"]] == ["3/4"]
    for label in ("linux", "linux-next"):
        pls = placements(doc, label)
        assert len(pls) == 7 and all(p["status"] == "placed" for p in pls)
        (newdef,) = [p for p in pls if p["function"] == "memmap_init_zone_device" and p["rung"] == "new-definition"]
        assert newdef["target_file"] == "mm/page_alloc.c"
        assert newdef["relation"] == "below memmap_init_zone"
        assert "placed below memmap_init_zone (was above memmap_init_zone)" in newdef["notes"]
        # the line is the definition's own line in the tree's post-image
        assert newdef["line"] > [p["line"] for p in pls if p["function"] == "memmap_init_zone"][0]
        # the other hunks land in the functions the patch names
        assert {p["function"] for p in pls if p["patch_file"] == "mm/hmm.c"} == {"hmm_devmem_pages_create"}
        assert {p["function"] for p in pls if p["patch_file"] == "kernel/memremap.c"} == {"devm_memremap_pages"}
        t = tree(doc, label)
        assert t["verdict"] == "PASS" and t["hunks_placed"] == t["hunks"] == 7
        assert t["lint"]["introduced"] == [] and t["lint"]["unchanged"] == []
        assert sorted(f["rule_id"] for f in t["lint"]["removed"]) == [SITE, SITE]
        rules = {r["id"]: r for r in t["rules"]}
        assert set(rules) == {STATIC, REGION, SITE}
        assert all(r["after"] == 0 and r["introduced"] == 0 for r in rules.values())
        assert rules[SITE]["status"] == "fixed" and rules[STATIC]["status"] == "holds"
    assert doc["common_patch"] is True
    assert any("below memmap_init_zone in every tree" in n for n in doc["common_notes"])
    placed_lines = {label: [p["line"] for p in placements(doc, label) if p["rung"] == "new-definition"]
                    for label in ("linux", "linux-next")}
    assert placed_lines["linux"] != placed_lines["linux-next"]  # the trees differ; one patch fits both
    assert {n: fingerprint(DEMO / n) for n in ("linux", "linux-next")} == before


def test_seed_markdown_renders_tables():
    r = run("review", str(SEED), "--tree", "linux", "--tree", "linux-next", "--format", "markdown",
            cwd=DEMO.parent.parent)
    assert r.exit_code == 0, r.output
    md = r.stdout
    assert md.startswith("### porter review: PASS")
    assert "| hunk | tree | lands at | function | rung | notes |\n|---|---|---|---|---|---|" in md
    rows = [ln for ln in md.splitlines() if ln.startswith("|") and "memmap_init_zone_device()" in ln]
    assert len(rows) == 2 and all("new-definition" in ln and "placed below memmap_init_zone" in ln for ln in rows)
    # every table row has as many cells as its header (no unescaped '|' in the content)
    for block in re.findall(r"((?:^\|.*\n)+)", md, re.M):
        widths = {len(re.split(r"(?<!\\)\|", ln)) for ln in block.splitlines()}
        assert len(widths) == 1, block
    assert "| `zone-device/pgmap-init-single-site` | fixed | fixed |" in md
    assert "**Common patch:** yes" in md and "**Verdict:** PASS" in md


def test_seed_text_aligned_and_colour_only_when_asked():
    r = run("review", str(SEED), "--tree", LINUX, "--tree", NEXT)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert not ANSI.search(out)  # not a tty
    lines = out.splitlines()
    header = next(ln for ln in lines if ln.lstrip().startswith("hunk "))
    col = header.index("lands at")
    rows = [ln for ln in lines if "mm/page_alloc.c:" in ln and ("linux " in ln or "linux-next" in ln)]
    assert rows and all(ln[col:].startswith("mm/page_alloc.c:") for ln in rows)
    assert any("memmap_init_zone_device()" in ln and "placed below memmap_init_zone" in ln for ln in rows)
    assert "common patch: yes" in out and out.rstrip().endswith("verdict: PASS")
    coloured = run("review", str(SEED), "--tree", LINUX, "--tree", NEXT, "--color").stdout
    assert ANSI.search(coloured) and ANSI.sub("", coloured) == out


# ---------------------------------------------------------------------------------------------- series

MAIL = """From {sha} Mon Sep 17 00:00:00 2001
From: A U Thor <author@example.org>
Date: Mon, 1 Oct 2018 10:00:0{n} -0700
Subject: [PATCH v2 {n}/2] {subject}

{body}

Signed-off-by: A U Thor <author@example.org>
Link: https://lore.kernel.org/r/20181001-{n}-author@example.org
---
{diff}-- 
2.39.2

"""


def _demo_series() -> tuple[str, str, str]:
    """Two patches against the demo linux page_alloc.c: 1/2 adds a line inside __init_single_page, 2/2 makes
    __init_single_page global (the static rule's violation), written on top of 1/2."""
    path = "mm/page_alloc.c"
    v0 = (DEMO / "linux" / path).read_bytes()
    s0 = v0.decode()
    anchor = "\tpage_cpupid_reset_last(page);\n"
    assert s0.count(anchor) == 1
    v1 = s0.replace(anchor, anchor + "\tpage_kasan_tag_reset(page);\n").encode()
    v2 = v1.decode().replace("static void __meminit __init_single_page(", "void __meminit __init_single_page(").encode()
    d1, d2 = "".join(file_diff(path, v0, v1)), "".join(file_diff(path, v1, v2))
    p1 = MAIL.format(sha="1" * 40, n=1, subject="mm: reset the KASAN tag of a new struct page",
                     body="Reset the tag where the page is initialised.", diff=d1)
    p2 = MAIL.format(sha="2" * 40, n=2, subject="mm: let other files initialise a struct page",
                     body="Make __init_single_page() available outside page_alloc.c.", diff=d2)
    return p1, p2, d1


def test_series_per_patch_sections_and_summary(tmp_path):
    p1, p2, _ = _demo_series()
    mbox = tmp_path / "series.mbox"
    cover = ("From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
             "From: A U Thor <author@example.org>\nDate: Mon, 1 Oct 2018 10:00:00 -0700\n"
             "Subject: [PATCH v2 0/2] mm: struct page initialisation\n\nTwo small changes.\n\n")
    # as `b4 am` writes it: cover letter, then the patches with their trailers (here out of order on purpose)
    mbox.write_text(cover + p2 + p1)
    r, doc = review_json(str(mbox), "--tree", LINUX, "--tree", NEXT, code=1)
    assert any("cover letter" in n for n in doc["notes"])
    assert [p["number"] for p in doc["patches"]] == ["1/2", "2/2"]
    assert [p["subject"] for p in doc["patches"]] == ["mm: reset the KASAN tag of a new struct page",
                                                      "mm: let other files initialise a struct page"]
    for label in ("linux", "linux-next"):
        first, second = placements(doc, label, 0), placements(doc, label, 1)
        assert [(p["function"], p["status"]) for p in first] == [("__init_single_page", "placed")]
        assert second[0]["status"] == "placed" and second[0]["target_file"] == "mm/page_alloc.c"
        per_patch = [t["lint"] for p in doc["patches"] for t in p["trees"] if t["label"] == label]
        assert per_patch[0]["introduced"] == []  # 1/2 keeps every rule
        assert [f["rule_id"] for f in per_patch[1]["introduced"]] == [STATIC]  # 2/2 breaks the static rule
        t = tree(doc, label)
        assert t["verdict"] == "FAIL" and "introduces 1 rule violation" in t["reasons"]
        assert {r["id"]: r["status"] for r in t["rules"]}[STATIC] == "broken"
    assert doc["verdict"] == "FAIL" and doc["common_patch"] is True
    text = run("review", str(mbox), "--tree", LINUX, "--tree", NEXT)
    assert text.exit_code == 1
    out = text.stdout
    i1, i2, isum = (out.index("[PATCH 1/2] mm: reset"), out.index("[PATCH 2/2] mm: let other"),
                    out.index("series summary"))
    assert i1 < i2 < isum
    assert "introduced   mm/page_alloc.c:" in out[i2:isum] and "introduced" not in out[i1:i2].replace(
        "introduced 0", "")


def test_several_patch_arguments_make_one_series(tmp_path):
    """`porter review 1.patch 2.patch` reads the two as one series in argument order, as porter apply does:
    the same answer as one mbox holding both. -p and --file reach the intake as in apply."""
    p1, p2, d1 = _demo_series()
    (tmp_path / "1.patch").write_text(p1)
    (tmp_path / "2.patch").write_text(p2)
    (tmp_path / "both.mbox").write_text(p1 + p2)
    _, split = review_json(str(tmp_path / "1.patch"), str(tmp_path / "2.patch"), "--tree", LINUX, code=1)
    _, whole = review_json(str(tmp_path / "both.mbox"), "--tree", LINUX, code=1)
    assert split["source"] == f"{tmp_path / '1.patch'} {tmp_path / '2.patch'}"
    for doc in (split, whole):
        for t in doc["trees"]:
            t.pop("seconds", None)
    assert split["patches"] == whole["patches"] and split["trees"] == whole["trees"]
    assert [p["number"] for p in split["patches"]] == ["1/2", "2/2"]
    # -p0: a diff whose names carry no a/ b/ prefix.
    bare = d1.replace("a/mm/", "mm/").replace("b/mm/", "mm/")
    (tmp_path / "p0.diff").write_text(bare)
    _, doc = review_json(str(tmp_path / "p0.diff"), "-p", "0", "--tree", LINUX, "--no-rules", code=0)
    assert [p["status"] for p in placements(doc, "linux", 0)] == ["placed"]


def test_quoted_reply(tmp_path):
    _, _, d1 = _demo_series()
    quoted = "".join(f"> {ln}\n" if ln else ">\n" for ln in d1.splitlines())
    mail = ("From: Reviewer <rev@example.org>\nSubject: Re: [PATCH v2 1/2] mm: reset the KASAN tag\n\n"
            "On Mon, 1 Oct 2018, A U Thor wrote:\n" + quoted + "\nLooks right to me, but see linux-next.\n")
    (tmp_path / "reply.eml").write_text(mail)
    _, doc = review_json(str(tmp_path / "reply.eml"), "--tree", LINUX, "--tree", NEXT, code=0)
    assert any("quoted" in n for n in doc["notes"])
    for label in ("linux", "linux-next"):
        (p,) = placements(doc, label)
        assert p["function"] == "__init_single_page" and p["status"] == "placed"
        assert tree(doc, label)["lint"]["introduced"] == []


def test_refusal_names_reason_and_fails(tmp_path):
    bogus = ("diff --git a/mm/page_alloc.c b/mm/page_alloc.c\n--- a/mm/page_alloc.c\n+++ b/mm/page_alloc.c\n"
             "@@ -10,3 +10,4 @@ static int no_such_function(void)\n"
             " \tint no_such_context_one;\n+\tint added;\n \tint no_such_context_two;\n"
             " \tint no_such_context_three;\n")
    (tmp_path / "bogus.diff").write_text(bogus)
    r, doc = review_json(str(tmp_path / "bogus.diff"), "--tree", LINUX, "--tree", NEXT, code=1)
    for label in ("linux", "linux-next"):
        (p,) = placements(doc, label)
        assert p["status"] == "refused" and p["reason"]
        t = tree(doc, label)
        assert t["verdict"] == "FAIL" and t["lint"]["checked"] is False
    assert doc["common_patch"] is False
    text = run("review", str(tmp_path / "bogus.diff"), "--tree", LINUX).stdout
    assert "REFUSED" in text and "1 of 1 hunk refused" in text


def test_bad_input_exit_2(tmp_path):
    r = run("review", str(tmp_path / "missing.mbox"), "--tree", LINUX)
    assert r.exit_code == 2
    (tmp_path / "empty.txt").write_text("no patch here\n")
    assert run("review", str(tmp_path / "empty.txt"), "--tree", LINUX).exit_code == 2
    assert run("review", str(SEED), "--tree", str(tmp_path)).exit_code == 2  # not a kernel tree
    assert run("review", str(SEED), "--tree", LINUX, "--rules", str(tmp_path / "nope")).exit_code == 2


def test_verify_runs_porter_verify_per_tree(monkeypatch):
    from porter.verify import runner

    calls = []

    def fake_run(*, tree, kernel, base, patch, build_dir, opts, progress):
        # review hands over the placement it made (porter's ladder), not a patch for another tool to apply
        assert isinstance(patch, runner.PortedPatch)
        calls.append((tree, b"".join(v for v in patch.after.values() if v).decode(), patch.hunks))
        return [runner.Side(label="before", tree=tree), runner.Side(label="after", tree=tree)]

    monkeypatch.setattr(runner, "run", fake_run)
    r, doc = review_json(str(SEED), "--tree", LINUX, "--tree", NEXT, "--verify", code=1)
    assert [c[0].resolve() for c in calls] == [(DEMO / "linux").resolve(), (DEMO / "linux-next").resolve()]
    assert all("memmap_init_zone_device" in text for _, text, _ in calls)
    assert all(hunks and all(h["status"] == "placed" for h in hunks) for _, _, hunks in calls)
    for label in ("linux", "linux-next"):
        v = tree(doc, label)["verify"]
        assert v["verdict"] == "FAIL" and [s["label"] for s in v["sides"]] == ["before", "after"]
        assert tree(doc, label)["verdict"] == "FAIL"


# ---------------------------------------------------------------------------------------------- real trees

def _api_review(patch, *trees):
    """porter.review.review through its Python API (what the command runs), with the default rules."""
    from porter.intake import parse_series, read_input
    from porter.lint import load_rules
    from porter.review import review
    from porter.tree import open_tree

    return review(parse_series(read_input(str(patch)), str(patch)), [open_tree(str(t)) for t in trees],
                  load_rules(), source=str(patch))


@pytest.mark.realtree
def test_real_trees_6_1_patch_on_6_1_and_6_12(linux_6_1, linux_6_12, tmp_path):
    path = "mm/page_alloc.c"
    old = (linux_6_1 / path).read_bytes()
    src = old.decode()
    anchor = "\tunsigned long start = jiffies;\n\tint nid = pgdat->node_id;\n"
    assert src.count(anchor) == 1
    new = src.replace(anchor, anchor + "\tunsigned long nr_init = 0;\n").encode()
    diff = "".join(file_diff(path, old, new))
    # git names the enclosing function in the hunk header; file_diff does not
    diff = re.sub(r"^(@@ [^@]+ @@)$", r"\1 void __ref memmap_init_zone_device(struct zone *zone,", diff, flags=re.M)
    (tmp_path / "p.diff").write_text(diff)
    t0 = time.monotonic()
    rv = _api_review(tmp_path / "p.diff", linux_6_1, linux_6_12)  # one review, rendered twice below
    seconds = time.monotonic() - t0
    doc = json.loads(to_json(rv))
    assert doc["verdict"] == "PASS"
    l61, l612 = (t["label"] for t in doc["trees"])
    (p61,) = placements(doc, l61)
    (p612,) = placements(doc, l612)
    assert (p61["target_file"], p61["rung"], p61["function"]) == ("mm/page_alloc.c", "exact", "memmap_init_zone_device")
    assert (p612["target_file"], p612["rung"], p612["function"]) == \
        ("mm/mm_init.c", "function-anchor", "memmap_init_zone_device")
    assert "moved: mm/page_alloc.c -> mm/mm_init.c" in p612["notes"]
    mm_init = (linux_6_12 / "mm" / "mm_init.c").read_text().splitlines()
    assert mm_init[p612["line"] - 2].strip() == "int nid = pgdat->node_id;"  # the added line follows it
    assert doc["common_patch"] is False  # different files: no single patch for both
    assert doc["split_files"] == [f"mm/page_alloc.c hunk 1 lands in mm/page_alloc.c ({l61}), mm/mm_init.c ({l612})"]
    t61, t612 = tree(doc, l61), tree(doc, l612)
    assert t61["verdict"] == t612["verdict"] == "PASS"
    assert {r["status"] for r in t61["rules"]} == {"holds"}
    rules612 = {r["id"]: r for r in t612["rules"]}
    assert rules612[STATIC]["status"] == "pre-existing"
    assert rules612[STATIC]["before"] == rules612[STATIC]["after"] == 2 and rules612[STATIC]["introduced"] == 0
    assert rules612[REGION]["status"] == rules612[SITE]["status"] == "holds"
    assert t612["lint"]["introduced"] == []
    assert {(f["rule_id"], f["path"]) for f in t612["lint"]["unchanged"]} == \
        {(STATIC, "mm/mm_init.c"), (STATIC, "mm/internal.h")}
    text = to_text(rv)
    assert re.search(r"pre-existing\s+mm/mm_init\.c:\d+: warning: .*\[zone-device/init-single-page-static\]", text)
    assert re.search(r"zone-device/init-single-page-static\s+holds\s+pre-existing", text)
    print(f"real-tree review: {seconds:.1f}s (plan {doc['seconds']['plan']}s, lint {doc['seconds']['lint']}s)")
    assert seconds < 60


def test_git_ref_tree_and_verify_skips_it(tmp_path, monkeypatch):
    """A tree given as a git ref is read from objects (no checkout); --verify builds directory trees only."""
    import shutil
    import subprocess

    from porter.verify import runner

    repo = tmp_path / "repo"
    shutil.copytree(DEMO / "linux-next", repo)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "linux-next"],
                 ["branch", "next"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    (repo / "mm" / "page_alloc.c").write_text("/* the work tree differs from the ref */\n")
    built = []
    monkeypatch.setattr(runner, "run", lambda **kw: built.append(kw["tree"]) or [])
    r = run("review", str(SEED), "--tree", LINUX, "--tree", "next", "--format", "json", "--verify", cwd=repo)
    doc = json.loads(r.stdout)
    (ref,) = [t for t in doc["trees"] if t["tree"] == "next"]
    assert ref["hunks_placed"] == ref["hunks"] == 7 and ref["lint"]["introduced"] == []
    assert ref["verify"]["verdict"] == "SKIPPED" and "git ref" in ref["verify"]["error"]
    assert doc["common_patch"] is True
    assert [p.resolve() for p in built] == [(DEMO / "linux").resolve()]  # the directory tree only


def test_tree_missing_the_file_is_that_trees_error(tmp_path):
    """A tree without a file the patch changes (and without its functions anywhere) fails alone; the other
    trees are still reviewed, and no common patch is claimed."""
    import shutil

    bare = tmp_path / "linux-next"
    shutil.copytree(DEMO / "linux-next", bare)
    (bare / "mm" / "hmm.c").unlink()
    r, doc = review_json(str(SEED), "--tree", LINUX, "--tree", str(bare), code=1)
    ok, broken = tree(doc, "linux"), tree(doc, "linux-next")  # long paths are labelled by their last component
    assert ok["verdict"] == "PASS" and ok["hunks_placed"] == 7
    assert broken["verdict"] == "FAIL" and "mm/hmm.c" in broken["error"]
    assert doc["common_patch"] is False and "not every tree" in doc["common_reason"]
    text = run("review", str(SEED), "--tree", LINUX, "--tree", str(bare)).stdout
    assert "ERROR" in text and "mm/hmm.c" in text


@pytest.mark.realtree
def test_real_trees_5_10_patch_renamed_and_moved(linux_5_10, linux_6_1, linux_6_12, tmp_path):
    """A 5.10 patch inside memmap_init_zone: on 6.1 it lands in the renamed memmap_init_range (same file, context
    unchanged); on 6.12 the function was renamed and moved to mm/mm_init.c, and the review says both."""
    path = "mm/page_alloc.c"
    old = (linux_5_10 / path).read_bytes()
    src = old.decode()
    anchor = "\tunsigned long pfn, end_pfn = start_pfn + size;\n\tstruct page *page;\n"
    assert src.count(anchor) == 1
    new = src.replace(anchor, anchor + "\tunsigned long nr_initialised = 0;\n").encode()
    diff = re.sub(r"^(@@ [^@]+ @@)$", r"\1 void __meminit memmap_init_zone(unsigned long size, int nid,",
                  "".join(file_diff(path, old, new)), flags=re.M)
    (tmp_path / "p.diff").write_text(diff)
    r, doc = review_json(str(tmp_path / "p.diff"), "--tree", str(linux_5_10), "--tree", str(linux_6_1),
                         "--tree", str(linux_6_12), code=0)
    l510, l61, l612 = (t["label"] for t in doc["trees"])
    assert placements(doc, l510)[0]["function"] == "memmap_init_zone"
    (p61,) = placements(doc, l61)
    assert (p61["status"], p61["target_file"], p61["function"]) == ("placed", "mm/page_alloc.c", "memmap_init_range")
    assert "the patch names memmap_init_zone()" in p61["notes"]
    (p612,) = placements(doc, l612)
    assert (p612["status"], p612["target_file"], p612["function"], p612["rung"]) == \
        ("placed", "mm/mm_init.c", "memmap_init_range", "renamed")
    assert "moved: mm/page_alloc.c -> mm/mm_init.c" in p612["notes"]
    assert "renamed: memmap_init_zone() -> memmap_init_range()" in p612["notes"]
    assert all(tree(doc, label)["verdict"] == "PASS" for label in (l510, l61, l612))
    assert tree(doc, l612)["lint"]["checked"] is True
    assert doc["common_patch"] is False  # one file in 5.10/6.1, another in 6.12: no one patch fits all


def test_prefiltered_tree_answers_like_the_tree():
    """review routes placement's whole-word searches through the lint prefilter: same answers as Tree.grep_files
    (every keyword it takes, so a change to Tree's API shows up here)."""
    import inspect

    from porter.lint.words import WordIndex
    from porter.review import _PrefilteredTree
    from porter.tree import Tree, open_tree

    t = open_tree(LINUX)
    proxy = _PrefilteredTree(t, WordIndex(t, use_disk=False))
    params = set(inspect.signature(Tree.grep_files).parameters) - {"self"}
    assert params <= set(inspect.signature(_PrefilteredTree.grep_files).parameters)
    for args, kw in [((["memmap_init_zone"],), {}), ((["memmap_init_zone", "hmm_devmem_pages_create"],), {}),
                     ((["memmap_init_zone"],), {"suffixes": (".c",)}), ((["page"],), {"under": "mm"}),
                     ((["page"],), {"under": "kernel/"}), ((["__init_single_page"],), {"paths": ["mm/page_alloc.c"]})]:
        if "under" in kw and "under" not in params:
            continue
        assert proxy.grep_files(*args, **kw) == t.grep_files(*args, **kw), (args, kw)
