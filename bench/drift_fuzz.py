#!/usr/bin/env python3
"""Drift fuzzer: how often does a tool write a WRONG result when a patch meets a drifted file?

    python3 bench/drift_fuzz.py --cases 300 --jobs 2              # table + every porter "wrong"
    python3 bench/drift_fuzz.py --case 7-123 --keep /tmp/case      # rebuild one case (trees, patches, truth)

Method, per case (all randomness from the case id "SEED-N", so every case is reproducible):

1. Pick a real C file F from a pool of kernel sources (mm/, kernel/, fs/, drivers/ of an extracted Debian
   tree) and a function in it (kernel style: `{` and `}` alone at column 0).
2. Edit E inside that function: one statement line replaced by an edited version, 1-3 new lines inserted, or
   one line deleted. The patch is `git diff` of F -> E(F) (with `index` and `@@ ... funcname` lines, 3 lines
   of context); a second variant drops the `index` line.
3. Drift D of F that leaves E's changed lines alone: unrelated lines inserted, a look-alike copy of the hunk's
   own pre-image (whole statements, braces closed) in this or another function (optionally with the
   original's context edited, so only the copy matches as written), lines deleted near the change, one or
   several (heavy_edit) context lines edited, the function moved, renamed (with its callers) or wrapped in
   `#ifdef`, or a combination of two or three. Every line carries the index it had in F (None for a
   new line), so the TRUE result is D(F) with E's lines replaced where their identities ended up.
4. Apply the patch to a tree holding D(F) with each tool and classify: exact (file == truth), wrong (the tool
   reported success, or wrote without a conflict marker, and file != truth), failed (refused, conflict, or
   unchanged). For porter a refusal must leave the tree byte-identical; a refusal that changed it is
   "partial", the worst outcome. porter's "already applied" (exit 0, file unchanged) counts as wrong.

Tools: porter with the blob (tree is a git repository that also holds F's blob) and without the index line
(plain directory); `git apply --3way` with and without F's blob; `patch -p1 --forward --batch`.
Stdlib only; the tools are run as subprocesses.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

SUBDIRS = ("mm", "kernel", "fs", "drivers")
DRIFT_KINDS = ("insert", "lookalike", "lookalike_edit", "delete", "edit_context", "heavy_edit", "move", "rename",
               "ifdef", "combo")
TOOLS = ("porter", "porter-noidx", "git3way", "git3way-noblob", "patch")
KEYWORDS = {"if", "else", "for", "while", "do", "switch", "case", "return", "goto", "break", "continue",
            "sizeof", "struct", "union", "enum", "static", "const", "unsigned", "int", "long", "char", "void",
            "bool", "true", "false", "NULL", "default", "typeof", "volatile", "inline", "extern", "signed",
            "short", "u8", "u16", "u32", "u64"}
IDENT = re.compile(r"\b[A-Za-z_]\w*\b")
GIT_ENV = {"GIT_AUTHOR_NAME": "fuzz", "GIT_AUTHOR_EMAIL": "fuzz@example.org", "GIT_COMMITTER_NAME": "fuzz",
           "GIT_COMMITTER_EMAIL": "fuzz@example.org", "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z", "GIT_CONFIG_NOSYSTEM": "1"}


class Skip(Exception):
    """This case's random choices gave nothing usable (no statement to edit, drift impossible, ...)."""


# ---------------------------------------------------------------------------------------------- source model
@dataclass
class Func:
    name: str
    start: int  # first line of the signature
    open: int  # the `{` line
    end: int  # the `}` line


def functions(lines: list[str]) -> list[Func]:
    """Kernel-style function definitions: `{` alone at column 0, the signature above it, `}` at column 0."""
    out = []
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            start = i - 1
            while start > 0 and lines[start][:1] in (" ", "\t") and lines[start - 1].strip():
                start -= 1
            sig = " ".join(lines[start:i])
            m = re.search(r"(\w+)\s*\(", sig)
            end = next((j for j in range(i + 1, len(lines)) if lines[j] == "}"), None)
            if end is None:
                break
            if m and "=" not in sig.split("(")[0] and not lines[start].startswith(("#", "struct", "}")):
                out.append(Func(m.group(1), start, i, end))
            i = end
        i += 1
    return out


def is_statement(line: str) -> bool:
    """A one-line statement, tab-indented as kernel statements are (continuation lines align with spaces)."""
    s = line.strip()
    return (line[:1] == "\t" and indent_of(line).strip("\t") == "" and s.endswith(";")
            and "{" not in s and "}" not in s and not s.startswith(("#", "/*", "*", "//"))
            and 8 <= len(s) <= 100 and s.count("(") == s.count(")"))


def indent_of(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


# --------------------------------------------------------------------------------------------- line mutation
def mutate_line(rng: random.Random, line: str, tag: str) -> str | None:
    """A realistic one-line edit: a constant, an operator, an identifier, or one more argument."""
    options = []
    nums = list(re.finditer(r"\b\d+\b", line))
    if nums:
        m = rng.choice(nums)
        options.append(line[:m.start()] + str(int(m.group()) + 1) + line[m.end():])
    for a, b in (("==", "!="), ("!=", "=="), ("&&", "||"), ("||", "&&"), (" < ", " <= "), (" > ", " >= ")):
        if a in line:
            options.append(line.replace(a, b, 1))
    idents = [m for m in IDENT.finditer(line) if m.group() not in KEYWORDS]
    if idents:
        m = rng.choice(idents)
        options.append(line[:m.start()] + m.group() + "_" + tag + line[m.end():])
    if line.rstrip().endswith(");"):
        body = line.rstrip()[:-2]
        options.append(body + (", 0);" if not body.endswith("(") else "0);"))
    options = [o for o in options if o != line]
    return rng.choice(options) if options else None


def new_statements(rng: random.Random, indent: str, idents: list[str], tag: str) -> list[str]:
    """1-3 plausible new statement lines (unique enough that they exist nowhere in the file)."""
    v = rng.choice(idents) if idents else "ret"
    templates = [f"WARN_ON_ONCE(!{v});", f"{v} = READ_ONCE({v});", f"trace_fuzz_{tag}({v});",
                 f"if (unlikely(!{v}))", f"pr_debug(\"%s: {tag}\\n\", __func__);", "might_sleep();",
                 f"fuzz_hook_{tag}();"]
    n = rng.randint(1, 3)
    out = []
    for _ in range(n):
        t = rng.choice(templates)
        out.append(indent + t)
        if t.startswith("if ("):
            out.append(indent + "\treturn -EINVAL;")
    return out[:3]


# ----------------------------------------------------------------------------------------------------- edit E
@dataclass
class Edit:
    kind: str
    a: int  # F lines [a, b) are replaced by new
    b: int
    new: list[str]
    func: str

    def changed_text(self, lines: list[str]) -> list[str]:
        return lines[self.a:self.b] + self.new


def make_edit(rng: random.Random, lines: list[str], fn: Func, tag: str) -> Edit:
    body = range(fn.open + 4, fn.end - 3)  # leave 3 lines of context inside the function
    stmts = [i for i in body if is_statement(lines[i])]
    kind = rng.choice(("replace", "insert", "delete"))
    if kind == "insert":
        gaps = [i for i in body if (is_statement(lines[i - 1]) or lines[i - 1].rstrip().endswith("{"))
                and (is_statement(lines[i]) or lines[i].lstrip().startswith(("if (", "for (", "while (")))]
        if not gaps:
            raise Skip("no insertion point")
        i = rng.choice(gaps)
        idents = [m.group() for m in IDENT.finditer(" ".join(lines[fn.open:fn.end]))
                  if m.group() not in KEYWORDS and not m.group().isupper()][:40]
        return Edit("insert", i, i, new_statements(rng, indent_of(lines[i]), idents, tag), fn.name)
    if not stmts:
        raise Skip("no statement")
    i = rng.choice(stmts)
    if kind == "delete":
        return Edit("delete", i, i + 1, [], fn.name)
    new = mutate_line(rng, lines[i], tag)
    if new is None:
        raise Skip("no mutation")
    return Edit("replace", i, i + 1, [new], fn.name)


def apply_edit(lines: list[str], e: Edit) -> list[str]:
    return lines[:e.a] + e.new + lines[e.b:]


# ---------------------------------------------------------------------------------------------------- drift D
@dataclass
class Drifted:
    """D(F) as (text, id) pairs: id is the line's index in F, None for a line the drift added."""
    rows: list[tuple[str, int | None]]
    edit: Edit
    notes: list[str] = field(default_factory=list)

    @property
    def text(self) -> list[str]:
        return [t for t, _ in self.rows]

    def pos(self, ident: int) -> int | None:
        return next((p for p, (_, i) in enumerate(self.rows) if i == ident), None)

    def protected(self) -> set[int]:
        """F lines the drift may not delete or edit: the changed lines (and an insertion's two neighbours)."""
        e = self.edit
        return set(range(e.a, e.b)) if e.b > e.a else {e.a - 1, e.a}

    def insertable(self, p: int) -> bool:
        """May the drift insert lines before row p (not between two lines E's change is glued to)?"""
        if p <= 0 or p >= len(self.rows):
            return True
        before, after = self.rows[p - 1][1], self.rows[p][1]
        if before is None or after is None:
            return True
        e = self.edit
        if e.b > e.a:
            return not (e.a <= before < e.b and e.a <= after < e.b)
        return not (before == e.a - 1 and after == e.a)

    def insert(self, p: int, lines: list[str], note: str) -> None:
        if not self.insertable(p):
            raise Skip("insertion inside the change")
        self.rows[p:p] = [(t, None) for t in lines]
        self.notes.append(f"{note} at D:{p + 1}")

    def func(self) -> Func:
        """The function holding the change, in the drifted text."""
        p = self.pos(self.edit.a if self.edit.b > self.edit.a else self.edit.a - 1)
        for fn in functions(self.text):
            if fn.open < p < fn.end:
                return fn
        raise Skip("change no longer inside a function")


def window(d: Drifted) -> tuple[int, int]:
    """The drifted rows of the hunk's pre-image (3 lines of context around the change)."""
    e = d.edit
    lo, hi = d.pos(e.a - 3), d.pos(e.b + 2)
    if lo is None or hi is None:
        raise Skip("context gone")
    return lo, hi + 1


def statement_gaps(d: Drifted, lo: int, hi: int) -> list[int]:
    """Rows before which a statement may go: after a statement or an opening brace, before a statement."""
    text = d.text
    return [p for p in range(max(lo, 1), min(hi, len(text))) if (is_statement(text[p - 1]) or text[p - 1]
            .rstrip().endswith("{")) and is_statement(text[p]) and d.insertable(p)]


def balanced_copy(rng, text: list[str], lo: int, hi: int, must: tuple[int, int]) -> list[str]:
    """A piece of text[lo:hi] covering rows `must`, whole statements only (parentheses balanced), made a valid
    block by opening or closing the braces it leaves unmatched (code copied into another function)."""
    pieces = []
    for s in range(lo, must[0] + 1):
        for e in range(max(must[1], s + 3), hi + 1):
            chunk = text[s:e]
            parens = [t.count("(") - t.count(")") for t in chunk]
            if sum(parens) == 0 and all(sum(parens[:k]) >= 0 for k in range(len(parens))) \
                    and not any(t.lstrip().startswith(("#", "case ", "default:")) for t in chunk):
                pieces.append(chunk)
    if not pieces:
        raise Skip("no balanced piece to copy")
    chunk = rng.choice(pieces)
    depth, low = 0, 0
    for ch in "".join(chunk):  # by character: `} else {` closes one block before it opens another
        depth += {"{": 1, "}": -1}.get(ch, 0)
        low = min(low, depth)
    ind = indent_of(chunk[0]) or "\t"
    return [ind + "if (fuzz_cond) {"] * -low + chunk + [ind + "}"] * (depth - low)


def drift_insert(rng, d: Drifted, donor: list[str]) -> None:
    lo, hi = window(d)
    for near in (True, False)[:rng.randint(1, 2)]:
        span = (lo - 12, hi + 12) if near else (0, len(d.rows))
        gaps = statement_gaps(d, *span)
        if not gaps:
            raise Skip("no gap")
        stmts = [i for i, t in enumerate(donor) if is_statement(t)] or [0]
        start, n = rng.choice(stmts), rng.randint(1, 6)
        chunk = [t for t in donor[start:start + n] if is_statement(t)][:n] or ["\tcpu_relax();"]
        d.insert(rng.choice(gaps), chunk, f"inserted {len(chunk)} unrelated lines")
        lo, hi = window(d)


def drift_lookalike(rng, d: Drifted, edit_original: bool) -> None:
    lo, hi = window(d)
    e = d.edit
    change = (d.pos(e.a), d.pos(e.b - 1) + 1) if e.b > e.a else (d.pos(e.a - 1), d.pos(e.a) + 1)
    copy = balanced_copy(rng, d.text, lo, hi, change)
    own = d.func()
    others = [f for f in functions(d.text) if f.name != own.name and f.end - f.open > 4]
    same = rng.random() < 0.4
    if same:
        gaps = [p for p in statement_gaps(d, own.open + 1, own.end) if p <= lo - 6 or p >= hi + 6]
    else:
        if not others:
            raise Skip("no other function")
        f = rng.choice(others)
        gaps = statement_gaps(d, f.open + 1, f.end)
    if not gaps:
        raise Skip("no gap for the copy")
    p = rng.choice(gaps)
    d.insert(p, copy, f"copy of {len(copy)} pre-image lines in {'the same' if same else 'another'} function")
    if edit_original:
        drift_edit_context(rng, d)


def drift_delete(rng, d: Drifted) -> None:
    lo, hi = window(d)
    keep = d.protected()
    cands = [p for p in range(max(0, lo - 10), min(len(d.rows), hi + 10))
             if d.rows[p][1] not in keep and (is_statement(d.rows[p][0]) or not d.rows[p][0].strip())]
    if not cands:
        raise Skip("nothing to delete")
    for p in sorted(rng.sample(cands, min(len(cands), rng.randint(1, 2))), reverse=True):
        d.notes.append(f"deleted F:{d.rows[p][1] + 1 if d.rows[p][1] is not None else '?'} {d.rows[p][0].strip()!r}")
        del d.rows[p]


def drift_edit_context(rng, d: Drifted, count: int = 1) -> None:
    """Edit `count` of the hunk's context lines in place (same statement, another constant/name/operator)."""
    lo, hi = window(d)
    keep = d.protected()
    cands = [p for p in range(lo, hi) if d.rows[p][1] not in keep and d.rows[p][0].strip() not in ("", "{", "}")]
    rng.shuffle(cands)
    done = 0
    for p in cands:
        new = mutate_line(rng, d.rows[p][0], "ctx")
        if new and done < count:
            d.notes.append(f"edited context D:{p + 1} {d.rows[p][0].strip()!r} -> {new.strip()!r}")
            d.rows[p] = (new, d.rows[p][1])
            done += 1
    if done < count:
        raise Skip("not enough context lines to edit")


def drift_move(rng, d: Drifted) -> None:
    fn = d.func()
    others = [f for f in functions(d.text) if abs(f.end - fn.end) > 1 and not fn.start <= f.end <= fn.end]
    if not others:
        raise Skip("nowhere to move")
    block = d.rows[fn.start:fn.end + 1]
    del d.rows[fn.start:fn.end + 1]
    target = rng.choice(others)
    p = target.end + 1 - (len(block) if target.end > fn.end else 0)
    d.rows[p:p] = [("", None)] + block
    d.notes.append(f"moved {fn.name}() below {target.name}()")


def drift_rename(rng, d: Drifted, F: list[str]) -> None:
    fn = d.func()
    pat = re.compile(rf"\b{re.escape(fn.name)}\b")
    if any(pat.search(t) for t in d.edit.changed_text(F)):
        raise Skip("the change names the function")
    if fn.name.isupper():
        raise Skip("a macro-defined function (SYSCALL_DEFINE, BPF_CALL_2): its name is not its own")
    new = rng.choice((f"__{fn.name}", f"{fn.name}_locked", f"{fn.name}_range"))
    if re.search(rf"\b{re.escape(new)}\b", "\n".join(d.text)):
        raise Skip("new name taken")
    d.rows = [(pat.sub(new, t), i) for t, i in d.rows]
    d.notes.append(f"renamed {fn.name}() to {new}()")


def drift_ifdef(rng, d: Drifted) -> None:
    fn = d.func()
    d.rows[fn.end + 1:fn.end + 1] = [("#endif", None)]
    d.rows[fn.start:fn.start] = [("#ifdef CONFIG_FUZZ_DRIFT", None)]
    d.notes.append(f"wrapped {fn.name}() in #ifdef CONFIG_FUZZ_DRIFT")


def make_drift(rng, kind: str, F: list[str], edit: Edit, donor: list[str]) -> Drifted:
    d = Drifted([(t, i) for i, t in enumerate(F)], edit)
    steps = rng.sample(("insert", "lookalike", "lookalike_edit", "delete", "edit_context", "heavy_edit", "move",
                        "rename", "ifdef"), rng.randint(2, 3)) if kind == "combo" else [kind]
    for step in steps:
        {"insert": lambda: drift_insert(rng, d, donor),
         "lookalike": lambda: drift_lookalike(rng, d, False),
         "lookalike_edit": lambda: drift_lookalike(rng, d, True),
         "delete": lambda: drift_delete(rng, d),
         "edit_context": lambda: drift_edit_context(rng, d),
         "heavy_edit": lambda: drift_edit_context(rng, d, rng.randint(2, 4)),
         "move": lambda: drift_move(rng, d),
         "rename": lambda: drift_rename(rng, d, F),
         "ifdef": lambda: drift_ifdef(rng, d)}[step]()
    return d


def truth(d: Drifted) -> list[str]:
    """E applied to D(F): E's new lines where E's changed lines (or its insertion point) ended up."""
    e, rows = d.edit, d.rows
    if e.b > e.a:
        p = d.pos(e.a)
        if [i for _, i in rows[p:p + e.b - e.a]] != list(range(e.a, e.b)):
            raise Skip("changed lines split")
        return [t for t, _ in rows[:p]] + e.new + [t for t, _ in rows[p + e.b - e.a:]]
    p = d.pos(e.a - 1)
    if rows[p + 1][1] != e.a:
        raise Skip("insertion point split")
    return [t for t, _ in rows[:p + 1]] + e.new + [t for t, _ in rows[p + 1:]]


# ----------------------------------------------------------------------------------------------------- a case
@dataclass
class Case:
    id: str
    path: str  # relative, e.g. mm/filemap.c
    drift: str
    edit: Edit
    orig: list[str]
    drifted: list[str]
    truth: list[str]
    notes: list[str]


def kernel_pool(root: Path, seed: int, size: int, max_lines: int) -> list[str]:
    """A deterministic sample of C files of a reasonable size under SUBDIRS."""
    rng = random.Random(f"pool-{seed}")
    pool = []
    for sub in SUBDIRS:
        files = sorted(str(p.relative_to(root)) for p in (root / sub).rglob("*.c") if p.is_file())
        rng.shuffle(files)
        picked = [f for f in files[:size * 4] if 150 <= len(read_lines(root / f, max_lines + 1)) <= max_lines]
        pool += picked[:size // len(SUBDIRS)]
    return sorted(pool)


def read_lines(path: Path, limit: int | None = None) -> list[str]:
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines[:limit] if limit else lines


def build_case(case_id: str, root: Path, pool: list[str]) -> Case:
    rng = random.Random(case_id)
    for _ in range(40):
        path = rng.choice(pool)
        F = read_lines(root / path)
        if any("\r" in t for t in F):
            continue
        funcs = [f for f in functions(F) if f.end - f.open >= 12]
        if not funcs:
            continue
        fn = rng.choice(funcs)
        kind = rng.choice(DRIFT_KINDS)
        donor = read_lines(root / rng.choice(pool))
        try:
            edit = make_edit(rng, F, fn, case_id.replace("-", "_"))
            d = make_drift(rng, kind, F, edit, donor)
            t = truth(d)
        except Skip:
            continue
        if d.text == F:
            continue
        return Case(case_id, path, kind, edit, F, d.text, t, d.notes)
    raise Skip(f"{case_id}: no usable case in 40 tries")


# ---------------------------------------------------------------------------------------------- files & git
def write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))


def git(cwd: Path, *args: str, data: bytes | None = None) -> bytes:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, input=data, env=env, check=True,
                          capture_output=True).stdout


def make_patch(work: Path, case: Case) -> str:
    """`git diff` F -> E(F), as a kernel developer's tree shows it (diff=cpp funcname lines)."""
    repo = work / "src"
    write_lines(repo / case.path, case.orig)
    (repo / ".gitattributes").write_text("*.c diff=cpp\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    write_lines(repo / case.path, apply_edit(case.orig, case.edit))
    return git(repo, "diff").decode("utf-8", "surrogateescape")


def make_tree(tree: Path, case: Case, repo: bool, blob: bool) -> None:
    """A directory porter takes for a kernel tree, holding D(F); a git repository (with F's blob) if asked."""
    (tree / "include/linux").mkdir(parents=True, exist_ok=True)
    (tree / "include/linux/kernel.h").write_text("")
    (tree / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 1\n")
    write_lines(tree / case.path, case.drifted)
    if repo:
        git(tree, "init", "-q")
        git(tree, "add", "-A")
        git(tree, "commit", "-q", "-m", "drifted")
        if blob:
            data = ("\n".join(case.orig) + "\n").encode("utf-8", "surrogateescape")
            git(tree, "hash-object", "-w", "--stdin", data=data)


def snapshot(tree: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(tree).parts}


# ---------------------------------------------------------------------------------------------------- tools
def run(argv: list[str], cwd: Path, timeout: int) -> tuple[int, str]:
    try:
        p = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=timeout, env={**os.environ, **GIT_ENV})
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return -1, "timeout"


def tool_setups(porter: str, timeout: int) -> dict:
    """tool -> (repo?, blob?, patch variant, argv(tree, patch))."""
    return {
        "porter": (True, True, "index", lambda t, p: ([porter, "apply", str(p), "--tree", str(t)], timeout)),
        "porter-noidx": (False, False, "noindex",
                         lambda t, p: ([porter, "apply", str(p), "--tree", str(t)], timeout)),
        "git3way": (True, True, "index", lambda t, p: (["git", "apply", "--3way", str(p)], 60)),
        "git3way-noblob": (True, False, "index", lambda t, p: (["git", "apply", "--3way", str(p)], 60)),
        "patch": (False, False, "index", lambda t, p: (["patch", "-p1", "--forward", "--batch",
                                                        "--no-backup-if-mismatch", "-i", str(p)], 60)),
    }


def classify(tool: str, rc: int, before: dict[str, bytes], after: dict[str, bytes], path: str,
             want: bytes) -> str:
    got = after.get(path)
    if tool.startswith("porter") and rc != 0:
        return "failed" if after == before else "partial"
    if got == want:
        return "exact"
    if rc != 0:  # a refusal, a conflict (markers written) or rejects: the tool said so
        return "failed"
    return "wrong"


def run_case(case: Case, work: Path, porter: str, timeout: int) -> dict:
    patch = make_patch(work, case)
    patches = {"index": work / "patch.diff", "noindex": work / "patch-noindex.diff"}
    patches["index"].write_text(patch, encoding="utf-8", errors="surrogateescape")
    patches["noindex"].write_text("".join(ln for ln in patch.splitlines(True) if not ln.startswith("index ")),
                                  encoding="utf-8", errors="surrogateescape")
    want = ("\n".join(case.truth) + "\n").encode("utf-8", "surrogateescape")
    out = {"id": case.id, "path": case.path, "drift": case.drift, "edit": case.edit.kind,
           "func": case.edit.func, "notes": case.notes, "results": {}, "logs": {}}
    for tool, (repo, blob, variant, argv) in tool_setups(porter, timeout).items():
        tree = work / tool
        make_tree(tree, case, repo, blob)
        before = snapshot(tree)
        cmd, limit = argv(tree, patches[variant])
        rc, log = run(cmd, tree, limit)
        out["results"][tool] = classify(tool, rc, before, snapshot(tree), case.path, want)
        out["logs"][tool] = log[-2000:]
    return out


# ---------------------------------------------------------------------------------------------------- report
def table(results: list[dict]) -> str:
    rows = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for r in results:
        for tool, verdict in r["results"].items():
            rows[r["drift"]][tool][verdict] += 1
            rows["ALL"][tool][verdict] += 1
    head = f"{'drift':<15}{'n':>4}  " + "".join(f"{t:>18}" for t in TOOLS)
    lines = [head, " " * 21 + "".join(f"{'exact/wrong/fail':>18}" for _ in TOOLS)]
    for kind in [k for k in DRIFT_KINDS if k in rows] + ["ALL"]:
        n = sum(rows[kind][TOOLS[0]].values())
        cells = []
        for t in TOOLS:
            c = rows[kind][t]
            cell = f"{c['exact']}/{c['wrong']}/{c['failed']}" + (f"+{c['partial']}P" if c["partial"] else "")
            cells.append(f"{cell:>18}")
        lines.append(f"{kind:<15}{n:>4}  " + "".join(cells))
    return "\n".join(lines)


def one_case(case_id: str, root: Path, pool: list[str], porter: str, timeout: int, keep: Path | None) -> dict:
    try:
        case = build_case(case_id, root, pool)
    except Skip as e:
        return {"id": case_id, "skip": str(e)}
    work = keep or Path(tempfile.mkdtemp(prefix=f"drift-{case_id}-"))
    try:
        res = run_case(case, work, porter, timeout)
        if keep:
            write_lines(keep / "orig" / case.path, case.orig)
            write_lines(keep / "truth" / case.path, case.truth)
            write_lines(keep / "drifted" / case.path, case.drifted)
            for tool, (repo, blob, _, _) in tool_setups(porter, timeout).items():
                make_tree(keep / "pristine" / tool, case, repo, blob)
            (keep / "case.json").write_text(json.dumps(res, indent=1))
        return res
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # where scripts/fetch-kernel-sources puts the trees (porter.kernel_sources.kernels_dir, without importing it)
    kernels = Path(os.environ.get("PORTER_KERNELS") or
                   Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "porter" / "kernels")
    ap.add_argument("--kernel", type=Path, default=kernels / "linux-6.1.176",
                    help="an extracted kernel tree (read only)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--pool", type=int, default=300, help="how many C files to draw cases from")
    ap.add_argument("--max-lines", type=int, default=3000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=60, help="seconds per porter run")
    ap.add_argument("--porter", default=shutil.which("porter") or "porter")
    ap.add_argument("--case", help="run one case id (SEED-N) only")
    ap.add_argument("--keep", type=Path, help="with --case: keep its trees, patches and truth in this directory")
    ap.add_argument("--json", type=Path, help="write every case's result here (JSON lines)")
    args = ap.parse_args(argv)
    # the tools run inside each case's tree: a relative path to porter must not depend on that
    args.porter = os.path.abspath(shutil.which(args.porter) or args.porter)

    seed = int(args.case.split("-")[0]) if args.case else args.seed
    pool = kernel_pool(args.kernel, seed, args.pool, args.max_lines)
    if args.case:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
        res = one_case(args.case, args.kernel, pool, args.porter, args.timeout, args.keep)
        print(json.dumps({k: v for k, v in res.items() if k != "logs"}, indent=1))
        return 0
    ids = [f"{seed}-{n}" for n in range(args.cases)]
    results = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        futs = [ex.submit(one_case, i, args.kernel, pool, args.porter, args.timeout, None) for i in ids]
        for n, fut in enumerate(concurrent.futures.as_completed(futs), 1):
            res = fut.result()
            results.append(res)
            if args.json:
                with args.json.open("a") as fh:
                    fh.write(json.dumps(res) + "\n")
            if n % 25 == 0:
                print(f"... {n}/{len(ids)} cases", file=sys.stderr)
    done = sorted((r for r in results if "results" in r), key=lambda r: int(r["id"].split("-")[1]))
    print(f"{len(done)} cases ({len(results) - len(done)} skipped), pool of {len(pool)} files from {args.kernel}")
    print(table(done))
    bad = [r for r in done if r["results"]["porter"] in ("wrong", "partial")
           or r["results"]["porter-noidx"] in ("wrong", "partial")]
    print(f"\nporter wrong/partial: {len(bad)}")
    for r in bad:
        print(f"  --case {r['id']}  {r['drift']:<14} {r['edit']:<8} {r['path']}:{r['func']}()  "
              f"porter={r['results']['porter']} noidx={r['results']['porter-noidx']}  {'; '.join(r['notes'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
