"""--partial: the hunks porter refused, as `.rej` files in unified format like patch(1), staged as ordinary
changes so they go through the same journal as the rest of the write."""

from __future__ import annotations

from porter.intake.names import quote_c
from porter.write.changes import REGULAR, FileChange


def reject_changes(tree, result) -> list[FileChange]:
    by_file: dict[str, list] = {}
    for o in result.outcomes:
        if not o.placed:
            by_file.setdefault(o.patch_file, []).append(o)
    changes = []
    for path, outs in sorted(by_file.items()):
        lines = [f"--- {quote_c('a/' + path)}", f"+++ {quote_c('b/' + path)}"]
        for o in outs:
            lines.append(o.hunk.header())
            lines += [ln.kind + ln.text for ln in o.hunk.lines]
        rej = path + ".rej"
        old = tree.read(rej) if tree.check_regular(rej) else None
        new = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
        changes.append(FileChange(rej, old, new, tree.mode(rej) if old is not None else None, REGULAR))
    return changes
