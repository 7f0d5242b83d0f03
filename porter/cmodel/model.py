"""The model of one C file: definitions, calls, loops and assignments, with 1-based lines and byte offsets."""

from __future__ import annotations

from dataclasses import dataclass, field

# Bump whenever the model or its extraction changes: the parse cache keys on it.
MODEL_VERSION = 5


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str  # "function" | "prototype" | "struct" | "union" | "enum" | "typedef" | "variable" | "macro"
    start_line: int  # 1-based, inclusive, includes storage class and annotations
    end_line: int  # 1-based, inclusive: line of the closing '}' / ';'
    start_byte: int
    end_byte: int  # exclusive
    is_static: bool
    signature: str  # functions: text up to the body '{' (whitespace-normalised); others: whole text, normalised
    body_start_line: int | None  # line of the body's '{' (functions)
    error_nodes: int  # ERROR/MISSING nodes inside (recognised macro idioms excluded)
    calls: tuple[str, ...] = ()  # names called in the body, in order (functions only)
    body_start_byte: int | None = None  # byte of the body's '{' (functions)
    macro: str | None = None  # wrapper macro for SYSCALL_DEFINEn-style definitions
    is_extern: bool = False  # declaration carries 'extern'
    source: str = "tree"  # "tree", or "text" when recovered by the textual fallback


@dataclass(frozen=True)
class Call:
    name: str
    line: int
    col: int  # 0-based byte column
    start_byte: int
    function: str | None  # nearest enclosing function
    macro: str | None = None  # set when the call sits in a #define body (function is then None)


@dataclass(frozen=True)
class Loop:
    kind: str  # "for" | "while" | "do" | "iterator"
    macro: str | None  # iterator macro name
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    function: str | None


@dataclass(frozen=True)
class Assignment:
    target: str  # normalised lhs text, e.g. "page->pgmap", "page_folio(page)->pgmap"
    field: str | None  # last member name ("pgmap") when the lhs is a member access
    line: int
    col: int
    function: str | None
    op: str = "="


@dataclass
class FileModel:
    path: str
    definitions: list[Definition] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    error_nodes: int = 0  # in the whole file

    def functions(self) -> list[Definition]:
        return [d for d in self.definitions if d.kind == "function"]

    def find(self, name: str, kind: str | None = None) -> list[Definition]:
        return [d for d in self.definitions if d.name == name and (kind is None or d.kind == kind)]

    def enclosing(self, line: int) -> Definition | None:
        """Innermost definition whose lines contain `line` (error recovery can nest definitions)."""
        best = None
        for d in self.definitions:
            if d.start_line <= line <= d.end_line:
                if best is None or (d.end_byte - d.start_byte) < (best.end_byte - best.start_byte):
                    best = d
        return best

