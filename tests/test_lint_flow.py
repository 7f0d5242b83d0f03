"""Control flow of lock regions (porter.lint.flow): every path, early returns, gotos both ways, loops, switch,
#ifdef branches, iterator macros; loop recognition and ZONE_DEVICE guards."""

from __future__ import annotations

import re

import pytest

from porter.cmodel import parse_c, parse_tree
from porter.lint.flow import find_body, find_guard, loops_in, region_flow


def flow(body: str):
    body = "\n".join("\t" + line if line and not line.startswith("#") else line for line in body.split("\n"))
    src = ("void f(int x)\n{\n" + body + "\n}\n").encode()
    d = parse_c(src, "t.c").find("f", "function")[0]
    node = find_body(parse_tree(src), d.body_start_byte)
    assert node is not None
    fl = region_flow(src, node, {"begin"}, {"done"})
    inside = {c.name for c in fl.calls if c.in_region and c.name not in ("begin", "done")}
    outside = {c.name for c in fl.calls if not c.in_region and c.name not in ("begin", "done")}
    return inside, outside - inside, fl


def test_straight_line():
    inside, outside, _ = flow("a(); begin(); b(); done(); c();")
    assert inside == {"b"} and outside == {"a", "c"}


def test_early_return_closes_only_its_path():
    inside, outside, _ = flow("begin(); if (x) { done(); return; } c(); done(); d();")
    assert inside == {"c"} and outside == {"d"}


def test_goto_to_error_label_keeps_region_open():
    inside, outside, fl = flow("begin(); if (x) goto err; f(); done(); return; err: g(); done(); h();")
    assert inside == {"f", "g"} and outside == {"h"}
    assert fl.returns_open == []


def test_goto_after_close():
    inside, outside, _ = flow("begin(); if (x) { done(); goto out; } h(); done(); out: i();")
    assert inside == {"h"} and outside == {"i"}


def test_backward_goto():
    inside, outside, _ = flow("retry: o(); begin(); if (x) goto retry; done(); p();")
    assert "o" in inside and outside == {"p"}


def test_return_with_region_open_is_recorded():
    _, _, fl = flow("begin(); if (x) return; done();")
    assert len(fl.returns_open) == 1


def test_loops_and_break_continue():
    inside, outside, _ = flow("begin(); for (;;) { if (x) break; j(); done(); k(); } m();")
    # j runs with the region open on the first pass; k only after done(); m is reached by break (open)
    assert {"j", "m"} <= inside and "k" in outside
    inside, outside, _ = flow("begin(); do { q(); } while (r()); done(); s();")
    assert inside == {"q", "r"} and outside == {"s"}
    inside, outside, _ = flow("while (t()) { begin(); u(); done(); } v();")
    assert inside == {"u"} and outside == {"t", "v"}


def test_switch_cases_join():
    inside, outside, _ = flow("begin(); switch (x) { case 1: done(); break; default: l(); } m(); done(); n();")
    assert inside == {"l", "m"} and outside == {"n"}


def test_ifdef_is_an_optional_branch():
    inside, _, _ = flow("begin();\n#ifdef CONFIG_X\n\tdone();\n#endif\n\tn();\n\tdone();")
    assert inside == {"n"}


def test_ifdef_return_does_not_end_every_path():
    inside, _, _ = flow("begin();\n#ifdef CONFIG_X\n\tdone();\n\treturn;\n#endif\n\tn();\n\tdone();")
    assert inside == {"n"}
    inside, _, _ = flow("begin();\n#ifdef CONFIG_X\n\tdone();\n#else\n\tw();\n#endif\n\tn();\n\tdone();")
    assert inside == {"w", "n"}


def test_iterator_macro_loop_in_region():
    inside, outside, fl = flow("begin(); list_for_each_entry(p, &h, l)\n\t\tq(p);\n\tdone(); w();")
    assert "q" in inside and outside == {"w"}
    assert [(lp.kind, lp.macro, lp.in_region) for lp in fl.loops] == [("iterator", "list_for_each_entry", True)]


def test_calls_in_expressions_and_declarations():
    inside, outside, _ = flow("int e = pre(); begin(); e = foo(bar(e)); done();")
    assert inside == {"foo", "bar"} and outside == {"pre"}


# ------------------------------------------------------------------------------------------------ guards

GUARDS = [re.compile(r"(?<![!\w])zone\s*==\s*ZONE_DEVICE\b"),
          re.compile(r"(?<![!\w])(?:is_dev_zone|zone_is_zone_device)\s*\(")]


def guard_of(body: str):
    body = "\n".join("\t" + line if line and not line.startswith("#") else line for line in body.split("\n"))
    src = ("void g(struct zone *zone, unsigned long start, unsigned long end)\n{\n" + body + "\n}\n").encode()
    d = parse_c(src, "g.c").find("g", "function")[0]
    node = find_body(parse_tree(src), d.body_start_byte)
    loops = loops_in(src, node)
    assert loops, "no loop found"
    return find_guard(src, node, loops[-1], GUARDS)


LOOP = "for (pfn = start; pfn < end; pfn++) init(pfn);"


@pytest.mark.parametrize("body, how", [
    ("if (zone == ZONE_DEVICE) { if (!altmap) return; end = clamp(end); }\n" + LOOP, "bound clamp of end"),
    ("if (zone == ZONE_DEVICE)\n\t\treturn;\n" + LOOP, "early return"),
    ("#ifdef CONFIG_ZONE_DEVICE\nif (is_dev_zone(zone)) {\n\t\tset(zone);\n\t\treturn;\n\t}\n#endif\n" + LOOP,
     "early return"),
])
def test_guard_recognised(body, how):
    g = guard_of(body)
    assert g is not None and g.how == how


@pytest.mark.parametrize("body", [
    LOOP,
    "if (!is_dev_zone(zone)) return;\n" + LOOP,  # returns for the *other* zones
    "if (zone != ZONE_DEVICE) return;\n" + LOOP,
    "if (zone == ZONE_DEVICE) { pr_info(\"device\"); }\n" + LOOP,  # neither returns nor clamps
    "if (zone == ZONE_DEVICE) { other = 1; }\n" + LOOP,  # assigns something the loop does not read
    LOOP + "\nif (zone == ZONE_DEVICE) return;",  # after the loop
    "if (zone == ZONE_DEVICE) {\n" + LOOP + "\nreturn; }",  # around the loop: the loop *is* the device case
    "for (;;) { if (zone == ZONE_DEVICE) return; }\n" + LOOP,  # inside an earlier loop
])
def test_guard_not_recognised(body):
    assert guard_of(body) is None


def test_iterator_loops_read_as_while_are_iterators():
    src = (b"int f(struct dev_pagemap *pgmap, int range_id)\n{\n\tunsigned long pfn;\n\n"
           b"\tfor_each_device_pfn(pfn, pgmap, range_id) {\n\t\tstruct page *page = pfn_to_page(pfn);\n\n"
           b"\t\tpage->pgmap = pgmap;\n\t}\n\treturn 0;\n}\n")
    d = parse_c(src, "m.c").find("f", "function")[0]
    loops = loops_in(src, find_body(parse_tree(src), d.body_start_byte))
    assert [(lp.kind, lp.macro) for lp in loops] == [("iterator", "for_each_device_pfn")]
