"""Packaging: an installed (non-editable) porter finds its lint rules; pyproject.toml declares exactly the
third-party packages the code imports (no declared-but-unused dependency, no undeclared import); README's first
command, scripts/demo, works."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions

from tests.helpers import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_packaged_rules_are_the_repository_rules():
    packaged = REPO / "porter" / "data" / "rules"
    assert packaged.resolve() == (REPO / "rules").resolve()
    assert sorted(p.name for p in packaged.glob("*.toml")) == sorted(p.name for p in (REPO / "rules").glob("*.toml"))


def test_package_data_covers_the_data_directory():
    assert "data/**/*" in PYPROJECT["tool"]["setuptools"]["package-data"]["porter"]


# ---------------------------------------------------------------- dependencies

def _dist_name(requirement: str) -> str:
    """'tree-sitter-c>=0.23' -> 'tree-sitter-c' (PEP 503 normalised)."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group()
    return re.sub(r"[-_.]+", "-", name).lower()


def _third_party_imports(*dirs: str) -> dict[str, str]:
    """Top-level module name -> one file importing it, for every non-stdlib, non-project import under dirs."""
    found: dict[str, str] = {}
    for d in dirs:
        for path in sorted((REPO / d).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                elif _dynamic_import(node):  # pytest.importorskip("jsonschema"), importlib.import_module(...)
                    names = [node.args[0].value]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    local = (path.parent / f"{top}.py").exists()  # a script's sibling module (bench/_timing.py)
                    if top not in sys.stdlib_module_names and top not in ("porter", "tests") and not local:
                        found.setdefault(top, str(path.relative_to(REPO)))
    return found


def _dynamic_import(node) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("importorskip", "import_module") and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str))


def _distributions(modules: dict[str, str]) -> dict[str, str]:
    """Distribution name -> a file importing it (through the installed packages' top-level module lists)."""
    by_module = packages_distributions()
    out = {}
    for module, where in modules.items():
        dists = by_module.get(module)
        assert dists, f"{where} imports {module}, which no installed distribution provides"
        for dist in dists:
            out.setdefault(_dist_name(dist), where)
    return out


def test_every_runtime_dependency_is_imported_and_every_import_declared():
    declared = {_dist_name(r) for r in PYPROJECT["project"]["dependencies"]}
    imported = _distributions(_third_party_imports("porter"))
    assert sorted(declared - set(imported)) == [], "declared in pyproject.toml but never imported by porter/"
    undeclared = {d: f for d, f in imported.items() if d not in declared}
    assert undeclared == {}, "imported by porter/ but not a declared dependency"


def test_every_test_dependency_is_used_and_every_test_import_declared():
    declared = {_dist_name(r) for r in PYPROJECT["project"]["dependencies"]}
    test_extra = {_dist_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    imported = _distributions(_third_party_imports("tests", "bench"))
    undeclared = {d: f for d, f in imported.items() if d not in declared | test_extra}
    assert undeclared == {}, "imported by tests/ or bench/ but not declared"
    # ruff is a command (.ci/run runs it), not an import
    unused = test_extra - set(imported) - {"ruff"}
    assert sorted(unused) == [], "declared in the test extra but never imported"
    assert "ruff check" in (REPO / ".ci" / "run").read_text()


def test_the_checker_sees_imports():
    """The scan itself: a file importing a third-party module is found, stdlib and porter imports are not."""
    found = _third_party_imports("porter")
    assert "click" in found and "tree_sitter_c" in found
    assert "os" not in found and "porter" not in found


# ---------------------------------------------------------------- README's first command

def test_demo_runs_and_checks_its_patch_outside_any_repository(tmp_path):
    """scripts/demo as README runs it: porter from this clone, the ported patch checked by plain git apply on
    pristine copies (outside any repository, where git really checks) and equal to what porter wrote."""
    env = dict(os.environ, TMPDIR=str(tmp_path),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    r = subprocess.run([str(REPO / "scripts" / "demo")], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "creating" not in r.stdout  # this python imports porter: no venv of its own
    for tree in ("linux", "linux-next"):
        assert f"   {tree}: git apply --check OK, and git apply gives the tree porter wrote" in r.stdout
    assert "defined   mm/page_alloc.c:" in r.stdout
