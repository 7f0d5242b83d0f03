"""Build a FileModel from a tree-sitter parse of prepared source, with a kernel-style textual fallback."""

from __future__ import annotations

import bisect
import re

from tree_sitter import QueryCursor

from porter.cmodel.grammar import parser, query
from porter.cmodel.model import Assignment, Call, Definition, FileModel, Loop
from porter.cmodel.preprocess import _COL0_CLOSE_RE, _COL0_OPEN_RE, _NOISE_RE, prepare
from porter.cmodel.tokens import _join_tokens, body_tokens, normalise_ws

# Iterator macros: for_each_*, list_for_each_entry, xa_for_each, hash_for_each_possible, ...
_ITER_RE = re.compile(r"(?:^|_)for_each(?:_|$)|foreach|^for_|_for_")
_KEYWORDS = frozenset(
    "if while for switch return sizeof do else case goto typeof __typeof__ __builtin_expect defined _Generic "
    "__attribute__ asm __asm__ volatile alignof _Alignof".split()
)
_SCOPE_TYPES = frozenset({"compound_statement"})


class _Builder:
    def __init__(self, source: bytes, path: str):
        self.src = source
        self.path = path
        self.blanked, self.blank_spans, self.iterators = prepare(source)
        self._span_ends = [e for _s, e in self.blank_spans]
        self.tree = parser.parse(self.blanked)
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
        caps = QueryCursor(query()).captures(self.tree.root_node)
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
                    loops.append(Loop("iterator", macro, node.start_point[0] + 1, node.end_point[0] + 1,
                                      node.start_byte,
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
        out += self._tag_of_type(node, common)
        return out

    def _tag_of_type(self, node, common: dict) -> list[Definition]:
        """`struct foo { ... } x;` and `typedef struct foo { ... } foo_t;` also define the tag `foo`."""
        ty = node.child_by_field_name("type")
        if ty is None or ty.type not in ("struct_specifier", "union_specifier", "enum_specifier") \
                or ty.child_by_field_name("body") is None:
            return []
        tname = ty.child_by_field_name("name")
        if tname is None:
            return []
        return [Definition(name=self.text(tname.start_byte, tname.end_byte), kind=ty.type.split("_")[0], **common)]

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
        out += self._tag_of_type(node, common)
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
            same_start = (defs[i] for i in by_start.get(s_line, []))
            if any(d.kind == "function" and d.body_start_line == b_line for d in same_start):
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
                inner = inner.child_by_field_name("declarator") or (
                    inner.named_children[0] if inner.named_child_count else None)
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
