"""forbidden-in-region: inside a region opened by one call and closed by another, on any path, no forbidden
loop runs: directly, or in a callee followed across files up to `depth` calls, unless a guard makes it safe.

    open = "mem_hotplug_begin"
    close = "mem_hotplug_done"
    depth = 3                               # calls from the region's function to the loop's function
    loop_iterators = ["for_each_device_pfn"]    # a loop of these iterator macros is forbidden as such
    loop_calls = ["__init_single_page"]     # a loop calling one of these, or a function that does, is forbidden
    loop_writes_field = ["pgmap"]           # a loop assigning ->pgmap, or calling a function that does ...
    loop_writes_target = '...'              # ... when the assigned expression matches this regex
    guards = ['(?<![!\\w])zone\\s*==\\s*ZONE_DEVICE\\b']   # an `if` before the loop, matching, that returns or
                                            #   clamps a variable of the loop header makes the loop safe
    what = "ZONE_DEVICE pfn loop"           # how findings name the forbidden thing

How it stays fast on a whole tree: it works backwards from the few files that mention the forbidden names
(the prefilter), finds the forbidden loops there, then climbs to callers one level at a time (a whole-word grep
for the level's function names; a static function's callers are searched in its own file only), and runs the
control-flow analysis (porter.lint.flow) only on functions that both call the region's opener and reach a
forbidden loop. The finding sits at the call inside the region and carries the chain down to the loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from porter.lint.findings import Finding, Step
from porter.lint.flow import LoopInfo, find_guard, loops_in, region_flow
from porter.lint.message import render
from porter.lint.rules import Param, Rule, RuleError

PARAMS = {
    "open": Param("list[str]", required=True, help="call(s) that open the region"),
    "close": Param("list[str]", required=True, help="call(s) that close the region"),
    "depth": Param("int", default=3, help="how many calls deep to follow callees from the region"),
    "loop_iterators": Param("list[str]", default=[], help="iterator macros whose loops are forbidden"),
    "loop_calls": Param("list[str]", default=[], help="calls that make a loop forbidden"),
    "loop_writes_field": Param("list[str]", default=[], help="member writes that make a loop forbidden"),
    "loop_writes_target": Param("regex", default="", help="regex on the written expression"),
    "guards": Param("list[regex]", default=[], help="if-conditions that make a later loop safe"),
    "what": Param("str", default="forbidden loop", help="name of the forbidden thing in messages"),
}


def prepare(rule: Rule) -> None:
    for key in ("open", "close", "loop_iterators", "loop_calls", "loop_writes_field"):
        for w in rule[key]:
            if not re.fullmatch(r"\w+", w):
                raise RuleError(f"{rule.where(key)}: {w!r} is not an identifier")
    if not rule["open"] or not rule["close"]:
        raise RuleError(f"{rule.where('open' if not rule['open'] else 'close')}: must name at least one function")
    if not (rule["loop_iterators"] or rule["loop_calls"] or rule["loop_writes_field"]):
        raise RuleError(f"{rule.where('loop_calls')}: give at least one of loop_iterators, loop_calls, "
                        f"loop_writes_field (nothing would be forbidden)")
    rule.compiled["target"] = re.compile(rule["loop_writes_target"]) if rule["loop_writes_target"] else None
    rule.compiled["guards"] = [re.compile(g) for g in rule["guards"]]


def words(rule: Rule) -> list[str]:
    return (rule["open"] + rule["close"] + rule["loop_iterators"] + rule["loop_calls"]
            + rule["loop_writes_field"])


@dataclass
class Reach:
    """A function that runs a forbidden loop, itself or through the calls in `chain`."""

    path: str
    function: str
    static_local: bool  # static in a .c file: callers can only be in the same file
    chain: tuple[Step, ...]  # from this function's call (or loop) down to the loop
    loop_desc: str


def _line_starts(src: bytes) -> list[int]:
    starts = [0]
    starts.extend(m.end() for m in re.finditer(rb"\n", src))
    return starts


class _Analysis:
    def __init__(self, rule: Rule, ctx):
        self.rule, self.ctx = rule, ctx
        self.opens, self.closes = set(rule["open"]), set(rule["close"])
        self.iters = set(rule["loop_iterators"])
        self.lcalls = set(rule["loop_calls"])
        self.fields = set(rule["loop_writes_field"])
        self.target = rule.compiled["target"]
        self.guards = rule.compiled["guards"]
        self._lines: dict[str, list[int]] = {}
        self._flows: dict[tuple[str, str], object] = {}
        self._loops: dict[tuple[str, int], list[LoopInfo]] = {}

    # ---- helpers
    def byte_of(self, path: str, line: int, col0: int) -> int:
        ls = self._lines.get(path)
        if ls is None:
            ls = self._lines[path] = _line_starts(self.ctx.source(path))
        return ls[line - 1] + col0 if 0 < line <= len(ls) else 0

    def defs(self, path: str) -> dict[str, object]:
        """Function definitions of a file by name (the largest wins when error recovery duplicates one)."""
        out = {}
        for d in self.ctx.model(path).functions():
            if d.name not in out or (d.end_byte - d.start_byte) > (out[d.name].end_byte - out[d.name].start_byte):
                out[d.name] = d
        return out

    def def_at(self, path: str, name: str, byte: int):
        """The definition of `name` that contains `byte` (#ifdef alternatives define a name twice in a file)."""
        best = None
        for d in self.ctx.model(path).functions():
            if d.name == name and d.start_byte <= byte < d.end_byte:
                if best is None or d.end_byte - d.start_byte < best.end_byte - best.start_byte:
                    best = d
        return best or self.defs(path).get(name)

    def raw_loops(self, path: str, d) -> tuple[bytes, object, list[LoopInfo]]:
        src, body = self.ctx.body(path, d)
        key = (path, d.start_byte)
        if key not in self._loops:
            self._loops[key] = loops_in(src, body) if body is not None else []
        return src, body, self._loops[key]

    def matches_write(self, a) -> bool:
        return a.field in self.fields and a.op == "=" and (self.target is None or bool(self.target.search(a.target)))

    # ---- step 1: direct actions and the per-page initialisers they make
    def actions(self, files) -> dict[tuple[str, str], list[tuple[str, int, int, int]]]:
        """(path, function) -> [(what, line, col0, byte)] for calls in loop_calls and matching writes."""
        out: dict[tuple[str, str], list] = {}
        for path in sorted(files):
            m = self.ctx.model(path)
            for c in m.calls:
                if c.name in self.lcalls and c.function and c.function != c.name:
                    out.setdefault((path, c.function), []).append((f"calls {c.name}", c.line, c.col, c.start_byte))
            for a in m.assignments:
                if a.function and self.matches_write(a):
                    out.setdefault((path, a.function), []).append(
                        (f"writes {a.target}", a.line, a.col, self.byte_of(path, a.line, a.col)))
        return out

    def initialisers(self, actions) -> dict[str, list[tuple[str, bool, str]]]:
        """name -> [(path, static_local, what)]: functions doing an action outside any loop, not behind an
        early-return guard. A loop calling one of them initialises page by page: it is forbidden too."""
        out: dict[str, list] = {}
        for (path, fn), acts in actions.items():
            for what, line, col, byte in acts:
                d = self.def_at(path, fn, byte)
                if d is None:
                    continue
                src, body, loops = self.raw_loops(path, d)
                if any(lp.start_byte <= byte < lp.end_byte for lp in loops):
                    continue
                if body is not None and self.guards:
                    pseudo = LoopInfo("action", None, byte, byte + 1, line, col + 1, set())
                    if find_guard(src, body, pseudo, self.guards) is not None:
                        continue
                static_local = d.is_static and path.endswith(".c")
                out.setdefault(fn, []).append((path, static_local, what))
                break
        return out

    # ---- step 2: forbidden loops
    def forbidden_loops(self, files, inits) -> list[tuple[str, object, LoopInfo, str]]:
        """[(path, definition, loop, why)] of unguarded forbidden loops in the given files."""
        out = []
        for path in sorted(files):
            m = self.ctx.model(path)
            by_fn: dict[str, list] = {}
            for lp in m.loops:
                if lp.function:
                    by_fn.setdefault(lp.function, []).append(lp)
            if not by_fn:
                continue
            interesting_calls = [c for c in m.calls if c.function in by_fn and (
                c.name in self.lcalls or (c.name in inits and c.name != c.function and any(
                    (not st) or p == path for p, st, _ in inits[c.name])))]
            writes = [a for a in m.assignments if a.function in by_fn and self.matches_write(a)]
            for fn, mloops in by_fn.items():
                reasons_by_loop = []
                for lp in mloops:
                    why = []
                    macro = lp.macro if lp.kind == "iterator" else _leading_macro(self.ctx.source(path), lp.start_byte)
                    if macro in self.iters:
                        why.append(f"{macro} loop")
                    for c in interesting_calls:
                        if c.function == fn and lp.start_byte <= c.start_byte < lp.end_byte:
                            if c.name in self.lcalls:
                                why.append(f"calls {c.name}")
                            else:
                                why.append(f"calls {c.name} (which {inits[c.name][0][2]})")
                    for a in writes:
                        if a.function == fn and lp.start_line <= a.line <= lp.end_line:
                            why.append(f"writes {a.target}")
                    if why:
                        reasons_by_loop.append((lp, why))
                # a loop around a flagged loop adds nothing: report the innermost
                reasons_by_loop = [(lp, why) for lp, why in reasons_by_loop if not any(
                    o is not lp and lp.start_byte <= o.start_byte and o.end_byte <= lp.end_byte
                    for o, _ in reasons_by_loop)]
                for lp, why in reasons_by_loop:
                    d = self.def_at(path, fn, lp.start_byte)
                    if d is None:
                        continue
                    src, body, raw = self.raw_loops(path, d)
                    info = next((r for r in raw if r.start_byte == lp.start_byte), None) or next(
                        (r for r in raw if r.line == lp.start_line), None)
                    if info is None:
                        info = LoopInfo(lp.kind, lp.macro, lp.start_byte, lp.end_byte, lp.start_line, 1, set())
                    if body is not None and self.guards and find_guard(src, body, info, self.guards) is not None:
                        continue
                    kind = f"{info.macro}" if info.kind == "iterator" else f"{info.kind} loop"
                    seen = []
                    for w in why:
                        if w not in seen:
                            seen.append(w)
                    if info.kind == "iterator" and seen and seen[0] == f"{info.macro} loop":
                        desc = f"{info.macro} loop" + (" that " + ", ".join(seen[1:]) if seen[1:] else "")
                    else:
                        desc = f"{kind} that " + ", ".join(seen)
                    out.append((path, d, info, desc))
        return out

    # ---- step 3: regions
    def flow(self, path: str, d):
        key = (path, d.name, d.start_byte)
        if key not in self._flows:
            src, body = self.ctx.body(path, d)
            if body is not None:
                self._flows[key] = region_flow(src, body, self.opens, self.closes)
            else:
                self._flows[key] = None
        return self._flows[key]

    def in_region_linear(self, path: str, fn: str, byte: int) -> bool:
        """Fallback where the tree lost the function: open before, and no close between."""
        state = False
        for c in sorted((c for c in self.ctx.model(path).calls if c.function == fn), key=lambda c: c.start_byte):
            if c.start_byte >= byte:
                break
            if c.name in self.opens:
                state = True
            elif c.name in self.closes:
                state = False
        return state

    def open_site(self, path: str, fn: str, before: int):
        best = None
        for c in self.ctx.model(path).calls:
            if c.function == fn and c.name in self.opens and c.start_byte < before:
                if best is None or c.start_byte > best.start_byte:
                    best = c
        return best

    def calls_open(self, path: str, fn: str) -> bool:
        return any(c.function == fn and c.name in self.opens for c in self.ctx.model(path).calls)


_KEYWORD_LOOPS = {"for", "while", "do"}


def _leading_macro(src: bytes, start: int) -> str | None:
    """Name at the start of a loop that is not a loop keyword: the iterator macro a C model read as a loop."""
    m = re.match(rb"[A-Za-z_]\w*", src[start:start + 80])
    name = m.group().decode() if m else None
    return None if name in _KEYWORD_LOOPS else name


def _names(chain: tuple[Step, ...]) -> list[str]:
    out = []
    for s in chain:
        if s.function and (not out or out[-1] != s.function):
            out.append(s.function)
    return out


def check(rule: Rule, ctx) -> list[Finding]:
    an = _Analysis(rule, ctx)
    w = ctx.files_with(words(rule))
    region_files = set().union(*(w[o] for o in rule["open"]))
    action_files = set().union(set(), *(w[x] for x in rule["loop_calls"]))
    action_files |= ctx.assigns_field(set().union(set(), *(w[x] for x in rule["loop_writes_field"])),
                                      rule["loop_writes_field"])
    iter_files = set().union(set(), *(w[x] for x in rule["loop_iterators"]))
    if not region_files:
        return []

    acts = an.actions(action_files)
    inits = an.initialisers(acts)
    # files where a loop may call an initialiser: its own file when static, any file naming it otherwise
    shared = sorted(n for n, ds in inits.items() if any(not st for _, st, _ in ds))
    loop_files = set(action_files) | iter_files | {p for ds in inits.values() for p, _, _ in ds}
    if shared:
        loop_files |= ctx.files_with_any(shared)
    loops = an.forbidden_loops(loop_files, inits)

    what = rule["what"]
    findings: list[Finding] = []
    fmt = dict(open=rule["open"][0], close=rule["close"][0], what=what)

    def emit(path, fn_def, site_line, site_col, chain: tuple[Step, ...], loop_desc):
        names = _names(chain)
        open_call = an.open_site(path, fn_def.name, an.byte_of(path, site_line, site_col - 1))
        steps = chain
        if open_call is not None:
            steps = (Step(path, open_call.line, open_call.col + 1, f"{open_call.name}() opens the region",
                          fn_def.name),) + chain
        via = " -> ".join(names)
        detail = (f"{loop_desc} runs between {rule['open'][0]}() and {rule['close'][0]}()"
                  + (f": {via}" if len(names) > 1 else f" in {names[0]}" if names else ""))
        last = chain[-1]
        key = f"region:{path}:{fn_def.name}:{'->'.join(names)}:{last.path}:{last.function}"
        findings.append(Finding(rule.id, rule.severity, path, site_line, site_col,
                                render(rule.message, detail, chain=via, **fmt),
                                key=key, function=fn_def.name, chain=steps))

    # level 0: the forbidden loop sits in a region's own function
    frontier: dict[str, list[Reach]] = {}
    for path, d, info, desc in loops:
        loop_step = Step(path, info.line, info.col, desc, d.name)
        if path in region_files and an.calls_open(path, d.name):
            fl = an.flow(path, d)
            inside = (any(lp.in_region and lp.start_byte == info.start_byte for lp in fl.loops) if fl is not None
                      else an.in_region_linear(path, d.name, info.start_byte))
            if inside:
                emit(path, d, info.line, info.col, (loop_step,), desc)
        if d.name not in frontier:
            frontier[d.name] = [Reach(path, d.name, d.is_static and path.endswith(".c"), (loop_step,), desc)]
        elif all(r.path != path for r in frontier[d.name]):
            frontier[d.name].append(Reach(path, d.name, d.is_static and path.endswith(".c"), (loop_step,), desc))

    visited = set(frontier)
    depth = rule["depth"]
    for level in range(1, depth + 1):
        if not frontier:
            break
        shared = sorted(n for n, rs in frontier.items() if any(not r.static_local for r in rs))
        if shared:
            ctx.files_with(shared)  # one whole-word pass for the level's names
        sites = []  # (path, call, callee reach)
        for name, rs in sorted(frontier.items()):
            if name in shared and level < depth:
                found = ctx.symbols.callers(name)  # every file naming it, parsed through the shared cache
            else:
                # static in a .c file: only its own file can call it; at the last level only a region's own
                # function still matters
                files = set(ctx.symbols.files_with(name)) if name in shared else {r.path for r in rs}
                if level == depth:
                    files &= region_files
                found = [(p, c) for p in sorted(files) for c in ctx.symbols.file_model(p).calls if c.name == name]
            for path, c in found:
                target = next((r for r in rs if r.path == path), None) or next(
                    (r for r in rs if not r.static_local), None)
                if target is not None and c.function and c.function != c.name:
                    sites.append((path, c, target))
        nxt: dict[str, list[Reach]] = {}
        for path, c, target in sorted(sites, key=lambda s: (s[0], s[1].start_byte)):
            d = an.def_at(path, c.function, c.start_byte)
            if d is None:
                continue
            step = Step(path, c.line, c.col + 1, f"{c.function} calls {c.name}", c.function)
            chain = (step,) + target.chain
            if path in region_files and an.calls_open(path, c.function):
                fl = an.flow(path, d)
                inside = (any(fc.in_region and fc.start_byte == c.start_byte for fc in fl.calls)
                          if fl is not None else an.in_region_linear(path, c.function, c.start_byte))
                if inside:
                    emit(path, d, c.line, c.col + 1, chain, target.loop_desc)
            if c.function not in visited and level < depth:
                lst = nxt.setdefault(c.function, [])
                if all(r.path != path for r in lst):
                    lst.append(Reach(path, c.function, d.is_static and path.endswith(".c"), chain,
                                     target.loop_desc))
        visited |= set(nxt)
        frontier = nxt
    # one finding per call site and loop function
    uniq: dict[tuple, Finding] = {}
    for f in findings:
        k = (f.path, f.line, f.col, f.key)
        if k not in uniq:
            uniq[k] = f
    return list(uniq.values())

