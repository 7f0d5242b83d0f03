"""porter apply on real Debian kernel trees: functions that moved to another file or were renamed."""

from __future__ import annotations

import subprocess

import pytest

from porter.write.patchfile import file_diff
from tests.helpers import apply_dry, as_mail

pytestmark = pytest.mark.realtree


def patch_inside(tree, path: str, signature_start: str, after_line: str, new_line: str) -> str:
    """A patch written against `tree`: insert `new_line` after the first line equal to `after_line` inside the
    function whose definition starts with `signature_start` (a real kernel function, real context)."""
    old = (tree / path).read_bytes()
    lines = old.decode().splitlines(keepends=True)
    start = next(i for i, ln in enumerate(lines) if ln.startswith(signature_start))
    at = next(i for i in range(start, len(lines)) if lines[i].rstrip("\n") == after_line)
    new = lines[:at + 1] + [new_line + "\n"] + lines[at + 1:]
    body = "".join(file_diff(path, old, "".join(new).encode()))
    return as_mail(body, "mm: trace ZONE_DEVICE init")


def test_memmap_init_zone_device_moves_from_page_alloc_to_mm_init(tmp_path, linux_6_1, linux_6_12):
    text = patch_inside(linux_6_1, "mm/page_alloc.c", "void __ref memmap_init_zone_device(",
                        "\tint nid = pgdat->node_id;",
                        '\tpr_debug("porter: init %lu pages\\n", nr_pages);')
    res, doc, out = apply_dry(tmp_path, text, linux_6_12)
    assert res.exit_code == 0, res.stdout
    (h,) = doc["trees"][0]["hunks"]
    assert h["file"] == "mm/page_alloc.c" and h["target_file"] == "mm/mm_init.c"
    assert h["rung"] == "function-anchor" and "memmap_init_zone_device() moved" in h["evidence"]
    ported = out.read_text()
    assert "+++ b/mm/mm_init.c" in ported and "page_alloc.c" not in ported.split("---\n", 1)[1]
    check = subprocess.run(["git", "apply", "--check", str(out)], cwd=linux_6_12, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    # The inserted line sits inside memmap_init_zone_device in mm_init.c, right after the same declaration.
    src = (linux_6_12 / "mm/mm_init.c").read_text().splitlines()
    line = h["line"]
    fn_start = max(i for i, ln in enumerate(src) if ln.startswith("void __ref memmap_init_zone_device("))
    assert fn_start < line < fn_start + 30


@pytest.mark.parametrize("target, target_file, moved", [
    # 6.1: same file; right after the pageblock alignment test, which 6.1 rewrote (IS_ALIGNED ->
    # pageblock_aligned): the context no longer matches, and the function the hunk names no longer exists.
    ("linux_6_1", "mm/page_alloc.c", ""),
    # 6.12: the seed's function across both drifts at once, renamed and moved to mm/mm_init.c. A plain diff (no
    # pre-image blob): the renamed rung finds it through the files holding the hunk's identifiers.
    ("linux_6_12", "mm/mm_init.c", " in mm/mm_init.c"),
])
def test_memmap_init_zone_renamed_to_memmap_init_range(tmp_path, linux_5_10, request, target, target_file, moved):
    tree = request.getfixturevalue(target)
    text = patch_inside(linux_5_10, "mm/page_alloc.c", "void __meminit memmap_init_zone(",
                        "\t\t\tcond_resched();", "\t\t\tporter_seen++;")
    res, doc, out = apply_dry(tmp_path, text, tree)
    assert res.exit_code == 0, res.stdout
    (h,) = doc["trees"][0]["hunks"]
    assert h["target_file"] == target_file and h["rung"] == "renamed", h
    assert f"memmap_init_zone() renamed to memmap_init_range(){moved}" in h["evidence"]
    src = (tree / target_file).read_text().splitlines()
    fn_start = next(i for i, ln in enumerate(src) if ln.startswith("void __meminit memmap_init_range("))
    assert fn_start < h["line"] < fn_start + 70
    check = subprocess.run(["git", "apply", "--check", str(out)], cwd=tree, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_unrelated_function_is_not_mistaken_for_a_rename(tmp_path, linux_6_1):
    """A hunk whose function does not exist and has no similar function is refused, naming the nearest."""
    text = patch_inside(linux_6_1, "mm/page_alloc.c", "void __meminit memmap_init_range(",
                        "\tunsigned long pfn, end_pfn = start_pfn + size;", "\tunsigned long porter_seen = 0;")
    text = text.replace("memmap_init_range", "porter_no_such_function")
    # Destroy the context so only the function rungs could place it.
    text = "\n".join(ln.replace("end_pfn", "zz_pfn") if ln.startswith(" ") else ln for ln in text.split("\n"))
    res, doc, _ = apply_dry(tmp_path, text, linux_6_1)
    assert res.exit_code == 1
    (h,) = doc["trees"][0]["hunks"]
    assert h["status"] == "refused"
