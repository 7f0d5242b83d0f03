"""The writer against `git apply` (issue 10 item 2): renames, copies, modes and `\\ No newline at end of file`
give exactly git's tree. The patches are made by git itself (`git diff -M -C`) in a copy of the tree, read
with a strict test-side reader (tests/gitdiff.py), ported and written through the journal, and the result
compared with what `git apply` makes of the same text (content, modes, symlinks, empty directories)."""

from __future__ import annotations

import os
import shutil

import pytest

from porter.errors import PorterError
from porter.porting import port
from porter.tree import open_tree
from porter.write.changes import changes_of
from porter.write.transaction import TreeWrite, write_all
from tests.corpus import git, git_apply_result, make_scene, snapshot
from tests.gitdiff import read_git_diff

BIG = "".join(f"line {i}\n" for i in range(40))  # long enough for git's rename detection


def make_diff(scene, edit) -> str:
    """`edit(work_dir)` in a throw-away clone; the staged change as git diff -M -C text."""
    work = scene.base / "edit"
    shutil.copytree(scene.tree, work, symlinks=True)
    edit(work)
    git(work, "add", "-A")
    text = git(work, "diff", "--cached", "-M", "-C", "--find-copies-harder").stdout.decode()
    shutil.rmtree(work)
    return text


def port_and_write(scene, text: str):
    series = read_git_diff(text)
    tree = open_tree(str(scene.tree))
    result = port(series, tree)
    assert result.ok, [o.result for o in result.outcomes if not o.placed]
    write_all([TreeWrite(result, changes_of(result))], series)
    return result


def same_as_git(tmp_path, edit, files=None):
    scene = make_scene(tmp_path, {"lib/big.txt": BIG, **(files or {})})
    text = make_diff(scene, edit)
    patch = scene.write_patch(text)
    code, expected = git_apply_result(scene, patch)
    assert code == 0
    sib = snapshot(scene.sibling)
    port_and_write(scene, text)
    assert snapshot(scene.tree) == expected
    assert snapshot(scene.sibling) == sib
    return text


def test_rename_without_changes(tmp_path):
    text = same_as_git(tmp_path, lambda w: os.rename(w / "lib/big.txt", w / "lib/moved.txt"))
    assert "rename from lib/big.txt" in text


def test_rename_into_new_directory_with_changes(tmp_path):
    def edit(w):
        (w / "drivers/new").mkdir(parents=True)
        os.rename(w / "lib/big.txt", w / "drivers/new/big.txt")
        (w / "drivers/new/big.txt").write_text(BIG.replace("line 20\n", "line twenty\n"))
    text = same_as_git(tmp_path, edit)
    assert "rename to drivers/new/big.txt" in text and "@@" in text


def test_copy_with_changes(tmp_path):
    def edit(w):
        (w / "lib/copy.txt").write_text(BIG.replace("line 3\n", "line three\n"))
    text = same_as_git(tmp_path, edit)
    assert "copy from lib/big.txt" in text


def test_rename_of_executable_keeps_mode(tmp_path):
    def edit(w):
        os.rename(w / "lib/run.sh", w / "lib/run2.sh")
    text = same_as_git(tmp_path, edit, {"lib/run.sh": "#!/bin/sh\n" + BIG})
    assert "rename from lib/run.sh" in text


def test_mode_only_change(tmp_path):
    text = same_as_git(tmp_path, lambda w: os.chmod(w / "lib/big.txt", 0o755))
    assert "new mode 100755" in text and "@@" not in text


def test_mode_change_with_hunk(tmp_path):
    def edit(w):
        os.chmod(w / "scripts/tool.sh", 0o644)
        (w / "scripts/tool.sh").write_text("#!/bin/sh\necho tool changed\n")
    text = same_as_git(tmp_path, edit)
    assert "old mode 100755" in text


def test_new_executable_file(tmp_path):
    def edit(w):
        (w / "scripts/new.sh").write_text("#!/bin/sh\necho new\n")
        os.chmod(w / "scripts/new.sh", 0o755)
    same_as_git(tmp_path, edit)


def test_delete_last_file_removes_its_directory(tmp_path):
    def edit(w):
        shutil.rmtree(w / "scripts")
    same_as_git(tmp_path, edit)


def test_remove_final_newline_of_existing_file(tmp_path):
    same_as_git(tmp_path, lambda w: (w / "lib/big.txt").write_text(BIG.rstrip("\n")))


def test_add_final_newline_to_existing_file(tmp_path):
    same_as_git(tmp_path, lambda w: (w / "lib/nonl.txt").write_text("a\nb\n"), {"lib/nonl.txt": "a\nb"})


def test_change_last_line_without_newline(tmp_path):
    same_as_git(tmp_path, lambda w: (w / "lib/nonl.txt").write_text("a\nc"), {"lib/nonl.txt": "a\nb"})


def test_new_file_without_final_newline(tmp_path):
    same_as_git(tmp_path, lambda w: (w / "lib/fresh.txt").write_text("x\ny"))


def test_new_empty_file(tmp_path):
    same_as_git(tmp_path, lambda w: (w / "lib/empty.txt").write_text(""))


def test_edited_file_gets_git_permissions(tmp_path):
    """git apply recreates an edited file as 0666 minus the umask: a 0600 file comes back 0644."""
    def edit(w):
        (w / "lib/big.txt").write_text(BIG + "more\n")
    scene_files = {"lib/big.txt": BIG}
    scene = make_scene(tmp_path, scene_files)
    os.chmod(scene.tree / "lib/big.txt", 0o600)
    text = make_diff(scene, edit)
    code, expected = git_apply_result(scene, scene.write_patch(text))
    assert code == 0
    port_and_write(scene, text)
    assert snapshot(scene.tree) == expected


def test_rename_onto_existing_file_is_refused(tmp_path):
    scene = make_scene(tmp_path, {"lib/big.txt": BIG})
    text = make_diff(scene, lambda w: os.rename(w / "lib/big.txt", w / "lib/other.txt"))
    (scene.tree / "lib/other.txt").write_text("in the way\n")
    before = snapshot(scene.tree)
    series = read_git_diff(text)
    result = port(series, open_tree(str(scene.tree)))
    assert not result.ok
    assert "already exists" in next(o.result for o in result.outcomes if not o.placed).reason
    assert snapshot(scene.tree) == before


def test_unchanged_result_writes_nothing(tmp_path):
    """Re-applying a patch whose result is already there: no change, no journal, same inodes."""
    scene = make_scene(tmp_path)
    text = make_diff(scene, lambda w: (w / "lib").mkdir() or (w / "lib/a.txt").write_text("a\n"))
    port_and_write(scene, text)
    inode = os.stat(scene.tree / "lib/a.txt").st_ino
    series = read_git_diff(text)
    result = port(series, open_tree(str(scene.tree)))
    assert result.ok and changes_of(result) == []
    assert not result.changed
    assert os.stat(scene.tree / "lib/a.txt").st_ino == inode


def test_symlink_mode_in_patch_is_refused(tmp_path):
    scene = make_scene(tmp_path)
    text = make_diff(scene, lambda w: os.symlink("../../etc/passwd", w / "kernel/pw"))
    assert "new file mode 120000" in text
    with pytest.raises(PorterError, match="symbolic link"):
        port(read_git_diff(text), open_tree(str(scene.tree)))


def test_failed_rename_restores_everything(tmp_path, monkeypatch):
    """A write that fails half-way (the 3rd rename): content, modes and directories exactly as before, no
    journal left, one error."""
    scene = make_scene(tmp_path, {f"lib/f{i}.txt": f"{i}\n" for i in range(6)})
    def edit(w):
        for i in range(6):
            (w / f"lib/f{i}.txt").write_text(f"{i} changed\n")
        (w / "newdir/sub").mkdir(parents=True)
        (w / "newdir/sub/n.txt").write_text("n\n")
        (w / "scripts/tool.sh").unlink()
    text = make_diff(scene, edit)
    before = snapshot(scene.tree)
    real_replace, calls = os.replace, []

    def failing(src, dst, *a, **kw):
        calls.append(dst)
        if len(calls) == 4:
            raise OSError(28, "No space left on device", str(dst))
        return real_replace(src, dst, *a, **kw)
    monkeypatch.setattr("porter.write.journal.os.replace", failing)
    with pytest.raises(PorterError, match="nothing was written"):
        port_and_write(scene, text)
    assert snapshot(scene.tree) == before


def test_rollback_with_copied_backups_keeps_modes(tmp_path, monkeypatch):
    """Where hard links are not allowed the journal copies the old files: a failed write still restores content
    and modes exactly (the executable that was being deleted comes back 0755)."""
    scene = make_scene(tmp_path, {"lib/a.txt": "a\n"})
    os.chmod(scene.tree / "lib/a.txt", 0o640)
    def edit(w):
        (w / "lib/a.txt").write_text("a2\n")
        (w / "scripts/tool.sh").unlink()
        (w / "scripts/zz.txt").write_text("z\n")
    text = make_diff(scene, edit)
    before = snapshot(scene.tree)

    def no_link(*a, **kw):
        raise OSError(1, "Operation not permitted")
    real_replace = os.replace

    def fail_last(src, dst, *a, **kw):
        if str(dst).endswith("scripts/zz.txt"):
            raise OSError(5, "Input/output error", str(dst))
        return real_replace(src, dst, *a, **kw)
    monkeypatch.setattr("porter.write.journal.os.link", no_link)
    monkeypatch.setattr("porter.write.journal.os.replace", fail_last)
    with pytest.raises(PorterError, match="nothing was written"):
        port_and_write(scene, text)
    assert snapshot(scene.tree) == before


def test_commit_point_failure_in_second_tree_restores_both(tmp_path, monkeypatch):
    """Both trees fully written, then the second journal cannot be marked done: the first is unmarked and
    both trees are rolled back (never one old and one new)."""
    from porter.write.journal import Journal
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = make_scene(tmp_path / "a")
    b = make_scene(tmp_path / "b")
    text = make_diff(a, lambda w: (w / "kernel/sample.c").write_text("int s;\n"))
    series = read_git_diff(text)
    writes = [TreeWrite(r, changes_of(r)) for r in (port(series, open_tree(str(s.tree))) for s in (a, b))]
    before = snapshot(a.tree), snapshot(b.tree)
    real = Journal.mark_done

    def flaky(self):
        if self.root == b.tree.resolve():
            raise OSError(30, "Read-only file system", str(self.dir))
        return real(self)
    monkeypatch.setattr(Journal, "mark_done", flaky)
    with pytest.raises(PorterError, match="nothing was written"):
        write_all(writes, series)
    assert (snapshot(a.tree), snapshot(b.tree)) == before


def test_summary_lines_match_git_format_patch(tmp_path):
    """The ported patch's --summary lines (percentages aside) are git format-patch's own."""
    import re

    from porter.write.patchfile import format_series
    scene = make_scene(tmp_path, {"lib/big.txt": BIG})
    def edit(w):
        (w / "drivers/x").mkdir(parents=True)
        os.rename(w / "lib/big.txt", w / "drivers/x/big.txt")
        (w / "drivers/x/big.txt").write_text(BIG.replace("line 7\n", "line seven\n"))
        os.chmod(w / "kernel/sample.c", 0o755)
        (w / "scripts/tool.sh").unlink()
        (w / "kernel/new.c").write_text("int n;\n")
    text = make_diff(scene, edit)
    series = read_git_diff(text)
    ours = format_series(series, port(series, open_tree(str(scene.tree))))
    work = tmp_path / "fp"
    shutil.copytree(scene.tree, work, symlinks=True)
    edit(work)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "x")
    theirs = git(work, "format-patch", "-1", "--stdout", "-M").stdout.decode()

    def summary(mbox):
        head = mbox.split("\ndiff --git", 1)[0]
        return [re.sub(r" \(\d+%\)$", "", ln) for ln in head.splitlines()
                if re.match(r" (create|delete) mode | mode change | rename | copy ", ln)]
    assert summary(ours) == summary(theirs) and len(summary(ours)) == 4
