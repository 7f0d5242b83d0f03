"""Source passes run before tree-sitter sees kernel C: every pass only overwrites bytes (with spaces or a same-length
keyword), so offsets and line numbers of the original source stay valid and all reported text is sliced from it."""

from __future__ import annotations

import bisect
import re

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
    identifiers and keep every offset. Casts, sizeof, offsetof and typeof are left alone: the word before the '('
    must be a macro or function name. Only inside function bodies (`bodies`): at file scope `DEFINE_PER_CPU(int, x);`
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


# a kernel-style function body: "{" alone at column 0 up to the next "}" at column 0
_COL0_OPEN_RE = re.compile(rb"^\{[ \t]*(?:/\*.*\*/[ \t]*)?\r?$", re.M)
_COL0_CLOSE_RE = re.compile(rb"^\}", re.M)


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


def prepare(source: bytes, keep_conditionals: bool = False):
    """Source as tree-sitter should see it (same length, same lines), annotation spans, iterator positions."""
    blanked, spans = blank_annotations(source)
    blanked = blank_bare_invocations(blanked)
    bodies = kernel_bodies(blanked)  # same offsets in every pass: the passes only overwrite bytes with spaces
    blanked = join_type_arguments(blanked, bodies)
    if not keep_conditionals:
        blanked = blank_body_conditionals(blanked, bodies)
    blanked, iterators = rewrite_iterators(blanked)
    return blanked, spans, iterators
