"""porter apply with commits as input, on a generated repository (tests/backport_repo.py): revisions read from
git, a series onto git refs that stops, skips, continues and aborts like git am, directories all-or-nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from porter.backport.revisions import is_revision, read_revision
from tests.backport_repo import git, isolated_repo
from tests.helpers import fingerprint, run


@pytest.fixture()
def repo(tmp_path, monkeypatch):
    return isolated_repo(tmp_path, monkeypatch)


def refs_and_worktrees(root: Path) -> tuple[str, str, dict]:
    """Everything --abort must restore: refs, registered worktrees, the checkout's files."""
    refs = git(root, "for-each-ref", "--format=%(refname) %(objectname)")
    wts = git(root, "worktree", "list", "--porcelain")
    files = {k: v for k, v in fingerprint(root).items() if not k.startswith(".git/")}
    return refs, wts, files


def branch_log(root: Path, rng: str) -> list[dict]:
    out = git(root, "log", "--reverse", "--format=%an <%ae>%x00%aD%x00%B%x01", rng)
    rows = []
    for entry in out.split("\x01"):
        if entry.strip():
            author, date, body = entry.strip("\n").split("\x00")
            rows.append({"author": author, "date": date, "message": body.strip()})
    return rows


def test_revision_reader_full_blob_ids_and_metadata(repo):
    root, ids = repo
    rev = read_revision(root, ids["c2"])
    assert rev.commit.subject == "mm: beta: multiply by 21"
    assert rev.commit.author == "Beta Author <beta@example.org>"
    assert rev.commit.message.startswith("Why c2 matters.")
    fp = rev.commit.files[0]
    # The parent's blob, in full, from the repository it lives in: the ladder's pre-image.
    assert fp.old_index == git(root, "rev-parse", f"{ids['c1']}:mm/a.c").strip()
    assert fp.blob_repo == str(root)
    # The same diff git shows.
    shown = git(root, "show", "--format=", ids["c2"])
    assert [ln.kind + ln.text for ln in fp.hunks[0].lines] == \
        [ln for ln in shown.split("\n") if ln and ln[0] in " +-" and not ln.startswith(("---", "+++"))]


def test_is_revision_only_when_not_a_file(repo, tmp_path):
    root, ids = repo
    assert is_revision("base..mainline", root, root)
    assert is_revision("-2", root, root)
    assert is_revision(ids["c1"][:10], root, root)
    assert not is_revision("no-such-ref", root, root)
    (root / "mainline").write_text("a file wins over a ref of the same name\n")
    assert not is_revision("mainline", root, root)
    assert not is_revision("base..nope", root, root)


def test_series_onto_ref_commits_each_with_author_date_message(repo):
    root, ids = repo
    res = run("apply", "base..mainline", "--tree", "stable-1", "--format", "json", cwd=root)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    statuses = [c["trees"]["stable-1"]["status"] for c in doc["commits"]]
    assert statuses == ["applied", "applied", "applied", "already-applied"]
    branch = doc["notes"]["stable-1"][0].split()[1].rstrip(":")
    made = branch_log(root, f"stable-1..{branch}")
    orig = branch_log(root, f"{ids['base']}..{ids['c3']}")
    assert made == orig  # one commit per applied commit, same author, date and message
    # The content is what git cherry-pick gives.
    git(root, "checkout", "-q", "-b", "cp", "stable-1")
    git(root, "cherry-pick", ids["c1"], ids["c2"], ids["c3"])
    assert git(root, "rev-parse", "cp^{tree}") == git(root, "rev-parse", f"{branch}^{{tree}}")
    assert not (Path(git(root, "rev-parse", "--git-common-dir").strip()) / "porter-apply").exists()


def test_stop_skip_and_the_rest_goes_on(repo):
    root, ids = repo
    res = run("apply", "base..mainline", "--tree", "stable-2", cwd=root)
    assert res.exit_code == 1
    state = root / ".git" / "porter-apply"
    wt = state / "worktrees" / "stable-2"
    assert (state / "state.json").is_file() and (wt / "mm/a.c.rej").is_file()
    # One line says where to fix it and how to go on.
    stop = [ln for ln in res.output.splitlines() if "stopped at" in ln and str(wt) in ln]
    assert len(stop) == 1 and "--continue" in stop[0] and ids["c2"][:12] in stop[0]
    # A second series cannot start over a stopped one.
    again = run("apply", "base..mainline", "--tree", "stable-2", cwd=root)
    assert again.exit_code == 2 and "in progress" in again.stderr
    res = run("apply", "--skip", "--format", "json", cwd=root)
    assert res.exit_code == 1, res.output  # the rest applied, but a skipped commit is not an applied one
    doc = json.loads(res.output)
    assert [c["trees"]["stable-2"]["status"] for c in doc["commits"]] == \
        ["applied", "skipped", "applied", "applied"]
    assert not state.exists()
    assert str(wt) not in git(root, "worktree", "list")


def test_continue_sees_a_reject_the_user_ignores(repo):
    """A user's `*.rej` ignore rule (global excludes, info/exclude) must not let --continue commit the half of
    a commit that was placed."""
    root, ids = repo
    assert run("apply", "base..mainline", "--tree", "stable-2", cwd=root).exit_code == 1
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text("*.rej\n")
    res = run("apply", "--continue", cwd=root)
    assert res.exit_code == 2 and "mm/a.c.rej" in res.stderr


def test_continue_after_manual_fix(repo):
    root, ids = repo
    assert run("apply", "base..mainline", "--tree", "stable-2", "-x", cwd=root).exit_code == 1
    wt = root / ".git" / "porter-apply" / "worktrees" / "stable-2"
    nothing = run("apply", "--continue", cwd=root)
    assert nothing.exit_code == 2 and ".rej" in nothing.stderr  # the .rej is still there
    (wt / "mm/a.c.rej").unlink()
    unchanged = run("apply", "--continue", cwd=root)
    assert unchanged.exit_code == 2 and "nothing changed" in unchanged.stderr
    text = (wt / "mm/a.c").read_text().replace("x = beta_helper(x);", "x = beta_helper(x) * 21;")
    (wt / "mm/a.c").write_text(text)
    res = run("apply", "--continue", "--format", "json", cwd=root)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    cells = [c["trees"]["stable-2"] for c in doc["commits"]]
    assert [c["status"] for c in cells] == ["applied", "applied-by-hand", "applied", "applied"]
    fixed = cells[1]["commit"]
    assert "beta_helper(x) * 21;" in git(root, "show", f"{fixed}:mm/a.c")
    log = branch_log(root, f"{fixed}~1..{fixed}")[0]
    assert log["author"] == "Beta Author <beta@example.org>"
    assert log["message"].endswith(f"(cherry picked from commit {ids['c2']})")
    tip = cells[-1]["commit"]
    assert git(root, "show", f"{tip}:mm/a.c").count("pr_info(\"delta!\");") == 1


def test_abort_restores_refs_worktrees_and_checkout(repo):
    root, _ids = repo
    before = refs_and_worktrees(root)
    assert run("apply", "base..mainline", "--tree", "stable-2", "--tree", "stable-1", cwd=root).exit_code == 1
    assert refs_and_worktrees(root) != before
    res = run("apply", "--abort", cwd=root)
    assert res.exit_code == 0
    assert refs_and_worktrees(root) == before
    assert not (root / ".git" / "porter-apply").exists()
    assert not (root / ".git" / "worktrees").exists() or not any((root / ".git" / "worktrees").iterdir())


def test_directory_target_all_or_nothing_unless_partial(repo, tmp_path):
    root, _ids = repo
    target = tmp_path / "stable2-checkout"
    git(root, "worktree", "add", "-q", "--detach", str(target), "stable-2")
    before = fingerprint(target)
    res = run("apply", "base..mainline", "--tree", str(target), "--format", "json", cwd=root)
    assert res.exit_code == 1
    doc = json.loads(res.output)
    statuses = [c["trees"][str(target)]["status"] for c in doc["commits"]]
    assert statuses == ["not-attempted", "refused", "not-attempted", "not-attempted"]
    assert fingerprint(target) == before
    res = run("apply", "base..mainline", "--tree", str(target), "--partial", cwd=root)
    assert res.exit_code == 1
    assert (target / "mm/a.c.rej").is_file()
    text = (target / "mm/a.c").read_text()
    assert "x += 2;" in text and "x -= 301;" in text and "pr_info(\"delta!\");" in text


def test_from_other_repository_and_count_form(repo, tmp_path):
    root, ids = repo
    other = tmp_path / "stable-only"
    git(tmp_path, "clone", "-q", "--no-local", "--single-branch", "--no-tags", "-b", "stable-2", str(root),
        str(other))
    assert git(other, "cat-file", "-t", ids["c3"], check=False) == ""  # the commits are not there
    res = run("apply", "-2", "--from", str(root), "--tree", "HEAD", "--format", "json", cwd=other)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert [c["sha"] for c in doc["commits"]] == [ids["c3"], ids["c4"]]


def test_bad_revision_is_one_error_line(repo):
    root, _ids = repo
    res = run("apply", "nope..mainline", "--tree", "stable-1", cwd=root)
    assert res.exit_code == 2 and res.stderr.startswith("porter: error:") and len(res.stderr.splitlines()) == 1
    res = run("apply", "--continue", cwd=root)
    assert res.exit_code == 2 and "no porter apply session" in res.stderr
    assert os.path.isdir(root / ".git") and not (root / ".git" / "porter-apply").exists()


def test_pre_image_comes_from_the_source_repository(repo, tmp_path):
    """The target repository does not have the parent's blob: the revision says where it is."""
    from porter.porting import Porter
    from porter.tree import open_tree
    root, ids = repo
    other = tmp_path / "stable-only"
    git(tmp_path, "clone", "-q", "--no-local", "--single-branch", "--no-tags", "-b", "stable-2", str(root),
        str(other))
    fp = read_revision(root, ids["c3"]).commit.files[0]
    assert git(other, "cat-file", "-t", fp.old_index, check=False) == ""
    porter = Porter(open_tree("HEAD", cwd=other))
    assert porter._old_source(fp) == git(root, "show", f"{ids['c2']}:mm/a.c")


def test_weak_evidence_alone_does_not_make_a_hunk_applied(repo):
    """beta() was rewritten on stable-2: the line c2 removes is gone, which alone proves nothing."""
    root, ids = repo
    res = run("apply", ids["c2"], "--tree", "stable-2", "--dry-run", "--format", "json", cwd=root)
    assert res.exit_code == 1
    (cell,) = [c["trees"]["stable-2"] for c in json.loads(res.output)["commits"]]
    (hunk,) = cell["hunks"]
    assert cell["status"] == "refused" and hunk["status"] == "refused"
    assert [e["kind"] for e in hunk["upstream"]] == ["gone"] and hunk["upstream"][0]["file"] == "mm/a.c"
