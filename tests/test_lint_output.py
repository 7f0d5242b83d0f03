"""Output formats: compiler-style text, JSON, and SARIF 2.1.0 checked against the OASIS schema
(tests/data/sarif-schema-2.1.0.json) and by hand for the properties code-scanning services need."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from porter.lint import lint_tree, load_rules
from porter.lint.findings import Finding, Step, with_state
from porter.lint.output import format_json, format_sarif, format_text
from porter.tree import open_tree

HERE = Path(__file__).resolve().parent
FIX = HERE.parent / "fixtures" / "lint"
SCHEMA = HERE / "data" / "sarif-schema-2.1.0.json"
LINE_RE = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning|note): (?P<msg>.+?)"
                     r"(?: \[(?P<rule>[^\]]+)\])?$")


def region_breaks():
    rules = load_rules(FIX / "forbidden-in-region" / "rules.toml")
    tree = open_tree(str(FIX / "forbidden-in-region" / "breaks"), require_kernel=False)
    return lint_tree(tree, rules), rules, tree


def test_text_is_compiler_format():
    result, _, _ = region_breaks()
    lines = format_text(result.findings).splitlines()
    heads = [ln for ln in lines if not re.search(r": note: ", ln)]
    assert len(heads) == len(result.findings) == 4
    for ln in lines:
        m = LINE_RE.match(ln)
        assert m, ln
        if m["sev"] != "note":
            assert m["rule"] == "fixture/no-pfn-init-under-hotplug-lock"


def test_text_patch_mode_groups_by_state():
    f = Finding("r", "error", "a.c", 3, 1, "m", key="k")
    out = format_text([with_state(f, "introduced")], patch_mode=True)
    assert out.splitlines() == ["# introduced by the patch: 1", "a.c:3:1: error: m [r]",
                                "# removed by the patch: 0", "# unchanged by the patch: 0"]


def test_tree_level_finding_has_no_line():
    f = Finding("r", "warning", "", 0, 0, "no site", key="k")
    assert format_text([f]) == "<tree>: warning: no site [r]\n"


def test_json_round_trip():
    result, rules, tree = region_breaks()
    doc = json.loads(format_json(result.findings, rules, tree.name))
    assert doc["summary"]["total"] == 4 and doc["summary"]["error"] == 4
    f = doc["findings"][0]
    assert set(f) >= {"rule_id", "severity", "path", "line", "col", "message", "chain", "fingerprint", "key"}
    assert all(set(s) >= {"path", "line", "col", "message"} for s in f["chain"])


def sarif_for(findings, rules, tree):
    return json.loads(format_sarif(findings, rules, tree.name, tree.root.as_uri() + "/"))


def check_sarif_by_hand(doc: dict) -> None:
    """The required properties of SARIF 2.1.0 (sarifLog, run, tool, toolComponent, result, message,
    location), checked without the schema."""
    assert doc["version"] == "2.1.0" and isinstance(doc["runs"], list)
    for run in doc["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str) and driver["name"]
        ids = [r["id"] for r in driver.get("rules", [])]
        assert len(ids) == len(set(ids))
        for rule in driver.get("rules", []):
            assert rule["defaultConfiguration"]["level"] in ("none", "note", "warning", "error")
        for res in run.get("results", []):
            assert isinstance(res["message"]["text"], str) and res["message"]["text"]
            assert res["level"] in ("none", "note", "warning", "error")
            if "ruleIndex" in res:
                assert ids[res["ruleIndex"]] == res["ruleId"]
            for loc in res.get("locations", []) + res.get("relatedLocations", []):
                pl = loc["physicalLocation"]
                assert not pl["artifactLocation"]["uri"].startswith("/")
                if "region" in pl:
                    assert pl["region"]["startLine"] >= 1 and pl["region"]["startColumn"] >= 1
            for flow in res.get("codeFlows", []):
                assert flow["threadFlows"] and all(tf["locations"] for tf in flow["threadFlows"])
            if "baselineState" in res:
                assert res["baselineState"] in ("new", "unchanged", "updated", "absent")
        for base in run.get("originalUriBaseIds", {}).values():
            assert base["uri"].endswith("/")


def test_sarif_structure_by_hand():
    result, rules, tree = region_breaks()
    doc = sarif_for(result.findings, rules, tree)
    check_sarif_by_hand(doc)
    res = doc["runs"][0]["results"]
    assert len(res) == 4 and all(r["ruleId"] == rules[0].id for r in res)
    chained = [r for r in res if len(r["codeFlows"][0]["threadFlows"][0]["locations"]) == 4]
    assert chained, "the cross-file chain should be a four-step code flow"


def test_sarif_validates_against_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    result, rules, tree = region_breaks()
    findings = list(result.findings)
    findings.append(Finding("fixture/no-pfn-init-under-hotplug-lock", "note", "", 0, 0, "tree-wide", key="t"))
    findings = [with_state(f, s) for f, s in zip(findings, ["introduced", "removed", "unchanged", "introduced",
                                                           "unchanged"])]
    doc = sarif_for(findings, rules, tree)
    jsonschema.Draft4Validator(schema).validate(doc)
    check_sarif_by_hand(doc)
    assert [r["baselineState"] for r in doc["runs"][0]["results"]] == ["new", "absent", "unchanged", "new",
                                                                      "unchanged"]


def test_sarif_for_shipped_rules_validates():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    rules = load_rules(HERE.parent / "rules")
    f = Finding(rules[0].id, "warning", "mm/mm_init.c", 565, 1, "x", key="k",
                chain=(Step("mm/internal.h", 1458, 1, "declared here"),))
    doc = json.loads(format_sarif([f], rules, "t", None))
    jsonschema.Draft4Validator(schema).validate(doc)
    check_sarif_by_hand(doc)


def test_schema_rejects_a_broken_log():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    result, rules, tree = region_breaks()
    doc = sarif_for(result.findings, rules, tree)
    doc["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(doc)
