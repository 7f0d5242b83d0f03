"""Lint rules: loaded from rules/*.toml, validated, every error naming the file and the key.

A rule file holds one table per rule in an array named `rule`:

    [[rule]]
    id = "zone-device/init-single-page-static"
    kind = "static-to-file"
    severity = "error"            # error | warning | note
    message = "..."
    doc = "why the rule exists, or a link"
    symbol = "__init_single_page"  # parameters of the kind
    file = "mm/page_alloc.c"

Kinds and their parameters are declared by the modules in porter/lint/kinds (PARAMS); this module checks types,
required and unknown keys, so a typo in a rule file is an error, never a silently ignored setting.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from porter.errors import PorterError

SEVERITIES = ("error", "warning", "note")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")


class RuleError(PorterError):
    """A rule file that cannot be used: names the file, the rule and the key."""


@dataclass(frozen=True)
class Param:
    """One parameter of a rule kind: its TOML type, whether it must be given, its default."""

    type: str  # "str" | "int" | "bool" | "list[str]" | "regex" | "list[regex]" | "query"
    required: bool = False
    default: Any = None
    help: str = ""


@dataclass
class Rule:
    id: str
    kind: str
    severity: str
    message: str
    doc: str
    params: dict[str, Any]
    source: str  # rule file path, as given
    index: int  # position of the table in the file (0-based)
    line: int = 1  # line of the table header in the rule file (best effort)
    compiled: dict[str, Any] = field(default_factory=dict)  # regexes / queries, built at load time

    def where(self, key: str | None = None) -> str:
        k = f", key '{key}'" if key else ""
        return f"{self.source}: rule[{self.index}] (id '{self.id}'){k}"

    def __getitem__(self, key: str) -> Any:
        return self.params[key]


_COMMON = {
    "id": Param("str", required=True),
    "kind": Param("str", required=True),
    "severity": Param("str", default="error"),
    "message": Param("str", required=True),
    "doc": Param("str", default=""),
    "enabled": Param("bool", default=True),
}


def canonical_kind(kind: str) -> str:
    return kind.strip().lower().replace("_", "-")


def _kind_params() -> dict[str, dict[str, Param]]:
    from porter.lint.kinds import KINDS

    return {name: mod.PARAMS for name, mod in KINDS.items()}


def _check_type(value: Any, p: Param, where: str) -> Any:
    t = p.type
    if t in ("str", "regex", "query"):
        if not isinstance(value, str):
            raise RuleError(f"{where}: expected a string, got {type(value).__name__} {value!r}")
        if t == "regex":
            _compile(value, where)
        return value
    if t == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleError(f"{where}: expected an integer, got {type(value).__name__} {value!r}")
        if value < 0:
            raise RuleError(f"{where}: must not be negative, got {value}")
        return value
    if t == "bool":
        if not isinstance(value, bool):
            raise RuleError(f"{where}: expected true or false, got {type(value).__name__} {value!r}")
        return value
    if t in ("list[str]", "list[regex]"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RuleError(f"{where}: expected a list of strings, got {value!r}")
        if t == "list[regex]":
            for i, v in enumerate(value):
                _compile(v, f"{where}[{i}]")
        return list(value)
    raise AssertionError(f"unknown parameter type {t}")


def _compile(pattern: str, where: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise RuleError(f"{where}: not a valid regular expression ({exc}): {pattern!r}") from None


def _table_lines(text: str) -> list[int]:
    """Line numbers of each `[[rule]]` header, in order."""
    return [i + 1 for i, line in enumerate(text.splitlines()) if re.match(r"\s*\[\[\s*rule\s*\]\]", line)]


def parse_rules_text(text: str, source: str) -> list[Rule]:
    """Rules from the TOML text of one rule file; `source` names the file in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source}: not valid TOML: {exc}") from None
    unknown_top = [k for k in data if k not in ("rule",)]
    if unknown_top:
        raise RuleError(f"{source}: unknown top-level key '{unknown_top[0]}' (rules go in [[rule]] tables)")
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise RuleError(f"{source}: key 'rule': expected [[rule]] tables")
    lines = _table_lines(text)
    kinds = _kind_params()
    rules = []
    for index, table in enumerate(tables):
        rid = table.get("id")
        label = f"{source}: rule[{index}]" + (f" (id '{rid}')" if isinstance(rid, str) else "")
        for key in ("id", "kind", "message"):
            if key not in table:
                raise RuleError(f"{label}: missing required key '{key}'")
        common = {}
        for key, p in _COMMON.items():
            common[key] = _check_type(table[key], p, f"{label}, key '{key}'") if key in table else p.default
        if not _ID_RE.match(common["id"]):
            raise RuleError(f"{label}, key 'id': {common['id']!r} is not a valid id (letters, digits, . _ : / -)")
        kind = canonical_kind(common["kind"])
        if kind not in kinds:
            raise RuleError(f"{label}, key 'kind': unknown kind {common['kind']!r} "
                            f"(known: {', '.join(sorted(kinds))})")
        sev = common["severity"].lower()
        if sev not in SEVERITIES:
            raise RuleError(f"{label}, key 'severity': {common['severity']!r} is not one of {', '.join(SEVERITIES)}")
        spec = kinds[kind]
        params = {}
        for key, value in table.items():
            if key in _COMMON:
                continue
            if key not in spec:
                raise RuleError(f"{label}, key '{key}': unknown parameter for kind '{kind}' "
                                f"(known: {', '.join(sorted(spec)) or 'none'})")
            params[key] = _check_type(value, spec[key], f"{label}, key '{key}'")
        for key, p in spec.items():
            if key not in params:
                if p.required:
                    raise RuleError(f"{label}: missing required key '{key}' for kind '{kind}'")
                params[key] = list(p.default) if isinstance(p.default, list) else p.default
        rule = Rule(id=common["id"], kind=kind, severity=sev, message=common["message"], doc=common["doc"],
                    params=params, source=source, index=index, line=lines[index] if index < len(lines) else 1)
        rule.params["enabled"] = common["enabled"]
        from porter.lint.kinds import KINDS

        KINDS[kind].prepare(rule)  # kind-specific checks (queries compile, params agree); raises RuleError
        rules.append(rule)
    return rules


def load_rule_file(path: Path | str) -> list[Rule]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read rule file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RuleError(f"{path}: rule file is not UTF-8 text") from None
    return parse_rules_text(text, str(path))


def default_rules_dir() -> Path:
    """rules/ of the porter checkout, or the copy installed with the package (porter/data/rules)."""
    here = Path(__file__).resolve().parent
    for cand in (here.parent.parent / "rules", here.parent / "data" / "rules"):
        if cand.is_dir():
            return cand
    return here.parent.parent / "rules"


def load_rules(rules: Path | str | None = None, only: list[str] | None = None) -> list[Rule]:
    """All enabled rules of a directory (every *.toml, sorted) or of one file; ids must be unique."""
    p = Path(rules) if rules is not None else default_rules_dir()
    if p.is_dir():
        files = sorted(p.glob("*.toml"))
        if not files:
            raise RuleError(f"{p}: no rule files (*.toml)")
    elif p.is_file():
        files = [p]
    else:
        raise RuleError(f"{p}: no such rules directory or file")
    out: list[Rule] = []
    seen: dict[str, Rule] = {}
    for f in files:
        for r in load_rule_file(f):
            if r.id in seen:
                raise RuleError(f"{r.where('id')}: duplicate rule id, first defined in {seen[r.id].source}")
            seen[r.id] = r
            out.append(r)
    if only:
        missing = [i for i in only if i not in seen]
        if missing:
            raise RuleError(f"--rule {missing[0]}: no such rule in {p}")
        out = [r for r in out if r.id in only]
    return [r for r in out if r.params.get("enabled", True)]
