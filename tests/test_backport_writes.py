"""porter apply REV onto several trees is all or nothing as patch files are, and a commit is taken as git takes
it: a mode change is a change, a merge or an empty commit is refused as git cherry-pick refuses it, a run that
commits nothing leaves no branch, and a plain diff (no author, no message) is never committed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from porter.write import journal
from tests.backport_repo import commit_all, git, isolated_repo
from tests.helpers import fingerprint, run


@pytest.fixture()
def repo(tmp_path, monkeypatch):
    return isolated_repo(tmp_path, monkeypatch)


def extract(root: Path, rev: str, dest: Path) -> Path:
    """A plain directory (no .git) holding REV's files, as `git archive REV | tar x`."""
    data = subprocess.run(["git", "archive", rev], cwd=root, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="tar")
    return dest


def refs_of(root: Path) -> str:
    return git(root, "for-each-ref", "--format=%(refname) %(objectname)")


def one_error(res) -> None:
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("porter: error:") and len(res.stderr.splitlines()) == 1, res.stderr


def statuses(output: str, tree: str) -> list[str]:
    return [c["trees"][tree]["status"] for c in json.loads(output)["commits"]]


def fail_writing_in(monkeypatch, victim: Path) -> None:
    """Renaming into VICTIM fails as in a directory the user cannot write (chmod 555 as a user)."""
    real = journal.Journal.commit

    def commit(self):
        if Path(self.root) == victim.resolve():
            raise PermissionError(13, "Permission denied", str(victim / "mm/a.c"))
        real(self)

    monkeypatch.setattr(journal.Journal, "commit", commit)


# -- 1. every directory of a run in one transaction ----------------------------------------------------------

def test_directories_are_written_together_or_not_at_all(repo, tmp_path):
    """stable-2 refuses c2: the other directory, which takes every commit, is not written either (the same
    commits as a format-patch mbox write neither tree)."""
    root, _ids = repo
    sd1 = extract(root, "stable-2", tmp_path / "sd1")
    sd2 = extract(root, "base", tmp_path / "sd2")
    before = fingerprint(sd1), fingerprint(sd2)
    res = run("apply", "base..mainline", "--tree", str(sd1), "--tree", str(sd2), "--format", "json", cwd=root)
    assert res.exit_code == 1, res.output
    assert (fingerprint(sd1), fingerprint(sd2)) == before
    assert statuses(res.output, str(sd2)) == ["not-attempted"] * 4
    assert "refused on " + str(sd1) in json.loads(res.output)["commits"][0]["trees"][str(sd2)]["reason"]
    mbox = tmp_path / "series.mbox"
    mbox.write_bytes(subprocess.run(["git", "format-patch", "--stdout", "base..mainline"], cwd=root,
                                    capture_output=True, check=True).stdout)
    assert run("apply", str(mbox), "--tree", str(sd1), "--tree", str(sd2), cwd=root).exit_code == 1
    assert (fingerprint(sd1), fingerprint(sd2)) == before


def test_failed_write_in_one_directory_restores_the_other(repo, tmp_path, monkeypatch):
    root, _ids = repo
    sd1 = extract(root, "base", tmp_path / "sd1")
    sd2 = extract(root, "base", tmp_path / "sd2")
    before = fingerprint(sd1), fingerprint(sd2)
    fail_writing_in(monkeypatch, sd2)
    res = run("apply", "base..mainline", "--tree", str(sd1), "--tree", str(sd2), cwd=root)
    one_error(res)
    assert "every tree restored" in res.stderr
    assert (fingerprint(sd1), fingerprint(sd2)) == before
    monkeypatch.undo()
    res = run("apply", "base..mainline", "--tree", str(sd1), "--tree", str(sd2), cwd=root)
    assert res.exit_code == 0, res.output
    assert res.output.count("wrote mm/a.c") == 2
    assert (sd1 / "mm/a.c").read_bytes() == (sd2 / "mm/a.c").read_bytes() == \
        git(root, "show", "mainline:mm/a.c").encode()


def test_failed_directory_write_takes_back_the_branches_of_the_run(repo, tmp_path, monkeypatch):
    """A ref and a directory: the directory cannot be written, so the branch made on the ref goes too."""
    root, _ids = repo
    sd = extract(root, "base", tmp_path / "sd")
    before = fingerprint(sd), refs_of(root)
    fail_writing_in(monkeypatch, sd)
    res = run("apply", "base..mainline", "--tree", "stable-1", "--tree", str(sd), cwd=root)
    one_error(res)
    assert "every tree restored" in res.stderr and "branches this run made are deleted" in res.stderr
    assert (fingerprint(sd), refs_of(root)) == before
    assert not (root / ".git" / "porter-apply").exists()


def test_bad_committer_is_refused_before_any_branch(repo):
    root, _ids = repo
    before = refs_of(root)
    res = run("apply", "base..mainline", "--tree", "stable-1", "--tree", "stable-2", "--committer", "nobody",
              cwd=root)
    one_error(res)
    assert refs_of(root) == before and not (root / ".git" / "porter-apply").exists()


# -- 2. a mode change is a change ------------------------------------------------------------------------

def test_mode_only_commit_is_ported_as_git_cherry_pick_does(repo, tmp_path):
    root, _ids = repo
    os.chmod(root / "mm/a.c", 0o755)
    chmod = commit_all(root, "mm: make a.c executable")
    ct = extract(root, "stable-1", tmp_path / "ct")
    res = run("apply", chmod, "--tree", str(ct), "--format", "json", cwd=root)
    assert res.exit_code == 0, res.output
    assert statuses(res.output, str(ct)) == ["applied"]
    assert os.access(ct / "mm/a.c", os.X_OK)
    res = run("apply", chmod, "--tree", "stable-1", "--branch", "ported", cwd=root)
    assert res.exit_code == 0, res.output
    git(root, "checkout", "-q", "-b", "cp", "stable-1")
    git(root, "cherry-pick", chmod)
    assert git(root, "rev-parse", "ported^{tree}") == git(root, "rev-parse", "cp^{tree}")
    # Ported again, the mode is already there.
    res = run("apply", chmod, "--tree", str(ct), "--format", "json", cwd=root)
    assert res.exit_code == 0 and statuses(res.output, str(ct)) == ["already-applied"]


# -- 3. a merge named alone ------------------------------------------------------------------------------

def test_merge_commit_as_rev_is_refused_as_git_cherry_pick_does(repo):
    root, ids = repo
    git(root, "checkout", "-q", "-b", "side", ids["base"])
    (root / "mm/b.c").write_text("int b;\n")
    commit_all(root, "mm: add b.c")
    git(root, "checkout", "-q", "mainline")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge side", "side")
    merge = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "-b", "cp", "stable-1")
    assert subprocess.run(["git", "cherry-pick", merge], cwd=root, capture_output=True).returncode != 0
    git(root, "checkout", "-q", "mainline")
    before = refs_of(root)
    res = run("apply", merge, "--tree", "stable-1", cwd=root)
    one_error(res)
    assert "merge commit" in res.stderr
    assert refs_of(root) == before
    # In a range, merges are left out (as git format-patch | git am does), and the merged commit is ported.
    res = run("apply", f"{ids['c4']}..mainline", "--tree", "stable-1", "--branch", "ported", cwd=root)
    assert res.exit_code == 0, res.output
    assert git(root, "log", "--format=%s", "stable-1..ported").split("\n")[0] == "mm: add b.c"


# -- 4. nothing to commit ------------------------------------------------------------------------------------

def test_empty_commit_alone_is_refused(repo, tmp_path):
    root, _ids = repo
    git(root, "commit", "-q", "--allow-empty", "-m", "nothing at all")
    before = refs_of(root)
    for tree in ("stable-1", str(extract(root, "stable-1", tmp_path / "d"))):
        res = run("apply", "HEAD", "--tree", tree, cwd=root)
        one_error(res)
        assert "empty" in res.stderr
    assert refs_of(root) == before


def test_series_that_commits_nothing_leaves_no_branch(repo):
    """c4 is already on stable-1 and the other commit is empty: no commit is made, so no branch is kept."""
    root, ids = repo
    git(root, "commit", "-q", "--allow-empty", "-m", "nothing at all")
    before = refs_of(root)
    res = run("apply", f"{ids['c3']}..mainline", "--tree", "stable-1", "--format", "json", cwd=root)
    assert res.exit_code == 0, res.output
    assert statuses(res.output, "stable-1") == ["already-applied", "empty"]
    assert any("no commit made" in n for n in json.loads(res.output)["notes"]["stable-1"])
    assert refs_of(root) == before


def test_skipping_the_only_commit_leaves_no_branch(repo):
    root, ids = repo
    before = refs_of(root)
    assert run("apply", ids["c2"], "--tree", "stable-2", cwd=root).exit_code == 1
    res = run("apply", "--skip", cwd=root)
    assert res.exit_code == 1 and "no commit made" in res.output
    assert refs_of(root) == before
    assert "porter-apply" not in git(root, "worktree", "list")


# -- 5. a plain diff onto a ref ------------------------------------------------------------------------------

def test_plain_diff_is_not_committed_onto_a_ref(repo, tmp_path):
    """A diff with no mail headers has no author and no message: git am refuses it, and so does porter on a
    ref (a directory takes it, as git apply does)."""
    root, ids = repo
    diff = tmp_path / "plain.diff"
    diff.write_text(git(root, "diff", ids["base"], ids["c1"]))
    git(root, "checkout", "-q", "-b", "am", "stable-1")
    assert subprocess.run(["git", "am", str(diff)], cwd=root, capture_output=True).returncode != 0
    git(root, "am", "--abort", check=False)
    git(root, "checkout", "-q", "mainline")
    before = refs_of(root)
    res = run("apply", str(diff), "--tree", "stable-1", "--branch", "ported", cwd=root)
    one_error(res)
    assert "plain diff" in res.stderr
    assert refs_of(root) == before
    d = extract(root, "stable-1", tmp_path / "d")
    assert run("apply", str(diff), "--tree", str(d), cwd=root).exit_code == 0


@pytest.mark.parametrize("signal_exc", ["interrupt", "term"])
def test_signal_before_the_directories_takes_back_the_branches(repo, tmp_path, monkeypatch, signal_exc):
    """Ctrl-C or SIGTERM once the lanes committed, before the directories were written: the run said "nothing
    was written" but kept the branch and a session whose --continue never writes the directory. Now the
    branches go, as for a failed write, and the line says so."""
    import signal

    from porter.backport import flow
    from porter.write.signals import Terminated

    root, _ids = repo
    sd = extract(root, "base", tmp_path / "sd")
    before = fingerprint(sd), refs_of(root)

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt if signal_exc == "interrupt" else Terminated(signal.SIGTERM)

    monkeypatch.setattr(flow, "_write_directories", interrupted)
    res = run("apply", "base..mainline", "--tree", "stable-1", "--tree", str(sd), cwd=root)
    assert res.exit_code == (130 if signal_exc == "interrupt" else 143), res.output
    assert res.stderr.splitlines() == [
        f"porter: {'interrupted' if signal_exc == 'interrupt' else 'terminated by SIGTERM'}; nothing was written; "
        "the branches this run made are deleted (porter/mm-alpha-add-two)"], res.stderr
    assert (fingerprint(sd), refs_of(root)) == before
    assert not (root / ".git" / "porter-apply").exists()
