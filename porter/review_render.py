"""Render a porter.review.Review: text for a terminal (aligned columns, colour only when asked, i.e. on a tty),
markdown for a mail reply or a merge request, JSON for tools.

Layout, the same in text and markdown: notes from intake; one section per patch of the series (a table with one
row per hunk and tree: where it lands, the function it lands in, the rung, moved/renamed/relation notes or the
refusal; then the rule findings this patch introduces, removes and leaves, per tree); then the series summary
(per tree: hunks placed, findings, verdict; each rule's status after the series per tree; whether one common
patch applies to every tree; the overall verdict).
"""

from __future__ import annotations

import json

from porter.review import BROKEN, FIXED, HOLDS, PRE_EXISTING, HunkReview, LintDelta, Review

STATE_LABEL = {"introduced": "introduced", "removed": "removed", "unchanged": "pre-existing"}


def to_json(rv: Review) -> str:
    return json.dumps(rv.to_dict(), indent=2) + "\n"


# ---------------------------------------------------------------------------------------------- shared

def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _patch_title(c: dict, total: int) -> str:
    subject = c["subject"] or "(no subject: a plain diff)"
    return f"[PATCH {c['number']}] {subject}" if total > 1 or c["number"] != "1/1" else f"[PATCH] {subject}"


def _labelled(rv: Review, text: str) -> str:
    """Tree names (often long paths) in planner messages, as the short labels of the columns."""
    for t in sorted(rv.trees, key=lambda t: -len(t.name)):
        if t.name != t.label:
            text = text.replace(t.name, t.label)
    return text


def _hunk_cells(h: HunkReview) -> tuple[str, str, str, str, str]:
    """(lands at, function, rung, notes, extra line or '')."""
    if h.status == "refused":
        extra = ("nearest: " + ", ".join(h.candidates)) if h.candidates else ""
        return "REFUSED", "-", "-", h.reason, extra
    where = f"{h.target_file}:{h.line}" if h.line else (h.target_file or "-")
    fn = f"{h.function}()" if h.function and " " not in h.function else (h.function or "(file scope)")
    return where, fn, h.rung or "-", "; ".join(h.notes), ""


def _hunk_rows(rv: Review, k: int) -> list[tuple[str, str, HunkReview | None, str]]:
    """Rows of patch k: (hunk label, tree label, hunk review or None, error) grouped by hunk, then tree."""
    keys: list[tuple[str, int]] = []
    for t in rv.trees:
        if k < len(t.patches):
            for h in t.patches[k].hunks:
                if (h.patch_file, h.number) not in keys:
                    keys.append((h.patch_file, h.number))
    rows = []
    for ki, key in enumerate(keys):
        first = True
        for t in rv.trees:
            h = next((x for x in (t.patches[k].hunks if k < len(t.patches) else [])
                      if (x.patch_file, x.number) == key), None)
            if h is None and ki > 0:
                continue  # a tree that could not be reviewed says so once, on the first hunk
            label = (f"{key[0]} #{key[1]}" if key[1] else f"{key[0]} (delete)") if first else ""
            rows.append((label, t.label, h, t.error if h is None else ""))
            first = False
    for t in rv.trees:
        if t.error and not any(h for h in (t.patches[k].hunks if k < len(t.patches) else [])):
            if not keys:
                rows.append(("(all)", t.label, None, t.error))
    return rows


def _rule_cell(r) -> str:
    if r.status == "not checked" and r.before:
        return f"not checked (violated before: {r.before})"
    return r.status


def _lint_counts(d: LintDelta) -> str:
    if not d.checked:
        return f"not checked ({d.skipped})" if d.skipped else "not checked"
    return f"introduced {len(d.introduced)}, removed {len(d.removed)}, pre-existing {len(d.unchanged)}"


def _finding_line(f) -> str:
    loc = f.path or "<tree>"
    if f.path and f.line:
        loc += f":{f.line}"
    return f"{loc}: {f.severity}: {f.message} [{f.rule_id}]"


def _common_line(rv: Review) -> str:
    names = ", ".join(t.label for t in rv.trees)
    if len(rv.trees) < 2:
        return ""
    if rv.common_patch is not None:
        why = "; ".join(rv.plan_notes)
        return _labelled(rv, f"yes: one patch applies to {names}" + (f" ({why})" if why else ""))
    line = f"no: {rv.common_reason or 'no single patch applies to every tree'}"
    if rv.split_files:
        line += "; " + "; ".join(rv.split_files)
    return _labelled(rv, line)


def _verify_text(v: dict | None) -> str:
    if v is None:
        return ""
    parts = [v.get("verdict", "?")]
    if v.get("error"):
        parts.append(v["error"])
    for s in v.get("sides", []):
        inits = [m for m in s.get("modes", []) if m.get("init_pages") is not None]
        init = f", init {inits[0]['init_pages']} pages in {inits[0]['init_ms_median']} ms" if inits else ""
        parts.append(f"{s['label']} {s['verdict']}{init}")
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------- text

class _Style:
    COLOURS = {"PASS": "green", "FAIL": "red", "REFUSED": "red", "introduced": "red", "removed": "green",
               "pre-existing": "yellow", HOLDS: "green", FIXED: "green", PRE_EXISTING: "yellow", BROKEN: "red",
               "SKIPPED": "yellow", "ERROR": "red"}

    def __init__(self, colour: bool):
        self.colour = colour

    def __call__(self, text: str, key: str | None = None, bold: bool = False) -> str:
        if not self.colour:
            return text
        import click

        fg = self.COLOURS.get(key if key is not None else text.strip())
        return click.style(text, fg=fg, bold=bold) if (fg or bold) else text


def _table(rows: list[list[str]], indent: str, style: _Style, colour_cols: tuple[int, ...] = ()) -> list[str]:
    """Aligned columns (widths from the plain text); the last column is not padded."""
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for ri, r in enumerate(rows):
        last = max((i for i, c in enumerate(r) if c), default=0)  # no padding after the last non-empty cell
        cells = []
        for i, c in enumerate(r[:last + 1]):
            padded = c if i == last else c.ljust(widths[i])
            if ri == 0:
                padded = style(padded, key="", bold=True)
            elif i in colour_cols:
                padded = style(c, key=c.strip()) + padded[len(c):]
            cells.append(padded)
        out.append(indent + "  ".join(cells))
    return out


def _pre_existing_text(rv: Review, st: _Style) -> list[str]:
    """The findings the series leaves as they were, once per tree."""
    out = []
    for t in rv.trees:
        if t.lint.checked and t.lint.unchanged:
            out.append("")
            out.append(f"  {t.label}: {_plural(len(t.lint.unchanged), 'finding')} already there before the "
                       f"{'series' if len(rv.series.commits) > 1 else 'patch'}:")
            for f in t.lint.unchanged:
                out.append(f"    {st('pre-existing', key='pre-existing')} {_finding_line(f)}")
    return out


def to_text(rv: Review, colour: bool = False) -> str:
    st = _Style(colour)
    commits = rv.commits()
    total = len(commits)
    lines = [st(f"porter review: {rv.source or '-'}", bold=True, key="") +
             f"  ({_plural(total, 'patch').replace('patchs', 'patches')}, "
             f"{_plural(len(rv.trees), 'tree')}: {', '.join(t.label for t in rv.trees)})"]
    for note in rv.series.notes:
        lines.append(f"note: {note}")
    for k, c in enumerate(commits):
        lines.append("")
        lines.append(st(_patch_title(c, total), bold=True, key=""))
        if c["author"]:
            lines.append(f"  {c['author']}")
        rows = [["hunk", "tree", "lands at", "function", "rung", "notes"]]
        extras: dict[int, str] = {}
        for label, tree, h, err in _hunk_rows(rv, k):
            if h is None:
                rows.append([label, tree, "ERROR", "-", "-", _labelled(rv, err)])
                continue
            where, fn, rung, notes, extra = _hunk_cells(h)
            notes, extra = _labelled(rv, notes), _labelled(rv, extra)
            rows.append([label, tree, where, fn, rung, notes])
            if extra:
                extras[len(rows) - 1] = extra
        table = _table(rows, "  ", st, colour_cols=(2,))
        for i, line in enumerate(table):
            lines.append(line)
            if i in extras:
                lines.append("      " + extras[i])
        if rv.rules:
            lines.append("  rules, this patch:")
            width = max(len(t.label) for t in rv.trees)
            for t in rv.trees:
                d = t.patches[k].lint if k < len(t.patches) else LintDelta()
                lines.append(f"    {t.label.ljust(width)}  {_lint_counts(d)}")
                for state in ("introduced", "removed"):  # pre-existing ones are listed once, in the summary
                    for f in getattr(d, state):
                        lab = STATE_LABEL[state]
                        lines.append(f"      {st(lab.ljust(12), key=lab)} {_finding_line(f)}")
    lines.append("")
    lines.append(st("series summary" if total > 1 else "summary", bold=True, key=""))
    rows = [["tree", "hunks", "introduced", "removed", "pre-existing", "verdict", "why"]]
    for t in rv.trees:
        d = t.lint
        counts = [str(len(d.introduced)), str(len(d.removed)), str(len(d.unchanged))] if d.checked else ["-"] * 3
        rows.append([t.label, f"{len(t.hunks) - t.refused}/{len(t.hunks)}", *counts, t.verdict,
                     _labelled(rv, "; ".join(t.reasons))])
    lines.extend(_table(rows, "  ", st, colour_cols=(5,)))
    if rv.rules:
        lines.extend(_pre_existing_text(rv, st))
        lines.append("")
        rows = [["rule", *[t.label for t in rv.trees]]]
        for i, r in enumerate(rv.rules):
            row = [r.id]
            for t in rv.trees:
                row.append(_rule_cell(t.rules[i]) if i < len(t.rules) else "not checked")
            rows.append(row)
        lines.extend(_table(rows, "  ", st, colour_cols=tuple(range(1, len(rv.trees) + 1))))
    if any(t.verify is not None for t in rv.trees):
        lines.append("")
        width = max(len(t.label) for t in rv.trees)
        for t in rv.trees:
            lines.append(f"  verify {t.label.ljust(width)}  {_verify_text(t.verify)}")
    common = _common_line(rv)
    if common:
        lines.append("")
        lines.append(f"  common patch: {common}")
    lines.append(f"  verdict: {st(rv.verdict)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- markdown

def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if text and text not in ("-", "REFUSED") else text


def to_markdown(rv: Review) -> str:
    commits = rv.commits()
    total = len(commits)
    out = [f"### porter review: {rv.verdict}", ""]
    out.append(f"`{_md(rv.source or '-')}`: {_plural(total, 'patch').replace('patchs', 'patches')}; trees "
               + ", ".join(f"`{t.label}`" for t in rv.trees))
    for note in rv.series.notes:
        out.append(f"> note: {_md(note)}")
    for k, c in enumerate(commits):
        out += ["", f"#### {_md(_patch_title(c, total))}", ""]
        out.append("| hunk | tree | lands at | function | rung | notes |")
        out.append("|---|---|---|---|---|---|")
        for label, tree, h, err in _hunk_rows(rv, k):
            if h is None:
                out.append(f"| {_md(label)} | {_md(tree)} | **ERROR** | - | - | {_md(_labelled(rv, err))} |")
                continue
            where, fn, rung, notes, extra = _hunk_cells(h)
            notes, extra = _labelled(rv, notes), _labelled(rv, extra)
            if where == "REFUSED":
                where = "**REFUSED**"
            else:
                where = _code(where)
            if extra:
                notes = f"{notes}; {extra}" if notes else extra
            out.append(f"| {_code(_md(label)) if label else ''} | {_md(tree)} | {where} | {_code(_md(fn))} | "
                       f"{_md(rung)} | {_md(notes)} |")
        if rv.rules:
            out += ["", "Rules, this patch:"]
            for t in rv.trees:
                d = t.patches[k].lint if k < len(t.patches) else LintDelta()
                out.append(f"- `{_md(t.label)}`: {_md(_lint_counts(d))}")
                for state in ("introduced", "removed"):
                    for f in getattr(d, state):
                        out.append(f"  - {STATE_LABEL[state]}: `{_md(_finding_line(f))}`")
    out += ["", "#### Series summary" if total > 1 else "#### Summary", ""]
    out.append("| tree | hunks placed | introduced | removed | pre-existing | verdict |")
    out.append("|---|---|---|---|---|---|")
    for t in rv.trees:
        d = t.lint
        counts = [str(len(d.introduced)), str(len(d.removed)), str(len(d.unchanged))] if d.checked else ["-"] * 3
        why = f" ({_md(_labelled(rv, '; '.join(t.reasons)))})" if t.reasons else ""
        out.append(f"| `{_md(t.label)}` | {len(t.hunks) - t.refused}/{len(t.hunks)} | {' | '.join(counts)} | "
                   f"**{t.verdict}**{why} |")
    for t in rv.trees:
        if t.lint.checked and t.lint.unchanged:
            out += ["", f"Already there before, left as they were (`{_md(t.label)}`):"]
            out += [f"- `{_md(_finding_line(f))}`" for f in t.lint.unchanged]
    if rv.rules:
        out += ["", "| rule | " + " | ".join(f"`{_md(t.label)}`" for t in rv.trees) + " |",
                "|---|" + "---|" * len(rv.trees)]
        for i, r in enumerate(rv.rules):
            cells = [_rule_cell(t.rules[i]) if i < len(t.rules) else "not checked" for t in rv.trees]
            out.append(f"| `{_md(r.id)}` | " + " | ".join(cells) + " |")
    if any(t.verify is not None for t in rv.trees):
        out.append("")
        for t in rv.trees:
            out.append(f"- verify `{_md(t.label)}`: {_md(_verify_text(t.verify))}")
    common = _common_line(rv)
    out.append("")
    if common:
        out.append(f"**Common patch:** {_md(common)}  ")
    out.append(f"**Verdict:** {rv.verdict}")
    return "\n".join(out) + "\n"
