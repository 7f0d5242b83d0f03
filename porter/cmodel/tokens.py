"""C tokens of a text, for similarity scores and normalised signatures."""

from __future__ import annotations

import re

_TOKEN_RE = re.compile(
    r"""
    (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<char>'(?:\\.|[^'\\\n])+')
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<number>\.?\d(?:[\w.]|[eEpP][+-])*)
  | (?P<punct>>>=|<<=|\.\.\.|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||\+=|-=|\*=|/=|%=|&=|\^=|\|=|\#\#|[^\s\w])
    """,
    re.S | re.X,
)


def body_tokens(text: str) -> list[str]:
    """C tokens for similarity: comments dropped, string and char literals collapsed to one token each."""
    out = []
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        if kind == "comment":
            continue
        if kind == "string":
            out.append('"S"')
        elif kind == "char":
            out.append("'C'")
        else:
            out.append(m.group())
    return out


def normalise_ws(text: str) -> str:
    return " ".join(text.split())


def _join_tokens(toks: list[str]) -> str:
    out = []
    prev_word = False
    for t in toks:
        word = t[0].isalnum() or t[0] == "_"
        if out and word and prev_word:
            out.append(" ")
        out.append(t)
        prev_word = word
    return "".join(out)
