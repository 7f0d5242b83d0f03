"""A model of one kernel C file built on tree-sitter-c: definitions, calls, loops, assignments.

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

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

import tree_sitter_c
from tree_sitter import Language, Parser, Query, QueryCursor

# Bump whenever the model or its extraction changes: the parse cache keys on it.
MODEL_VERSION = 5

LANGUAGE = Language(tree_sitter_c.language())


# --------------------------------------------------------------------------------------------- data model

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


# --------------------------------------------------------------------------------------------- annotations

# Bare annotation words: storage sections, calling conventions, sparse address spaces, attributes.
# Exact words only: a prefix rule would eat real names such as __init_single_page.
_ANNOT_WORDS = """
__init __exit __meminit __meminitdata __meminitconst __initdata __initconst __exitdata __exit_call
__ref __refdata __refconst __init_memblock __initdata_memblock __init_or_module __cpuinit __cpuinitdata
__devinit __devinitdata __devexit __net_init __net_exit __net_initdata __sched __kprobes notrace noinstr
__always_inline noinline noinline_for_stack __noinline __cold __hot __weak __used __maybe_unused __always_unused
__must_check __pure __visible asmlinkage __noreturn __latent_entropy __ro_after_init __read_mostly __nocfi
__noclone __flatten __malloc __cpuidle __irq_entry __softirq_entry __lockfunc __attribute_const__
__no_sanitize_address __no_kcsan __no_profile __nostackprotector __noinstr_section __iomem __user __rcu __percpu
__force __nocast __safe __bitwise __randomize_layout __no_randomize_layout __packed __designated_init
__cacheline_aligned __cacheline_aligned_in_smp ____cacheline_aligned ____cacheline_aligned_in_smp
____cacheline_internodealigned_in_smp __page_aligned_bss __page_aligned_data __bpf_kfunc __naked __deprecated
__nonstring __always_unused __mlock __init_refok __initdata_refok __exitused __inline __no_sanitize_or_inline
__no_kmsan_checks __fix_address __ksym __weak_alias __head __initrodata __sched_notrace
""".split()

# Annotations that take an argument list, blanked together with their balanced parentheses.
_ANNOT_CALLS = """
__printf __scanf __acquires __releases __must_hold __cond_acquires __cond_releases __section __aligned
__alloc_size __realloc_size __counted_by __counted_by_le __counted_by_be __free __assume_aligned __guarded_by
__pt_guarded_by __cleanup __alias __diag_ignore_all __no_sanitize_or_inline_attr __acquire_ret __releases_shared
__acquires_shared __must_hold_shared
""".split()

_ANNOT_SET = set(_ANNOT_WORDS)
_ANNOT_CALL_SET = set(_ANNOT_CALLS)
# every annotation starts with "__" or is one of a few plain words: match those cheaply, then look the word up
_ANNOT_RE = re.compile(rb"(?<![\w])(?:__|notrace|noinstr|noinline|asmlinkage)\w*")
_DIRECTIVE_NAME_RE = re.compile(rb"[ \t]*#[ \t]*(?:define|undef|ifdef|ifndef)[ \t]+$")


def blank_annotations(src: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    """Replace annotation macros by spaces (newlines kept), so offsets and lines stay valid."""
    out = None
    spans: list[tuple[int, int]] = []
    last = 0
    for m in _ANNOT_RE.finditer(src):
        s, e = m.span()
        if s < last:
            continue
        name = m.group().decode()
        if name not in _ANNOT_SET and name not in _ANNOT_CALL_SET:
            continue
        line_start = src.rfind(b"\n", 0, s) + 1
        if src[line_start:line_start + 1] in (b"#", b" ", b"\t") and _DIRECTIVE_NAME_RE.match(src, line_start, s):
            continue  # the macro's own #define
        if name in _ANNOT_CALL_SET:
            j = e
            while j < len(src) and src[j] in b" \t":
                j += 1
            if j >= len(src) or src[j] != 0x28:  # '('
                if name not in _ANNOT_SET:
                    continue
            else:
                close = _match_paren(src, j, limit=400)
                if close is None:
                    continue
                e = close + 1
        if out is None:
            out = bytearray(src)
        for i in range(s, e):
            if out[i] != 0x0A:
                out[i] = 0x20
        spans.append((s, e))
        last = e
    return (bytes(out) if out is not None else src), spans


_ITER_CALL_RE = re.compile(rb"^([ \t]+)(\w*(?:for_each|foreach)\w*)[ \t]*\(", re.M)


def rewrite_iterators(src: bytes) -> tuple[bytes, dict[int, str]]:
    """Turn statement-position iterator macros into `while` of the same length.

    `for_each_online_cpu(cpu)\n\t\tstmt;` otherwise parses as a declaration or a call with a MISSING ';', and
    which one depends on the arguments. `while   (cpu) stmt;` is a real loop with a real body; the comma
    expression keeps every argument. Returns the new source and {byte offset: macro name}.
    """
    out = None
    found: dict[int, str] = {}
    for m in _ITER_CALL_RE.finditer(src):
        s, e = m.start(2), m.end(2)
        close = _match_paren(src, m.end() - 1, limit=2000)
        if close is None:
            continue
        rest = src[close + 1:src.find(b"\n", close) if src.find(b"\n", close) >= 0 else len(src)].strip()
        if rest.endswith(b"\\"):
            continue  # inside a multi-line #define
        if rest[:1] not in (b"", b"{", b"/") and not rest[:1].isalpha() and rest[:1] != b"_":
            continue  # `for_each_x(...);` or an expression: not a loop head
        if rest.startswith(b"/") and not rest.startswith((b"/*", b"//")):
            continue
        if out is None:
            out = bytearray(src)
        out[s:e] = b"while" + b" " * (e - s - 5)
        found[s] = m.group(2).decode()
    return (bytes(out) if out is not None else src), found


_COL0_INVOCATION_RE = re.compile(rb"^([A-Za-z_]\w*)[ \t]*\(", re.M)


def blank_bare_invocations(src: bytes) -> bytes:
    """Blank column-0 macro invocations that end without ';' (BTF_ID(struct, x), BTF_KFUNCS_START(set)).

    Without a ';' tree-sitter glues them to whatever follows and can swallow the next thousand lines into one
    bogus function. A function header (followed by '{') or a declaration (followed by ';') is left alone.
    """
    out = None
    for m in _COL0_INVOCATION_RE.finditer(src):
        close = _match_paren(src, m.end() - 1, limit=1000)
        if close is None:
            continue
        j = close + 1
        n = len(src)
        while j < n and src[j] in b" \t\r\n":
            j += 1
        if j < n and not (src[j:j + 1].isalpha() or src[j:j + 1] in (b"_", b"#")) and not src.startswith(b"/*", j) \
                and not src.startswith(b"//", j):
            continue
        if b"\n" not in src[close + 1:j]:
            continue  # something follows on the same line: a declaration like `FOO(x) int y;`
        prev = src[:m.start()].rstrip()
        if prev.endswith((b",", b"(", b"=", b"\\")):
            continue
        if out is None:
            out = bytearray(src)
        for i in range(m.start(), close + 1):
            if out[i] != 0x0A:
                out[i] = 0x20
    return bytes(out) if out is not None else src


_TYPE_ARG_RE = re.compile(
    rb"([(,])(\s*)((?:struct|union|enum)\s+[A-Za-z_]\w*|(?:unsigned|signed|const|long|short)(?:[ \t]+[A-Za-z_]\w*)+"
    rb"|int|long|char|short|bool|float|double)(?=\s*[,)])"
)
_NOT_MACRO_BEFORE_PAREN = frozenset((b"sizeof", b"typeof", b"__typeof__", b"_Alignof", b"__alignof__",
                                     b"offsetof", b"va_arg", b"_Generic", b"if", b"while", b"for", b"switch",
                                     b"return"))


def join_type_arguments(src: bytes, bodies: list[tuple[int, int]] | None = None) -> bytes:
    """`container_of(p, struct foo, m)`, `min_t(unsigned long, a, b)`: make a type argument one identifier.

    A type is never a function argument in C, so tree-sitter makes an ERROR of each (the most common ERROR
    left in mm/ after annotations). `foo` (tag keyword blanked), `unsigned_long`, `_nt` (for `int`) parse as
    identifiers and keep every offset. Casts, sizeof, offsetof and typeof are left alone: the word before the '(' must be a
    macro or function name. Only inside function bodies (`bodies`): at file scope `DEFINE_PER_CPU(int, x);`
    already parses as a macro type.
    """
    if bodies is None:
        bodies = kernel_bodies(src)
    starts = [b for b, _ in bodies]

    def repl(m):
        if not _in_bodies(bodies, starts, m.start()):
            return m.group(0)
        if m.group(1) == b"(":
            j = m.start(1)
            k = j
            while k > 0 and src[k - 1] in b" \t":
                k -= 1
            w = k
            while w > 0 and (src[w - 1:w].isalnum() or src[w - 1] == 0x5F):
                w -= 1
            word = src[w:k]
            if not word or word in _NOT_MACRO_BEFORE_PAREN or word[:1].isdigit():
                return m.group(0)
        t = m.group(3)
        tag = re.match(rb"(struct|union|enum)(?=\s)", t)
        if tag:
            t = b" " * tag.end() + t[tag.end():]  # `struct\n\t\tfoo` -> `foo`, lines kept
        elif b" " in t or b"\t" in t:
            t = re.sub(rb"[ \t]+", lambda sp: b"_" * len(sp.group()), t)
        else:
            t = b"_" + t[1:]
        return m.group(1) + m.group(2) + t

    return _TYPE_ARG_RE.sub(repl, src)


def kernel_bodies(src: bytes) -> list[tuple[int, int]]:
    """(open, close) offsets of kernel-style function bodies: '{' alone at column 0 up to the next '}' there."""
    return [(m.start(), c.start()) for m in _COL0_OPEN_RE.finditer(src)
            for c in [_COL0_CLOSE_RE.search(src, m.end())] if c is not None]


def _in_bodies(bodies: list[tuple[int, int]], starts: list[int], pos: int) -> bool:
    i = bisect.bisect_right(starts, pos) - 1
    return i >= 0 and bodies[i][0] < pos < bodies[i][1]


_DIRECTIVE_RE = re.compile(rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b", re.M)


_NOISE_RE = re.compile(rb"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])+'", re.S)


def _balance(text: bytes) -> tuple[int, int]:
    """Net '{' and '(' counts of a code fragment, comments and literals ignored."""
    text = _NOISE_RE.sub(b"", text)
    return text.count(b"{") - text.count(b"}"), text.count(b"(") - text.count(b")")


def blank_body_conditionals(src: bytes, bodies: list[tuple[int, int]] | None = None) -> bytes:
    """Make `#if` groups inside kernel-style function bodies parseable, keeping every line number.

    * Without `#else`: blank the directive lines. `#ifdef CONFIG_X` around half an expression
      (`a |\n#ifdef X\n b |\n#endif\n c`) or around an `if (...) ... else` prefix is an ERROR for tree-sitter;
      without the directives it is valid C with every line kept (the "everything configured in" view).
    * With `#else`/`#elif` whose branches do not balance their braces or parentheses (`#ifdef A\n if (x) {\n
      #else\n if (y) {\n#endif`): keep the first branch only. Joined, the alternatives are never valid C.
    * Balanced alternatives parse well as they are and stay.
    """
    if b"#" not in src:
        return src
    directives = [(m.start(), m.group(1)) for m in _DIRECTIVE_RE.finditer(src)]
    if not directives:
        return src
    if bodies is None:
        bodies = kernel_bodies(src)
    if not bodies:
        return src
    starts = [b for b, _ in bodies]
    out = None
    stack: list[list[int]] = []  # directive offsets of each open group: if, else/elif...
    for pos, kind in directives:
        if kind in (b"if", b"ifdef", b"ifndef"):
            stack.append([pos])
            continue
        if not stack:
            continue
        if kind in (b"else", b"elif"):
            stack[-1].append(pos)
            continue
        group = stack.pop() + [pos]  # endif
        if not _in_bodies(bodies, starts, group[0]) or not _in_bodies(bodies, starts, pos):
            continue
        blank: list[tuple[int, int]] = []
        if len(group) == 2:
            blank = [(group[0], _line_end(src, group[0])), (pos, _line_end(src, pos))]
        else:
            branches = [src[_line_end(src, d):group[k + 1]] for k, d in enumerate(group[:-1])]
            if all(_balance(br) == (0, 0) for br in branches):
                continue
            blank = [(group[0], _line_end(src, group[0])), (group[1], _line_end(src, pos))]
        if out is None:
            out = bytearray(src)
        for s0, e0 in blank:
            for k in range(s0, e0):
                if out[k] != 0x0A:
                    out[k] = 0x20
    return bytes(out) if out is not None else src


def _line_end(src: bytes, pos: int) -> int:
    """End of the (backslash-continued) line at pos, before its newline."""
    e = pos
    while True:
        nl = src.find(b"\n", e)
        if nl < 0:
            return len(src)
        if nl > 0 and src[nl - 1:nl] == b"\\":
            e = nl + 1
            continue
        return nl


def _match_paren(src: bytes, open_at: int, limit: int) -> int | None:
    depth = 0
    end = min(len(src), open_at + limit)
    for i in range(open_at, end):
        c = src[i]
        if c == 0x28:
            depth += 1
        elif c == 0x29:
            depth -= 1
            if depth == 0:
                return i
        elif c in (0x3B, 0x7B, 0x7D):  # ; { } : not an annotation argument list
            return None
    return None


# --------------------------------------------------------------------------------------------- tokens

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


# --------------------------------------------------------------------------------------------- parsing

_parser = Parser(LANGUAGE)

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


def _query() -> Query:
    """Compiled on first use: compiling costs ~40 ms, which every porter command would pay at import."""
    if not _query_cache:
        _query_cache.append(Query(LANGUAGE, _QUERY_TEXT))
    return _query_cache[0]

# Iterator macros: for_each_*, list_for_each_entry, xa_for_each, hash_for_each_possible, ...
_ITER_RE = re.compile(r"(?:^|_)for_each(?:_|$)|foreach|^for_|_for_")
_KEYWORDS = frozenset(
    "if while for switch return sizeof do else case goto typeof __typeof__ __builtin_expect defined _Generic "
    "__attribute__ asm __asm__ volatile alignof _Alignof".split()
)
_SCOPE_TYPES = frozenset({"compound_statement"})


def parse_tree(source: bytes, keep_conditionals: bool = True):
    """The tree-sitter Tree of `source` (not cached), parsed as the model sees it: annotation macros blanked and
    iterator macros turned into `while` (a `while_statement` whose source starts with the macro name), all
    without moving any byte. `keep_conditionals` keeps `#if` groups inside bodies as preproc nodes (flow
    analysis treats them as optional); the FileModel drops the directive lines of groups without `#else`."""
    return _parser.parse(_prepare(source, keep_conditionals)[0])


def _prepare(source: bytes, keep_conditionals: bool = False):
    """Source as tree-sitter should see it (same length, same lines), annotation spans, iterator positions."""
    blanked, spans = blank_annotations(source)
    blanked = blank_bare_invocations(blanked)
    bodies = kernel_bodies(blanked)  # same offsets in every pass: the passes only overwrite bytes with spaces
    blanked = join_type_arguments(blanked, bodies)
    if not keep_conditionals:
        blanked = blank_body_conditionals(blanked, bodies)
    blanked, iterators = rewrite_iterators(blanked)
    return blanked, spans, iterators


def parse_c(source: bytes, path: str = "") -> FileModel:
    """FileModel of `source`, cached by content hash (memory and disk)."""
    from porter import parse_cache

    if isinstance(source, str):
        source = source.encode("utf-8", "surrogateescape")

    return parse_cache.get_or_build(source, path, build_model)


def build_model(source: bytes, path: str = "") -> FileModel:
    """Build the FileModel from scratch (no cache)."""
    if isinstance(source, str):
        source = source.encode("utf-8", "surrogateescape")
    return _Builder(source, path).build()


class _Builder:
    def __init__(self, source: bytes, path: str):
        self.src = source
        self.path = path
        self.blanked, self.blank_spans, self.iterators = _prepare(source)
        self._span_ends = [e for _s, e in self.blank_spans]
        self.tree = _parser.parse(self.blanked)
        self.line_starts = [0]
        self.line_starts.extend(m.end() for m in re.finditer(rb"\n", source))

    # ---- helpers
    def text(self, s: int, e: int) -> str:
        return self.src[s:e].decode("utf-8", "replace")

    def line_of(self, byte: int) -> int:
        return bisect.bisect_right(self.line_starts, byte)

    def extend_over_annotations(self, start: int) -> int:
        """Move a definition start back over blanked annotations directly before it (`__printf(2, 3) void f`)."""
        ends = self._span_ends
        while True:
            i = bisect.bisect_right(ends, start) - 1
            if i < 0:
                return start
            s, e = self.blank_spans[i]
            if s >= start or self.src[e:start].strip():
                return start
            start = s

    def build(self) -> FileModel:
        caps = QueryCursor(_query()).captures(self.tree.root_node)
        missing_ok: set[int] = set()  # MISSING ';' ids that belong to recognised macro idioms
        defs: list[Definition] = []
        macro_fn_nodes = []  # (call_stmt, block, call, macro name) of SYSCALL_DEFINE-style definitions
        iter_loops = []  # (call_stmt, body, macro name)

        for miss in caps.get("missing", []):
            stmt = miss.parent
            if miss.type != ";" or stmt is None or stmt.type != "expression_statement":
                continue
            call = stmt.named_children[0] if stmt.named_child_count else None
            if call is None or call.type != "call_expression":
                continue
            fn = call.child_by_field_name("function")
            if fn is None or fn.type != "identifier":
                continue
            nxt = stmt.next_named_sibling
            name = self.text(fn.start_byte, fn.end_byte)
            if nxt is None:
                continue
            in_body = self._inside_body(stmt)
            if not in_body and nxt.type == "compound_statement":
                macro_fn_nodes.append((stmt, nxt, call, name))
                missing_ok.add(miss.id)
            elif in_body and _ITER_RE.search(name):
                iter_loops.append((stmt, nxt, name))  # an iterator the rewrite did not reach
                missing_ok.add(miss.id)
            elif in_body and nxt.type == "compound_statement" and nxt.start_point[0] == call.end_point[0]:
                missing_ok.add(miss.id)  # scoped_guard(...) { } and friends: a macro with a block, not an error

        err_pos = sorted(
            [n.start_byte for n in caps.get("error", [])]
            + [n.start_byte for n in caps.get("missing", []) if n.id not in missing_ok]
        )
        self.err_pos = err_pos

        def errors_in(s: int, e: int) -> int:
            return bisect.bisect_left(err_pos, e) - bisect.bisect_left(err_pos, s)

        self.errors_in = errors_in

        for node in caps.get("function", []):
            d = self._function(node)
            if d is not None:
                defs.append(d)
        for stmt, block, call, mname in macro_fn_nodes:
            d = self._macro_function(stmt, block, call, mname)
            if d is not None:
                defs.append(d)
        for node in caps.get("declaration", []):
            if not self._inside_body(node):
                defs.extend(self._declaration(node))
        for node in caps.get("typedef", []):
            if not self._inside_body(node):
                defs.extend(self._typedef(node))
        for kind in ("struct", "union", "enum"):
            for node in caps.get(kind, []):
                d = self._tagged(node, kind)
                if d is not None:
                    defs.append(d)
        for node in caps.get("macro", []):
            d = self._macro(node)
            if d is not None:
                defs.append(d)

        defs = self._merge_textual(defs)
        defs = self._trim_swallowing(defs)
        defs.sort(key=lambda d: (d.start_byte, -d.end_byte))

        funcs = [d for d in defs if d.kind == "function"]
        locate_fn = _Innermost(funcs)

        calls: list[Call] = []
        skip_call_ids = {c.id for _s, _b, c, _n in macro_fn_nodes}
        per_fn_calls: dict[int, list[tuple[int, str]]] = {}  # id(function) -> (byte, callee)
        for node in sorted(caps.get("call", []), key=lambda n: n.start_byte):
            if node.id in skip_call_ids:
                continue
            fn = node.child_by_field_name("function")
            name = self.text(fn.start_byte, fn.end_byte)
            owner = locate_fn.at(node.start_byte)
            calls.append(
                Call(name, node.start_point[0] + 1, node.start_point[1], node.start_byte, owner.name if owner else None)
            )
            if owner is not None:
                per_fn_calls.setdefault(id(owner), []).append((node.start_byte, name))
        calls.extend(self._macro_body_calls(caps.get("macro", [])))

        loops: list[Loop] = []
        for kind in ("for", "while", "do"):
            for node in caps.get(kind, []):
                owner = locate_fn.at(node.start_byte)
                macro = self.iterators.get(node.start_byte) if kind == "while" else None
                if macro is not None:
                    # the macro is a call too: "who uses for_each_device_pfn" is a callers question
                    calls.append(Call(macro, node.start_point[0] + 1, node.start_point[1], node.start_byte,
                                      owner.name if owner else None))
                    if owner is not None:
                        per_fn_calls.setdefault(id(owner), []).append((node.start_byte, macro))
                    loops.append(Loop("iterator", macro, node.start_point[0] + 1, node.end_point[0] + 1, node.start_byte,
                                      node.end_byte, owner.name if owner else None))
                    continue
                loops.append(Loop(kind, None, node.start_point[0] + 1, node.end_point[0] + 1, node.start_byte,
                                  node.end_byte, owner.name if owner else None))
        for stmt, body, name in iter_loops:
            owner = locate_fn.at(stmt.start_byte)
            loops.append(Loop("iterator", name, stmt.start_point[0] + 1, body.end_point[0] + 1, stmt.start_byte,
                              body.end_byte, owner.name if owner else None))
        loops.sort(key=lambda lp: lp.start_byte)
        calls.sort(key=lambda c: c.start_byte)

        assigns: list[Assignment] = []
        for node in caps.get("assign", []):
            lhs = node.child_by_field_name("left")
            op = node.child_by_field_name("operator")
            if lhs is None:
                continue
            fld = None
            if lhs.type == "field_expression":
                f = lhs.child_by_field_name("field")
                if f is not None:
                    fld = self.text(f.start_byte, f.end_byte)
            owner = locate_fn.at(node.start_byte)
            assigns.append(Assignment(
                _join_tokens(body_tokens(self.text(lhs.start_byte, lhs.end_byte))), fld,
                node.start_point[0] + 1, node.start_point[1], owner.name if owner else None,
                self.text(op.start_byte, op.end_byte) if op is not None else "=",
            ))
        assigns.sort(key=lambda a: (a.line, a.col))

        # attach body calls to functions (by identity, so same-named #ifdef variants stay apart)
        final = []
        for d in defs:
            if d.kind == "function":
                d = _replace(d, calls=tuple(n for _b, n in sorted(per_fn_calls.get(id(d), ()))))
            final.append(d)
        return FileModel(self.path, final, calls, loops, assigns, error_nodes=len(err_pos))

    # ---- structure helpers
    def _inside_body(self, node) -> bool:
        p = node.parent
        while p is not None:
            if p.type in _SCOPE_TYPES or p.type == "field_declaration_list" or p.type == "parameter_list":
                return True
            p = p.parent
        return False

    def _function(self, node) -> Definition | None:
        body = node.child_by_field_name("body")
        if body is None:
            return None
        decl = node.child_by_field_name("declarator")
        name = _declarator_name(decl, self) if decl is not None else None
        # Inside a body, an indented `scoped_guard (rcu) { }` parses as a K&R-style definition: a statement,
        # not a definition. Real functions that error recovery nested start at column 0 (kernel style).
        if node.start_point[1] != 0 and self._inside_body(node):
            return None
        start = self._line_start_of_header(self.extend_over_annotations(node.start_byte))
        cut = _after_last_statement(self.blanked, start, body.start_byte)
        if cut is not None:
            # error recovery glued a preceding declaration (`static DEFINE_PER_CPU(int, x);`) to this header
            start, name = cut, None
        header = self.text(start, body.start_byte)
        if not name or name in _KEYWORDS or name in _PRIMITIVES:
            # an unknown annotation broke the declarator (`void __no_caller_saved_registers f(void)`)
            name = _header_name(self.blanked[start:body.start_byte].decode("utf-8", "replace"))
        if not name:
            return None
        macro = None
        wrapper = _WRAPPER_RE.match(header)
        if wrapper and wrapper.group(2) == name:
            macro = wrapper.group(1)  # SYSCALL_DEFINE0(getpid) read as a K&R-style definition
            if self._semicolon_after(node.end_byte):
                return None  # BTF_TYPE_SAFE_TRUSTED(struct file) { ... }; declares a struct, not a function
        # errors in words the line-start rule took in (an unknown `MEM_STATIC`) are accounted for: not counted
        return Definition(
            name=name, kind="function",
            start_line=self.line_of(start), end_line=self.line_of(max(node.end_byte - 1, 0)),
            start_byte=start, end_byte=node.end_byte,
            is_static=_is_static(header, name),
            signature=normalise_ws(header),
            body_start_line=self.line_of(body.start_byte), body_start_byte=body.start_byte,
            error_nodes=self.errors_in(max(start, node.start_byte), node.end_byte), macro=macro,
        )

    def _line_start_of_header(self, start: int) -> int:
        """Kernel headers start at column 0: words before the node on its line (type, unknown annotations the
        parser dropped into an ERROR) belong to the definition."""
        ls = self.src.rfind(b"\n", 0, start) + 1
        if ls < start and _HEADER_PREFIX_RE.fullmatch(self.src, ls, start):
            return ls
        return start

    def _semicolon_after(self, end: int) -> bool:
        rest = self.src[end:end + 64].lstrip()
        return rest.startswith(b";")

    def _macro_function(self, stmt, block, call, mname) -> Definition | None:
        if self._semicolon_after(block.end_byte):
            return None  # a macro that declares a struct or table: `FOO(x) { ... };`
        args = call.child_by_field_name("arguments")
        name = mname
        if re.fullmatch(r"[A-Z0-9_]+", mname) and args is not None and args.named_child_count:
            first = args.named_children[0]
            if first.type == "identifier":
                name = self.text(first.start_byte, first.end_byte)
        start = self.extend_over_annotations(stmt.start_byte)
        header = self.text(start, block.start_byte)
        return Definition(
            name=name, kind="function",
            start_line=self.line_of(start), end_line=self.line_of(max(block.end_byte - 1, 0)),
            start_byte=start, end_byte=block.end_byte,
            is_static=_is_static(header, name), signature=normalise_ws(header),
            body_start_line=self.line_of(block.start_byte), body_start_byte=block.start_byte,
            error_nodes=self.errors_in(block.start_byte, block.end_byte),  # macro args are not C declarations
            macro=mname if name != mname else None,
        )

    def _declaration(self, node) -> list[Definition]:
        out = []
        start = self.extend_over_annotations(node.start_byte)
        whole = self.text(start, node.end_byte)
        storage = {self.text(c.start_byte, c.end_byte) for c in node.children if c.type == "storage_class_specifier"}
        is_static = "static" in storage
        is_extern = "extern" in storage
        common = dict(start_line=self.line_of(start), end_line=self.line_of(max(node.end_byte - 1, 0)),
                      start_byte=start, end_byte=node.end_byte, is_static=is_static, is_extern=is_extern,
                      signature=normalise_ws(whole), body_start_line=None,
                      error_nodes=self.errors_in(start, node.end_byte))
        for decl in node.children_by_field_name("declarator"):
            target = decl.child_by_field_name("declarator") if decl.type == "init_declarator" else decl
            if target is None:
                continue
            kind = "prototype" if _is_prototype(target) else "variable"
            name = _declarator_name(target, self)
            if name:
                out.append(Definition(name=name, kind=kind, **common))
        ty = node.child_by_field_name("type")
        if ty is not None and ty.type in ("struct_specifier", "union_specifier", "enum_specifier") \
                and ty.child_by_field_name("body") is not None:
            tname = ty.child_by_field_name("name")
            if tname is not None:
                out.append(Definition(name=self.text(tname.start_byte, tname.end_byte),
                                      kind=ty.type.split("_")[0], **common))
        return out

    def _typedef(self, node) -> list[Definition]:
        out = []
        start = self.extend_over_annotations(node.start_byte)
        common = dict(start_line=self.line_of(start), end_line=self.line_of(max(node.end_byte - 1, 0)),
                      start_byte=start, end_byte=node.end_byte, is_static=False,
                      signature=normalise_ws(self.text(start, node.end_byte)), body_start_line=None,
                      error_nodes=self.errors_in(start, node.end_byte))
        for decl in node.children_by_field_name("declarator"):
            name = _declarator_name(decl, self)
            if name:
                out.append(Definition(name=name, kind="typedef", **common))
        ty = node.child_by_field_name("type")
        if ty is not None and ty.type in ("struct_specifier", "union_specifier", "enum_specifier") \
                and ty.child_by_field_name("body") is not None:
            tname = ty.child_by_field_name("name")
            if tname is not None:
                out.append(Definition(name=self.text(tname.start_byte, tname.end_byte),
                                      kind=ty.type.split("_")[0], **common))
        return out

    def _tagged(self, node, kind) -> Definition | None:
        """`struct foo { ... };` standing alone (inside declarations and typedefs it is handled there)."""
        parent = node.parent
        if parent is None or parent.type in ("declaration", "type_definition", "field_declaration"):
            return None
        if self._inside_body(node):
            return None
        tname = node.child_by_field_name("name")
        if tname is None:
            return None
        end = node.end_byte
        nxt = node.next_sibling
        if nxt is not None and nxt.type == ";" and not nxt.is_missing:
            end = nxt.end_byte
        start = self.extend_over_annotations(node.start_byte)
        return Definition(
            name=self.text(tname.start_byte, tname.end_byte), kind=kind,
            start_line=self.line_of(start), end_line=self.line_of(max(end - 1, 0)),
            start_byte=start, end_byte=end, is_static=False,
            signature=normalise_ws(self.text(start, end)), body_start_line=None,
            error_nodes=self.errors_in(start, end),
        )

    def _macro(self, node) -> Definition | None:
        nm = node.child_by_field_name("name")
        if nm is None:
            return None
        end = node.end_byte
        while end > node.start_byte and self.src[end - 1:end] in (b"\n", b"\r"):
            end -= 1
        return Definition(
            name=self.text(nm.start_byte, nm.end_byte), kind="macro",
            start_line=self.line_of(node.start_byte), end_line=self.line_of(max(end - 1, 0)),
            start_byte=node.start_byte, end_byte=end, is_static=False,
            signature=normalise_ws(self.text(node.start_byte, end).replace("\\\n", " ")),
            body_start_line=None, error_nodes=0,
        )

    def _macro_body_calls(self, macro_nodes) -> list[Call]:
        out = []
        for node in macro_nodes:
            nm = node.child_by_field_name("name")
            val = node.child_by_field_name("value")
            if nm is None or val is None:
                continue
            mname = self.text(nm.start_byte, nm.end_byte)
            raw = self.src[val.start_byte:val.end_byte]
            for m in re.finditer(rb"(?<![\w.>#])([A-Za-z_]\w*)\s*\(", raw):
                name = m.group(1).decode()
                if name in _KEYWORDS:
                    continue
                b = val.start_byte + m.start(1)
                line = self.line_of(b)
                out.append(Call(name, line, b - self.line_starts[line - 1], b, None, macro=mname))
        return out

    def _trim_swallowing(self, defs: list[Definition]) -> list[Definition]:
        """A broken function that contains column-0 functions ends at its first column-0 '}' (or is bogus)."""
        funcs = sorted((d for d in defs if d.kind == "function"), key=lambda d: d.start_byte)
        starts = [d.start_byte for d in funcs]
        out = []
        for d in defs:
            if d.kind != "function" or not d.error_nodes or d.body_start_byte is None:
                out.append(d)
                continue
            i = bisect.bisect_right(starts, d.body_start_byte)
            inner = next((f for f in funcs[i:i + 50] if f.start_byte < d.end_byte and f is not d
                          and self.src[f.start_byte - 1:f.start_byte] in (b"\n", b"")), None)
            if inner is None:
                out.append(d)
                continue
            close = _COL0_CLOSE_RE.search(self.blanked, d.body_start_byte + 1, inner.start_byte)
            if close is None:
                continue  # no end of its own before the next function: recovery garbage, drop it
            end = close.start() + 1
            out.append(_replace(d, end_byte=end, end_line=self.line_of(close.start()),
                                error_nodes=self.errors_in(d.start_byte, end)))
        return out

    # ---- textual fallback
    def _merge_textual(self, defs: list[Definition]) -> list[Definition]:
        """Recover kernel-style functions the tree lost, and fix extents the tree got wrong."""
        by_start: dict[int, list[int]] = {}
        for i, d in enumerate(defs):
            if d.kind == "function":
                by_start.setdefault(d.start_line, []).append(i)
        tree_fn_lines = {(d.name, d.body_start_line) for d in defs if d.kind == "function"}
        for tf in _text_functions(self.src, self.blanked, self.line_starts):
            name, start, body, end = tf
            s_line, b_line, e_line = self.line_of(start), self.line_of(body), self.line_of(max(end - 1, 0))
            if (name, b_line) in tree_fn_lines:
                # tree has it; a broken tree (errors) may have the wrong end: kernel style is a safer bet
                for i in by_start.get(s_line, []):
                    d = defs[i]
                    if d.name == name and d.error_nodes and d.end_byte != end:
                        defs[i] = _replace(d, end_byte=end, end_line=e_line,
                                           error_nodes=self.errors_in(d.start_byte, end))
                continue
            if any(d.kind == "function" and d.body_start_line == b_line for d in (defs[i] for i in by_start.get(s_line, []))):
                continue
            header = self.text(start, body)
            wrapper = _WRAPPER_RE.match(header)
            defs.append(Definition(
                name=name, kind="function", start_line=s_line, end_line=e_line, start_byte=start, end_byte=end,
                is_static=_is_static(header, name), signature=normalise_ws(header), body_start_line=b_line,
                body_start_byte=body, error_nodes=self.errors_in(start, end), source="text",
                macro=wrapper.group(1) if wrapper and wrapper.group(2) == name else None,
            ))
        return defs


class _Innermost:
    """Innermost function containing a byte offset (definitions may nest after error recovery)."""

    def __init__(self, funcs: list[Definition]):
        self.funcs = sorted(funcs, key=lambda d: (d.start_byte, -d.end_byte))
        self.starts = [d.start_byte for d in self.funcs]
        # parent[i]: nearest earlier function that contains function i
        self.parent: list[int] = []
        stack: list[int] = []
        for i, d in enumerate(self.funcs):
            while stack and self.funcs[stack[-1]].end_byte <= d.start_byte:
                stack.pop()
            self.parent.append(stack[-1] if stack else -1)
            stack.append(i)

    def at(self, byte: int) -> Definition | None:
        i = bisect.bisect_right(self.starts, byte) - 1
        while i >= 0:
            d = self.funcs[i]
            if d.start_byte <= byte < d.end_byte:
                return d
            i = self.parent[i]
        return None


def _replace(d: Definition, **kw) -> Definition:
    from dataclasses import replace

    return replace(d, **kw)


def _declarator_name(node, b: _Builder) -> str | None:
    """Identifier at the bottom of a declarator chain (pointer/function/array/parenthesized/init)."""
    n = node
    for _ in range(32):
        if n is None:
            return None
        t = n.type
        if t in ("identifier", "type_identifier", "field_identifier", "primitive_type"):
            name = b.text(n.start_byte, n.end_byte)
            return None if n.is_missing or not name else name
        if t == "parenthesized_declarator":
            n = n.named_children[0] if n.named_child_count else None
            continue
        nxt = n.child_by_field_name("declarator")
        if nxt is None:
            return None
        n = nxt
    return None


def _is_prototype(node) -> bool:
    """A declarator declares a function (not a function pointer) when its first function_declarator names an id."""
    n = node
    for _ in range(32):
        if n is None:
            return False
        if n.type == "function_declarator":
            inner = n.child_by_field_name("declarator")
            while inner is not None and inner.type == "attributed_declarator":
                inner = inner.child_by_field_name("declarator") or (inner.named_children[0] if inner.named_child_count else None)
            return inner is not None and inner.type == "identifier"
        if n.type in ("pointer_declarator", "attributed_declarator"):
            n = n.child_by_field_name("declarator")
            continue
        return False
    return False


_PRIMITIVES = frozenset("void int char short long unsigned signed bool float double".split())
_WRAPPER_RE = re.compile(r"\s*(?:static\s+)?([A-Z][A-Z0-9_]*)\s*\(\s*([A-Za-z_]\w*)")
_HEADER_PREFIX_RE = re.compile(rb"[A-Za-z_][\w \t*]*")
_HEADER_NAME_RE = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def _after_last_statement(src: bytes, start: int, end: int) -> int | None:
    """Offset just after the last ';' at parenthesis depth 0 in src[start:end] (skipping whitespace), or None."""
    seg = src[start:end]
    if b";" not in seg:
        return None
    depth = 0
    last = None
    for i, c in enumerate(seg):
        if c == 0x28:
            depth += 1
        elif c == 0x29:
            depth -= 1
        elif c == 0x3B and depth <= 0:
            last = i
    if last is None:
        return None
    j = start + last + 1
    while j < end and src[j] in b" \t\r\n":
        j += 1
    return j if j < end else None


def _header_name(header: str) -> str | None:
    """Function name from header text with annotations blanked: the first `ident (` that is not a keyword."""
    for m in _HEADER_NAME_RE.finditer(header):
        name = m.group(1)
        if name in _KEYWORDS or name == "__attribute__":
            continue
        if re.fullmatch(r"[A-Z0-9_]+", name):
            # SYSCALL_DEFINE3(mbind, ...): the wrapped name is the first argument
            rest = header[m.end():]
            arg = re.match(r"\s*([A-Za-z_]\w*)", rest)
            if arg:
                return arg.group(1)
        return name
    return None


def _is_static(header: str, name: str) -> bool:
    pos = header.find(name)
    head = header[:pos] if pos >= 0 else header
    return re.search(r"\bstatic\b", head) is not None


# Header of a kernel-style function: starts at column 0, body '{' alone at column 0, closing '}' at column 0.
_COL0_OPEN_RE = re.compile(rb"^\{[ \t]*(?:/\*.*\*/[ \t]*)?\r?$", re.M)
_COL0_CLOSE_RE = re.compile(rb"^\}", re.M)


def _text_functions(src: bytes, blanked: bytes, line_starts: list[int]):
    """Yield (name, start_byte, body_start_byte, end_byte) of kernel-style function definitions found textually."""
    for m in _COL0_OPEN_RE.finditer(blanked):
        body = m.start()
        line_idx = bisect.bisect_right(line_starts, body) - 1
        # walk back over the header: continuation lines are indented, the first line starts at column 0
        start_idx = None
        for k in range(line_idx - 1, max(line_idx - 12, -1), -1):
            ls = line_starts[k]
            le = line_starts[k + 1] - 1 if k + 1 < len(line_starts) else len(blanked)
            line = blanked[ls:le]
            stripped = line.strip()
            if not stripped:
                break
            if line[:1] in (b" ", b"\t"):
                continue
            if stripped.startswith((b"/*", b"*", b"//")) or stripped.endswith(b"*/"):
                continue  # a comment between the header and its '{' (old zlib/inflate style)
            if stripped.startswith((b"#", b"}")):
                break
            start_idx = k
            break
        if start_idx is None:
            continue
        hstart = line_starts[start_idx]
        header = _NOISE_RE.sub(b"", blanked[hstart:body]).decode("utf-8", "replace")
        hs = header.rstrip()
        if "(" not in hs or not hs.endswith(")") and not re.search(r"\)\s*(?:__\w+(?:\([^)]*\))?\s*)*$", hs):
            continue
        if re.search(r"=\s*$|\b(?:struct|union|enum)\s+\w+\s*$", hs) or hs.endswith(";"):
            continue
        name = _header_name(header)
        if not name:
            continue
        close = _COL0_CLOSE_RE.search(blanked, body + 1)
        if close is None:
            continue
        eol = blanked.find(b"\n", close.start())
        end = close.start() + 1
        # include the closing line only up to '}' (a trailing ';' would be an initializer: skip those)
        if blanked[end:eol if eol >= 0 else len(blanked)].strip().startswith(b";"):
            continue
        # the header's first line must not be inside a previous open region, checked by caller via tree match
        yield name, hstart, body, end
