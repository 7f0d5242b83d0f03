"""porter.tree.BlobReader (one `git cat-file --batch` per repository, for the pre-images `index` lines name)
answers exactly what `git cat-file blob NAME` answers: the same bytes, or None where git fails."""

from __future__ import annotations

import subprocess

from porter.tree import BlobReader
from tests.corpus import git


def _cat_file(repo, name):
    proc = subprocess.run(["git", "cat-file", "blob", name], cwd=repo, capture_output=True, check=False)
    return proc.stdout if proc.returncode == 0 else None


def test_same_answers_as_git_cat_file_blob(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "a.c").write_bytes(b"int a;\n")
    (repo / "bin").write_bytes(bytes(range(256)) * 40)  # binary, several reads long
    (repo / "empty").write_bytes(b"")
    (repo / "sub").mkdir()
    (repo / "sub/b.c").write_bytes(b"int b;\n\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "x")
    blobs = [ln.split()[2] for ln in git(repo, "ls-tree", "-r", "HEAD").stdout.decode().splitlines()]
    tree_id = git(repo, "rev-parse", "HEAD:sub").stdout.decode().strip()
    names = blobs + [b[:7] for b in blobs] + [b.upper() for b in blobs] + [
        tree_id, "0" * 40, "deadbeef", "HEAD:a.c", "HEAD:nope", "abc", "", blobs[0] + " extra"]
    reader = BlobReader(repo)
    try:
        for name in names:
            assert reader.read(name) == _cat_file(repo, name), name
        assert reader.read(blobs[1]) == (repo / "bin").read_bytes()
    finally:
        reader.close()


def test_not_a_repository_is_none(tmp_path):
    reader = BlobReader(tmp_path)
    assert reader.read("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391") is None
    assert reader.read("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391") is None  # and stays so, no hang
    reader.close()
