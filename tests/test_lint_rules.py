"""Rule files: the shipped ones load, and every malformed one is an error naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from porter.lint.rules import RuleError, default_rules_dir, load_rules, parse_rules_text

REPO = Path(__file__).resolve().parent.parent

GOOD = '''
[[rule]]
id = "t/static"
kind = "static-to-file"
symbol = "f"
file = "a.c"
message = "m"
'''


def test_shipped_rules_load():
    rules = load_rules(REPO / "rules")
    ids = {r.id: r for r in rules}
    assert set(ids) >= {"zone-device/init-single-page-static", "zone-device/no-pfn-init-under-hotplug-lock",
                        "zone-device/pgmap-init-single-site"}
    assert {r.kind for r in rules} >= {"static-to-file", "forbidden-in-region", "single-site"}
    for r in rules:
        assert r.message and r.doc and r.severity in ("error", "warning", "note")
    assert default_rules_dir().resolve() == (REPO / "rules").resolve()


def test_defaults_and_kind_spelling():
    (r,) = parse_rules_text(GOOD.replace("static-to-file", "static_to_file"), "x.toml")
    assert r.kind == "static-to-file" and r.severity == "error" and r["allow_missing"] is False


@pytest.mark.parametrize("text, needle", [
    ("[[rule]\nid=", "not valid TOML"),
    ("[rules]\nx = 1\n", "unknown top-level key 'rules'"),
    (GOOD.replace('message = "m"\n', ""), "missing required key 'message'"),
    (GOOD.replace('symbol = "f"\n', ""), "missing required key 'symbol' for kind 'static-to-file'"),
    (GOOD.replace('kind = "static-to-file"', 'kind = "statik"'), "key 'kind': unknown kind 'statik'"),
    (GOOD + 'severity = "fatal"\n', "key 'severity': 'fatal' is not one of"),
    (GOOD + "depth = 3\n", "key 'depth': unknown parameter for kind 'static-to-file'"),
    (GOOD + "allow_missing = 1\n", "key 'allow_missing': expected true or false"),
    (GOOD.replace('id = "t/static"', 'id = "bad id"'), "key 'id'"),
    (GOOD.replace('symbol = "f"', "symbol = 3"), "key 'symbol': expected a string"),
    ('[[rule]]\nid = "r"\nkind = "forbidden-in-region"\nmessage = "m"\nopen = "a"\nclose = "b"\n'
     'loop_calls = ["x"]\ndepth = "three"\n', "key 'depth': expected an integer"),
    ('[[rule]]\nid = "r"\nkind = "forbidden-in-region"\nmessage = "m"\nopen = "a"\nclose = "b"\n'
     'loop_calls = ["x"]\nguards = ["(unclosed"]\n', "key 'guards'[0]: not a valid regular expression"),
    ('[[rule]]\nid = "r"\nkind = "forbidden-in-region"\nmessage = "m"\nopen = "a"\nclose = "b"\n',
     "nothing would be forbidden"),
    ('[[rule]]\nid = "r"\nkind = "single-site"\nmessage = "m"\nfield = "a->b"\n', "key 'field'"),
    ('[[rule]]\nid = "r"\nkind = "query"\nmessage = "m"\nquery = "(call_expression (bogus))"\n',
     "key 'query': not a valid tree-sitter query"),
    ('[[rule]]\nid = "r"\nkind = "query"\nmessage = "m"\nquery = "(call_expression)"\n', "captures nothing"),
    ('[[rule]]\nid = "r"\nkind = "query"\nmessage = "m"\nquery = "(call_expression) @c"\ncapture = "d"\n',
     "key 'capture': 'd' is not a capture"),
])
def test_malformed_rule_names_file_and_key(text, needle):
    with pytest.raises(RuleError) as exc:
        parse_rules_text(text, "rules/broken.toml")
    msg = str(exc.value)
    assert msg.startswith("rules/broken.toml"), msg
    assert needle in msg, msg


def test_second_rule_is_named_by_index_and_id():
    text = GOOD + GOOD.replace("t/static", "t/two").replace('file = "a.c"', "file = 1")
    with pytest.raises(RuleError, match=r"x\.toml: rule\[1\] \(id 't/two'\), key 'file'"):
        parse_rules_text(text, "x.toml")


def test_directory_loading(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.toml").write_text(GOOD.replace("t/static", "t/other") + "enabled = false\n")
    assert [r.id for r in load_rules(tmp_path)] == ["t/static"]
    assert [r.id for r in load_rules(tmp_path / "a.toml")] == ["t/static"]
    (tmp_path / "c.toml").write_text(GOOD)
    with pytest.raises(RuleError, match="c.toml: rule\\[0\\] \\(id 't/static'\\), key 'id': duplicate rule id"):
        load_rules(tmp_path)
    with pytest.raises(RuleError, match="no such rules directory"):
        load_rules(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RuleError, match="no rule files"):
        load_rules(empty)


def test_only_selects_rules(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD + GOOD.replace("t/static", "t/two"))
    assert [r.id for r in load_rules(tmp_path, only=["t/two"])] == ["t/two"]
    with pytest.raises(RuleError, match="no such rule"):
        load_rules(tmp_path, only=["t/none"])
