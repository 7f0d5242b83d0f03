"""porter apply on the demo trees: the seed ported to linux and linux-next, refusals, partial, git refs."""

from __future__ import annotations

import json
import subprocess

from porter.place.text import norm_ws
from tests.helpers import DEMO, FIXTURES, SEED, copy_tree, fingerprint, run


def git(cwd, *args, env=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


def apply_json(*args, cwd=None):
    res = run("apply", *args, "--format", "json", cwd=cwd)
    return res, json.loads(res.stdout)


def test_seed_on_linux_places_every_hunk(tmp_path):
    tree = copy_tree("linux", tmp_path)
    res, doc = apply_json(str(SEED), "--tree", str(tree))
    assert res.exit_code == 0, res.stdout
    hunks = doc["trees"][0]["hunks"]
    assert len(hunks) == 7 and all(h["status"] == "placed" for h in hunks)
    expected = (FIXTURES / "seed" / "expected-linux" / "mm" / "page_alloc.c").read_text()
    got = (tree / "mm" / "page_alloc.c").read_text()
    assert [norm_ws(x) for x in got.splitlines()] == [norm_ws(x) for x in expected.splitlines()]


def test_seed_on_linux_next_alone_refuses_the_new_function_naming_its_slots(tmp_path):
    """In linux-next the text around both neighbours of memmap_init_zone_device changed (build_all_zonelists
    ends differently, the comment above memmap_init_zone was reworded, overlap_memmap_init sits between): its
    context anchors nowhere and no neighbour's text decides, so one tree alone refuses rather than guess; the
    planner decides with both trees (test_one_output_patch_applies_to_both_demo_trees)."""
    tree = copy_tree("linux-next", tmp_path)
    before = fingerprint(tree)
    res, doc = apply_json(str(SEED), "--tree", str(tree))
    assert res.exit_code == 1, res.stdout
    hunks = doc["trees"][0]["hunks"]
    (refused,) = [h for h in hunks if h["status"] == "refused"]
    assert refused["file"] == "mm/page_alloc.c" and refused["hunk"] == 1
    assert refused["code"] == "neighbours-undecided"
    assert "below memmap_init_zone" in refused["candidates"] and "above memmap_init_zone" in refused["candidates"]
    assert fingerprint(tree) == before


def test_one_output_patch_applies_to_both_demo_trees(tmp_path):
    out = tmp_path / "ported.mbox"
    before = {t: fingerprint(DEMO / t) for t in ("linux", "linux-next")}
    res = run("apply", str(SEED), "--tree", str(DEMO / "linux"), "--tree", str(DEMO / "linux-next"),
              "--dry-run", "--output", "-")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert {t: fingerprint(DEMO / t) for t in before} == before  # --dry-run wrote nothing
    text = res.stdout  # --output -: the patch on stdout, the report on stderr
    out.write_text(text)
    # The mail's own prefix and date are kept (the archive's date form, as git reads it).
    assert text.startswith("From ") and "Subject: [PATCH 3/4] mm: Defer ZONE_DEVICE page initialization" in text
    assert "Date: Wed, 12 Sep 2018 11:48:28 -0500" in text
    assert "From: Alexander Duyck" in text and "files changed" in text
    for t in ("linux", "linux-next"):
        proc = subprocess.run(["git", "apply", "--check", str(out)], cwd=DEMO / t, capture_output=True, text=True)
        assert proc.returncode == 0, (t, proc.stderr)
    # Both trees get the new function at the same relation: below memmap_init_zone.
    for t in ("linux", "linux-next"):
        work = copy_tree(t, tmp_path / f"applied-{t}")
        subprocess.run(["git", "apply", str(out)], cwd=work, check=True)
        body = (work / "mm" / "page_alloc.c").read_text()
        assert body.index("void __meminit memmap_init_zone(") < body.index("memmap_init_zone_device(struct zone")


def test_already_applied_is_reported_not_reapplied(tmp_path):
    tree = copy_tree("linux", tmp_path)
    assert run("apply", str(SEED), "--tree", str(tree)).exit_code == 0
    after_first = fingerprint(tree)
    res, doc = apply_json(str(SEED), "--tree", str(tree))
    assert res.exit_code == 0
    assert {h["status"] for h in doc["trees"][0]["hunks"]} == {"already-applied"}
    assert doc["trees"][0]["status"] == "already-applied"
    assert fingerprint(tree) == after_first


def test_reapplying_the_seed_after_the_two_tree_port_writes_nothing_twice(tmp_path):
    """issue 10: the seed, ported onto both trees (below memmap_init_zone in linux-next), applied again on
    linux-next: every hunk is already applied — memmap_init_zone_device is found defined with the same body,
    the memmap_init_zone hunk's post-image stands with its drifted trailing context — and nothing is written."""
    trees = [copy_tree(t, tmp_path) for t in ("linux", "linux-next")]
    res = run("apply", str(SEED), "--tree", str(trees[0]), "--tree", str(trees[1]))
    assert res.exit_code == 0, res.stdout
    after_first = fingerprint(trees[1])
    res, doc = apply_json(str(SEED), "--tree", str(trees[1]))
    assert res.exit_code == 0, res.stdout
    assert {h["status"] for h in doc["trees"][0]["hunks"]} == {"already-applied"}
    assert fingerprint(trees[1]) == after_first
    text = (trees[1] / "mm" / "page_alloc.c").read_text()
    assert text.count("memmap_init_zone_device(struct zone *zone") == 1


def _dup_tree(tmp_path):
    """A tree where a hunk's whole context occurs twice in a file, outside any named function."""
    tree = copy_tree("linux", tmp_path)
    block = "\nstatic int twin_a;\nstatic int twin_b;\nstatic int twin_c;\nstatic int twin_d;\nstatic int twin_e;\n"
    p = tree / "mm" / "hmm.c"
    p.write_text(p.read_text() + block + "\n/* gap */\n" + block)
    patch = tmp_path / "twin.patch"
    patch.write_text("diff --git a/mm/hmm.c b/mm/hmm.c\n--- a/mm/hmm.c\n+++ b/mm/hmm.c\n"
                     "@@ -9000,5 +9000,6 @@\n static int twin_a;\n static int twin_b;\n"
                     " static int twin_c;\n+static int twin_x;\n static int twin_d;\n static int twin_e;\n")
    return tree, patch


def test_ambiguous_context_is_refused_naming_both_places(tmp_path):
    tree, patch = _dup_tree(tmp_path)
    before = fingerprint(tree)
    res, doc = apply_json(str(patch), "--tree", str(tree))
    assert res.exit_code == 1
    h = doc["trees"][0]["hunks"][0]
    assert h["status"] == "refused" and "2 places" in h["reason"] and len(h["candidates"]) == 2
    assert fingerprint(tree) == before


def test_partial_writes_placed_hunks_and_rej(tmp_path):
    tree, patch = _dup_tree(tmp_path)
    good = ("diff --git a/kernel/memremap.c b/kernel/memremap.c\n--- a/kernel/memremap.c\n+++ b/kernel/memremap.c\n")
    lines = (tree / "kernel" / "memremap.c").read_text().splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.startswith("void *devm_memremap_pages("))
    good += f"@@ -{i + 1},3 +{i + 1},4 @@\n" + "".join(f" {ln}\n" for ln in lines[i:i + 2]) + \
        "+\t/* partial */\n" + f" {lines[i + 2]}\n"
    patch.write_text(patch.read_text() + good)
    before = fingerprint(tree)
    res = run("apply", str(patch), "--tree", str(tree))
    assert res.exit_code == 1
    assert fingerprint(tree) == before  # all-or-nothing without --partial
    res = run("apply", str(patch), "--tree", str(tree), "--partial")
    assert res.exit_code == 1
    assert "/* partial */" in (tree / "kernel" / "memremap.c").read_text()
    assert "+static int twin_x;" in (tree / "mm" / "hmm.c.rej").read_text()


def test_git_ref_target_commits_on_new_branch_without_checkout(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    git(repo, "init", "-q", "-b", "main", env=env)
    subprocess.run(["cp", "-r", str(DEMO / "linux") + "/.", str(repo)], check=True)
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-qm", "linux", env=env)
    git(repo, "branch", "next", env=env)
    (repo / "Makefile").write_text((repo / "Makefile").read_text() + "# local edit\n")  # a dirty checkout
    head = git(repo, "rev-parse", "HEAD")
    status = git(repo, "status", "--porcelain")
    res = run("apply", str(SEED), "--tree", "next", "--branch", "porter/seed", cwd=repo)
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "on branch porter/seed" in res.stdout
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == status
    log = git(repo, "log", "-1", "--format=%an|%s|%B", "porter/seed")
    assert log.startswith("Alexander Duyck|mm: Defer ZONE_DEVICE page initialization")
    assert "Signed-off-by: Alexander Duyck" in log
    shown = git(repo, "show", "porter/seed:mm/page_alloc.c")
    assert "memmap_init_zone_device(struct zone *zone" in shown
    assert git(repo, "rev-parse", "porter/seed^") == git(repo, "rev-parse", "next")


def test_configured_tree_name_from_porter_toml(tmp_path):
    copy_tree("linux", tmp_path)
    (tmp_path / "porter.toml").write_text('[trees]\nnext = "linux"\n')
    res = run("apply", str(SEED), "--tree", "next", "--dry-run", cwd=tmp_path)
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "tree next:" in res.stdout


def test_added_lines_using_undefined_names_are_flagged_and_refused_with_strict(tmp_path):
    tree = copy_tree("linux", tmp_path)
    lines = (tree / "kernel" / "memremap.c").read_text().splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.startswith("void *devm_memremap_pages("))
    body = "".join(f" {ln}\n" for ln in lines[i + 1:i + 4])
    tail = f" {lines[i + 4]}\n"  # trailing context: without it git (and porter) apply only at end of file
    patch = tmp_path / "undefined.patch"
    patch.write_text("--- a/kernel/memremap.c\n+++ b/kernel/memremap.c\n"
                     f"@@ -{i + 2},4 +{i + 2},5 @@ {lines[i]}\n{body}+\tporter_undefined_helper(pgmap);\n{tail}")
    before = fingerprint(tree)
    res, doc = apply_json(str(patch), "--tree", str(tree), "--dry-run")
    assert res.exit_code == 0
    assert any("porter_undefined_helper" in n and "does not define" in n for n in doc["trees"][0]["notes"])
    res, doc = apply_json(str(patch), "--tree", str(tree), "--strict")
    assert res.exit_code == 1
    assert "--strict" in doc["trees"][0]["hunks"][0]["reason"]
    assert fingerprint(tree) == before
