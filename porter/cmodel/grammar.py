"""tree-sitter-c: the language, one parser, and the query the model builder runs."""

from __future__ import annotations

import tree_sitter_c
from tree_sitter import Language, Parser, Query

LANGUAGE = Language(tree_sitter_c.language())

parser = Parser(LANGUAGE)

_QUERY_TEXT = (
    """
    (function_definition) @function
    (declaration) @declaration
    (type_definition) @typedef
    (struct_specifier body: (_)) @struct
    (union_specifier body: (_)) @union
    (enum_specifier body: (_)) @enum
    (preproc_def) @macro
    (preproc_function_def) @macro
    (call_expression function: (identifier)) @call
    (for_statement) @for
    (while_statement) @while
    (do_statement) @do
    (assignment_expression) @assign
    (ERROR) @error
    (MISSING) @missing
    """
)
_query_cache: list = []


def query() -> Query:
    """Compiled on first use: compiling costs ~40 ms, which every porter command would pay at import."""
    if not _query_cache:
        _query_cache.append(Query(LANGUAGE, _QUERY_TEXT))
    return _query_cache[0]
