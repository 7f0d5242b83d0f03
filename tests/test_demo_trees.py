"""The demo trees (fixtures/demo/linux, fixtures/demo/linux-next) and the seed fixtures (fixtures/seed/).

These tests check the fixtures themselves, with git and GNU patch only (no porter code), so that
the placement tests built on them rest on known facts:

* seed-clean.patch (the seed's quoted, mangled patch restored) applies to demo/linux by plain context;
* it does NOT apply by plain context to demo/linux-next: only mm/page_alloc.c fails there;
* seed-ported.patch (memmap_init_zone_device moved below memmap_init_zone) applies to both trees;
* the expected-* files are exactly what those patches produce;
* memmap_init_zone exists in both trees, and the contexts differ as the porting story needs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "fixtures" / "demo"
SEEDDIR = REPO / "fixtures" / "seed"
CLEAN = SEEDDIR / "seed-clean.patch"
PORTED = SEEDDIR / "seed-ported.patch"
THREAD = SEEDDIR / "000_dbad0fc2fcc8110f.txt"
TOUCHED = ["include/linux/mm.h", "kernel/memremap.c", "mm/hmm.c", "mm/page_alloc.c"]

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
needs_patch = pytest.mark.skipif(shutil.which("patch") is None, reason="patch not installed")


def _copy(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copytree(DEMO / name, dest)
    return dest


def _git_apply(tree: Path, patch: Path, check: bool = False) -> subprocess.CompletedProcess:
    # Run outside any repository so that git apply works on plain directories.
    args = ["git", "apply", "-v"] + (["--check"] if check else []) + [str(patch)]
    return subprocess.run(args, cwd=tree, capture_output=True, text=True,
                          env={**os.environ, "GIT_CEILING_DIRECTORIES": str(tree.parent)})


def _patch_dry(tree: Path, patch: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(["patch", "-p1", "--dry-run", *extra], stdin=patch.open("rb"), cwd=tree,
                          capture_output=True, text=True)


def _read(tree: Path, rel: str) -> str:
    return (tree / rel).read_text()


def _function_span(text: str, name: str) -> tuple[int, int]:
    """1-based (first, last) line of the definition of NAME: header line to its closing brace at column 0."""
    lines = text.splitlines()
    pat = re.compile(r"^(?:[A-Za-z_].*[\s*])?" + re.escape(name) + r"\(")
    for i, line in enumerate(lines):
        if pat.match(line) and not line.rstrip().endswith(";"):
            j = i
            while not lines[j].startswith("{"):
                j += 1
            k = j + 1
            while lines[k] != "}":
                k += 1
            return i + 1, k + 1
    raise AssertionError(f"{name} not defined")


def _line_of(text: str, needle: str) -> int:
    lines = text.splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if line == needle]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


# --- (a) the clean seed applies to linux -------------------------------------------------------

@needs_git
def test_seed_clean_applies_to_linux(tmp_path):
    tree = _copy("linux", tmp_path)
    res = _git_apply(tree, CLEAN, check=True)
    assert res.returncode == 0, res.stderr
    # memremap.c sits at the stated line numbers; the others at an offset
    assert "kernel/memremap.c" in res.stderr
    assert "offset" in res.stderr


@needs_patch
def test_seed_clean_applies_to_linux_without_fuzz(tmp_path):
    tree = _copy("linux", tmp_path)
    res = _patch_dry(tree, CLEAN, "-F0")
    assert res.returncode == 0, res.stdout
    assert "fuzz" not in res.stdout


def test_seed_clean_is_the_quoted_patch_modulo_whitespace():
    """seed-clean.patch is the thread's `> > ` quoted diff with the whitespace restored, nothing else."""
    quoted = [line[4:] if line.startswith("> > ") else "" for line in THREAD.read_text().splitlines()
              if line.startswith("> >")]
    quoted = quoted[next(i for i, line in enumerate(quoted) if line.startswith("diff --git")):]
    clean = CLEAN.read_text().splitlines()
    clean = clean[next(i for i, line in enumerate(clean) if line.startswith("diff --git")):clean.index("-- ")]
    norm = [" ".join(line.split()) for line in quoted]
    # The thread ends with one bare "> >" (no newline): an empty quoted line, not part of the hunk.
    assert norm[-1] == ""
    assert norm[:-1] == [" ".join(line.split()) for line in clean]
    # and the clean copy really has kernel indentation (tabs) back
    assert "\tstruct vmem_altmap *altmap = pgmap->altmap_valid ?" in CLEAN.read_text()


# --- (b) the clean seed does not apply to linux-next by plain context -------------------------

@needs_git
def test_seed_clean_fails_git_apply_on_linux_next(tmp_path):
    tree = _copy("linux-next", tmp_path)
    res = _git_apply(tree, CLEAN, check=True)
    assert res.returncode != 0
    assert "patch failed: mm/page_alloc.c:5454" in res.stderr
    # the other three files apply at an offset
    for rel in ("include/linux/mm.h", "kernel/memremap.c", "mm/hmm.c"):
        assert f"Checking patch {rel}..." in res.stderr
        assert f"patch failed: {rel}" not in res.stderr


@needs_patch
def test_seed_clean_fails_patch_F0_on_linux_next(tmp_path):
    tree = _copy("linux-next", tmp_path)
    res = _patch_dry(tree, CLEAN, "-F0")
    assert res.returncode != 0
    assert "2 out of 2 hunks FAILED" in res.stdout
    # only page_alloc.c fails; the other hunks apply at an offset
    per_file = res.stdout.split("checking file ")
    for chunk in per_file[1:]:
        if chunk.startswith("mm/page_alloc.c"):
            assert "FAILED" in chunk
        else:
            assert "FAILED" not in chunk and "offset" in chunk


@needs_patch
def test_patch_with_default_fuzz_puts_new_function_above_memmap_init_zone(tmp_path):
    """What the seed's author saw ("applied ... with only a little bit of fuzz"): GNU patch's default
    fuzz places memmap_init_zone_device above memmap_init_zone, after overlap_memmap_init -- a
    placement that cannot be shared with linux. The correct port (seed-ported.patch) puts it below."""
    tree = _copy("linux-next", tmp_path)
    res = subprocess.run(["patch", "-p1"], stdin=CLEAN.open("rb"), cwd=tree, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout
    assert "with fuzz" in res.stdout
    text = _read(tree, "mm/page_alloc.c")
    assert _function_span(text, "memmap_init_zone_device")[0] < _function_span(text, "memmap_init_zone")[0]
    assert _function_span(text, "overlap_memmap_init")[1] < _function_span(text, "memmap_init_zone_device")[0]
    assert text != (SEEDDIR / "expected-linux-next" / "mm" / "page_alloc.c").read_text()


# --- (c) the expected files are what the patches produce -----------------------------------------

@needs_git
@pytest.mark.parametrize("tree_name,patch,expected", [
    ("linux", CLEAN, "expected-linux"),
    ("linux", PORTED, "expected-linux-ported"),
    ("linux-next", PORTED, "expected-linux-next"),
])
def test_expected_files(tmp_path, tree_name, patch, expected):
    tree = _copy(tree_name, tmp_path)
    res = _git_apply(tree, patch)
    assert res.returncode == 0, res.stderr
    assert "fuzz" not in res.stderr
    for rel in TOUCHED:
        assert _read(tree, rel) == (SEEDDIR / expected / rel).read_text(), rel


def test_expected_placement():
    """linux + seed: memmap_init_zone_device above memmap_init_zone (as the seed wrote it);
    the correct port (both trees): below memmap_init_zone, above zone_init_free_lists."""
    lin = (SEEDDIR / "expected-linux" / "mm" / "page_alloc.c").read_text()
    assert _function_span(lin, "build_all_zonelists")[1] < _function_span(lin, "memmap_init_zone_device")[0]
    assert _function_span(lin, "memmap_init_zone_device")[1] < _function_span(lin, "memmap_init_zone")[0]
    for expected in ("expected-linux-next", "expected-linux-ported"):
        text = (SEEDDIR / expected / "mm" / "page_alloc.c").read_text()
        zone_end = _function_span(text, "memmap_init_zone")[1]
        dev_first, dev_last = _function_span(text, "memmap_init_zone_device")
        assert zone_end < dev_first < dev_last < _function_span(text, "zone_init_free_lists")[0]
        assert text.count("memmap_init_zone_device(") == 1
        # the memmap_init_zone hunk landed inside memmap_init_zone
        first, last = _function_span(text, "memmap_init_zone")
        assert first < _line_of(text, "\t} else if (zone == ZONE_DEVICE) {") < last
    # the ported linux-next file differs from expected-linux only where the trees differ
    assert lin != (SEEDDIR / "expected-linux-next" / "mm" / "page_alloc.c").read_text()


def test_ported_patch_touches_same_lines_as_seed():
    """seed-ported.patch carries the same +/- lines as seed-clean.patch (only placement/context differ)."""
    def changes(p: Path) -> list[str]:
        body = p.read_text()
        body = body[body.index("diff --git"):]
        return sorted(line for line in body.splitlines()
                      if line[:1] in "+-" and not line.startswith(("+++", "---")))
    assert changes(CLEAN) == changes(PORTED)


# --- (d) the trees: memmap_init_zone in both, contexts differ as described ------------------------

LEAD = "#endif\n}\n\n"
COMMENT_LINUX = ("/*\n * Initially all pages are reserved - free ones are freed\n"
                 " * up by free_all_bootmem() once the early boot process is\n")


def test_memmap_init_zone_in_both_trees():
    for name in ("linux", "linux-next"):
        text = _read(DEMO / name, "mm/page_alloc.c")
        first, last = _function_span(text, "memmap_init_zone")
        assert text.splitlines()[first - 1].startswith("void __meminit memmap_init_zone(unsigned long size,")
        for needle in ("\t * Honor reservation requested by the driver for this ZONE_DEVICE",
                       "\tif (altmap && start_pfn == altmap->base_pfn)",
                       "\t\tstart_pfn += altmap->reserve;",
                       "\tfor (pfn = start_pfn; pfn < end_pfn; pfn++) {"):
            assert first < _line_of(text, needle) < last, (name, needle)
        # __init_single_page stays static, before memmap_init_zone
        assert "static void __meminit __init_single_page(struct page *page, unsigned long pfn,\n" in text
        assert _function_span(text, "__init_single_page")[1] < first
        # same tail of memmap_init_zone and same next definition: the shared place for the new function
        assert "\t\t}\n\t}\n}\n\nstatic void __meminit zone_init_free_lists(struct zone *zone)\n" in text


def test_new_function_hunk_contexts_differ():
    lin = _read(DEMO / "linux", "mm/page_alloc.c")
    nxt = _read(DEMO / "linux-next", "mm/page_alloc.c")
    # linux: build_all_zonelists ends "#endif / }" and the comment above memmap_init_zone follows
    assert lin.count(LEAD + COMMENT_LINUX) == 1
    assert lin[:lin.index(LEAD + COMMENT_LINUX)].rsplit("\nvoid ", 1)[1].startswith("__ref build_all_zonelists(")
    # linux-next: neither the leading nor the trailing context survives
    assert COMMENT_LINUX not in nxt
    assert "up by memblock_free_all() once the early boot process is" in nxt
    bz_first, bz_last = _function_span(nxt, "build_all_zonelists")
    nlines = nxt.splitlines()
    assert nlines[bz_last - 2] != "#endif"        # build_all_zonelists no longer ends "#endif / }"
    # ...and something new sits between build_all_zonelists and memmap_init_zone
    ov_first, ov_last = _function_span(nxt, "overlap_memmap_init")
    assert bz_last < ov_first < ov_last < _function_span(nxt, "memmap_init_zone")[0]
    # page_alloc.c functions sit at other lines in linux-next
    assert _function_span(lin, "memmap_init_zone")[0] != _function_span(nxt, "memmap_init_zone")[0]


def test_memmap_init_zone_hunk_outer_context_differs():
    """The seed's memmap_init_zone hunk: its changed lines and leading context are in both trees, but its
    last context line (the comment opening the loop body) moved in linux-next's reworked loop."""
    hunk_tail = "\tfor (pfn = start_pfn; pfn < end_pfn; pfn++) {\n\t\t/*\n"
    assert hunk_tail in _read(DEMO / "linux", "mm/page_alloc.c")
    nxt = _read(DEMO / "linux-next", "mm/page_alloc.c")
    assert hunk_tail not in nxt
    assert "\tfor (pfn = start_pfn; pfn < end_pfn; pfn++) {\n\t\tif (context == MEMMAP_EARLY) {\n" in nxt
    core = ("\n\t/*\n\t * Honor reservation requested by the driver for this ZONE_DEVICE\n\t * memory\n\t */\n"
            "\tif (altmap && start_pfn == altmap->base_pfn)\n\t\tstart_pfn += altmap->reserve;\n\n"
            "\tfor (pfn = start_pfn; pfn < end_pfn; pfn++) {\n")
    assert _read(DEMO / "linux", "mm/page_alloc.c").count(core) == 1
    assert nxt.count(core) == 1


def test_other_files_only_shifted_in_linux_next():
    """mm.h, memremap.c, hmm.c: linux-next = linux plus a few lines above the patched regions."""
    import difflib
    for rel in ("include/linux/mm.h", "kernel/memremap.c", "mm/hmm.c"):
        a = _read(DEMO / "linux", rel).splitlines()
        b = _read(DEMO / "linux-next", rel).splitlines()
        ops = [op for op in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes() if op[0] != "equal"]
        assert ops and all(op[0] == "insert" for op in ops), (rel, ops)
