"""One model of a patch: series -> commits -> files -> hunks -> lines.

Everything downstream (placement, apply, lint --patch, review) reads this model; porter.intake builds it.
Line text is str decoded from the patch's bytes with utf-8/surrogateescape, so
`text.encode("utf-8", "surrogateescape")` gives back the exact bytes (a Latin-1 file's diff included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FUNC_NAME_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
WRAPPER_RE = re.compile(r"^(?:static\s+)?[A-Z][A-Z0-9_]*\s*\(\s*([A-Za-z_]\w*)\s*,")  # SYSCALL_DEFINE1(name, ...
# Words that look like a call in a hunk header but are not the function's name.
NOT_FUNCTION_NAMES = {"if", "for", "while", "switch", "return", "sizeof", "defined", "__attribute__",
                      "__printf", "__acquires", "__releases", "__must_hold", "typeof", "__section"}


@dataclass
class Line:
    kind: str  # ' ' context, '-' removed, '+' added
    text: str  # without the newline
    # "\ No newline at end of file" followed this line: the last line of its side lacks the newline. On a
    # context line both sides lack it; on a '-' line only the old side; on a '+' line only the new side.
    no_newline: bool = False


@dataclass
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    section: str = ""  # text after the second @@: the enclosing definition git saw
    lines: list[Line] = field(default_factory=list)
    truncated: bool = False  # the mail held fewer lines than the header promised
    mangled: bool = False  # leading whitespace lost or context markers missing

    @property
    def old_lines(self) -> list[str]:
        return [ln.text for ln in self.lines if ln.kind in " -"]

    @property
    def old_no_newline(self) -> bool:
        """The old side's last line has no newline (the hunk reaches the end of the old file)."""
        side = [ln for ln in self.lines if ln.kind in " -"]
        return bool(side) and side[-1].no_newline

    @property
    def new_no_newline(self) -> bool:
        """The new side's last line has no newline (the hunk reaches the end of the new file)."""
        side = [ln for ln in self.lines if ln.kind in " +"]
        return bool(side) and side[-1].no_newline

    @property
    def leading_context(self) -> int:
        """Context lines before the first change: the pre-image index where the change begins."""
        n = 0
        for ln in self.lines:
            if ln.kind != " ":
                break
            n += 1
        return n

    @property
    def new_lines(self) -> list[str]:
        return [ln.text for ln in self.lines if ln.kind in " +"]

    @property
    def added(self) -> list[str]:
        return [ln.text for ln in self.lines if ln.kind == "+"]

    @property
    def removed(self) -> list[str]:
        return [ln.text for ln in self.lines if ln.kind == "-"]

    def section_function(self) -> str | None:
        """Name of the function in the @@ header, e.g. 'memmap_init_zone' from
        '@@ ... @@ void __meminit memmap_init_zone(unsigned long size, ...'."""
        text = self.section.strip()
        # `module_init(x);`, `EXPORT_SYMBOL(y);`, `static struct foo bar = {`: statements, not definitions.
        if text.endswith((";", "=", "= {")) or text.startswith("#"):
            return None
        # `SYSCALL_DEFINE1(stime, ...)`, `BPF_CALL_2(name, ...)`: a definition through a wrapper macro is named
        # by its first argument, as the C model names it (the macro's own name is no function of the file).
        wrapper = WRAPPER_RE.match(text)
        if wrapper:
            return wrapper.group(1)
        # `module_exit(exit_btrfs_fs)`, `late_initcall(f)`: a macro call at file scope has no return type, and its
        # arguments are bare names. `write_one(char *dest, int *size)` and `ref_scale_init(void)` are function
        # headers whose return type kernel style puts on the line above.
        call = re.match(r"^[A-Za-z_]\w*\s*\((.*)\)\s*$", text)
        if call and call.group(1).strip() != "void" and \
                all(re.fullmatch(r"\s*[\w.]+\s*", arg) for arg in call.group(1).split(",")):
            return None
        for m in FUNC_NAME_RE.finditer(text):
            if m.group(1) not in NOT_FUNCTION_NAMES:
                return m.group(1)
        return None

    def header(self) -> str:
        sec = f" {self.section}" if self.section else ""
        return f"@@ -{_range(self.old_start, self.old_len)} +{_range(self.new_start, self.new_len)} @@{sec}"


def _range(start: int, length: int) -> str:
    return str(start) if length == 1 else f"{start},{length}"


@dataclass
class FilePatch:
    """One file's part of a diff, with git's extended header semantics.

    old_path None = a new file; new_path None = a deleted file. A rename or copy has both paths and
    `rename`/`copy` set (git apply: a rename moves old_path to new_path, then applies the hunks to it; a copy
    leaves old_path in place). Modes are git's octal strings ("100644", "100755", "120000" symlink,
    "160000" gitlink); None when the patch does not say.
    """

    old_path: str | None  # None for a new file
    new_path: str | None  # None for a deleted file
    hunks: list[Hunk] = field(default_factory=list)
    old_index: str | None = None  # abbreviated blob id from the "index" line
    new_index: str | None = None
    new_mode: str | None = None  # "new file mode", "new mode", or the mode on the "index" line
    old_mode: str | None = None  # "old mode", "deleted file mode", or the mode on the "index" line
    rename: bool = False  # "rename from/to"
    copy: bool = False  # "copy from/to"
    similarity: int | None = None  # "similarity index N%"
    blob_repo: str | None = None  # repository holding old_index's blob (commits read by porter.backport)

    @property
    def mode_change(self) -> bool:
        return bool(self.old_mode and self.new_mode and self.old_mode != self.new_mode)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path

    @property
    def is_new(self) -> bool:
        return self.old_path is None

    @property
    def is_delete(self) -> bool:
        return self.new_path is None


@dataclass
class Commit:
    subject: str = ""
    author: str = ""  # "Name <email>"
    date: str = ""
    message: str = ""  # body without subject, trailers included
    files: list[FilePatch] = field(default_factory=list)
    number: tuple[int, int] | None = None  # [PATCH n/m]
    subject_prefix: str = ""  # the bracket groups mailinfo strips, as written: "[PATCH v3 2/5]", "[RFC] [PATCH]"
    message_id: str = ""  # the mail's Message-Id, "<...>" (for a Link: trailer)
    mail: bool = False  # read from a mail: git am's rules hold for its author and date

    @property
    def trailers(self) -> list[tuple[str, str]]:
        found = []
        paragraphs = self.message.strip().split("\n\n")
        for line in paragraphs[-1].splitlines() if paragraphs else []:
            m = re.match(r"^([A-Za-z][A-Za-z0-9-]*):\s+(.*)$", line)
            if m:
                found.append((m.group(1), m.group(2)))
        return found

    def hunks(self):
        for fp in self.files:
            for h in fp.hunks:
                yield fp, h


@dataclass
class Series:
    commits: list[Commit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what intake recovered: quoting, mangling, truncation
    source: str = ""

    def all_hunks(self):
        for c in self.commits:
            yield from ((c, fp, h) for fp, h in c.hunks())
