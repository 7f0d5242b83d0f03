"""Reduced-context rungs on real Debian trees: Debian's own refreshes (5.10 -> 6.1, 6.1 -> 6.12) show where a
patch's context drifted and where the change had to go. Each patch here is rebuilt from the older tree's source
with git's own diff (so @@ sections are git's), and the answer is read from the newer tree's text."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers import apply_dry, as_mail

pytestmark = pytest.mark.realtree


def git_patch(tmp_path, tree, path: str, edit) -> str:
    """A format-patch style mail changing `path` of `tree` by `edit(lines) -> lines` (lines without newlines)."""
    repo = tmp_path / "orig"
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    old = (tree / path).read_text()
    target.write_text(old)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(git + ["init", "-q", str(repo)], check=True)
    subprocess.run(git + ["add", path], cwd=repo, check=True)
    subprocess.run(git + ["commit", "-qm", "base"], cwd=repo, check=True)
    target.write_text("\n".join(edit(old.split("\n")[:-1])) + "\n")
    diff = subprocess.run(["git", "diff"], cwd=repo, check=True, capture_output=True, text=True).stdout
    assert diff, "the edit changed nothing"
    return as_mail(diff)


def port(tmp_path, text: str, tree):
    res, doc, out = apply_dry(tmp_path, text, tree)
    return res, doc["trees"][0]["hunks"], out


def insert_before(lines, anchor_seq, new):
    """Insert `new` before the first run of lines equal to `anchor_seq`."""
    at = next(i for i in range(len(lines)) if lines[i:i + len(anchor_seq)] == anchor_seq)
    return lines[:at] + new + lines[at:]


def insert_after(lines, anchor_seq, new):
    at = next(i for i in range(len(lines)) if lines[i:i + len(anchor_seq)] == anchor_seq) + len(anchor_seq)
    return lines[:at] + new + lines[at:]


def applied_text(out, tree, path: str) -> list[str]:
    """The target file after `git apply` of the ported patch, checked on a copy of that one file."""
    work = out.parent / "check"
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    (work / path).write_bytes((tree / path).read_bytes())
    res = subprocess.run(["git", "apply", "--include", path, str(out)], cwd=work, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return (work / path).read_text().split("\n")


USERNS_ENTRY = ["#ifdef CONFIG_USER_NS", "\t{", '\t\t.procname\t= "unprivileged_userns_clone",',
                "\t\t.data\t\t= &unprivileged_userns_clone,", "\t\t.maxlen\t\t= sizeof(int),",
                "\t\t.mode\t\t= 0644,", "\t\t.proc_handler\t= proc_dointvec,", "\t},", "#endif"]
USERNS_DECL = ["#ifdef CONFIG_USER_NS", "extern int unprivileged_userns_clone;", "#endif", ""]
TAINTED = ["#ifdef CONFIG_PROC_SYSCTL", "\t{", '\t\t.procname\t= "tainted",']


def test_sysctl_table_entry_when_the_target_dropped_a_context_line(tmp_path, linux_5_10, linux_6_1):
    """Debian's CLONE_NEWUSER sysctl: in 5.10 the entry above "tainted" ends in `#endif`, in 6.1 it does not.
    The leading context lost its innermost line; the rest, and the unique "tainted" line, still match."""
    text = git_patch(tmp_path, linux_5_10, "kernel/sysctl.c",
                     lambda ls: insert_before(ls, TAINTED, USERNS_ENTRY))
    res, hunks, out = port(tmp_path, text, linux_6_1)
    assert res.exit_code == 0, res.stdout
    (h,) = hunks
    assert h["rung"] == "fuzz" and "'#endif' deleted in the target" in h["evidence"], h
    after = applied_text(out, linux_6_1, "kernel/sysctl.c")
    at = after.index(USERNS_ENTRY[2]) - 2
    assert after[at - 1] == "\t}," and after[at + len(USERNS_ENTRY):at + len(USERNS_ENTRY) + 3] == TAINTED


def test_declaration_before_a_twice_used_endif_comment(tmp_path, linux_5_10, linux_6_1):
    """`#endif /* CONFIG_SYSCTL */` closes two blocks of 6.1's sysctl.c; with the `#endif` and blank above it,
    only one place matches, and that is where Debian put the declaration."""
    text = git_patch(tmp_path, linux_5_10, "kernel/sysctl.c",
                     lambda ls: insert_before(ls, ["#endif /* CONFIG_SYSCTL */"], USERNS_DECL))
    res, hunks, out = port(tmp_path, text, linux_6_1)
    assert res.exit_code == 0, res.stdout
    (h,) = hunks
    assert h["rung"] == "fuzz", h
    after = applied_text(out, linux_6_1, "kernel/sysctl.c")
    at = after.index(USERNS_DECL[1])
    assert after[at + 3] == "#endif /* CONFIG_SYSCTL */" and at < 400  # the first block, not the file's end


def test_insertion_after_a_blank_line_stays_above_code_the_target_glued_on(tmp_path, linux_6_1, linux_6_12):
    """Debian's efi lockdown patch: 6.12 put reserve_ibft_region() right above x86_init.resources.dmi_setup(),
    between the patch's leading and trailing context. The patch's line opened a paragraph after a blank line,
    so it goes there, above the new call, as Debian's refresh has it."""
    call = ["\tefi_set_secure_boot(boot_params.secure_boot);", ""]
    text = git_patch(tmp_path, linux_6_1, "arch/x86/kernel/setup.c",
                     lambda ls: insert_after(ls, ["\t\tefi_init();", ""], call))
    res, hunks, out = port(tmp_path, text, linux_6_12)
    assert res.exit_code == 0, res.stdout
    (h,) = hunks
    after = applied_text(out, linux_6_12, "arch/x86/kernel/setup.c")
    at = after.index(call[0])
    assert after[at - 2:at] == ["\t\tefi_init();", ""] and after[at + 2] == "\treserve_ibft_region();"


def test_removed_line_anchors_when_one_side_of_context_was_rewritten(tmp_path, linux_6_1, linux_6_12):
    """x32 patch on asm/elf.h: 6.12 rewrote the line above the change and the code below it; the removed line
    is still there once, and the #define above confirms the place."""
    old = "\t (IS_ENABLED(CONFIG_X86_X32_ABI) && (x)->e_machine == EM_X86_64))"
    new = ["\t (IS_ENABLED(CONFIG_X86_X32_ABI) && x32_enabled &&\t\t\\", "\t  (x)->e_machine == EM_X86_64))"]

    def edit(ls):
        i = ls.index(old)
        return ls[:i] + new + ls[i + 1:]

    text = git_patch(tmp_path, linux_6_1, "arch/x86/include/asm/elf.h", edit)
    res, hunks, out = port(tmp_path, text, linux_6_12)
    assert res.exit_code == 0, res.stdout
    (h,) = hunks
    assert "removed lines found once" in h["evidence"], h
    after = applied_text(out, linux_6_12, "arch/x86/include/asm/elf.h")
    at = after.index(new[0])
    assert after[at - 2].startswith("#define compat_elf_check_arch(x)") and old not in after


@pytest.mark.parametrize("path, function, tail", [
    # 6.1 rewrote the end of the function; only its closing brace is left of the leading context.
    ("kernel/sched/core.c", "can_nice", ["\t\tcapable(CAP_SYS_NICE));", "}"]),
])
def test_export_after_a_rewritten_function_goes_after_its_end(tmp_path, linux_5_10, linux_6_1, path, function, tail):
    """Debian's android exports, 5.10 -> 6.1: a lone `}` is no anchor for the context rungs, and a unique
    `return ret;` in another function must not pull the EXPORT_SYMBOL there. But the @@ section names the
    function the brace ends: the export goes right after that function's end in 6.1, whatever its body became
    (function_anchor.py, after_end)."""
    export = f"EXPORT_SYMBOL_GPL({function});"
    text = git_patch(tmp_path, linux_5_10, path, lambda ls: insert_after(ls, tail, [export]))
    assert f" {function}(" in text.split("@@")[2].split("\n")[0]  # git named the function in the section
    res, hunks, out = port(tmp_path, text, linux_6_1)
    (h,) = hunks
    assert res.exit_code == 0 and f"right after the end of {function}()" in h["evidence"], h
    after = applied_text(out, linux_6_1, path)
    at = after.index(export)
    start = max(i for i in range(at) if after[i].startswith(f"int {function}("))
    assert after[at - 1] == "}" and "}" not in after[start:at - 1]  # the brace that ends can_nice()


def test_export_after_a_function_whose_last_line_was_edited_goes_after_that_function(tmp_path, linux_5_10,
                                                                                   linux_6_1):
    """Debian's android export of close_fd_get_file, 5.10 -> 6.1: `return ret;` became `return file;` but the
    closing brace, the blank line and do_close_on_exec() below are where the pre-image has them. One context
    line edited in place is still the same place (fuzz.ChangedLine); a `return ret;` elsewhere must not pull it."""
    export = "EXPORT_SYMBOL_GPL(close_fd_get_file);"
    text = git_patch(tmp_path, linux_5_10, "fs/file.c", lambda ls: insert_after(ls, ["\treturn ret;", "}"], [export]))
    res, hunks, out = port(tmp_path, text, linux_6_1)
    (h,) = hunks
    assert res.exit_code == 0 and "edited in the target" in h["evidence"], h
    after = applied_text(out, linux_6_1, "fs/file.c")
    at = after.index(export)
    assert after[at - 2:at] == ["\treturn file;", "}"]
    assert after[at + 2] == "void do_close_on_exec(struct files_struct *files)"


def test_include_appended_to_a_block_that_grew_goes_to_its_new_end(tmp_path, linux_5_10, linux_6_1):
    """Debian's radeon/amdgpu firmware patch: 6.1 appended four #includes after the patch's leading context.
    The change closed the include block (a blank line follows it), so it stays at the block's end."""
    added = ["#include <linux/namei.h>", "#include <linux/path.h>"]
    text = git_patch(tmp_path, linux_5_10, "drivers/gpu/drm/amd/amdgpu/amdgpu_drv.c",
                     lambda ls: insert_after(ls, ["#include <linux/mmu_notifier.h>"], added))
    res, hunks, out = port(tmp_path, text, linux_6_1)
    assert res.exit_code == 0, res.stdout
    (h,) = hunks
    assert h["rung"] == "fuzz" and "3 leading" in h["evidence"], h
    after = applied_text(out, linux_6_1, "drivers/gpu/drm/amd/amdgpu/amdgpu_drv.c")
    at = after.index(added[0])
    assert after[at - 1] == "#include <linux/dynamic_debug.h>" and after[at + 2:at + 4] == ["", '#include "amdgpu.h"']


def test_include_whose_context_went_elsewhere_is_not_guessed(tmp_path, linux_5_10, linux_6_1):
    """The same insertion when the leading context is gone entirely (not just pushed up): refused."""
    added = ["#include <linux/namei.h>"]
    path = "drivers/gpu/drm/amd/amdgpu/amdgpu_drv.c"

    def edit(ls):
        return insert_after(ls, ["#include <linux/mmu_notifier.h>"], added)

    text = git_patch(tmp_path, linux_5_10, path, edit)
    target = tmp_path / "target"
    (target / path).parent.mkdir(parents=True)
    (target / "Makefile").write_text("VERSION = 6\n")
    (target / "include/linux").mkdir(parents=True)
    (target / "include/linux/kernel.h").write_text("")
    lines = (linux_6_1 / path).read_text().split("\n")
    for gone in ("#include <linux/mmu_notifier.h>", "#include <drm/drm_probe_helper.h>",
                 "#include <linux/vga_switcheroo.h>"):
        lines.remove(gone)
    (target / path).write_text("\n".join(lines))
    res, hunks, _ = port(tmp_path, text, target)
    (h,) = hunks
    assert res.exit_code == 1 and h["status"] == "refused", h
