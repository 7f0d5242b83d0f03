"""porter locate NAME --tree A [--tree B ...]: where NAME is defined, declared and called in each tree, and
where it went in a tree that no longer has it (moved to another file, or renamed)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import click

from porter.cmodel.symbols import SymbolIndex
from porter.errors import PorterError
from porter.intake.names import quote_c
from porter.place.similarity import RENAME_MIN_MARGIN, RENAME_MIN_SCORE, is_clear, rank_functions
from porter.tree import open_trees

# A rename is claimed by the rename scorer `apply` uses too (porter/place/similarity.py: threshold and margin).
RENAME_THRESHOLD = RENAME_MIN_SCORE
RENAME_MARGIN = RENAME_MIN_MARGIN
EXIT_FOUND, EXIT_ABSENT = 0, 1


def locate(name: str, trees: list, callers: bool = True) -> dict:
    """The locate report for `name` over `trees` (porter.tree.Tree objects), as plain data. Without `callers`,
    only files that may define or declare the name are parsed (much less for a popular name)."""
    indexes = [SymbolIndex(t) for t in trees]
    # the whole-word search dominates: run it for all trees at once
    with ThreadPoolExecutor(max_workers=max(1, len(indexes))) as pool:
        list(pool.map(lambda ix: ix.files_with(name), indexes))

    per_tree = []
    for ix in indexes:
        defs = ix.definitions(name)
        per_tree.append({
            "tree": ix.tree.name,
            "definitions": [_def_dict(p, d) for p, d in defs],
            "declarations": [_def_dict(p, d) for p, d in ix.declarations(name)],
            "calls": [{"path": p, "line": c.line, "col": c.col + 1, "function": c.function,
                       **({"macro": c.macro} if c.macro else {})}
                      for p, c in (ix.callers(name) if callers else [])],
            "moved": None,
            "renamed": [],
            "candidates": [],
        })

    for i, entry in enumerate(per_tree):
        # moves are told forward (from an earlier tree); a missing name looks both ways for its rename
        ref = _reference(per_tree, i, earlier_only=bool(entry["definitions"]))
        if ref is None:
            continue
        ref_entry = per_tree[ref]
        if entry["definitions"]:
            here = {d["path"] for d in entry["definitions"]}
            there = {d["path"] for d in ref_entry["definitions"]}
            if not here & there:
                entry["moved"] = {"from_tree": ref_entry["tree"], "from": sorted(there), "to": sorted(here)}
            was = {d["static"] for d in ref_entry["definitions"] if d["kind"] == "function"}
            now = {d["static"] for d in entry["definitions"] if d["kind"] == "function"}
            if len(was) == 1 and len(now) == 1 and was != now:
                entry["scope_changed"] = {"from_tree": ref_entry["tree"], "was": "static" if True in was else "global",
                                          "now": "static" if True in now else "global"}
            continue
        ref_funcs = [d for d in ref_entry["definitions"] if d["kind"] == "function"]
        if not ref_funcs:
            continue
        _find_rename(name, indexes[ref], ref_entry, ref_funcs[0], indexes[i], entry)
    return {"name": name, "trees": per_tree}


def _reference(per_tree: list[dict], i: int, earlier_only: bool = False) -> int | None:
    """Nearest other tree (earlier first: trees are usually given old to new) that defines the name."""
    order = list(range(i - 1, -1, -1)) + ([] if earlier_only else list(range(i + 1, len(per_tree))))
    for j in order:
        if per_tree[j]["definitions"]:
            return j
    return None


def _find_rename(name, ref_ix: SymbolIndex, ref_entry: dict, ref_def: dict, ix: SymbolIndex, entry: dict) -> None:
    """Rename search near where the name lived: its file and its callers' files; when that finds nothing
    clear, also the files that define those callers in this tree (they may have moved too)."""
    path = ref_def["path"]
    d = next(dd for dd in ref_ix.file_model(path).find(name) if dd.start_line == ref_def["line"])
    text = ref_ix.definition_text(path, d)
    near = [path] + [c["path"] for c in ref_entry["calls"] if c["path"].endswith(".c")]
    if path.endswith(".h"):
        near += [x["path"] for x in ref_entry["declarations"]]
    near = [p for p in dict.fromkeys(near) if ix.tree.exists(p)]
    ref_callers = sorted({c["function"] for c in ref_entry["calls"] if c["function"]})
    ranked = _similar(ix, text, near)
    if not is_clear(ranked) and ref_callers:
        ix.prefetch(ref_callers)  # one text search for all of them
        moved = [p for caller in ref_callers for p, _d in ix.definitions(caller)]
        extra = [p for p in dict.fromkeys(moved) if p not in near]
        if extra:
            near += extra
            ranked = _similar(ix, text, near)
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    callers_of = _callers_in(ix, near)
    for k, (score, p, cand) in enumerate(ranked):
        # evidence: functions that called the old name and now call the candidate
        shared = sorted(callers_of.get(cand.name, set()) & set(ref_callers))
        item = {"name": cand.name, "path": p, "line": cand.start_line, "score": score,
                "static": cand.is_static, "shared_callers": shared,
                "from_tree": ref_entry["tree"], "from": f"{path}:{ref_def['line']}"}
        claim = k == 0 and score >= RENAME_THRESHOLD and score - runner_up >= RENAME_MARGIN
        (entry["renamed"] if claim else entry["candidates"]).append(item)


def _similar(ix: SymbolIndex, text: str, paths: list[str]) -> list:
    """(score, path, definition) of the functions in `paths` most like `text`, by the shared rename scorer."""
    candidates = [(p, ix.source(p), d) for p in dict.fromkeys(paths) if ix.tree.exists(p)
                  for d in ix.file_model(p).functions()]
    return rank_functions(text, candidates, limit=5)


def _callers_in(ix: SymbolIndex, paths: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in paths:
        for c in ix.file_model(p).calls:
            if c.function:
                out.setdefault(c.name, set()).add(c.function)
    return out


def _def_dict(path, d) -> dict:
    out = {"path": path, "line": d.start_line, "end_line": d.end_line, "kind": d.kind, "static": d.is_static,
           "signature": d.signature}
    if d.macro:
        out["macro"] = d.macro
    if d.error_nodes:
        out["error_nodes"] = d.error_nodes
    return out


def render_text(report: dict) -> list[str]:
    name = report["name"]
    lines = [name]
    for t in report["trees"]:
        lines.append(f"  {t['tree']}:")
        for d in t["definitions"]:
            scope = "static" if d["static"] else "global"
            where = f"{quote_c(d['path'])}:{d['line']}"
            lines.append(f"    defined   {where}  {d['kind']}, {scope}  {_short(d['signature'])}")
        for d in t["declarations"]:
            lines.append(f"    declared  {quote_c(d['path'])}:{d['line']}  {_short(d['signature'])}")
        for c in t["calls"]:
            where = f"in {c['function']}" if c["function"] else (f"in macro {c['macro']}" if c.get("macro") else
                                                                 "at file scope")
            lines.append(f"    called    {quote_c(c['path'])}:{c['line']}  {where}")
        if t["moved"]:
            m = t["moved"]
            lines.append(f"    moved     {', '.join(m['from'])} ({m['from_tree']}) -> {', '.join(m['to'])}")
        if t.get("scope_changed"):
            sc = t["scope_changed"]
            lines.append(f"    scope     {sc['now']} here, {sc['was']} in {sc['from_tree']}")
        if not t["definitions"]:
            lines.append("    not defined here")
        for r in t["renamed"]:
            shared = f", called from {', '.join(r['shared_callers'])} as before" if r["shared_callers"] else ""
            lines.append(f"    renamed   here {r['name']}  {quote_c(r['path'])}:{r['line']}  "
                         f"similarity {r['score']:.2f} "
                         f"(same function as {name} at {r['from']} in {r['from_tree']}{shared})")
        if not t["definitions"] and not t["renamed"] and t["candidates"]:
            best = ", ".join(f"{c['name']} {quote_c(c['path'])}:{c['line']} ({c['score']:.2f})"
                             for c in t["candidates"][:3])
            lines.append(f"    no clear rename (needs >= {RENAME_THRESHOLD} and a {RENAME_MARGIN} lead); "
                         f"nearest: {best}")
    return lines


def _short(sig: str, width: int = 100) -> str:
    return sig if len(sig) <= width else sig[:width - 3] + "..."


@click.command("locate")
@click.argument("name")
@click.option("--tree", "trees", multiple=True, required=True, metavar="TREE",
              help="A directory, a name from porter.toml, or a git ref (repeat to compare trees).")
@click.option("--callers/--no-callers", default=True, show_default=True,
              help="List call sites (parses every file that mentions NAME; off is faster for popular names).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(name, trees, callers, fmt):
    """Where NAME is defined, declared and called in each TREE, and where it went when it moved or was renamed.

    Only files that mention NAME as a whole word are parsed (parses are cached by content). Exit status:
    0 when some tree defines NAME, 1 when none does, 2 on bad input.
    """
    if not name.isidentifier():
        raise PorterError(f"{name!r} is not a C identifier")
    report = locate(name, open_trees(list(trees)), callers=callers)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo("\n".join(render_text(report)))
    raise SystemExit(EXIT_FOUND if any(t["definitions"] for t in report["trees"]) else EXIT_ABSENT)
