"""Bad-input corpus, writer and tree boundary (issue 10 items 1, 2, 5): each case runs `porter apply` through
the CLI on a fresh scene (tests/corpus.py) and checks the exit status, one error line or git apply's own
result, and that the tree (content, modes, symlinks, .git) and a sibling directory are byte-identical."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from porter.errors import PorterError
from porter.intake import parse_series
from tests.corpus import (
    check_refused,
    check_same_as_git,
    git,
    make_scene,
    porter,
    snapshot,
)
from tests.helpers import as_mail

SAMPLE_HUNK = """\
@@ -1,4 +1,4 @@
 int f0(int x)
 {
-\treturn x + 0;
+\treturn x + 100;
 }
"""


def edit_sample(path: str = "kernel/sample.c") -> str:
    return as_mail(f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n" + SAMPLE_HUNK)


def new_file(path: str, body: str = "x\n", mode: str = "100644") -> str:
    lines = "".join("+" + ln + "\n" for ln in body.splitlines())
    n = len(body.splitlines())
    return as_mail(f"diff --git a/{path} b/{path}\nnew file mode {mode}\n--- /dev/null\n+++ b/{path}\n"
                   f"@@ -0,0 +1{',' + str(n) if n != 1 else ''} @@\n{lines}")


def patched(scene, text: str, name: str = "in.patch") -> list[str]:
    return ["apply", str(scene.write_patch(text, name)), "--tree", "tree"]


def git_made(scene, edit, *args) -> str:
    """A patch made by git itself: `edit(dir)` in a copy of the tree, then `git diff` of the staged change."""
    work = scene.base / "edit"
    shutil.copytree(scene.tree, work, symlinks=True)
    edit(work)
    git(work, "add", "-A")
    text = git(work, "diff", "--cached", *args).stdout.decode()
    shutil.rmtree(work)
    return as_mail(text)


def needs_git_headers(text: str) -> None:
    """Renames, copies and mode changes reach the writer only once intake reads git's extended headers."""
    try:
        files = [f for c in parse_series(text.encode()).commits for f in c.files]
    except PorterError:
        files = []
    if not any(f.rename or f.copy or f.mode_change for f in files):
        pytest.skip("intake does not read git's rename/copy/mode headers yet (issue 10 item 3)")


@contextlib.contextmanager
def unwritable(path: Path):
    """Make `path` impossible to change: chattr +i as root (permissions do not stop root), else chmod."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode:
            pytest.skip("chattr +i not supported here")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=False)
    else:
        target = path if path.is_dir() else path.parent
        old = stat.S_IMODE(target.stat().st_mode)
        os.chmod(target, 0o555)
        try:
            yield
        finally:
            os.chmod(target, old)


def no_debris(scene) -> None:
    leftovers = [p.name for d in (scene.tree, scene.base) for p in d.iterdir() if p.name.startswith(".porter")]
    assert leftovers == []


# -- the tree boundary: .git ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [".git/config", ".GIT/config", ".Git/hooks/pre-commit", "kernel/.git/config",
                                  ".git./config", "GIT~1/config"])
def test_patch_into_git_dir_is_refused(tmp_path, path):
    scene = make_scene(tmp_path)
    text = as_mail(f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1,2 @@\n [core]\n"
                   "+\tfsmonitor = \"touch /tmp/pwned; false\"\n")
    check_refused(scene, patched(scene, text), ".git")


def test_tree_inside_git_dir_is_refused(tmp_path):
    scene = make_scene(tmp_path)
    (scene.tree / ".git/include/linux").mkdir(parents=True)
    (scene.tree / ".git/Makefile").write_text("x\n")
    (scene.tree / ".git/include/linux/kernel.h").write_text("x\n")
    args = ["apply", str(scene.write_patch(new_file("hooks/post-checkout", "#!/bin/sh\ntouch pwned", "100755"))),
            "--tree", "tree/.git"]
    check_refused(scene, args, ".git")


def test_new_hook_in_git_dir_is_refused(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, patched(scene, new_file(".git/hooks/post-checkout", "#!/bin/sh\ntouch pwned", "100755")),
                  ".git")


def test_file_inside_gitdir_file_repository_is_refused(tmp_path):
    """A nested repository whose `.git` is a `gitdir:` file (a submodule checkout): not porter's to patch."""
    scene = make_scene(tmp_path, {"sub/kernel/sample.c": "int f0(int x)\n{\n\treturn x + 0;\n}\n",
                                  "sub/.git": "gitdir: ../.git/modules/sub\n"})
    check_refused(scene, patched(scene, edit_sample("sub/kernel/sample.c")), "submodule")


def test_submodule_directory_at_new_path_is_refused(tmp_path):
    scene = make_scene(tmp_path)
    (scene.tree / "drivers/mod").mkdir(parents=True)
    git(scene.tree / "drivers/mod", "init", "-q")
    check_refused(scene, patched(scene, new_file("drivers/mod")), "submodule")


def test_file_in_submodule_not_checked_out_is_refused(tmp_path):
    """A gitlink in the index whose directory is empty (submodule not initialised): still not porter's."""
    scene = make_scene(tmp_path)
    sub = tmp_path / "subrepo"
    sub.mkdir()
    git(sub, "init", "-q")
    (sub / "a.c").write_text("int a;\n")
    git(sub, "add", "a.c")
    git(sub, "commit", "-qm", "sub")
    head = git(sub, "rev-parse", "HEAD").stdout.decode().strip()
    git(scene.tree, "update-index", "--add", "--cacheinfo", f"160000,{head},drivers/sub")
    (scene.tree / "drivers/sub").mkdir(parents=True)
    check_refused(scene, patched(scene, new_file("drivers/sub/a.c")), "submodule")
    check_refused(scene, patched(scene, new_file("drivers/sub")), "submodule")


# -- the tree boundary: symlinks and special files --------------------------------------------------------

def test_symlinked_directory_leading_outside_is_refused(tmp_path):
    scene = make_scene(tmp_path)
    os.symlink("../sibling", scene.tree / "ext")
    text = as_mail("diff --git a/ext/keep.txt b/ext/keep.txt\n--- a/ext/keep.txt\n+++ b/ext/keep.txt\n"
                   "@@ -1 +1 @@\n-outside the tree\n+owned\n")
    check_refused(scene, patched(scene, text), "beyond a symbolic link")


def test_new_file_beyond_symlinked_directory_is_refused(tmp_path):
    scene = make_scene(tmp_path)
    os.symlink("../sibling", scene.tree / "ext")
    check_refused(scene, patched(scene, new_file("ext/new.c")), "beyond a symbolic link")


def test_new_file_beyond_symlink_inside_tree_is_refused_like_git(tmp_path):
    scene = make_scene(tmp_path)
    os.symlink("kernel", scene.tree / "k")
    text = new_file("k/added.c")
    code, _ = __import__("tests.corpus", fromlist=["x"]).git_apply_result(scene, scene.write_patch(text, "g"))
    assert code != 0  # git refuses too: "affected file is beyond a symbolic link"
    check_refused(scene, patched(scene, text), "beyond a symbolic link")


def test_symlink_file_leading_outside_is_refused(tmp_path):
    scene = make_scene(tmp_path)
    os.symlink("../../sibling/keep.txt", scene.tree / "kernel/keep.txt")
    text = as_mail("diff --git a/kernel/keep.txt b/kernel/keep.txt\n--- a/kernel/keep.txt\n+++ b/kernel/keep.txt\n"
                   "@@ -1 +1 @@\n-outside the tree\n+owned\n")
    check_refused(scene, patched(scene, text), "symlink")


def test_symlink_in_tree_edited_as_text_is_refused(tmp_path):
    """git would rewrite the link's target; porter refuses with one line rather than replace the link by a
    regular file (the old behaviour)."""
    scene = make_scene(tmp_path)
    os.symlink("sample.c", scene.tree / "kernel/alias.c")
    check_refused(scene, patched(scene, edit_sample("kernel/alias.c")), "symbolic link")


def test_fifo_at_new_path_is_refused(tmp_path):
    scene = make_scene(tmp_path)
    os.mkfifo(scene.tree / "kernel/pipe.c")
    check_refused(scene, patched(scene, new_file("kernel/pipe.c")), "special file")


def test_socket_at_new_path_is_refused(tmp_path):
    scene = make_scene(tmp_path)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(scene.tree / "kernel/sock.c"))
    try:
        check_refused(scene, patched(scene, new_file("kernel/sock.c")), "special file")
    finally:
        sock.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_device_at_patched_path_is_refused(tmp_path):
    scene = make_scene(tmp_path)
    os.mknod(scene.tree / "kernel/null.c", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    check_refused(scene, patched(scene, edit_sample("kernel/null.c")), "special file")


def test_directory_at_new_path_is_refused(tmp_path):
    scene = make_scene(tmp_path)
    (scene.tree / "kernel/dir.c").mkdir()
    check_refused(scene, patched(scene, new_file("kernel/dir.c")), "directory")


# -- modes, renames, copies, no newline: git apply's result ------------------------------------------------

def test_new_executable_gets_0755(tmp_path):
    scene = make_scene(tmp_path)
    check_same_as_git(scene, scene.write_patch(new_file("scripts/run.sh", "#!/bin/sh\necho hi", "100755")))
    assert stat.S_IMODE((scene.tree / "scripts/run.sh").stat().st_mode) == 0o755 & ~_umask()


def test_new_file_gets_0644(tmp_path):
    scene = make_scene(tmp_path)
    check_same_as_git(scene, scene.write_patch(new_file("kernel/new.c", "int n;")))
    assert stat.S_IMODE((scene.tree / "kernel/new.c").stat().st_mode) == 0o644 & ~_umask()


def test_edit_of_executable_keeps_it_executable(tmp_path):
    scene = make_scene(tmp_path)
    text = git_made(scene, lambda w: (w / "scripts/tool.sh").write_text("#!/bin/sh\necho tool v2\n"))
    check_same_as_git(scene, scene.write_patch(text))
    assert (scene.tree / "scripts/tool.sh").stat().st_mode & 0o111


def test_deleting_last_file_removes_directory_like_git(tmp_path):
    scene = make_scene(tmp_path)
    text = git_made(scene, lambda w: shutil.rmtree(w / "scripts"))
    check_same_as_git(scene, scene.write_patch(text))
    assert not (scene.tree / "scripts").exists()


def test_no_newline_at_end_on_existing_file(tmp_path):
    scene = make_scene(tmp_path, {"kernel/nonl.c": "int a;\nint b;\n"})
    text = git_made(scene, lambda w: (w / "kernel/nonl.c").write_text("int a;\nint c;"))
    assert "\\ No newline at end of file" in text
    check_same_as_git(scene, scene.write_patch(text))


def test_newline_added_to_file_that_had_none(tmp_path):
    scene = make_scene(tmp_path, {"kernel/nonl.c": "int a;\nint b;"})
    text = git_made(scene, lambda w: (w / "kernel/nonl.c").write_text("int a;\nint b;\nint c;\n"))
    check_same_as_git(scene, scene.write_patch(text))


BIG = "".join(f"int v{i};\n" for i in range(40))


def test_rename_with_changes_like_git(tmp_path):
    scene = make_scene(tmp_path, {"kernel/big.c": BIG})
    def edit(w):
        os.rename(w / "kernel/big.c", w / "kernel/renamed.c")
        (w / "kernel/renamed.c").write_text(BIG.replace("v20;", "w20;"))
    text = git_made(scene, edit, "-M")
    needs_git_headers(text)
    check_same_as_git(scene, scene.write_patch(text))


def test_pure_rename_like_git(tmp_path):
    scene = make_scene(tmp_path, {"kernel/big.c": BIG})
    text = git_made(scene, lambda w: os.rename(w / "kernel/big.c", w / "mm/big.c") if (w / "mm").mkdir() is None
                    else None, "-M")
    needs_git_headers(text)
    check_same_as_git(scene, scene.write_patch(text))


def test_copy_like_git(tmp_path):
    scene = make_scene(tmp_path, {"kernel/big.c": BIG})
    text = git_made(scene, lambda w: (w / "kernel/copy.c").write_text(BIG + "int extra;\n"), "-C",
                    "--find-copies-harder")
    needs_git_headers(text)
    check_same_as_git(scene, scene.write_patch(text))


def test_mode_only_change_like_git(tmp_path):
    scene = make_scene(tmp_path)
    text = git_made(scene, lambda w: os.chmod(w / "kernel/sample.c", 0o755))
    needs_git_headers(text)
    check_same_as_git(scene, scene.write_patch(text))


def test_mode_change_with_hunk_like_git(tmp_path):
    scene = make_scene(tmp_path)
    def edit(w):
        os.chmod(w / "scripts/tool.sh", 0o644)
        (w / "scripts/tool.sh").write_text("#!/bin/sh\necho not run\n")
    text = git_made(scene, edit)
    needs_git_headers(text)
    check_same_as_git(scene, scene.write_patch(text))


# -- write failures: everything restored, one line, no debris ----------------------------------------------

def test_immutable_file_restores_everything(tmp_path):
    scene = make_scene(tmp_path, {"kernel/other.c": "int o;\n"})
    text = git_made(scene, lambda w: [(w / "kernel/other.c").write_text("int o2;\n"),
                                      (w / "kernel/sample.c").write_text("int s;\n"),
                                      (w / "scripts/tool.sh").unlink()])
    with unwritable(scene.tree / "kernel/sample.c"):
        check_refused(scene, patched(scene, text), "nothing was written")
    no_debris(scene)


def test_read_only_directory_for_new_files(tmp_path):
    scene = make_scene(tmp_path)
    text = git_made(scene, lambda w: [(w / "kernel/sample.c").write_text("int s;\n"),
                                      (w / "include/linux/new.h").write_text("#define NEW 1\n"),
                                      (w / "include/linux/deep/er").mkdir(parents=True),
                                      (w / "include/linux/deep/er/x.h").write_text("int x;\n")])
    with unwritable(scene.tree / "include/linux"):
        check_refused(scene, patched(scene, text), "nothing was written")
    no_debris(scene)


def test_disk_full_while_staging(tmp_path, monkeypatch):
    scene = make_scene(tmp_path)
    text = git_made(scene, lambda w: [(w / "kernel/sample.c").write_text("int s;\n"),
                                      (w / "kernel/new.c").write_text("int n;\n")])
    real_write, calls = os.write, []

    def full(fd, data):
        calls.append(fd)
        if len(calls) >= 2:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)
    monkeypatch.setattr("porter.write.journal.os.write", full)
    check_refused(scene, patched(scene, text), "No space left on device")
    no_debris(scene)


def test_immutable_tree_root(tmp_path):
    scene = make_scene(tmp_path)
    with unwritable(scene.tree):
        check_refused(scene, patched(scene, edit_sample()), "nothing was written")
    no_debris(scene)


def test_output_inside_git_dir_is_refused(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, patched(scene, edit_sample()) + ["--output", "tree/.git/hooks/pre-commit"], ".git")


def test_stale_output_temp_of_killed_run_is_removed(tmp_path):
    scene = make_scene(tmp_path)
    stale = tmp_path / ".porter-out-4194305-ported.mbox"  # above any pid_max: its process is gone
    stale.write_text("half")
    res = porter(scene, *patched(scene, edit_sample()), "--output", str(tmp_path / "ported.mbox"))
    assert res.exit_code == 0, res.stderr
    assert not stale.exists() and (tmp_path / "ported.mbox").read_text().startswith("From ")


def test_live_writer_journal_is_not_rolled_back(tmp_path):
    """A journal whose writer still holds its lock belongs to a running porter: refused, left alone."""
    import fcntl
    scene = make_scene(tmp_path)
    jdir = scene.tree / ".porter-journal-1"
    jdir.mkdir()
    (jdir / "journal.json").write_text(json.dumps({"version": 3, "pid": 1, "root": str(scene.tree), "entries": [],
                                                   "created_dirs": [], "removed_dirs": []}))
    fd = os.open(jdir / "lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        check_refused(scene, patched(scene, edit_sample()), "another porter process is writing")
    finally:
        os.close(fd)
    assert jdir.exists()


def test_lockless_journal_of_a_live_pid(tmp_path):
    """A journal with no lock file yet (its writer was killed between creating it and locking it), named
    after a pid that runs: while this run holds the tree (write/treelock.py) no porter can be writing it, so
    it is debris of a dead writer whose pid was reused, and it is removed."""
    scene = make_scene(tmp_path)
    jdir = scene.tree / f".porter-journal-{os.getppid()}"  # a pid that is certainly alive
    jdir.mkdir()
    res = porter(scene, *patched(scene, edit_sample()))
    assert res.exit_code == 0, res.stderr
    assert not jdir.exists() and "removed the staging files" in res.stderr


def test_recovery_after_kill_restores_and_says_so(tmp_path):
    """A journal left by a killed write (here: recorded, one file already replaced, one directory created)
    is rolled back by the next command, with one note line."""
    from porter.tree import open_tree
    from porter.write.changes import FileChange
    from porter.write.journal import Journal
    scene = make_scene(tmp_path)
    before = snapshot(scene.tree)
    old = (scene.tree / "scripts/tool.sh").read_bytes()
    j = Journal(scene.tree, [FileChange("scripts/tool.sh", old, b"new\n", "100755", "100644"),
                             FileChange("new/dir/f.c", None, b"f\n", None, "100644")], created_dirs=["new", "new/dir"])
    j.stage()
    j.commit()
    j.close()  # the process "dies": lock released, journal left
    assert snapshot(scene.tree) != before
    killed = snapshot(scene.tree)
    res = porter(scene, *patched(scene, edit_sample()), "--dry-run")  # a dry run writes nothing: it refuses
    assert res.exit_code == 2 and "interrupted porter write" in res.stderr, res.stderr
    assert snapshot(scene.tree) == killed
    res = porter(scene, "apply", str(scene.write_patch("--- a/no/such.c\n+++ b/no/such.c\n@@ -1 +1 @@\n-a\n+b\n")),
                 "--tree", "tree")  # a run that may write recovers first (then refuses its patch)
    notes = [ln for ln in res.stderr.splitlines() if "interrupted porter write" in ln]
    assert len(notes) == 1 and "rolled back" in notes[0] and "2 files" in notes[0], res.stderr
    assert snapshot(scene.tree) == before
    open_tree(str(scene.tree), write=True)  # nothing left to recover: silent


def test_output_onto_a_patched_file_is_refused(tmp_path):
    scene = make_scene(tmp_path)
    check_refused(scene, patched(scene, edit_sample()) + ["--output", "tree/kernel/sample.c"], "patch changes")


def test_missing_output_directory_checked_before_writing(tmp_path):
    scene = make_scene(tmp_path)
    args = patched(scene, edit_sample()) + ["--output", str(tmp_path / "nowhere" / "out.mbox")]
    check_refused(scene, args, "does not exist")
    assert not (tmp_path / "nowhere").exists()


def test_output_that_is_a_directory(tmp_path):
    scene = make_scene(tmp_path)
    (tmp_path / "outdir").mkdir()
    check_refused(scene, patched(scene, edit_sample()) + ["--output", str(tmp_path / "outdir")], "directory")


# -- several trees: all or none ---------------------------------------------------------------------------

def second_tree(scene, name="tree2") -> Path:
    other = scene.base / name
    shutil.copytree(scene.tree, other, symlinks=True)
    return other


def test_second_tree_refuses_first_untouched(tmp_path):
    scene = make_scene(tmp_path)
    other = second_tree(scene)
    (other / "kernel/sample.c").write_text("int nothing_alike;\n")
    before = snapshot(scene.tree), snapshot(other), snapshot(scene.sibling)
    res = porter(scene, *patched(scene, edit_sample()), "--tree", "tree2")
    assert res.exit_code == 1, res.stdout
    assert (snapshot(scene.tree), snapshot(other), snapshot(scene.sibling)) == before
    assert "not written (another tree refused)" in res.stdout


def test_second_tree_write_failure_first_restored(tmp_path):
    scene = make_scene(tmp_path)
    other = second_tree(scene)
    before = snapshot(scene.tree), snapshot(other), snapshot(scene.sibling)
    with unwritable(other / "kernel/sample.c"):
        res = porter(scene, *patched(scene, edit_sample()), "--tree", "tree2")
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and "nothing was written" in lines[0], res.stderr
    assert (snapshot(scene.tree), snapshot(other), snapshot(scene.sibling)) == before
    no_debris(scene)


def test_both_trees_written(tmp_path):
    scene = make_scene(tmp_path)
    other = second_tree(scene)
    res = porter(scene, *patched(scene, edit_sample()), "--tree", "tree2")
    assert res.exit_code == 0, res.stdout + res.stderr
    for root in (scene.tree, other):
        assert "x + 100" in (root / "kernel/sample.c").read_text()


# -- output: dry run, stdout, faithful patch -------------------------------------------------------------

def test_dry_run_writes_nothing_at_all(tmp_path):
    scene = make_scene(tmp_path)
    out = tmp_path / "ported.mbox"
    before = scene.state()
    res = porter(scene, *patched(scene, edit_sample()), "--dry-run", "--output", str(out))
    assert res.exit_code == 0, res.stdout
    assert scene.state() == before and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.patch", "sibling", "tree"]


def test_output_dash_writes_patch_to_stdout_report_to_stderr(tmp_path):
    scene = make_scene(tmp_path)
    copy = scene.clone_for_git()
    res = porter(scene, *patched(scene, edit_sample()), "--output", "-")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith("From ") and "=> applied" in res.stderr and "=> applied" not in res.stdout
    proc = subprocess.run(["git", "apply", "-"], cwd=copy, input=res.stdout.encode(), capture_output=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert snapshot(copy) == snapshot(scene.tree)


def test_ported_patch_index_lines_allow_am_3way(tmp_path, monkeypatch):
    """The `index` line names the real pre-image blob: after the target drifts in the hunk's own context,
    plain `git am` fails and `git am -3` merges, as it does for patches git format-patch wrote."""
    scene = make_scene(tmp_path)
    res = porter(scene, *patched(scene, edit_sample()), "--dry-run", "--output", "-")
    ported = res.stdout
    blob = git(scene.tree, "rev-parse", "HEAD:kernel/sample.c").stdout.decode().strip()
    assert f"index {blob[:12]}.." in ported and " 100644\n" in ported
    assert "Date: Tue, 1 Oct 2024 10:00:00 +0000" in ported
    src = (scene.tree / "kernel/sample.c").read_text()
    (scene.tree / "kernel/sample.c").write_text(src.replace("int f0(int x)\n", "int f0(int x) /* drift */\n", 1))
    git(scene.tree, "commit", "-qam", "drift")
    mbox = tmp_path / "ported.mbox"
    mbox.write_text(ported)
    env = {"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}
    assert git(scene.tree, "am", str(mbox), check=False).returncode != 0
    git(scene.tree, "am", "--abort")
    proc = subprocess.run(["git", "am", "-3", str(mbox)], cwd=scene.tree, capture_output=True,
                          env={**os.environ, **env, **_ident()}, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "x + 100" in (scene.tree / "kernel/sample.c").read_text()


def test_subject_prefix_kept(tmp_path):
    scene = make_scene(tmp_path)
    text = edit_sample().replace("Subject: [PATCH] port me", "Subject: [PATCH v3 2/7] mm: port me")
    series = parse_series(text.encode())
    if getattr(series.commits[0], "subject_prefix", None) is None:
        pytest.skip("intake does not keep the subject prefix yet (issue 10 item 3)")
    res = porter(scene, *patched(scene, text), "--dry-run", "--output", "-")
    assert "Subject: [PATCH v3 2/7] mm: port me" in res.stdout


def test_reapplying_writes_nothing(tmp_path):
    scene = make_scene(tmp_path)
    args = patched(scene, edit_sample())
    assert porter(scene, *args).exit_code == 0
    ino = os.stat(scene.tree / "kernel/sample.c").st_ino
    before = scene.state()
    res = porter(scene, *args)
    assert res.exit_code == 0 and "already-applied" in res.stdout, res.stdout
    assert scene.state() == before and os.stat(scene.tree / "kernel/sample.c").st_ino == ino
    no_debris(scene)


# -- git refs without a git identity -----------------------------------------------------------------------

def _ident() -> dict:
    return {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
            "GIT_COMMITTER_EMAIL": "t@example.org"}


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.fixture
def no_identity(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    for var in ("AUTHOR", "COMMITTER"):
        for part in ("NAME", "EMAIL", "DATE"):
            monkeypatch.delenv(f"GIT_{var}_{part}", raising=False)
    monkeypatch.delenv("EMAIL", raising=False)


def test_commit_on_ref_without_identity_keeps_modes(tmp_path, no_identity):
    scene = make_scene(tmp_path)
    text = git_made(scene, lambda w: [(w / "scripts/tool.sh").write_text("#!/bin/sh\necho v2\n"),
                                      (w / "scripts/new.sh").write_text("#!/bin/sh\n"),
                                      os.chmod(w / "scripts/new.sh", 0o755)])
    pfile = scene.write_patch(text)
    before = scene.state()
    from tests.helpers import run
    res = run("apply", str(pfile), "--tree", "HEAD", "--branch", "ported", cwd=scene.tree)
    assert res.exit_code == 0, res.stdout + res.stderr
    assert snapshot(scene.tree) == before[0]  # the checkout is not touched
    ls = git(scene.tree, "ls-tree", "-r", "ported", "scripts").stdout.decode()
    assert "100755 blob" in ls.split("scripts/new.sh")[0].splitlines()[-1]
    assert ls.count("100755") == 2, ls
    who = subprocess.run(["git", "log", "-1", "--format=%an <%ae>|%cn <%ce>", "ported"], cwd=scene.tree,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert who == "Kernel Dev <dev@example.org>|Kernel Dev <dev@example.org>"


def test_commit_on_ref_with_explicit_committer(tmp_path, no_identity):
    scene = make_scene(tmp_path)
    from tests.helpers import run
    pfile = scene.write_patch(edit_sample())
    res = run("apply", str(pfile), "--tree", "HEAD", "--branch", "b2", "--committer", "Max Maint <max@example.org>",
              cwd=scene.tree)
    assert res.exit_code == 0, res.stdout + res.stderr
    who = git(scene.tree, "log", "-1", "--format=%cn <%ce>", "b2").stdout.decode().strip()
    assert who == "Max Maint <max@example.org>"


def test_dry_run_on_ref_creates_no_branch(tmp_path, no_identity):
    scene = make_scene(tmp_path)
    from tests.helpers import run
    refs = git(scene.tree, "for-each-ref").stdout
    res = run("apply", str(scene.write_patch(edit_sample())), "--tree", "HEAD", "--dry-run", cwd=scene.tree)
    assert res.exit_code == 0, res.stdout
    assert git(scene.tree, "for-each-ref").stdout == refs


def test_json_report_carries_ported_patch(tmp_path):
    scene = make_scene(tmp_path)
    res = porter(scene, *patched(scene, edit_sample()), "--dry-run", "--format", "json")
    doc = json.loads(res.stdout)
    assert doc["ported_patch"].startswith("From ") and "x + 100" in doc["ported_patch"]


def test_ported_patch_of_rename_and_mode_change_round_trips(tmp_path):
    """The ported patch writes renames, copies and mode changes with git's headers: `git apply` of it on the
    old tree gives porter's tree."""
    scene = make_scene(tmp_path, {"kernel/big.c": BIG})
    def edit(w):
        os.rename(w / "kernel/big.c", w / "kernel/renamed.c")
        (w / "kernel/renamed.c").write_text(BIG.replace("v20;", "w20;"))
        os.chmod(w / "kernel/sample.c", 0o755)
        (w / "kernel/copy.c").write_text(BIG + "int more;\n")
    text = git_made(scene, edit, "-M", "-C", "--find-copies-harder")
    copy = scene.clone_for_git()
    res = porter(scene, *patched(scene, text), "--output", "-")
    assert res.exit_code == 0, res.stderr
    ported = res.stdout
    assert "rename from kernel/big.c" in ported and "new mode 100755" in ported
    proc = subprocess.run(["git", "apply", "-"], cwd=copy, input=ported.encode(), capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert snapshot(copy) == snapshot(scene.tree)


def test_machine_error_is_one_line(tmp_path, monkeypatch):
    """A full disk or temporary directory while porter reads and places (ENOSPC from a temporary file) is one
    error line and exit status 2, not a traceback; the tree is as it was."""
    import errno

    import porter.commands.apply as apply_cmd

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/tmp/porter-xyz")

    scene = make_scene(tmp_path)
    before = snapshot(scene.tree)
    monkeypatch.setattr(apply_cmd, "plan", full)
    res = porter(scene, *patched(scene, edit_sample()))
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == ["porter: error: No space left on device (/tmp/porter-xyz)"]
    assert snapshot(scene.tree) == before
