"""Rule messages: the rule's own text, with {placeholders} filled from what the check found."""

from __future__ import annotations

import string


class _Keep(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def render(template: str, detail: str = "", **values) -> str:
    """Fill {name} placeholders; a template without {detail} gets ': detail' appended when there is one."""
    values = {k: ("" if v is None else v) for k, v in values.items()}
    values["detail"] = detail
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        text = template.format_map(_Keep(values))
    except (ValueError, IndexError):
        fields, text = set(), template
    if detail and "detail" not in fields:
        text = f"{text}: {detail}"
    return text
