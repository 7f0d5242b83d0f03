"""One parametrised test over fixtures/placement/<rung>/<case>/: a minimal tree, a patch, the expected outcome
of every hunk (expected.toml). Known failures live in fixtures/placement/failing/<case>/ with the outcome porter
gives today (`current`) beside the right one (`ideal`); the test asserts `current`, so a change shows.

Where a case says `git = "applies"` or `"fails"`, `git apply --check` is run on the same tree and must agree:
git defines diff semantics (a hunk without trailing context applies only at the end of the file)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from porter.intake import parse_series
from porter.porting import Porter
from porter.tree import open_tree

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "placement"
CASES = sorted(p.parent for p in ROOT.glob("*/*/expected.toml"))


GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}


def _with_preimage(case: Path, tree: Path) -> None:
    """A case with preimage/: the tree becomes a repository that also holds the pre-image blobs the patch's
    `index` line names (a clone with both trees), as the 3-way rung needs."""
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "target"]):
        subprocess.run(["git", *args], cwd=tree, env=env, check=True, capture_output=True)
    for blob in sorted(p for p in (case / "preimage").rglob("*") if p.is_file()):
        subprocess.run(["git", "hash-object", "-w", str(blob)], cwd=tree, env=env, check=True, capture_output=True)


def _outcomes(case: Path, tmp_path: Path) -> tuple[list[dict], Path]:
    tree = tmp_path / "tree"
    shutil.copytree(case / "tree", tree)
    if (case / "preimage").is_dir():
        _with_preimage(case, tree)
    series = parse_series((case / "patch.diff").read_bytes(), str(case / "patch.diff"))
    result = Porter(open_tree(str(tree), require_kernel=False)).run(series)
    got = []
    for o in result.outcomes:
        r = o.result
        if o.placed:
            got.append({"status": "already-applied" if r.already_applied else "placed", "rung": str(r.rung),
                        "file": r.file, "line": r.start + 1, "evidence": r.evidence})
        else:
            got.append({"status": "refused", "reason": str(r.code), "text": r.reason})
    return got, tree


def _check(want: dict, got: dict) -> None:
    for key in ("status", "rung", "file", "line", "reason"):
        if key in want:
            assert got.get(key) == want[key], (key, got)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_placement_fixture(case: Path, tmp_path: Path):
    spec = tomllib.loads((case / "expected.toml").read_text())
    got, tree = _outcomes(case, tmp_path)
    wants = spec["hunks"] if case.parent.name != "failing" else [h["current"] for h in spec["hunks"]]
    assert len(got) == len(wants), got
    for want, outcome in zip(wants, got):
        _check(want, outcome)
        if "git" in want:
            proc = subprocess.run(["git", "apply", "--check", str(case / "patch.diff")], cwd=tree,
                                  capture_output=True)
            assert (proc.returncode == 0) == (want["git"] == "applies"), proc.stderr


def test_every_rung_has_an_accept_and_a_refuse_case():
    by_rung: dict[str, set[str]] = {}
    for case in CASES:
        if case.parent.name != "failing":
            by_rung.setdefault(case.parent.name, set()).add(case.name.split("-", 1)[0])
    assert by_rung and all(kinds >= {"accept", "refuse"} for kinds in by_rung.values()), by_rung
