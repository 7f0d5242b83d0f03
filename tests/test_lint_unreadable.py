"""`porter lint` never skips a file it cannot read in silence: each is named on stderr, the JSON result lists
them, and the exit status is 2 (the result is incomplete), however clean the files it could read are.

Root reads any file, so as root porter runs without the capabilities that bypass file permissions
(setpriv --bounding-set -dac_override,-dac_read_search): a mode-000 file is then unreadable to it too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

REGION = REPO / "fixtures" / "lint" / "forbidden-in-region"


def lint_cli(tree: Path, cache: Path, *extra: str) -> subprocess.CompletedProcess:
    return porter_cli(cache, "lint", "--tree", str(tree), "--rules", str(REGION / "rules.toml"), *extra)


def porter_cli(cache: Path, *args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "porter", *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.fail("setpriv (util-linux) is needed to drop root's read-anything capabilities")
        argv = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *argv]
    env = dict(os.environ, PORTER_CACHE=str(cache), PYTHONPATH=str(REPO))
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)


@pytest.fixture
def tree(tmp_path):
    t = tmp_path / "tree"
    shutil.copytree(REGION / "keeps", t)
    secret = t / "mm" / "secret.c"
    # it would break the rule: a ZONE_DEVICE pfn loop inside the hotplug lock, if porter could read it
    secret.write_text((REGION / "breaks" / "mm" / "memremap.c").read_text())
    yield t
    for p in (secret, t / "mm"):
        p.chmod(0o755)  # let pytest clean up


def test_readable_tree_is_linted_as_usual(tree, tmp_path):
    r = lint_cli(tree, tmp_path / "cache")
    assert r.returncode == 1, r.stderr  # secret.c readable: its violation is found
    assert "mm/secret.c" in r.stdout and "cannot read" not in r.stderr


def test_unreadable_file_is_named_and_fails_the_run(tree, tmp_path):
    (tree / "mm" / "secret.c").chmod(0)
    r = lint_cli(tree, tmp_path / "cache")
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert "porter lint: cannot read mm/secret.c: not linted" in lines
    assert lines[-1] == "porter: error: 1 file unreadable: the lint result is incomplete"
    assert "mm/secret.c" not in r.stdout


def test_unreadable_file_is_listed_in_json(tree, tmp_path):
    (tree / "mm" / "secret.c").chmod(0)
    r = lint_cli(tree, tmp_path / "cache", "--format", "json")
    assert r.returncode == 2
    assert json.loads(r.stdout)["unreadable"] == ["mm/secret.c"]


@pytest.fixture(params=["dir", "git"])
def kind(request, tree):
    if request.param == "git":
        git_init(tree)
    return request.param


def git_init(root: Path) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", GIT_CONFIG_NOSYSTEM="1")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)


def test_unreadable_file_is_named_on_every_run(tree, tmp_path):
    """A run that could not read a file remembers no answers: a warm run must not pass in silence."""
    (tree / "mm" / "secret.c").chmod(0)
    for _ in range(2):
        r = lint_cli(tree, tmp_path / "cache")
        assert r.returncode == 2 and "porter lint: cannot read mm/secret.c: not linted" in r.stderr, r.stderr


def test_file_made_unreadable_after_a_run_is_named(tree, tmp_path, kind):
    assert lint_cli(tree, tmp_path / "cache").returncode == 1  # answers remembered while secret.c was readable
    (tree / "mm" / "secret.c").chmod(0)  # a chmod leaves size and time as they were
    r = lint_cli(tree, tmp_path / "cache")
    assert r.returncode == 2 and "porter lint: cannot read mm/secret.c: not linted" in r.stderr, r.stderr


def test_unreadable_directory_is_named_and_fails_the_run(tree, tmp_path, kind):
    (tree / "mm").chmod(0o300)  # its files cannot be listed: what they hold is unknown
    r = lint_cli(tree, tmp_path / "cache", "--format", "json")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert json.loads(r.stdout)["unreadable"] == ["mm/"]


@pytest.mark.parametrize("unreadable", ["mm/secret.c", "mm"])
def test_locate_names_what_it_cannot_read(tree, tmp_path, kind, unreadable):
    """locate in a work tree, as in a plain directory: one error line, exit 2, never "not defined here"."""
    (tree / unreadable).chmod(0o300 if unreadable == "mm" else 0)
    r = porter_cli(tmp_path / "cache", "locate", "memmap_init_zone_device", "--tree", str(tree))
    assert r.returncode == 2, (r.stdout, r.stderr)
    shown = unreadable + ("/" if unreadable == "mm" else "")
    assert r.stderr.splitlines() == [f"porter: error: cannot read {shown} in {tree}: a search of the tree would "
                                     "be incomplete"]
    assert r.stdout == ""
