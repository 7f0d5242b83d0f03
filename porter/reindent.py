"""Give added lines back the kernel indentation a mailer stripped.

Kernel style is mechanical enough to rebuild: one tab per brace level, continuation lines aligned under the
open parenthesis, ' *' inside block comments, preprocessor lines and labels in column 0.
"""

from __future__ import annotations

import re

LABEL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*:\s*$")
CONTROL_RE = re.compile(r"^(if|else if|for|while|else)\b")


def leading_ws(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _visual_width(ws: str) -> int:
    width = 0
    for ch in ws:
        width = (width // 8 + 1) * 8 if ch == "\t" else width + 1
    return width


def _ws_for_width(width: int) -> str:
    return "\t" * (width // 8) + " " * (width % 8)


def _code_only(line: str) -> str:
    """The line without strings, char literals and comments, for counting braces and parens."""
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(?:\\.|[^'\\])*'", "''", line)
    line = re.sub(r"/\*.*?\*/", "", line)
    return line.split("//", 1)[0]


class Reindenter:
    """Feed it the lines around and inside a hunk in order; it indents the ones that lost their indentation."""

    def __init__(self, base_width: int = 0):
        self.width = base_width  # indentation width for the next statement line
        self.open_parens: list[int] = []  # columns just after each unclosed '('
        self.in_comment = False
        self.comment_width = 0
        self.pending_single = False  # previous line was `if (...)` without a brace

    def observe(self, line: str) -> None:
        """A line whose indentation is right (target context): learn the state after it."""
        self._advance(line, _visual_width(leading_ws(line)))

    def indent(self, text: str) -> str:
        """Return `text` (indentation lost) with the indentation it should have here."""
        s = text.strip()
        if not s:
            self._advance("", self.width)
            return ""
        if self.in_comment:
            width = self.comment_width + 1 if s.startswith("*") else self.comment_width
        elif s.startswith("#") or (LABEL_RE.match(s) and not s.startswith("default")):
            width = 0
        elif self.open_parens:
            width = self.open_parens[-1]
        elif s.startswith("}"):
            width = max(self.width - 8, 0)
        elif self.pending_single and not s.startswith("{"):
            width = self.width + 8
        else:
            width = self.width
        out = _ws_for_width(width) + s
        self._advance(out, width)
        return out

    def _advance(self, line: str, width: int) -> None:
        s = line.strip()
        if self.in_comment:
            if "*/" in s:
                self.in_comment = False
            return
        if s.startswith("/*") and "*/" not in s:
            self.in_comment = True
            self.comment_width = width
            return
        if not s or s.startswith("#"):
            return
        code = _code_only(line)
        col = width
        stmt_width = self.width
        if not self.open_parens:
            stmt_width = width - 8 if self.pending_single and not s.startswith("{") else width
        pos = len(leading_ws(line))
        for ch in code[pos:]:
            if ch == "(":
                self.open_parens.append(col + 1)
            elif ch == ")" and self.open_parens:
                self.open_parens.pop()
            col = (col // 8 + 1) * 8 if ch == "\t" else col + 1
        if self.open_parens:
            return
        opens, closes = code.count("{"), code.count("}")
        if s.startswith("}"):
            closes -= 1  # the line already sits at the level its leading brace closes to
        self.width = max(stmt_width + 8 * (opens - closes), 0)
        self.pending_single = bool(CONTROL_RE.match(s)) and not code.rstrip().endswith(("{", ";"))
