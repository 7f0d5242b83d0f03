"""query: a tree-sitter query over C files; every match is a finding, for rules users write themselves.

    query = '''((call_expression function: (identifier) @fn) (#eq? @fn "mem_hotplug_begin"))'''
    capture = "fn"           # the capture that locates the finding (default: the first one in the query)
    words = ["mem_hotplug_begin"]   # prefilter (default: the strings of #eq?/#any-of? predicates)
    paths = ["mm/*.c"]       # only files matching these globs (default: all .c and .h files)
    message = "{fn} called in {function}"   # {capture} is the captured text, {function} the enclosing function

Annotation macros (__meminit and friends) are blanked before parsing, as everywhere in porter. A query without
prefilter words and without paths reads every C file of the tree: give one or the other on a kernel tree.
"""

from __future__ import annotations

import re

from porter.lint.findings import Finding
from porter.lint.message import render
from porter.lint.rules import Param, Rule, RuleError

PARAMS = {
    "query": Param("query", required=True, help="tree-sitter query (tree-sitter-c grammar)"),
    "capture": Param("str", default="", help="capture that locates a finding"),
    "words": Param("list[str]", default=[], help="prefilter: files must contain one of these whole words"),
    "paths": Param("list[str]", default=[], help="globs (or directories) of the files to query"),
}

_PRED_RE = re.compile(r"#(?:eq|any-of)\?\s+@[\w.]+((?:\s+\"(?:\\.|[^\"\\])*\")+)\s*\)")
_STR_RE = re.compile(r"\"((?:\\.|[^\"\\])*)\"")


def prepare(rule: Rule) -> None:
    from tree_sitter import Query

    from porter.cmodel import LANGUAGE

    try:
        q = Query(LANGUAGE, rule["query"])
    except Exception as exc:  # tree_sitter.QueryError and friends
        raise RuleError(f"{rule.where('query')}: not a valid tree-sitter query: {exc}") from None
    names = [q.capture_name(i) for i in range(q.capture_count)]
    if not names:
        raise RuleError(f"{rule.where('query')}: the query captures nothing (add @name to a node)")
    cap = rule["capture"] or names[0]
    if cap not in names:
        raise RuleError(f"{rule.where('capture')}: {cap!r} is not a capture of the query (has {', '.join(names)})")
    for w in rule["words"]:
        if not re.fullmatch(r"\w+", w):
            raise RuleError(f"{rule.where('words')}: prefilter word {w!r} is not an identifier")
    rule.compiled.update(query=q, capture=cap, captures=names)


def words(rule: Rule) -> list[str]:
    if rule["words"]:
        return list(rule["words"])
    out = []
    for m in _PRED_RE.finditer(rule["query"]):
        out += [s for s in _STR_RE.findall(m.group(1))]
    return [w for w in out if re.fullmatch(r"\w+", w)] if out and all(re.fullmatch(r"\w+", w) for w in out) else []


def candidate_files(rule: Rule, ctx) -> list[str]:
    from porter.lint.engine import path_matches

    ws = words(rule)
    if ws:
        files = ctx.files_with_any(ws)
    else:
        files = set(_listed(ctx.tree, rule["paths"])) | {p for p, d in ctx.overlay.items() if d is not None}
        files -= {p for p, d in ctx.overlay.items() if d is None}
    if rule["paths"]:
        files = {f for f in files if path_matches(f, rule["paths"])}
    return sorted(files)


def _listed(tree, selectors: list[str]) -> list[str]:
    """C files of the tree; when every selector is a plain directory of a directory tree, only those are walked."""
    import os

    dirs = [s.strip("/") for s in selectors]
    if tree.root is None or not dirs or any(set(d) & set("*?[") or d in ("", ".") for d in dirs):
        return tree.files((".c", ".h"))
    out = []
    for d in dirs:
        base = tree.root / d
        if base.is_file():
            out.append(d)
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [x for x in dirnames if not x.startswith(".")]
            rel = os.path.relpath(dirpath, tree.root)
            out += [f"{rel}/{f}" for f in filenames if f.endswith((".c", ".h"))]
    return sorted(out)


def check(rule: Rule, ctx) -> list[Finding]:
    from tree_sitter import QueryCursor

    q, cap = rule.compiled["query"], rule.compiled["capture"]
    out: list[Finding] = []
    for path in candidate_files(rule, ctx):
        src = ctx.source(path)
        tree = ctx.raw(path)
        model = None
        for _, caps in QueryCursor(q).matches(tree.root_node):
            nodes = caps.get(cap)
            if not nodes:
                continue
            node = nodes[0]
            if model is None:
                model = ctx.model(path)
            line, col = node.start_point[0] + 1, node.start_point[1] + 1
            enc = model.enclosing(line)
            fn = enc.name if enc is not None and enc.kind == "function" else None
            texts = {k: src[v[0].start_byte:v[0].end_byte].decode("utf-8", "replace") for k, v in caps.items() if v}
            text = texts.get(cap, "")
            msg = render(rule.message, "", function=fn or "(file scope)", **texts)
            out.append(Finding(rule.id, rule.severity, path, line, col, msg,
                               key=f"q:{path}:{fn}:{' '.join(text.split())[:120]}", function=fn))
    return out
