"""The shared harness of the bad-input corpus (issue 10): every case checks the exit status, one error line
(or the result `git apply` gives on the same input), and that the tree and a sibling directory are untouched.

A case builds a `Scene`: `tree/` (a small kernel-looking git work tree) beside `sibling/` (a directory porter
has no business touching), both snapshotted with content, modes, symlink targets and empty directories.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import run

GIT_ENV = {"GIT_AUTHOR_NAME": "Corpus", "GIT_AUTHOR_EMAIL": "corpus@example.org",
           "GIT_COMMITTER_NAME": "Corpus", "GIT_COMMITTER_EMAIL": "corpus@example.org",
           "GIT_CONFIG_NOSYSTEM": "1"}

BASE_FILES = {
    "Makefile": "obj-y += kernel/\n",
    "include/linux/kernel.h": "#ifndef _LINUX_KERNEL_H\n#define _LINUX_KERNEL_H\nint twice(int x);\n#endif\n",
    "kernel/sample.c": "".join(f"int f{i}(int x)\n{{\n\treturn x + {i};\n}}\n\n" for i in range(12)),
    "scripts/tool.sh": "#!/bin/sh\necho tool\n",
}


def snapshot(root: Path) -> dict[str, tuple]:
    """Everything under root (but .git/): path -> (kind, mode, sha256 or link target). Equal snapshots mean
    byte-identical trees, modes and symlinks included; empty directories count too."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if ".git" in dirnames and Path(dirpath) == root:
            dirnames.remove(".git")
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", stat.S_IMODE(st.st_mode), hashlib.sha256(p.read_bytes()).hexdigest())
            else:
                out[rel] = ("special", stat.S_IFMT(st.st_mode))
    return out


def git(cwd: Path, *args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, check=check,
                          env={**os.environ, **GIT_ENV})


@dataclass
class Scene:
    base: Path

    @property
    def tree(self) -> Path:
        return self.base / "tree"

    @property
    def sibling(self) -> Path:
        return self.base / "sibling"

    def write_patch(self, data: bytes | str, name: str = "in.patch") -> Path:
        p = self.base / name
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        return p

    def state(self) -> tuple:
        return snapshot(self.tree), snapshot(self.sibling), self._git_dir()

    def _git_dir(self) -> dict:
        g = self.tree / ".git"
        return snapshot(g) if g.is_dir() else {}

    def clone_for_git(self) -> Path:
        """A copy of the tree (with its .git) for running git itself on the same input."""
        dest = self.base / "git-copy"
        shutil.copytree(self.tree, dest, symlinks=True)
        return dest


def make_scene(tmp_path: Path, files: dict[str, str | bytes] | None = None, git_init: bool = True) -> Scene:
    scene = Scene(tmp_path)
    scene.tree.mkdir()
    for rel, text in {**BASE_FILES, **(files or {})}.items():
        p = scene.tree / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode() if isinstance(text, str) else text)
    os.chmod(scene.tree / "scripts/tool.sh", 0o755)
    scene.sibling.mkdir()
    (scene.sibling / "keep.txt").write_text("outside the tree\n")
    if git_init:
        git(scene.tree, "init", "-q")
        git(scene.tree, "add", "-A")
        git(scene.tree, "commit", "-q", "-m", "base")
    return scene


def porter(scene: Scene, *args: str, input: bytes | None = None):
    """Run porter in-process from the scene's base directory (tracebacks fail the test)."""
    return run(*args, cwd=scene.base, input=input)


def check_refused(scene: Scene, args: list[str], expect: str | None = None, code: int = 2, input=None):
    """Bad input: exit `code`, exactly one line on stderr starting 'porter: error: ' (containing `expect`),
    and the tree, its .git and the sibling directory exactly as they were."""
    before = scene.state()
    res = porter(scene, *args, input=input)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    assert len(lines) == 1 and lines[0].startswith("porter: error: "), res.stderr
    if expect:
        assert expect.lower() in lines[0].lower(), lines[0]
    assert scene.state() == before
    return lines[0]


def git_apply_result(scene: Scene, patch: Path, *extra: str) -> tuple[int, dict]:
    """What `git apply` makes of the same patch on a copy of the tree: (exit status, snapshot)."""
    copy = scene.clone_for_git()
    proc = git(copy, "apply", *extra, str(patch), check=False)
    snap = snapshot(copy)
    shutil.rmtree(copy)
    return proc.returncode, snap


def check_same_as_git(scene: Scene, patch: Path, porter_args: list[str] = (), git_args: list[str] = ()):
    """Valid input: porter's result equals git apply's (content, modes, symlinks), sibling untouched."""
    code, expected = git_apply_result(scene, patch, *git_args)
    assert code == 0, "git apply refused the case itself"
    sib = snapshot(scene.sibling)
    res = porter(scene, "apply", str(patch), "--tree", "tree", *porter_args)
    assert res.exit_code == 0, (res.stdout, res.stderr)
    assert snapshot(scene.tree) == expected
    assert snapshot(scene.sibling) == sib
    return res
