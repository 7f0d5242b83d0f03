"""Hunks without a file header: a `.rej` file written by patch(1) in its old context format, or hunks cut out
of a mail (only `@@` lines). `--file PATH` names the file they are for; without it they are refused, since
nothing says where they belong. (A `.rej` with `--- / +++` names is an ordinary diff and needs no --file.)
"""

from __future__ import annotations

from porter.errors import PorterError
from porter.intake import context
from porter.intake.common import Options
from porter.intake.hunks import HunkReading, is_hunk_start, parse_hunk
from porter.patch import FilePatch
from porter.tree import check_relative_path


def is_bare(lines: list[str]) -> bool:
    """Hunks, but no file header anywhere."""
    from porter.intake.diff import diff_start

    has_hunk = any(is_hunk_start(ln) or context.is_hunk_start(lines, i) for i, ln in enumerate(lines))
    return has_hunk and diff_start(lines) is None


def parse_bare(lines: list[str], options: Options, reading: HunkReading) -> list[FilePatch]:
    if not options.file:
        raise PorterError("hunks without a file header (a .rej file or bare @@ hunks): name the file they "
                          "change with --file PATH")
    name = check_relative_path(options.file)
    fp = FilePatch(old_path=name, new_path=name)
    i = 0
    while i < len(lines):
        if is_hunk_start(lines[i]):
            hunk, i = parse_hunk(lines, i, name, reading)
        elif context.is_hunk_start(lines, i):
            hunk, i = context.parse_hunk(lines, i, name)
        else:
            i += 1
            continue
        fp.hunks.append(hunk)
    return [fp]
