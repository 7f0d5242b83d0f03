"""static-to-file: a function is `static`, defined only in the named file, and declared in no other file.

    symbol = "__init_single_page"
    file = "mm/page_alloc.c"

Reports each definition that is not static or lives in another file, and each declaration outside the file
(a header prototype is how a static helper stops being local). A tree without any definition is reported too,
unless allow_missing = true.
"""

from __future__ import annotations

from porter.lint.findings import Finding, Step
from porter.lint.message import render
from porter.lint.rules import Param, Rule

PARAMS = {
    "symbol": Param("str", required=True, help="function name"),
    "file": Param("str", required=True, help="the one file that may define it"),
    "allow_missing": Param("bool", default=False, help="no finding when the tree has no definition"),
}


def prepare(rule: Rule) -> None:
    pass


def words(rule: Rule) -> list[str]:
    return [rule["symbol"]]


def check(rule: Rule, ctx) -> list[Finding]:
    sym, home = rule["symbol"], rule["file"]
    symbols = ctx.symbols
    defs = sorted(((p, d) for p, d in symbols.definitions(sym) if d.kind == "function"),
                  key=lambda pd: (pd[0], pd[1].start_line))
    decls = sorted(symbols.declarations(sym), key=lambda pd: (pd[0], pd[1].start_line))
    out: list[Finding] = []
    fmt = dict(symbol=sym, file=home)
    if not defs:
        if not rule["allow_missing"]:
            out.append(Finding(rule.id, rule.severity, home, 0, 0,
                               render(rule.message, f"{sym} is not defined anywhere in the tree", **fmt),
                               key=f"missing:{sym}"))
        return out
    related_decls = tuple(Step(p, d.start_line, 1, f"declared in {p}") for p, d in decls if p != home)
    for path, d in defs:
        problems = []
        if not d.is_static:
            problems.append("not static")
        if path != home:
            problems.append(f"defined in {path}, not {home}")
        if not problems:
            continue
        detail = f"{sym} is " + ", ".join(problems)
        bad_decls = [p for p, _ in decls if p != home]
        if bad_decls:
            detail += "; declared in " + ", ".join(sorted(set(bad_decls)))
        out.append(Finding(rule.id, rule.severity, path, d.start_line, 1, render(rule.message, detail, **fmt),
                           key=f"def:{path}:{sym}:{'static' if d.is_static else 'extern'}",
                           function=sym, chain=related_decls))
    for path, d in decls:
        if path == home and not d.is_extern:
            continue  # a static prototype in its own file is fine
        where = "header" if path.endswith(".h") else "file"
        detail = f"{sym} is declared in {where} {path}, so other files can call it"
        defs_steps = tuple(Step(p, dd.start_line, 1, f"defined in {p}") for p, dd in defs)
        out.append(Finding(rule.id, rule.severity, path, d.start_line, 1, render(rule.message, detail, **fmt),
                           key=f"decl:{path}:{sym}", function=None, chain=defs_steps))
    return out
