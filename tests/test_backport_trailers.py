"""Stable-tree conventions, checked against git's own cherry-pick -x / -s on the same commits."""

from __future__ import annotations

import json

import pytest

from porter.backport.trailers import (
    TrailerOptions,
    add_cherry_picked,
    add_trailer,
    decorate,
    message_id_for,
    message_ids,
)
from porter.patch import Commit
from tests.backport_repo import ENV, commit_all, git, isolated_repo
from tests.helpers import run

MESSAGES = [
    "mm: fix it\n\nLong explanation.\n\nSigned-off-by: A <a@example.org>\n",
    "mm: fix it\n\nLong explanation without trailers.\n",
    "mm: fix it\n",
    ("net: fix it\n\nFixes: 0123456789ab (\"net: broke it\")\nCc: stable@vger.kernel.org\n"
    "Signed-off-by: Stable Maint <stable@example.org>\n"),
]


@pytest.fixture()
def repo(tmp_path, monkeypatch):
    return isolated_repo(tmp_path, monkeypatch)


@pytest.mark.parametrize("message", MESSAGES)
def test_x_and_s_match_git_cherry_pick(repo, message):
    root, ids = repo
    git(root, "checkout", "-q", "-b", "src", ids["base"])
    (root / "mm" / "new.c").write_text("int x;\n")
    sha = commit_all(root, message.rstrip("\n"))
    git(root, "checkout", "-q", "-b", "dst", ids["base"])
    git(root, "cherry-pick", "-x", "-s", sha)
    expected = git(root, "log", "-1", "--format=%B", "HEAD").rstrip("\n")
    ident = f"{ENV['GIT_COMMITTER_NAME']} <{ENV['GIT_COMMITTER_EMAIL']}>"
    subject, _, body = message.rstrip("\n").partition("\n\n")
    got = decorate(Commit(subject=subject, message=body), TrailerOptions(cherry_picked=True, signoff=ident), sha=sha)
    assert (got.subject + ("\n\n" + got.message if got.message else "")).rstrip("\n") == expected


def test_signoff_not_repeated_like_git():
    full = "s\n\nbody\n\nSigned-off-by: Me <me@example.org>\n"
    assert add_trailer(full, "Signed-off-by", "Me <me@example.org>") == full


def test_cherry_picked_joins_trailer_block():
    assert add_cherry_picked("s\n\nb\n\nSigned-off-by: A <a@b>\n", "abc").endswith(
        "Signed-off-by: A <a@b>\n(cherry picked from commit abc)\n")


def test_upstream_line_and_subject_prefix_kept(repo):
    root, ids = repo
    res = run("apply", f"{ids['c2']}", "--tree", "stable-1", "--upstream", "-s", "--format", "json", cwd=root)
    assert res.exit_code == 0, res.output
    made = json.loads(res.output)["commits"][0]["trees"]["stable-1"]["commit"]
    msg = git(root, "log", "-1", "--format=%B", made)
    assert msg.startswith(f"mm: beta: multiply by 21\n\ncommit {ids['c2']} upstream.\n\nWhy c2 matters.\n")
    assert msg.rstrip("\n").endswith("Signed-off-by: Beta Author <beta@example.org>\n"
                                      "Signed-off-by: Stable Maint <stable@example.org>")


def test_link_from_message_id(repo, tmp_path):
    root, ids = repo
    mbox = git(root, "format-patch", "--stdout", "-1", ids["c3"])
    mbox = mbox.replace("Subject: [PATCH]", "Message-Id: <20240303.1234-1-gamma@example.org>\nSubject: [PATCH]", 1)
    assert message_id_for(Commit(subject="mm/gamma: subtract one more"), message_ids(mbox.encode())) == \
        "<20240303.1234-1-gamma@example.org>"
    p = tmp_path / "p.mbox"
    p.write_text(mbox)
    res = run("apply", str(p), "--tree", "stable-1", "--link", "--branch", "linked", cwd=root)
    assert res.exit_code == 0, res.output
    msg = git(root, "log", "-1", "--format=%B", "linked")
    assert msg.startswith("mm/gamma: subtract one more\n")
    assert "Link: https://lore.kernel.org/r/20240303.1234-1-gamma@example.org" in msg.splitlines()
