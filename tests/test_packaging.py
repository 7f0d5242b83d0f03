"""An installed (non-editable) porter finds its lint rules: rules/ ships inside the package as porter/data/rules."""

from __future__ import annotations

import tomllib

from tests.helpers import REPO


def test_packaged_rules_are_the_repository_rules():
    packaged = REPO / "porter" / "data" / "rules"
    assert packaged.resolve() == (REPO / "rules").resolve()
    assert sorted(p.name for p in packaged.glob("*.toml")) == sorted(p.name for p in (REPO / "rules").glob("*.toml"))


def test_package_data_covers_the_data_directory():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "data/**/*" in meta["tool"]["setuptools"]["package-data"]["porter"]
