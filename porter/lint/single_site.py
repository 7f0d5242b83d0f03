"""single-site: an assignment pattern occurs in at most (and at least) a given number of functions.

    field = "pgmap"                                     # the member assigned (also the prefilter word)
    target = '^(?:\\w*(?:page|folio)\\w*|page_folio\\(.*\\))->pgmap$'   # regex on the assigned expression
    max_functions = 1
    min_functions = 1

Every site is reported when there are too many functions (each names the others), so the one to fold into the
common path is visible from any of them.
"""

from __future__ import annotations

import re

from porter.lint.findings import Finding, Step
from porter.lint.message import render
from porter.lint.rules import Param, Rule, RuleError

PARAMS = {
    "field": Param("str", required=True, help="member name assigned, e.g. pgmap"),
    "target": Param("regex", default="", help="regex the whole assigned expression must match"),
    "ops": Param("list[str]", default=["="], help="assignment operators that count"),
    "max_functions": Param("int", default=1),
    "min_functions": Param("int", default=1),
    "paths": Param("list[str]", default=[], help="only count sites in files matching these globs"),
}


def prepare(rule: Rule) -> None:
    if not re.fullmatch(r"\w+", rule["field"]):
        raise RuleError(f"{rule.where('field')}: must be a member name, got {rule['field']!r}")
    if rule["min_functions"] > rule["max_functions"]:
        raise RuleError(f"{rule.where('min_functions')}: larger than max_functions")
    rule.compiled["target"] = re.compile(rule["target"]) if rule["target"] else None


def words(rule: Rule) -> list[str]:
    return [rule["field"]]


def sites(rule: Rule, ctx):
    """[(path, function, Assignment)] of every matching assignment in the tree."""
    from porter.lint.engine import path_matches

    fld, tre, ops = rule["field"], rule.compiled["target"], set(rule["ops"])
    out = []
    for path in sorted(ctx.assigns_field(ctx.files_with([fld])[fld], [fld])):
        if rule["paths"] and not path_matches(path, rule["paths"]):
            continue
        for a in ctx.model(path).assignments:
            if a.field != fld or a.op not in ops:
                continue
            if tre is not None and not tre.search(a.target):
                continue
            out.append((path, a.function, a))
    return out


def check(rule: Rule, ctx) -> list[Finding]:
    found = sites(rule, ctx)
    groups: dict[tuple[str, str | None], list] = {}
    for path, fn, a in found:
        groups.setdefault((path, fn), []).append(a)
    n = len(groups)
    out: list[Finding] = []
    if n > rule["max_functions"]:
        names = [f"{fn or '(file scope)'} ({p}:{g[0].line})" for (p, fn), g in groups.items()]
        for (path, fn), assigns in groups.items():
            others = [x for x, key in zip(names, groups) if key != (path, fn)]
            for a in assigns:
                detail = (f"{a.target} is assigned in {n} functions (at most {rule['max_functions']}): "
                          f"here in {fn or '(file scope)'}, also in " + ", ".join(others))
                chain = tuple(Step(p, g[0].line, g[0].col + 1, f"also assigned in {f2 or '(file scope)'}", f2)
                              for (p, f2), g in groups.items() if (p, f2) != (path, fn))
                out.append(Finding(rule.id, rule.severity, path, a.line, a.col + 1,
                                   render(rule.message, detail, field=rule["field"], count=n),
                                   key=f"site:{path}:{fn}:{a.target}", function=fn, chain=chain))
    elif n < rule["min_functions"]:
        detail = (f"no assignment to ->{rule['field']} matching the pattern" if n == 0 else
                  f"only {n} function(s) assign ->{rule['field']} (at least {rule['min_functions']})")
        out.append(Finding(rule.id, rule.severity, "", 0, 0, render(rule.message, detail, field=rule["field"],
                                                                    count=n),
                           key=f"too-few:{rule['field']}"))
    return out
