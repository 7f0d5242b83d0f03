"""porter/place/nesting.py: the #if nesting at a line, which decides the side of a split insertion."""

from porter.place.nesting import nesting_at

LINES = """\
#ifndef _SAMPLE_H
#define _SAMPLE_H
int a;
#ifdef CONFIG_A /* comment */
int b;
#else
int c;
#endif
#if defined(CONFIG_B) && \\
    defined(CONFIG_C)
int d;
#elif IS_ENABLED(CONFIG_D)
int e;
#endif
int f;
#endif
""".splitlines()


def at(text: str) -> list[str]:
    return nesting_at(LINES, LINES.index(text))


def test_nesting_follows_if_else_endif():
    assert at("int a;") == ["ifndef _SAMPLE_H"]
    assert at("int b;") == ["ifndef _SAMPLE_H", "ifdef CONFIG_A"]  # the comment is not part of the condition
    assert at("int c;") == ["ifndef _SAMPLE_H", "ifdef CONFIG_A | else"]  # the other branch is another place
    assert at("int f;") == ["ifndef _SAMPLE_H"]


def test_elif_is_a_branch_of_the_same_conditional():
    assert at("int e;") == ["ifndef _SAMPLE_H", "if defined(CONFIG_B) && \\ | elif IS_ENABLED(CONFIG_D)"]
    assert len(at("int d;")) == 2


def test_unbalanced_endif_does_not_fail():
    assert nesting_at(["#endif", "int x;"], 1) == []


def test_blob_found_by_its_text_when_the_numbers_are_off(tmp_path):
    """The guard compares the #if nesting with the pre-image blob at the hunk's place in it. A mailer that
    turned a continuation line's tabs into spaces (or hand-edited @@ numbers) made the blob "not the one the
    hunk was made on", and the guard let a placement under another conditional through: the hunk's text,
    found once in the blob (ignoring whitespace), still says where it was."""
    import subprocess

    from porter.intake import parse_series
    from porter.porting import Porter
    from porter.tree import open_tree

    pre = ("#ifndef _LINUX_LOCKS_H\n#define _LINUX_LOCKS_H\n\nstruct inode;\n\n#ifdef CONFIG_LOCKS\n"
           "int locks_setctx(struct inode *inode,\n\t\t void *ctx, u32 len);\n"
           "int locks_locked_down(enum lock_reason what);\n"
           "int locks_fill_ctx(void *val, size_t len);\n#endif\n\n#endif\n")
    target = ("#ifndef _LINUX_LOCKS_H\n#define _LINUX_LOCKS_H\n\nstruct inode;\n\n#ifdef CONFIG_LOCKS_LITE\n"
              "int locks_setctx(struct inode *inode, struct locks_ctx *cp);\n"
              "int locks_locked_down(enum lock_reason what);\n"
              "int locks_lite(void);\n#endif\n\n#endif\n")
    tree = tmp_path / "tree"
    (tree / "include/linux").mkdir(parents=True)
    (tree / "include/linux/locks.h").write_text(pre)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "pre"]):
        subprocess.run(["git", *args], cwd=tree, env=env, check=True)
    blob = subprocess.run(["git", "rev-parse", "HEAD:include/linux/locks.h"], cwd=tree, capture_output=True,
                          text=True, check=True).stdout.strip()
    (tree / "include/linux/locks.h").write_text(target)
    patch = (f"diff --git a/include/linux/locks.h b/include/linux/locks.h\nindex {blob[:12]}..0123456789ab 100644\n"
             "--- a/include/linux/locks.h\n+++ b/include/linux/locks.h\n@@ -7,5 +7,6 @@ struct inode;\n"
             " int locks_setctx(struct inode *inode,\n                  void *ctx, u32 len);\n"
             " int locks_locked_down(enum lock_reason what);\n"
             "+int lock_it_down(const char *where, enum lock_reason level);\n"
             " int locks_fill_ctx(void *val, size_t len);\n #endif\n")
    result = Porter(open_tree(str(tree), require_kernel=False)).run(parse_series(patch.encode(), "p.diff"))
    (outcome,) = result.outcomes
    assert not outcome.placed, outcome.result
