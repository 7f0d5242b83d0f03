"""Lint output: compiler-style text, JSON, and SARIF 2.1.0.

text:  `file:line:col: severity: message [rule-id]`, then one `file:line:col: note: ...` line per chain step
       (the format editors and CI already parse). Patch mode prefixes nothing but groups findings under
       `introduced`, `removed` and `unchanged` headers written as comments (`# ...`).
json:  {"tree", "rules", "findings": [...], "summary"}; patch mode adds "introduced"/"removed"/"unchanged".
sarif: one run; rules in tool.driver.rules; a finding's chain becomes a codeFlow; patch mode sets
       baselineState (new / absent / unchanged), which is what code-scanning services compare on.
"""

from __future__ import annotations

import json

from porter import __version__
from porter.lint.findings import Finding

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "note": "note"}
_BASELINE = {"introduced": "new", "removed": "absent", "unchanged": "unchanged"}


def _loc(path: str, line: int, col: int) -> str:
    if not path:
        return "<tree>"
    if line <= 0:
        return f"{path}"
    return f"{path}:{line}:{max(col, 1)}"


def format_text(findings: list[Finding], patch_mode: bool = False) -> str:
    lines = []

    def one(f: Finding):
        lines.append(f"{_loc(f.path, f.line, f.col)}: {f.severity}: {f.message} [{f.rule_id}]")
        for s in f.chain:
            if (s.path, s.line) == (f.path, f.line) and s is f.chain[-1] and len(f.chain) == 1:
                continue
            lines.append(f"{_loc(s.path, s.line, s.col)}: note: {s.message}")

    if not patch_mode:
        for f in findings:
            one(f)
    else:
        for state in ("introduced", "removed", "unchanged"):
            group = [f for f in findings if f.state == state]
            lines.append(f"# {state} by the patch: {len(group)}")
            for f in group:
                one(f)
    return "\n".join(lines) + ("\n" if lines else "")


def summary(findings: list[Finding]) -> dict:
    out = {"total": len(findings), "error": 0, "warning": 0, "note": 0}
    for f in findings:
        out[f.severity] = out.get(f.severity, 0) + 1
    states = {}
    for f in findings:
        if f.state:
            states[f.state] = states.get(f.state, 0) + 1
    if states:
        out.update({k: states.get(k, 0) for k in ("introduced", "removed", "unchanged")})
    return out


def format_json(findings: list[Finding], rules, tree: str, patch_mode: bool = False, extra: dict | None = None) -> str:
    doc = {
        "tool": "porter lint",
        "version": __version__,
        "tree": tree,
        "rules": [{"id": r.id, "kind": r.kind, "severity": r.severity, "source": r.source} for r in rules],
        "findings": [f.to_dict() for f in findings],
        "summary": summary(findings),
    }
    if patch_mode:
        for state in ("introduced", "removed", "unchanged"):
            doc[state] = [f.to_dict() for f in findings if f.state == state]
    if extra:
        doc.update(extra)
    return json.dumps(doc, indent=2) + "\n"


def _physical(path: str, line: int, col: int) -> dict:
    loc = {"artifactLocation": {"uri": path, "uriBaseId": "SRCROOT"}}
    if line > 0:
        loc["region"] = {"startLine": line, "startColumn": max(col, 1)}
    return loc


def sarif_doc(findings: list[Finding], rules, tree: str, root_uri: str | None = None) -> dict:
    rule_index = {r.id: i for i, r in enumerate(rules)}
    driver_rules = []
    for r in rules:
        entry = {
            "id": r.id,
            "name": r.id.replace("/", "-"),
            "shortDescription": {"text": r.message.split("\n")[0][:200] or r.id},
            "defaultConfiguration": {"level": _LEVEL[r.severity]},
            "properties": {"kind": r.kind, "source": r.source},
        }
        doc = (r.doc or "").strip()
        if doc:
            entry["fullDescription"] = {"text": " ".join(doc.split())}
            if doc.startswith(("http://", "https://")) and len(doc.split()) == 1:
                entry["helpUri"] = doc
            else:
                entry["help"] = {"text": doc}
        driver_rules.append(entry)
    results = []
    for f in findings:
        res = {
            "ruleId": f.rule_id,
            "level": _LEVEL.get(f.severity, "warning"),
            "message": {"text": f.message},
            "partialFingerprints": {"porterKey/v1": f.fingerprint},
        }
        if f.rule_id in rule_index:
            res["ruleIndex"] = rule_index[f.rule_id]
        if f.path:
            res["locations"] = [{"physicalLocation": _physical(f.path, f.line, f.col)}]
        if f.chain:
            res["relatedLocations"] = [
                {"id": i, "physicalLocation": _physical(s.path, s.line, s.col), "message": {"text": s.message}}
                for i, s in enumerate(f.chain) if s.path
            ]
            res["codeFlows"] = [{
                "threadFlows": [{
                    "locations": [
                        {"location": {"physicalLocation": _physical(s.path, s.line, s.col),
                                      "message": {"text": s.message}}}
                        for s in f.chain if s.path
                    ]
                }]
            }]
            if not res["relatedLocations"]:
                del res["relatedLocations"]
                del res["codeFlows"]
        if f.state:
            res["baselineState"] = _BASELINE[f.state]
        results.append(res)
    run = {
        "tool": {"driver": {"name": "porter", "version": __version__, "semanticVersion": __version__,
                            "rules": driver_rules}},
        "results": results,
        "columnKind": "utf16CodeUnits",
        "properties": {"tree": tree},
    }
    if root_uri:
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": root_uri}}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def format_sarif(findings: list[Finding], rules, tree: str, root_uri: str | None = None) -> str:
    return json.dumps(sarif_doc(findings, rules, tree, root_uri), indent=2) + "\n"
