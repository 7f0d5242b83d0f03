"""Every stable branch at once: the commit x tree matrix as text, JSON and JUnit XML (validated against the
Jenkins xUnit plugin's published JUnit schema, tests/data/junit-10.xsd)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from tests.backport_repo import isolated_repo
from tests.helpers import run

XSD = Path(__file__).parent / "data" / "junit-10.xsd"


@pytest.fixture()
def repo(tmp_path, monkeypatch):
    return isolated_repo(tmp_path, monkeypatch)


def test_matrix_json_text_and_junit(repo, tmp_path):
    root, ids = repo
    junit = tmp_path / "porter.xml"
    res = run("apply", "base..mainline", "--tree", "stable-1", "--tree", "stable-2", "--format", "json",
              "--junit", str(junit), cwd=root)
    assert res.exit_code == 1  # one refusal anywhere: not all applied
    doc = json.loads(res.output)
    grid = {(c["sha"], t): c["trees"][t]["status"] for c in doc["commits"] for t in doc["trees"]}
    assert grid == {
        (ids["c1"], "stable-1"): "applied", (ids["c1"], "stable-2"): "applied",
        (ids["c2"], "stable-1"): "applied", (ids["c2"], "stable-2"): "refused",
        (ids["c3"], "stable-1"): "applied", (ids["c3"], "stable-2"): "not-attempted",
        (ids["c4"], "stable-1"): "already-applied", (ids["c4"], "stable-2"): "not-attempted",
    }
    # JUnit: valid against the published schema; one test case per commit and tree.
    schema = xmlschema.XMLSchema(str(XSD))
    schema.validate(str(junit))
    tree = ET.parse(junit).getroot()
    cases = tree.findall("./testsuite/testcase")
    assert len(cases) == 8
    suites = {s.get("name"): s for s in tree.findall("testsuite")}
    assert set(suites) == {"stable-1", "stable-2"}
    assert suites["stable-1"].get("failures") == "0" and suites["stable-2"].get("failures") == "1"
    failed = [c for c in suites["stable-2"].findall("testcase") if c.find("failure") is not None]
    assert len(failed) == 1 and failed[0].get("name").startswith(ids["c2"][:12])
    assert "mm/a.c hunk 1" in failed[0].find("failure").get("message")
    skipped = [c for c in suites["stable-2"].findall("testcase") if c.find("skipped") is not None]
    assert [c.get("name")[:12] for c in skipped] == [ids["c3"][:12], ids["c4"][:12]]
    # The schema does reject a report without the attributes it requires (the validation can fail).
    broken = junit.read_text().replace('<testsuite name="stable-1"', '<testsuite', 1)
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        schema.validate(broken)
    # Text: a row per commit, a column per tree.
    assert run("apply", "--abort", cwd=root).exit_code == 0
    res = run("apply", "base..mainline", "--tree", "stable-1", "--tree", "stable-2", "--dry-run", cwd=root)
    rows = [ln for ln in res.output.splitlines() if ln.startswith(ids["c2"][:12])]
    assert rows and rows[-1].split()[-2:] == ["placed", "refused"]


def test_all_applied_exits_zero_with_junit(repo, tmp_path):
    root, ids = repo
    junit = tmp_path / "ok.xml"
    res = run("apply", f"{ids['c2']}..{ids['c3']}", "--tree", "stable-1", "--junit", str(junit), cwd=root)
    assert res.exit_code == 0, res.output
    xmlschema.XMLSchema(str(XSD)).validate(str(junit))
    root_el = ET.parse(junit).getroot()
    assert root_el.get("failures") == "0" and root_el.get("tests") == "1"
