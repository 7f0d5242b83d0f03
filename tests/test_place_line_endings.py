"""Added lines take the target file's line ending: a patch made from a CRLF copy of a file, matched against the
LF file ignoring whitespace, must not write one CR-terminated line into it (nor an LF line into a CRLF file)."""

from __future__ import annotations

from tests.helpers import run

CRLF_PATCH = (
    "--- a/drivers/foo/x.c\r\n+++ b/drivers/foo/x.c\r\n@@ -1,6 +1,7 @@\r\n int a(void)\r\n {\r\n"
    " \tfoo();\r\n+\tbaz();\r\n \tbar();\r\n \treturn 0;\r\n }\r\n"
)
LF_TEXT = "int a(void)\n{\n\tfoo();\n\tbar();\n\treturn 0;\n}\n"


def _tree(tmp_path, text: bytes):
    tree = tmp_path / "tree"
    (tree / "drivers/foo").mkdir(parents=True)
    (tree / "Makefile").write_text("")
    (tree / "Kbuild").write_text("")
    (tree / "drivers/foo/x.c").write_bytes(text)
    return tree


def test_crlf_patch_onto_lf_file_writes_lf(tmp_path):
    tree = _tree(tmp_path, LF_TEXT.encode())
    patch = tmp_path / "p.diff"
    patch.write_bytes(CRLF_PATCH.encode())
    res = run("apply", str(patch), "--tree", str(tree))
    assert res.exit_code == 0, res.output
    assert (tree / "drivers/foo/x.c").read_bytes() == b"int a(void)\n{\n\tfoo();\n\tbaz();\n\tbar();\n\treturn 0;\n}\n"


def test_lf_patch_onto_crlf_file_writes_crlf(tmp_path):
    tree = _tree(tmp_path, LF_TEXT.replace("\n", "\r\n").encode())
    patch = tmp_path / "p.diff"
    patch.write_bytes(CRLF_PATCH.replace("\r\n", "\n").encode())
    res = run("apply", str(patch), "--tree", str(tree))
    assert res.exit_code == 0, res.output
    data = (tree / "drivers/foo/x.c").read_bytes()
    assert b"\tbaz();\r\n" in data and data.count(b"\n") == data.count(b"\r\n") == 7
