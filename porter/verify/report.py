"""Render porter verify results as text or JSON."""

from __future__ import annotations

import json

from porter.verify.console import ConsoleReport
from porter.verify.runner import Side, mode_summary


def overall(sides: list[Side]) -> str:
    return "PASS" if sides and all(s.verdict == "PASS" for s in sides) else "FAIL"


def _size(n: int) -> str:
    for suf, m in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= m:
            v = n / m
            return f"{v:.0f}{suf}" if abs(v - round(v)) < 0.05 else f"{v:.1f}{suf}"
    return f"{n}B"


def _fmt(v, unit="") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.1f}{unit}"
    return f"{int(v)}{unit}"


def to_json(sides: list[Side], modes: list[str]) -> str:
    out = {"verdict": overall(sides), "sides": []}
    for s in sides:
        out["sides"].append({
            "label": s.label, "desc": s.desc, "verdict": s.verdict,
            "tree": str(s.tree) if s.tree else None, "kernel": str(s.kernel) if s.kernel else None,
            "build": s.build,
            "placement": s.placement,
            "modes": [mode_summary(s, m) for m in modes],
            "boots": [{"mode": b.mode, "index": b.index, "seconds": round(b.seconds, 2),
                       "timed_out": b.timed_out, "console": str(b.console_path) if b.console_path else None,
                       **b.report.to_dict()} for b in s.boots],
        })
    if len(sides) == 2:
        out["comparison"] = comparison(sides, modes)
    return json.dumps(out, indent=2)


def comparison(sides: list[Side], modes: list[str]) -> list[dict]:
    rows = []
    before, after = sides
    for m in modes:
        a, b = mode_summary(before, m), mode_summary(after, m)
        row = {"mode": m,
               "before": {"pages": a["init_pages"], "ms_median": a["init_ms_median"], "ms": a["init_ms"]},
               "after": {"pages": b["init_pages"], "ms_median": b["init_ms_median"], "ms": b["init_ms"]}}
        if a["init_ms_median"] is not None and b["init_ms_median"] is not None:
            row["delta_ms"] = b["init_ms_median"] - a["init_ms_median"]
        rows.append(row)
    return rows


def _incident_lines(rep: ConsoleReport, indent: str = "      ") -> list[str]:
    out = []
    for inc in rep.incidents:
        out.append(f"{indent}{'/'.join(inc.kinds)} (console line {inc.line}):")
        for q in inc.quote.splitlines():
            out.append(f"{indent}  | {q}")
    return out


def placement_lines(hunks: list[dict], indent: str = "  ") -> list[str]:
    """How porter placed --patch in the tree (the same words as `porter apply`)."""
    out = []
    for d in hunks:
        where = d["target_file"] + (f":{d['line']}" if "line" in d else "")
        out.append(f"{indent}ported: {d['file']} hunk {d['hunk']} -> {where} ({d.get('rung', '-')})"
                   + (f": {d['evidence']}" if d.get("evidence") else ""))
    return out


def to_text(sides: list[Side], modes: list[str]) -> str:
    lines = [f"porter verify: {overall(sides)}"]
    for s in sides:
        lines.append("")
        head = f"[{s.label}] {s.desc}" if s.desc else f"[{s.label}]"
        lines.append(f"{head}: {s.verdict}")
        if s.build:
            cc = ", ccache" if s.build.get("ccache") else ""
            lines.append(f"  build: {s.build['seconds']:.0f}s (+config {s.build['config_seconds']:.0f}s{cc})"
                         f" in {s.build['build_dir']}")
        lines.extend(placement_lines(s.placement))
        if s.kernel:
            kv = next((b.report.kernel_version for b in s.boots if b.report.kernel_version), None)
            lines.append(f"  kernel: {s.kernel}" + (f" ({kv})" if kv else ""))
        for m in modes:
            sm = mode_summary(s, m)
            pm = ", ".join(f"{d['name']} {_size(d['bytes'])} rw {d['rw']}" for d in sm["pmem"]) or "no pmem"
            if sm["init_pages"] is not None:
                ms = sm["init_ms"]
                init = f"init {sm['init_pages']} pages in {_fmt(sm['init_ms_median'], ' ms')}"
                if len(ms) > 1:
                    init += f" (median of {', '.join(str(x) for x in ms)})"
            else:
                init = "no init line"
            lines.append(f"  {m:<12} {sm['verdict']}  {pm}; {init}; boot-to-verdict "
                         f"{_fmt(sm['boot_seconds_median'], ' s')}")
            for b in s.mode_boots(m):
                if b.report.passed:
                    continue
                lines.append(f"    boot {b.index}: FAIL" + (f" (console: {b.console_path})" if b.console_path else ""))
                for r in b.report.reasons:
                    lines.append(f"      - {r}")
                lines.extend(_incident_lines(b.report))
    if len(sides) == 2:
        lines.append("")
        lines.append("ZONE_DEVICE init (memmap_init_zone_device), median over boots:")
        lines.append(f"  {'mode':<12} {'before':>26}   {'after':>26}   delta")
        for row in comparison(sides, modes):
            def cell(c):
                if c["pages"] is None:
                    return "no init line"
                return f"{c['pages']} pages {_fmt(c['ms_median'], ' ms')}"
            d = row.get("delta_ms")
            lines.append(f"  {row['mode']:<12} {cell(row['before']):>26}   {cell(row['after']):>26}   "
                         + (f"{d:+g} ms" if d is not None else "-"))
    return "\n".join(lines)
