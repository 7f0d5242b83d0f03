"""The CI templates, run locally: each template's job commands (parsed from its YAML) on two branches of a test
repository, with the matrix variables set as the CI engine would: one branch all applied (JUnit, SARIF, job
passes), one with a refusal (JUnit failure, job fails)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
import yaml

from tests.backport_repo import ENV, git, isolated_repo

ROOT = Path(__file__).resolve().parent.parent
XSD = Path(__file__).parent / "data" / "junit-10.xsd"
JOB_STEPS = ("apply", "lint", "verify")  # the install step is skipped: this porter is already on PATH


def github_job(path: Path, branch: str, revisions: str) -> tuple[dict, list[str]]:
    doc = yaml.safe_load(path.read_text())
    job = doc["jobs"]["backport"]
    values = {"matrix.branch": branch, "inputs.revisions": revisions, "inputs.verify": "false",
              "inputs.porter": "porter"}
    env = {k: _expand(str(v), values) for k, v in job["env"].items()}
    scripts = [s["run"] for s in job["steps"] if s.get("id") in JOB_STEPS]
    assert [s.get("id") for s in job["steps"] if s.get("id") in JOB_STEPS] == list(JOB_STEPS)
    # What the engine publishes, even after a failed step.
    published = {s.get("name") for s in job["steps"] if s.get("if", "").startswith("always()")}
    assert {"publish reports", "publish SARIF", "publish JUnit"} <= published
    return env, scripts


def _expand(text: str, values: dict) -> str:
    for key, val in values.items():
        text = text.replace("${{ " + key + " }}", val)
    assert "${{" not in text, text
    return text


def gitlab_job(path: Path, branch: str, revisions: str) -> tuple[dict, list[str]]:
    doc = yaml.safe_load(path.read_text())
    job = doc["porter-backport"]
    env = {k: str(v) for k, v in doc["variables"].items()}
    env["REVISIONS"] = revisions
    branches = job["parallel"]["matrix"][0]["STABLE_BRANCH"]
    assert len(branches) >= 2  # the template fans out over several branches
    env["STABLE_BRANCH"] = branch
    assert job["artifacts"]["when"] == "always" and job["artifacts"]["reports"]["junit"] == "porter-out/junit.xml"
    return env, ["\n".join(job["script"])]


def run_job(workdir: Path, env: dict, scripts: list[str]) -> int:
    """The steps in order, each as `bash -eo pipefail` (both engines' semantics); the first failure ends the job."""
    full = {**os.environ, **ENV, **env}
    full["PATH"] = str(Path(sys.executable).parent) + os.pathsep + full["PATH"]
    for script in scripts:
        args = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
        proc = subprocess.run(args, check=False, cwd=workdir,
                              env=full, capture_output=True)
        if proc.returncode:
            print(proc.stdout.decode()[-2000:], proc.stderr.decode()[-2000:])
            return proc.returncode
    return 0


@pytest.fixture()
def upstream(tmp_path, monkeypatch):
    return isolated_repo(tmp_path, monkeypatch, "upstream")


@pytest.mark.parametrize("template", ["github", "gitlab"])
def test_template_jobs_on_two_branches(upstream, tmp_path, template):
    root, _ids = upstream
    if template == "github":
        path = ROOT / "ci" / "github" / "porter-backport.yml"
        assert path.read_text() == (ROOT / ".github" / "workflows" / "porter-backport.yml").read_text()
        job = github_job
    else:
        path, job = ROOT / "ci" / "gitlab" / "porter-backport.gitlab-ci.yml", gitlab_job
    schema = xmlschema.XMLSchema(str(XSD))
    results = {}
    for branch in ("stable-1", "stable-2"):
        checkout = tmp_path / f"{template}-{branch}"
        git(tmp_path, "clone", "-q", str(root), str(checkout))  # each job starts from a fresh clone
        env, scripts = job(path, branch, "base..mainline")
        results[branch] = run_job(checkout, env, scripts)
        out = checkout / "porter-out"
        schema.validate(str(out / "junit.xml"))
        suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
        results[branch, "failures"] = suite.get("failures")
        if branch == "stable-1":
            sarif = json.loads((out / "lint.sarif").read_text())
            assert sarif["version"] == "2.1.0"
            assert git(checkout, "rev-list", "--count", f"{branch}..porter/{branch}").strip() == "3"
    assert results["stable-1"] == 0 and results["stable-1", "failures"] == "0"
    assert results["stable-2"] == 1 and results["stable-2", "failures"] == "1"  # the refusal fails the job
