"""porter/place/nesting.py: the #if nesting at a line, which decides the side of a split insertion."""

from porter.place.nesting import nesting_at

LINES = """\
#ifndef _SAMPLE_H
#define _SAMPLE_H
int a;
#ifdef CONFIG_A /* comment */
int b;
#else
int c;
#endif
#if defined(CONFIG_B) && \\
    defined(CONFIG_C)
int d;
#elif IS_ENABLED(CONFIG_D)
int e;
#endif
int f;
#endif
""".splitlines()


def at(text: str) -> list[str]:
    return nesting_at(LINES, LINES.index(text))


def test_nesting_follows_if_else_endif():
    assert at("int a;") == ["ifndef _SAMPLE_H"]
    assert at("int b;") == ["ifndef _SAMPLE_H", "ifdef CONFIG_A"]  # the comment is not part of the condition
    assert at("int c;") == ["ifndef _SAMPLE_H", "ifdef CONFIG_A | else"]  # the other branch is another place
    assert at("int f;") == ["ifndef _SAMPLE_H"]


def test_elif_is_a_branch_of_the_same_conditional():
    assert at("int e;") == ["ifndef _SAMPLE_H", "if defined(CONFIG_B) && \\ | elif IS_ENABLED(CONFIG_D)"]
    assert len(at("int d;")) == 2


def test_unbalanced_endif_does_not_fail():
    assert nesting_at(["#endif", "int x;"], 1) == []
