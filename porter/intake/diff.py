"""A diff's text into FilePatches: git diffs with their extended headers, traditional `diff -u` (and `-N`)
headers, context diffs (context.py) and bare hunks (rejects.py), all into the same model.

git extended headers (git apply's parse_git_diff_header): old mode / new mode, new file mode, deleted file
mode, rename from/to, copy from/to, similarity index, dissimilarity index, index <a>..<b> [mode]. A file patch
with no hunks is valid when it renames, copies, changes the mode, creates or deletes (an empty file).
Anything that is not part of a diff between file patches (a diffstat, "Only in", a signature) is skipped, as
git apply skips it; a hunk without a file header is refused unless --file names its target.
"""

from __future__ import annotations

import re

from porter.errors import PorterError
from porter.intake import context, rejects
from porter.intake.common import DEFAULT_OPTIONS, Corrupt, Options, fail, shown
from porter.intake.hunks import HunkReading, is_hunk_start, parse_hunk
from porter.intake.names import (
    git_header_names,
    has_epoch_timestamp,
    header_name,
    is_dev_null,
)
from porter.patch import FilePatch
from porter.tree import check_relative_path

GIT_REJECT_RE = re.compile(r"^diff (\S.*) \S.*\t\(rejected hunks\)$")
_BINARY = ("GIT binary patch", "Binary files ")


def parse_diff(lines: list[str], series=None, label: str = "", options: Options = DEFAULT_OPTIONS,
               tolerant: bool = False, first_line: int = 1) -> list[FilePatch]:
    """FilePatches of the diff in `lines` (str, newlines stripped). Raises PorterError with the line."""
    reading = HunkReading(tolerant=tolerant)
    try:
        files = _Scanner(lines, options, reading).run()
    except Corrupt as exc:
        where = f" at line {exc.line + first_line}" if exc.line is not None else ""
        raise fail(label, f"corrupt patch{where}: {shown(str(exc), 160)}") from None
    except PorterError as exc:
        raise fail(label, str(exc)) from None
    if series is not None:
        series.notes.extend(n for n in reading.notes if n not in series.notes)
        if any(h.mangled for f in files for h in f.hunks) and not any("whitespace-mangled" in n
                                                                     for n in series.notes):
            series.notes.append("whitespace-mangled mail (indentation lost): matched whitespace-insensitively, "
                                "added lines re-indented to the target")
    return files


def diff_start(lines: list[str]) -> int | None:
    """Index of the first line that begins a file patch (git, traditional or context header)."""
    for i, ln in enumerate(lines):
        if ln.startswith(("diff --git ", "diff --cc ", "diff --combined ")) or _traditional_at(lines, i) \
                or context.header_at(lines, i) or GIT_REJECT_RE.match(ln):
            return i
    return None


def _traditional_at(lines: list[str], i: int) -> bool:
    return lines[i].startswith("--- ") and i + 2 < len(lines) and lines[i + 1].startswith("+++ ") \
        and is_hunk_start(lines[i + 2])


class _Scanner:
    def __init__(self, lines: list[str], options: Options, reading: HunkReading):
        self.lines = lines
        self.options = options
        self.reading = reading
        self.strip = 1 if options.strip is None else options.strip

    def run(self) -> list[FilePatch]:
        lines, files, i = self.lines, [], 0
        if rejects.is_bare(lines):
            return [self._checked(fp, 0) for fp in rejects.parse_bare(lines, self.options, self.reading)]
        while i < len(lines):
            ln = lines[i]
            if ln.startswith(_BINARY):
                raise PorterError(f"binary diff{' for ' + files[-1].path if files else ''}: porter ports text "
                                  "patches only")
            if ln.startswith(("diff --cc ", "diff --combined ")):
                raise PorterError("a combined diff (diff --cc, a merge commit's): porter ports ordinary patches; "
                                  "export the merge's changes against one parent")
            if ln.startswith("diff --git "):
                fp, i = self._git_file(i)
            elif _traditional_at(lines, i):
                fp, i = self._traditional_file(i)
            elif GIT_REJECT_RE.match(ln) and i + 1 < len(lines) and is_hunk_start(lines[i + 1]):
                fp, i = self._git_reject_file(i)
            elif context.header_at(lines, i):
                fp, i = context.parse_file(lines, i, self.name_strip(lines, i), self.reading)
            elif is_hunk_start(ln):
                raise Corrupt("hunk without a file header (name its file with --file PATH)", i)
            elif ln.startswith(("@@ ", "@@-")):
                raise Corrupt(f"malformed hunk header {ln[:60]!r}", i)
            else:
                if ln == "-- " and files:
                    break  # the mail's signature: nothing after it is patch
                i += 1
                continue
            files.append(self._checked(fp, i))
        return files

    # -- git diffs ----------------------------------------------------------------------------------------
    def _git_file(self, i: int) -> tuple[FilePatch, int]:
        lines = self.lines
        default = git_header_names(self.strip, lines[i][len("diff --git "):])
        fp = FilePatch(old_path=None, new_path=None)
        state = {"new": False, "delete": False, "old": None, "newname": None, "seen_old": False,
                 "seen_new": False}
        start = i
        i += 1
        while i < len(lines):
            ln = lines[i].rstrip("\r")
            if is_hunk_start(ln) or ln.startswith("diff --git "):
                break
            if not self._git_header_line(fp, state, ln, i, default):
                break
            i += 1
        if i < len(lines) and lines[i].startswith(_BINARY):
            raise PorterError(f"binary diff for {default or state['newname'] or state['old'] or 'a file'}: "
                              "porter ports text patches only")
        if fp.rename and fp.copy:
            raise Corrupt("'rename' and 'copy' headers in the same file patch", start)
        old, new = state["old"], state["newname"]
        if default is not None and not (fp.rename or fp.copy):
            for side, name in (("---", old), ("+++", new)):
                if name is not None and name != default:
                    # git apply would silently take this for a rename; without a rename header it is a mistake.
                    raise Corrupt(f"inconsistent file names: 'diff --git' names {default!r}, the {side} line "
                                  f"{name!r}, and there is no rename or copy header", start)
        if old is None and new is None:
            if default is None:
                raise Corrupt(f"git diff header lacks file name information when removing {self.strip} leading "
                              f"pathname component(s) (try -p0 for a diff without a/ b/)", start)
            old = new = default
        if state["new"]:
            old, new = None, new or default
        if state["delete"]:
            old, new = old or default, None
        if (new is None and not state["delete"]) or (old is None and not state["new"]):
            raise Corrupt("git diff header lacks file name information", start)
        fp.old_path, fp.new_path = old, new
        if fp.old_mode and not fp.new_mode and not state["delete"]:
            fp.new_mode = fp.old_mode  # "index a..b 100755": the mode stays
        i = self._hunks(fp, i)
        return fp, i

    def _git_header_line(self, fp: FilePatch, state: dict, ln: str, i: int, default: str | None) -> bool:
        """Apply one extended header line; False when the line is not one (the header ends)."""
        for key, action in _GIT_HEADERS:
            if ln.startswith(key):
                action(self, fp, state, ln[len(key):], i, default)
                return True
        return False

    def _name_line(self, fp, state, rest: str, i: int, default, side: str) -> None:
        null = is_dev_null(rest)
        key = "old" if side == "---" else "newname"
        name = None if null else header_name(rest, self.strip)
        if null:
            if (side == "---" and not state["new"]) or (side == "+++" and not state["delete"]):
                raise Corrupt(f"{side} /dev/null for a file that is not {'new' if side == '---' else 'deleted'}", i)
            return
        if state[key] is not None and state[key] != name:
            raise Corrupt(f"inconsistent {'old' if side == '---' else 'new'} file name {name!r} "
                          f"(the header says {state[key]!r})", i)
        if (side == "---" and state["new"]) or (side == "+++" and state["delete"]):
            raise Corrupt(f"expected {side} /dev/null", i)
        state[key] = name

    def _rename_line(self, fp, state, rest, i, default, which: str, kind: str) -> None:
        name = header_name(rest, max(self.strip - 1, 0), terminate_at_tab=False)
        if name is None:
            raise Corrupt(f"{kind} {which} /dev/null", i)
        state["old" if which == "from" else "newname"] = name
        if kind == "rename":
            fp.rename = True
        else:
            fp.copy = True

    def _traditional_file(self, i: int) -> tuple[FilePatch, int]:
        lines = self.lines
        strip = self.name_strip(lines, i)
        old_null, new_null = is_dev_null(lines[i][4:]), is_dev_null(lines[i + 1][4:])
        if old_null and new_null:
            raise Corrupt("both file names are /dev/null", i)
        old = None if old_null else header_name(lines[i][4:], strip)
        new = None if new_null else header_name(lines[i + 1][4:], strip)
        if old is not None and new is not None and not (len(old) < len(new) and new.startswith(old)):
            old = new  # git apply: one file, named by the +++ line unless the --- name is its prefix
        elif old is not None and new is not None:
            new = old
        if old is not None and new is not None and has_epoch_timestamp(lines[i][4:]):
            old = None  # diff -N: a file that did not exist
        elif old is not None and new is not None and has_epoch_timestamp(lines[i + 1][4:]):
            new = None
        fp = FilePatch(old_path=old, new_path=new)
        return fp, self._hunks(fp, i + 2)

    def name_strip(self, lines: list[str], i: int) -> int:
        """-pN as given; without -p: 1 for a/ b/ names, git's guess 0 when neither name has a '/', else the
        default (0 for a .rej file)."""
        if self.options.strip is not None:
            return self.options.strip
        old, new = (n.split("\t", 1)[0] for n in (lines[i][4:], lines[i + 1][4:]))
        if (old.startswith("a/") or is_dev_null(old)) and (new.startswith("b/") or is_dev_null(new)):
            return 1
        if all(is_dev_null(n) or "/" not in n for n in (old, new)):
            return 0
        return self.options.default_strip

    def _git_reject_file(self, i: int) -> tuple[FilePatch, int]:
        """`git apply --reject` writes `diff a/<name> b/<name>\t(rejected hunks)` and the hunks."""
        m = GIT_REJECT_RE.match(self.lines[i])
        name = header_name(m.group(1), self.strip)
        fp = FilePatch(old_path=name, new_path=name)
        return fp, self._hunks(fp, i + 1)

    def _hunks(self, fp: FilePatch, i: int) -> int:
        while i < len(self.lines) and is_hunk_start(self.lines[i]):
            hunk, i = parse_hunk(self.lines, i, fp.path or "?", self.reading)
            fp.hunks.append(hunk)
        if i < len(self.lines) and self.lines[i].startswith("@@"):
            raise Corrupt(f"malformed hunk header {self.lines[i][:60]!r}", i)
        return i

    def _checked(self, fp: FilePatch, i: int) -> FilePatch:
        for attr in ("old_path", "new_path"):
            value = getattr(fp, attr)
            if value is not None:
                setattr(fp, attr, check_relative_path(value))
        old_lines = sum(len(h.old_lines) for h in fp.hunks)
        new_lines = sum(len(h.new_lines) for h in fp.hunks)
        if fp.is_new and old_lines:
            raise Corrupt(f"new file {fp.path} depends on old contents", i)
        if fp.is_delete and new_lines:
            raise Corrupt(f"deleted file {fp.path} still has contents", i)
        if not (fp.hunks or fp.is_new or fp.is_delete or fp.rename or fp.copy or fp.mode_change):
            raise Corrupt(f"{fp.path}: file header without any change (no hunks, rename, copy or mode change)", i)
        return fp


def _mode(text: str, i: int) -> str:
    text = text.strip()
    if not text or any(c not in "01234567" for c in text) or len(text) > 7:
        raise Corrupt(f"invalid mode {text!r}", i)
    value = int(text, 8)
    kind = value & 0o170000
    if kind == 0o100000:
        return "100755" if value & 0o100 else "100644"  # git canonicalises regular files to 644/755
    if kind == 0o120000:
        return "120000"
    if kind in (0o040000, 0o160000):
        return "160000"
    raise Corrupt(f"invalid mode {text!r}", i)


def _old_mode(sc, fp, state, rest, i, default):
    fp.old_mode = _mode(rest, i)


def _new_mode(sc, fp, state, rest, i, default):
    fp.new_mode = _mode(rest, i)


def _new_file(sc, fp, state, rest, i, default):
    state["new"] = True
    _not_both(state, i)
    fp.new_mode = _mode(rest, i)


def _deleted_file(sc, fp, state, rest, i, default):
    state["delete"] = True
    _not_both(state, i)
    fp.old_mode = _mode(rest, i)


def _not_both(state: dict, i: int) -> None:
    if state["new"] and state["delete"]:
        raise Corrupt("'new file mode' and 'deleted file mode' in the same file patch", i)


def _similarity(sc, fp, state, rest, i, default):
    value = rest.strip().rstrip("%")
    # ASCII digits only, and no int() of a 5,000-digit string (Python refuses those with a ValueError).
    if not re.fullmatch(r"[0-9]+", value) or len(value.lstrip("0")) > 3 or int(value) > 100:
        raise Corrupt(f"invalid similarity index {rest.strip()!r}", i)
    fp.similarity = int(value)


def _index(sc, fp, state, rest, i, default):
    ids, _, mode = rest.strip().partition(" ")
    old, dots, new = ids.partition("..")
    if not dots or not all(c in "0123456789abcdef" for c in old + new) or len(old) > 64 or len(new) > 64:
        raise Corrupt(f"malformed index line {rest.strip()!r}", i)
    fp.old_index, fp.new_index = old, new
    if mode:
        fp.old_mode = fp.old_mode or _mode(mode, i)


def _ignore(sc, fp, state, rest, i, default):
    pass


_GIT_HEADERS = (
    ("--- ", lambda sc, fp, st, rest, i, d: sc._name_line(fp, st, rest, i, d, "---")),
    ("+++ ", lambda sc, fp, st, rest, i, d: sc._name_line(fp, st, rest, i, d, "+++")),
    ("old mode ", _old_mode),
    ("new mode ", _new_mode),
    ("deleted file mode ", _deleted_file),
    ("new file mode ", _new_file),
    ("copy from ", lambda sc, fp, st, rest, i, d: sc._rename_line(fp, st, rest, i, d, "from", "copy")),
    ("copy to ", lambda sc, fp, st, rest, i, d: sc._rename_line(fp, st, rest, i, d, "to", "copy")),
    ("rename old ", lambda sc, fp, st, rest, i, d: sc._rename_line(fp, st, rest, i, d, "from", "rename")),
    ("rename new ", lambda sc, fp, st, rest, i, d: sc._rename_line(fp, st, rest, i, d, "to", "rename")),
    ("rename from ", lambda sc, fp, st, rest, i, d: sc._rename_line(fp, st, rest, i, d, "from", "rename")),
    ("rename to ", lambda sc, fp, st, rest, i, d: sc._rename_line(fp, st, rest, i, d, "to", "rename")),
    ("similarity index ", _similarity),
    ("dissimilarity index ", _ignore),
    ("index ", _index),
)
