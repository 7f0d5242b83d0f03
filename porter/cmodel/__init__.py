"""A model of one kernel C file built on tree-sitter-c: definitions, calls, loops, assignments.

Modules: ``model`` (the data classes), ``preprocess`` (byte-preserving source passes), ``grammar`` (tree-sitter
language, parser, query), ``builder`` (parse tree -> FileModel), ``parse`` (entry points), ``cache`` (models cached
by content hash), ``symbols`` (a name index over a whole tree), ``tokens`` (C tokens for similarity).

tree-sitter does not run the preprocessor, and kernel C leans on it. The traps handled here:

* annotation macros (``__meminit``, ``__init_memblock``, ``__printf(2, 3)``, ``__acquires(x)``...) are blanked
  out to spaces *before* parsing. Offsets and line numbers do not move, and every text we report is sliced from
  the original source, so the annotations still show in signatures.
* ``SYSCALL_DEFINEn(name, ...) { }`` parses as a call with a MISSING ``;`` followed by a block: it becomes a
  function named after its first argument (``macro`` records the wrapper).
* iterator macros (``for_each_device_pfn(pfn, pgmap) { }``, ``list_for_each_entry(...) stmt;``) parse the same
  way inside bodies: they become loops of kind "iterator".
* error recovery nests definitions inside others: every lookup uses the innermost enclosing definition.
* where the tree lost a function (``#ifdef`` in an initialiser can swallow the rest of a file), a textual scan in
  kernel style (header at column 0, ``{`` and ``}`` alone at column 0) recovers name and extent.
"""

from porter.cmodel.grammar import LANGUAGE
from porter.cmodel.model import MODEL_VERSION, Assignment, Call, Definition, FileModel, Loop
from porter.cmodel.parse import build_model, parse_c, parse_tree
from porter.cmodel.preprocess import (
    blank_annotations,
    blank_bare_invocations,
    blank_body_conditionals,
    join_type_arguments,
    kernel_bodies,
    rewrite_iterators,
)
from porter.cmodel.tokens import body_tokens, normalise_ws

__all__ = [
    "LANGUAGE", "MODEL_VERSION", "Assignment", "Call", "Definition", "FileModel", "Loop",
    "blank_annotations", "blank_bare_invocations", "blank_body_conditionals", "body_tokens", "build_model",
    "join_type_arguments", "kernel_bodies", "normalise_ws", "parse_c", "parse_tree", "rewrite_iterators",
]
