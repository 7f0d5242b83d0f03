"""Backporting on real trees: the seed is already upstream (in another form) in Debian 5.10 and 6.1, and five
consecutive commits of Debian's 6.1 patch series go onto 6.12 as a series that stops, continues and aborts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.backport_repo import ENV, git
from tests.helpers import SEED, run

pytestmark = pytest.mark.realtree

BENCH = Path(os.environ.get("BENCH", Path.home() / ".cache" / "porter-bench"))


# -- the seed ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["5.10", "6.1"])
def test_seed_is_already_upstream_with_evidence(version, request):
    tree = request.getfixturevalue(f"linux_{version.replace('.', '_')}")
    res = run("apply", str(SEED), "--tree", str(tree), "--dry-run", "--format", "json")
    assert res.stderr == ""  # no "no such file" error line
    assert res.exit_code == 0, res.stdout
    hunks = json.loads(res.stdout)["trees"][0]["hunks"]
    assert [h["status"] for h in hunks] == ["already-applied"] * 7
    by = {(h["file"], h["hunk"]): h for h in hunks}
    # kernel/memremap.c is gone: its hunks are judged where devm_memremap_pages() lives now, and the call the
    # patch adds is made there. Every file:line the evidence names holds what it says.
    for key in [("kernel/memremap.c", 2), ("mm/hmm.c", 2)]:
        called = [e for e in by[key]["upstream"] if e["kind"] == "called" and e["what"] == "memmap_init_zone_device"]
        assert called and called[0]["file"] == "mm/memremap.c"
        line = (tree / called[0]["file"]).read_text().splitlines()[called[0]["line"] - 1]
        assert "memmap_init_zone_device(" in line
    (defined,) = by[("mm/page_alloc.c", 1)]["upstream"]
    assert defined["kind"] == "defined" and defined["file"] == "mm/page_alloc.c"
    assert 0.3 <= defined["similarity"] < 1.0  # "how similar": an evolved form, not the same text
    line = (tree / "mm/page_alloc.c").read_text().splitlines()[defined["line"] - 1]
    assert line.startswith("void __ref memmap_init_zone_device(")
    gone = [e for e in by[("kernel/memremap.c", 1)]["upstream"] if e["kind"] == "gone"]
    assert gone and gone[0]["file"] == "mm/memremap.c"
    assert "devm_memremap_pages" in (tree / "mm/memremap.c").read_text().splitlines()[gone[0]["line"] - 1]


def test_seed_text_report_names_the_evidence(linux_6_1):
    res = run("apply", str(SEED), "--tree", str(linux_6_1), "--dry-run")
    assert res.exit_code == 0 and res.stderr == ""
    text = res.stdout
    assert "memmap_init_zone_device() is already defined at mm/page_alloc.c:" in text
    assert "memmap_init_zone_device() is already called at mm/memremap.c:" in text
    assert "=> already-applied: 7/7 hunks placed" in text


# -- a Debian 6.1 series onto 6.12 -----------------------------------------------------------------------------

def _series(version: str) -> dict:
    path = BENCH / "repos" / f"{version}.series.json"
    if not path.is_file():
        pytest.skip(f"benchmark repositories not built ({path} missing; see the bench README)")
    data = json.loads(path.read_text())
    data["by_name"] = {s["name"]: s for s in data["series"]}
    return data


FIRST = "debian/sched-autogroup-disabled.patch"
LAST = "features/x86/intel-iommu-add-option-to-exclude-integrated-gpu-only.patch"
REFUSED = "debian/add-sysctl-to-disallow-unprivileged-CLONE_NEWUSER-by-default.patch"


@pytest.fixture()
def stable_repo(tmp_path, monkeypatch):
    """A repository whose `stable-6.12` is pristine Debian 6.12 (objects borrowed from the bench repos)."""
    old, new = _series("6.1.176"), _series("6.12.107")
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    repo = tmp_path / "stable"
    git(tmp_path, "init", "-q", str(repo))
    (repo / ".git/objects/info/alternates").write_text(f"{new['repo']}/.git/objects\n")
    git(repo, "update-ref", "refs/heads/stable-6.12", new["pristine"])
    rng = f"{old['by_name'][FIRST]['before']}..{old['by_name'][LAST]['after']}"
    return repo, old, new, rng


def _statuses(out: str) -> list[str]:
    doc = json.loads(out)
    return [c["trees"]["stable-6.12"]["status"] for c in doc["commits"]]


def test_debian_61_series_onto_612_stop_continue_skip(stable_repo):
    repo, old, new, rng = stable_repo
    res = run("apply", rng, "--from", old["repo"], "--tree", "stable-6.12", "--branch", "backport", "-x",
              "--format", "json", cwd=repo)
    assert res.exit_code == 1
    assert len(json.loads(res.stdout)["commits"]) == 5
    assert _statuses(res.stdout) == ["applied", "applied", "refused", "not-attempted", "not-attempted"]
    wt = repo / ".git" / "porter-apply" / "worktrees" / "stable-6.12"
    assert (wt / "kernel/fork.c.rej").is_file()
    # The manual fix: Debian's own 6.12 version of the refused patch, instead of porter's partial result.
    fix = new["by_name"][REFUSED]
    diff = subprocess.run(["git", "diff", fix["before"], fix["after"]], cwd=new["repo"], capture_output=True,
                          check=True).stdout
    git(wt, "checkout", "-q", "--", ".")
    (wt / "kernel/fork.c.rej").unlink()
    subprocess.run(["git", "apply"], cwd=wt, input=diff, check=True)
    res = run("apply", "--continue", "--format", "json", cwd=repo)
    assert res.exit_code == 1  # the fifth commit is refused in turn
    assert _statuses(res.stdout) == ["applied", "applied", "applied-by-hand", "applied", "refused"]
    res = run("apply", "--skip", "--format", "json", cwd=repo)
    assert _statuses(res.stdout) == ["applied", "applied", "applied-by-hand", "applied", "skipped"]
    assert not (repo / ".git" / "porter-apply").exists() and not wt.exists()
    log = git(repo, "log", "--reverse", "--format=%H %an%x00%s", "stable-6.12..backport").splitlines()
    assert len(log) == 4
    originals = git(Path(old["repo"]), "log", "--reverse", "--format=%an%x00%s", rng).splitlines()
    assert [ln.split(" ", 1)[1] for ln in log] == [originals[i] for i in (0, 1, 2, 3)]
    fixed = log[2].split()[0]
    assert git(repo, "show", f"{fixed}:kernel/fork.c") == \
        git(Path(new["repo"]), "show", f"{fix['after']}:kernel/fork.c")
    assert "(cherry picked from commit" in git(repo, "log", "-1", "--format=%B", fixed)


def test_debian_61_series_onto_612_abort_restores(stable_repo):
    repo, old, _new, rng = stable_repo
    before = (git(repo, "for-each-ref"), git(repo, "worktree", "list", "--porcelain"),
              sorted(p.name for p in (repo / ".git").iterdir()))
    res = run("apply", rng, "--from", old["repo"], "--tree", "stable-6.12", cwd=repo)
    assert res.exit_code == 1
    assert git(repo, "for-each-ref") != before[0]
    res = run("apply", "--abort", cwd=repo)
    assert res.exit_code == 0
    after = (git(repo, "for-each-ref"), git(repo, "worktree", "list", "--porcelain"),
             sorted(p.name for p in (repo / ".git").iterdir() if p.name != "worktrees" or any(p.iterdir())))
    assert after == before
