"""Names a hunk's added lines use that the target tree does not know: the sign of a patch whose +/- lines
themselves needed adapting (a helper renamed, a macro gone), which line placement alone cannot see."""

from __future__ import annotations

import os
import re

from porter.patch import Hunk
from porter.place.similarity import C_KEYWORDS
from porter.tree import Tree

CALL_RE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
TAG_RE = re.compile(r"\b(?:struct|union|enum)\s+([A-Za-z_][A-Za-z0-9_]*)")
CAPS_RE = re.compile(r"\b([A-Z][A-Z0-9_]{3,})\b")
DEFINES_RE = re.compile(r"^\s*#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)|^[A-Za-z_].*?\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
# Compiler and preprocessor words that are never defined in the tree.
BUILTINS = frozenset("defined sizeof typeof __typeof__ __builtin_expect likely unlikely offsetof __attribute__ "
                     "asm __asm__ alignof _Alignof __func__ __FUNCTION__ __LINE__ __FILE__".split())


def _code(line: str) -> str:
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    line = re.sub(r"/\*.*?\*/", "", line)
    line = line.split("//", 1)[0]
    return "" if line.lstrip().startswith(("*", "/*")) else line


def used_names(hunk: Hunk) -> set[str]:
    """Functions called, tags and CAPS macros in the added lines, minus what the hunk itself defines."""
    used, defined = set(), set()
    for text in hunk.added:
        code = _code(text)
        used.update(CALL_RE.findall(code))
        used.update(TAG_RE.findall(code))
        used.update(CAPS_RE.findall(code))
        m = DEFINES_RE.match(code)
        if m:
            defined.add(m.group(1) or m.group(2))
    # CONFIG_* symbols live in Kconfig, not in C: a patch may add them there.
    return {n for n in used - defined if n not in C_KEYWORDS and n not in BUILTINS and not n.startswith("CONFIG_")}


def unknown_names(tree: Tree, names: set[str], near: list[str] | tuple[str, ...] = ()) -> set[str]:
    """The names that occur nowhere in the tree's C sources and headers.

    A whole-tree search costs a scan of every file (~0.4 s on a kernel tree) however common the name, so the
    headers under include/ and the directories of the files the patch touches (`near`) are searched first:
    most names a hunk uses are found there, and only the rest needs the whole tree. The answer is the same.
    """
    if not names:
        return set()
    dirs = sorted({d for d in (os.path.dirname(p) for p in near) if d})
    first = ["include/*.h", *(f"{d}/*.c" for d in dirs), *(f"{d}/*.h" for d in dirs)]
    pending = names - _seen(tree, names, first)
    if pending:
        pending -= _seen(tree, pending, ["*.c", "*.h"])
    return pending


def _seen(tree: Tree, names: set[str], specs: list[str]) -> set[str]:
    """Which of `names` occur as whole words in the files matching the git pathspecs `specs` (the tree's own
    search: in a work tree, a name defined in a file not yet `git add`ed is defined)."""
    pats = ["-F"]
    for n in sorted(names):
        pats += ["-e", n]
    out, _unreadable = tree.git_grep(["-o", "-h", "-w", "-I", *pats], specs)  # a note: an unreadable file is
    return set(out.decode("utf-8", "replace").split()) & names  # reported by the commands that search


EXPORT_RE = re.compile(r"^\s*EXPORT_(?:SYMBOL|SYMBOL_GPL|SYMBOL_NS|SYMBOL_NS_GPL|IPV6_MOD|IPV6_MOD_GPL)\s*\(\s*"
                       r"([A-Za-z_]\w*)")


FUNCTION_MACRO_RE = re.compile(r"^\s*#\s*define\s+[A-Za-z_]\w*\(")


def exported_names(added: list[str]) -> set[str]:
    """Names an added EXPORT_SYMBOL*(...) line exports."""
    return {m.group(1) for text in added if (m := EXPORT_RE.match(text))}


def undefined_exports(names: set[str], path: str, after: bytes) -> list[str]:
    """Of `names`, those the patched file (`after`) does not define: the name must be a function defined
    there, or stand at file scope outside comments and strings (a variable, `DEFINE_PER_CPU(int, x)`, a
    `#define`). A call inside a function body or a mention in a comment is not a definition (a function
    renamed to `__x` whose old name survives in a caller would otherwise pass)."""
    from porter import cmodel  # the C model is only needed when a hunk exports something

    model = cmodel.parse_c(after, path)
    defined = {d.name for d in model.functions()}
    bodies = [(d.start_line, d.end_line) for d in model.functions()]
    lines = after.decode("utf-8", "replace").splitlines()
    in_comment = False
    for no, line in enumerate(lines, 1):
        code, in_comment = _strip_comments(line, in_comment)
        if EXPORT_RE.match(code) or FUNCTION_MACRO_RE.match(code) or any(lo < no <= hi for lo, hi in bodies):
            continue  # a function-like macro of the name is no symbol to export (`typeof` cannot see it)
        defined.update(n for n in names if re.search(rf"\b{re.escape(n)}\b", code))
    return sorted(names - defined)


def _strip_comments(line: str, in_comment: bool) -> tuple[str, bool]:
    """One line without strings and comments, and whether a block comment is still open after it."""
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    out = []
    while line:
        if in_comment:
            end = line.find("*/")
            if end < 0:
                return "".join(out), True
            line, in_comment = line[end + 2:], False
            continue
        start, cpp = line.find("/*"), line.find("//")
        if cpp >= 0 and (start < 0 or cpp < start):
            out.append(line[:cpp])
            break
        if start < 0:
            out.append(line)
            break
        out.append(line[:start])
        line, in_comment = line[start + 2:], True
    return "".join(out), in_comment

