"""Control flow inside one C function, on the raw tree-sitter tree: which calls and loops run while a region
opened by one call (`mem_hotplug_begin()`) and closed by another (`mem_hotplug_done()`) may be open.

This is a may-analysis over the statement tree: the state is the set of possible region states at a point
({open}, {closed} or both). Branches join, loops run to a fixed point, `return` ends a path, `goto` carries its
state to its label (labels are iterated until stable, so backward gotos work too), `break`/`continue` carry theirs
to the loop or switch they leave. `#if`/`#ifdef` blocks inside bodies are treated as optional branches, since the
configuration is not known. Calls inside an expression are taken in source order.

Also here: loop recognition (C loops and iterator macros such as `for_each_device_pfn(pfn, pgmap) { ... }`,
which tree-sitter reads as a call missing its ';' followed by a statement), and guard recognition (an `if` before a
loop whose condition matches a guard pattern and whose branch returns or assigns a variable of the loop header).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

OPEN, CLOSED = True, False
_LOOP_TYPES = ("for_statement", "while_statement", "do_statement")
ITERATOR_RE = re.compile(r"(?:^|_)for_each(?:_|$)|foreach|^for_|_for_")


@dataclass
class FlowCall:
    name: str
    start_byte: int
    line: int  # 1-based
    col: int  # 1-based
    in_region: bool


@dataclass
class FlowLoop:
    kind: str  # for | while | do | iterator
    macro: str | None
    start_byte: int
    end_byte: int
    line: int
    in_region: bool


@dataclass
class RegionFlow:
    calls: list[FlowCall] = field(default_factory=list)
    loops: list[FlowLoop] = field(default_factory=list)
    opens: int = 0  # calls to the opening function
    returns_open: list[int] = field(default_factory=list)  # lines of returns that may leave the region open


def node_text(src: bytes, node) -> str:
    return src[node.start_byte:node.end_byte].decode("utf-8", "replace")


def call_name(src: bytes, call) -> str | None:
    fn = call.child_by_field_name("function")
    if fn is None or fn.type != "identifier":
        return None
    return node_text(src, fn)


def iterator_body(src: bytes, stmt):
    """For `macro(args) stmt` parsed as an expression statement missing its ';': (macro name, body node)."""
    if stmt.type != "expression_statement" or stmt.named_child_count != 1:
        return None
    last = stmt.children[-1] if stmt.child_count else None
    if last is None or not (last.is_missing and last.type == ";"):
        return None
    call = stmt.named_children[0]
    if call.type != "call_expression":
        return None
    name = call_name(src, call)
    nxt = stmt.next_named_sibling
    if name is None or nxt is None:
        return None
    if not ITERATOR_RE.search(name) and nxt.type != "compound_statement":
        return None
    return name, nxt


def loop_kind(src: bytes, node) -> tuple[str, str | None]:
    """(kind, macro) of a C loop node. Error recovery sometimes reads `for_each_x(a, b) { ... }` as a while
    statement: the text then starts with the macro's name, not with the keyword."""
    kw = node.type.split("_")[0]
    m = re.match(rb"[A-Za-z_]\w*", src[node.start_byte:node.start_byte + 80])
    word = m.group().decode() if m else kw
    if word != kw:
        return "iterator", word
    return kw, None


def find_body(tree, body_start_byte: int):
    """The compound_statement of the function whose body starts at `body_start_byte`."""
    node = tree.root_node.descendant_for_byte_range(body_start_byte, body_start_byte + 1)
    while node is not None:
        if node.type == "compound_statement" and node.start_byte == body_start_byte:
            return node
        node = node.parent
    return None


_DIRECTIVE_RE = re.compile(rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b", re.M)


def conditional_groups(src: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) byte spans of `#if ... #endif` groups without #else/#elif inside [start, end): the C model
    may blank their directive lines (the "everything configured in" view), so the statements they hold
    become plain siblings; the walker still treats them as an optional branch."""
    out, stack = [], []
    for m in _DIRECTIVE_RE.finditer(src, start, end):
        kind = m.group(1)
        if kind in (b"if", b"ifdef", b"ifndef"):
            stack.append([m.start(), False])
        elif kind in (b"else", b"elif"):
            if stack:
                stack[-1][1] = True
        elif stack:
            s, has_else = stack.pop()
            if not has_else:
                out.append((s, m.end()))
    return sorted(out)


class RegionWalker:
    def __init__(self, src: bytes, open_names: set[str], close_names: set[str]):
        self.src = src
        self.groups: list[tuple[int, int]] = []
        self.open_names = open_names
        self.close_names = close_names
        self.labels: dict[str, frozenset] = {}
        self.label_seen: dict[str, frozenset] = {}
        self.flow = RegionFlow()
        self._breaks: list[set] = []
        self._continues: list[set] = []
        self._calls: dict[int, FlowCall] = {}
        self._loops: dict[int, FlowLoop] = {}

    # ---- public
    def run(self, body, entry_open: bool = False) -> RegionFlow:
        entry = frozenset({OPEN if entry_open else CLOSED})
        self.groups = conditional_groups(self.src, body.start_byte, body.end_byte)
        for _ in range(4):  # labels converge in a few rounds (each round can only add states)
            before = dict(self.labels)
            self._calls.clear()
            self._loops.clear()
            self.flow = RegionFlow()
            self._stmt(body, entry)
            if self.labels == before:
                break
        self.flow.calls = sorted(self._calls.values(), key=lambda c: c.start_byte)
        self.flow.loops = sorted(self._loops.values(), key=lambda lp: lp.start_byte)
        return self.flow

    # ---- expressions
    def _expr(self, node, state: frozenset) -> frozenset:
        if node is None:
            return state
        stack = [node]
        order = []
        while stack:
            n = stack.pop()
            if n.type == "call_expression":
                order.append(n)
            if n.type == "compound_statement":  # GNU statement expression ({ ... }): walk as statements
                order.append(n)
                continue
            stack.extend(reversed(n.children))
        for n in order:
            if n.type == "compound_statement":
                state = self._stmt(n, state) or state
                continue
            state = self._call(n, state)
        return state

    def _call(self, n, state: frozenset) -> frozenset:
        name = call_name(self.src, n)
        if name is None:
            return state
        prev = self._calls.get(n.start_byte)
        in_region = OPEN in state or (prev.in_region if prev else False)
        self._calls[n.start_byte] = FlowCall(name, n.start_byte, n.start_point[0] + 1, n.start_point[1] + 1,
                                             in_region)
        if name in self.open_names:
            self.flow.opens += 1
            return frozenset({OPEN})
        if name in self.close_names:
            return frozenset({CLOSED})
        return state

    def _loop_seen(self, node, kind, macro, state, body=None):
        end = (body or node).end_byte
        prev = self._loops.get(node.start_byte)
        in_region = OPEN in state or (prev.in_region if prev else False)
        self._loops[node.start_byte] = FlowLoop(kind, macro, node.start_byte, end, node.start_point[0] + 1, in_region)

    # ---- statements; return the state after normal completion (empty: no path falls through)
    def _stmt(self, node, state: frozenset) -> frozenset:
        if node is None:
            return state
        t = node.type
        if not state and t != "labeled_statement" and t not in ("compound_statement", "preproc_if", "preproc_ifdef",
                                                               "preproc_else", "preproc_elif", "case_statement"):
            # unreachable, but a label inside may still be jumped to
            if not self._has_label(node):
                return state
        if t in ("compound_statement", "translation_unit"):
            return self._seq(node.named_children, state)
        if t in ("preproc_if", "preproc_ifdef", "preproc_elif", "preproc_elifdef"):
            stmts = [c for c in node.named_children
                     if c.type not in ("preproc_else", "preproc_elif", "preproc_elifdef")
                     and c != node.child_by_field_name("condition") and c != node.child_by_field_name("name")]
            alt = node.child_by_field_name("alternative")
            taken = self._seq(stmts, state)
            other = self._stmt(alt, state) if alt is not None else state
            return taken | other
        if t == "preproc_else":
            return self._seq(node.named_children, state)
        if t == "expression_statement":
            return self._expr(node, state)
        if t in ("declaration", "preproc_call", "comment", "preproc_def", "preproc_function_def", "preproc_include"):
            return self._expr(node, state) if t == "declaration" else state
        if t == "return_statement":
            state = self._expr(node, state)
            if OPEN in state:
                self.flow.returns_open.append(node.start_point[0] + 1)
            return frozenset()
        if t == "goto_statement":
            label = node.child_by_field_name("label")
            if label is not None:
                name = node_text(self.src, label)
                self.labels[name] = self.labels.get(name, frozenset()) | state
            return frozenset()
        if t == "labeled_statement":
            label = node.child_by_field_name("label")
            name = node_text(self.src, label) if label is not None else ""
            state = state | self.labels.get(name, frozenset())
            inner = [c for c in node.named_children if c != label]
            return self._seq(inner, state)
        if t == "break_statement":
            if self._breaks:
                self._breaks[-1] |= state
            return frozenset()
        if t == "continue_statement":
            if self._continues:
                self._continues[-1] |= state
            return frozenset()
        if t == "if_statement":
            state = self._expr(node.child_by_field_name("condition"), state)
            then = self._stmt(node.child_by_field_name("consequence"), state)
            alt = node.child_by_field_name("alternative")
            if alt is not None:
                other = self._stmt(alt, state)
            else:
                other = state
            return then | other
        if t == "else_clause":
            return self._seq(node.named_children, state)
        if t in _LOOP_TYPES:
            return self._c_loop(node, state)
        if t == "switch_statement":
            state = self._expr(node.child_by_field_name("condition"), state)
            body = node.child_by_field_name("body")
            self._breaks.append(set())
            out = frozenset()
            running = frozenset()
            has_default = False
            for c in (body.named_children if body is not None else []):
                if c.type == "case_statement":
                    if c.child_by_field_name("value") is None:
                        has_default = True
                    running = self._seq([k for k in c.named_children if k != c.child_by_field_name("value")],
                                        running | state)
                else:
                    running = self._stmt(c, running | state)
            brk = self._breaks.pop()
            out = running | frozenset(brk)
            if not has_default:
                out |= state
            return out
        if t == "case_statement":
            return self._seq([k for k in node.named_children if k != node.child_by_field_name("value")], state)
        # anything else (ERROR recovery, attributes, asm): an expression is evaluated for its calls, anything
        # else is taken as statements in order
        if t.endswith("expression") or t in ("argument_list", "initializer_list", "init_declarator"):
            return self._expr(node, state)
        if node.named_child_count:
            return self._seq(node.named_children, state)
        return state

    def _has_label(self, node) -> bool:
        stack = [node]
        while stack:
            n = stack.pop()
            if n.type == "labeled_statement":
                return True
            stack.extend(n.named_children)
        return False

    def _group_of(self, n, inside: tuple) -> tuple[int, int] | None:
        """The outermost #if group (not already being walked) that holds statement n entirely."""
        for g in self.groups:
            if g not in inside and g[0] < n.start_byte and n.end_byte <= g[1]:
                return g
        return None

    def _seq(self, nodes, state: frozenset, inside: tuple = ()) -> frozenset:
        nodes = list(nodes)
        i = 0
        while i < len(nodes):
            n = nodes[i]
            g = self._group_of(n, inside) if self.groups else None
            if g is not None:  # statements of a blanked #if group: taken or not
                j = i
                while j < len(nodes) and g[0] < nodes[j].start_byte and nodes[j].end_byte <= g[1]:
                    j += 1
                state = self._seq(nodes[i:j], state, inside + (g,)) | state
                i = j
                continue
            it = iterator_body(self.src, n) if n.type == "expression_statement" else None
            if it is not None and i + 1 < len(nodes) and nodes[i + 1] == it[1]:
                state = self._iter_loop(n, it[0], it[1], state)
                i += 2
                continue
            state = self._stmt(n, state)
            i += 1
        return state

    def _run_loop(self, state, body_fn):
        """Run a loop body to a fixed point: entry state joined with the states that come back around."""
        self._breaks.append(set())
        self._continues.append(set())
        head = state
        for _ in range(3):
            after = body_fn(head)
            back = after | frozenset(self._continues[-1])
            new_head = head | back
            if new_head == head:
                break
            head = new_head
        brk = frozenset(self._breaks.pop())
        self._continues.pop()
        return head, brk

    def _c_loop(self, node, state):
        t = node.type
        body = node.child_by_field_name("body")
        kind, macro = loop_kind(self.src, node)
        if kind == "iterator":  # a macro loop read as while/for: arguments once, then the body
            state = self._expr(node.child_by_field_name("condition"), state)
            return self._iter_loop_body(node, macro, body, state)
        if t == "for_statement":
            state = self._expr(node.child_by_field_name("initializer"), state)
            self._loop_seen(node, "for", None, state)

            def one(head):
                s = self._expr(node.child_by_field_name("condition"), head)
                s = self._stmt(body, s)
                return self._expr(node.child_by_field_name("update"), s)

            head, brk = self._run_loop(state, one)
            self._loop_seen(node, "for", None, head)
            return self._expr(node.child_by_field_name("condition"), head) | brk
        if t == "while_statement":
            self._loop_seen(node, "while", None, state)

            def one(head):
                s = self._expr(node.child_by_field_name("condition"), head)
                return self._stmt(body, s)

            head, brk = self._run_loop(state, one)
            self._loop_seen(node, "while", None, head)
            return self._expr(node.child_by_field_name("condition"), head) | brk
        # do ... while
        self._loop_seen(node, "do", None, state)

        def one(head):
            s = self._stmt(body, head)
            return self._expr(node.child_by_field_name("condition"), s)

        head, brk = self._run_loop(state, one)
        self._loop_seen(node, "do", None, head)
        return one(head) | brk

    def _iter_loop(self, stmt, macro, body, state):
        state = self._expr(stmt, state)  # the macro's arguments
        return self._iter_loop_body(stmt, macro, body, state)

    def _iter_loop_body(self, stmt, macro, body, state):
        self._loop_seen(stmt, "iterator", macro, state, body)

        def one(head):
            return self._stmt(body, head)

        head, brk = self._run_loop(state, one)
        self._loop_seen(stmt, "iterator", macro, head, body)
        return head | brk


def region_flow(src: bytes, body, open_names, close_names, entry_open: bool = False) -> RegionFlow:
    return RegionWalker(src, set(open_names), set(close_names)).run(body, entry_open)


# ---------------------------------------------------------------------------------------------- loops, guards

@dataclass
class LoopInfo:
    kind: str
    macro: str | None
    start_byte: int
    end_byte: int
    line: int
    col: int
    header_idents: set[str]
    node: object = None
    body: object = None


def loops_in(src: bytes, body) -> list[LoopInfo]:
    """Every loop inside a function body: C loops and iterator macros, with the identifiers of their header."""
    out = []
    stack = [body]
    while stack:
        n = stack.pop()
        if n.type in _LOOP_TYPES:
            hdr = [n.child_by_field_name(k) for k in ("initializer", "condition", "update")]
            idents = set()
            for h in hdr:
                idents |= _idents(src, h)
            kind, macro = loop_kind(src, n)
            out.append(LoopInfo(kind, macro, n.start_byte, n.end_byte, n.start_point[0] + 1, n.start_point[1] + 1,
                                idents, n, n.child_by_field_name("body")))
        elif n.type == "expression_statement":
            it = iterator_body(src, n)
            if it is not None:
                macro, b = it
                out.append(LoopInfo("iterator", macro, n.start_byte, b.end_byte, n.start_point[0] + 1,
                                    n.start_point[1] + 1, _idents(src, n), n, b))
        stack.extend(n.named_children)
    return sorted(out, key=lambda lp: lp.start_byte)


def _idents(src: bytes, node) -> set[str]:
    out = set()
    if node is None:
        return out
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            out.add(node_text(src, n))
        stack.extend(n.named_children)
    return out


@dataclass
class Guard:
    line: int
    condition: str
    how: str  # "early return" | "bound clamp of <var>"


def find_guard(src: bytes, body, loop: LoopInfo, guard_res: list[re.Pattern]) -> Guard | None:
    """An `if` before the loop (not around it) whose condition matches a guard pattern, and whose branch
    returns (handles the case and leaves) or assigns a variable the loop header reads (clamps the bound)."""
    if not guard_res:
        return None
    stack = [body]
    found = None
    while stack:
        n = stack.pop()
        if n.start_byte >= loop.start_byte:
            continue
        if n.type == "if_statement" and n.end_byte <= loop.start_byte:
            cond = n.child_by_field_name("condition")
            ctext = " ".join(node_text(src, cond).split()) if cond is not None else ""
            if any(r.search(ctext) for r in guard_res):
                cons = n.child_by_field_name("consequence")
                how = _guard_effect(src, cons, loop)
                if how:
                    found = Guard(n.start_point[0] + 1, ctext, how)
                    break
        if n.type in _LOOP_TYPES and n.end_byte <= loop.start_byte:
            continue  # an if inside an earlier loop guards nothing after it
        stack.extend(n.named_children)
    return found


def _guard_effect(src: bytes, cons, loop: LoopInfo) -> str | None:
    if cons is None:
        return None
    stack = [cons]
    assigned = []
    ret = False
    while stack:
        n = stack.pop()
        if n.type == "return_statement":
            ret = True
        elif n.type == "assignment_expression":
            left = n.child_by_field_name("left")
            if left is not None and left.type == "identifier":
                assigned.append(node_text(src, left))
        elif n.type == "update_expression":
            arg = n.child_by_field_name("argument")
            if arg is not None and arg.type == "identifier":
                assigned.append(node_text(src, arg))
        stack.extend(n.named_children)
    clamps = [v for v in assigned if v in loop.header_idents]
    if clamps:
        return f"bound clamp of {clamps[0]}"
    if ret:
        return "early return"
    return None
