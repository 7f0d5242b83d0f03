"""Read a serial console log: did the boot reach init, which pmem devices, the ZONE_DEVICE init line,
and every kernel problem report (WARNING, BUG, Oops, panic, lockdep, KASAN...) quoted with context.

QEMU exits 0 even after a kernel panic, so the verdict comes from the console text alone.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

# "[    1.234567] " and an optional caller id "[    T1] "
_PREFIX = re.compile(r"^\s*(?:\[\s*\d+\.\d+\]\s?)?(?:\[\s*[TC]\d+\]\s?)?")
_TS = re.compile(r"\[\s*(\d+\.\d+)\]")
INIT_LINE = re.compile(r"memmap_init_zone_device initialised (\d+) pages in (\d+)ms")
KV = re.compile(r"(\w+)=(\S*)")
PORTER_LINE = re.compile(r"(PORTER-[A-Z]+)\b(.*)")

# (kind, pattern) in priority order; patterns apply to the message text (timestamp removed).
TRIGGERS: list[tuple[str, re.Pattern]] = [
    ("panic", re.compile(r"Kernel panic - not syncing")),
    ("kasan", re.compile(r"BUG: KASAN: |KASAN: \S+ in ")),
    ("lockdep", re.compile(
        r"^WARNING: (possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage|"
        r"bad unlock balance|held lock freed|lock held when returning|possible irq lock inversion|"
        r"bad contention detected|Nested lock was not taken)|"
        r"^INFO: (possible (irq lock inversion|recursive locking)|trying to register non-static key)|"
        r"^BUG: (MAX_LOCK_DEPTH too low|looking up invalid subclass)")),
    ("ubsan", re.compile(r"^UBSAN: ")),
    ("warning", re.compile(r"^WARNING: ")),
    ("bug", re.compile(r"^(?:[\w/.-]+: )?BUG: |kernel BUG at ")),
    ("oops", re.compile(r"^Oops: |^general protection fault|^invalid opcode: |^stack segment: ")),
    ("hung-task", re.compile(r"^INFO: task \S+ blocked for more than")),
    ("rcu-stall", re.compile(r"rcu: INFO: \S+ (self-)?detected stalls?|rcu_\w+ (self-)?detected stall")),
]
_END = re.compile(r"---\[ end (trace|Kernel panic)|^Kernel Offset:")
_START_HINT = re.compile(r"------------\[ cut here \]------------|^={20,}|^-{20,}$")
MAX_SPAN = 80
CONTEXT_AFTER = 20
CONTEXT_BEFORE = 2


def strip_prefix(line: str) -> str:
    return _PREFIX.sub("", line, count=1)


@dataclass
class Incident:
    kinds: list[str]
    title: str
    line: int  # 1-based line of the first trigger
    quote: str

    @property
    def kind(self) -> str:
        return self.kinds[0]


@dataclass
class PmemDevice:
    name: str
    bytes: int
    rw: str
    tested_mib: int = 0


@dataclass
class InitLine:
    pages: int
    ms: int
    line: int


@dataclass
class ConsoleReport:
    kernel_version: str | None = None
    reached_init: bool = False
    finished: bool = False
    pmem: list[PmemDevice] = field(default_factory=list)
    init_lines: list[InitLine] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    modules: dict[str, str] = field(default_factory=dict)
    rebind: dict | None = None
    result: dict | None = None
    guest_seconds: float | None = None  # kernel timestamp of the last line before PORTER-END
    verdict: str = "FAIL"
    reasons: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict == "PASS"

    def to_dict(self) -> dict:
        d = asdict(self)
        for inc, obj in zip(d["incidents"], self.incidents):
            inc["kind"] = obj.kind
        return d


def _kv(rest: str) -> dict:
    return dict(KV.findall(rest))


MERGE_KINDS = ("oops", "panic")  # consequences of the report they appear in, not new reports


def find_incidents(lines: list[str]) -> list[Incident]:
    incidents: list[Incident] = []
    cur: Incident | None = None
    cur_start = 0
    cur_end = -1
    for i, raw in enumerate(lines):
        if "PORTER-" in raw:
            continue
        msg = strip_prefix(raw)
        kind = next((k for k, pat in TRIGGERS if pat.search(msg)), None)
        if kind is None:
            continue
        if cur is not None and i <= cur_end and kind in MERGE_KINDS:
            if kind not in cur.kinds:
                cur.kinds.append(kind)
            cur_end = max(cur_end, _span_end(lines, i))
            cur.quote = _quote(lines, cur_start, cur_end)
            continue
        inside = cur is not None and i <= cur_end
        lower = cur.line if inside else cur_end + 1  # cur.line is 1-based: the line after its trigger
        start = i if inside else max(i - CONTEXT_BEFORE, lower, 0)
        for j in range(i - 1, max(i - 6, lower - 1, -1), -1):
            if _START_HINT.search(strip_prefix(lines[j])):
                start = j
                break
        if inside:
            # a new report begins inside the previous one's context: the previous one ends here
            cur_end = start - 1
            cur.quote = _quote(lines, cur_start, cur_end)
        cur_start = start
        cur_end = _span_end(lines, i)
        cur = Incident(kinds=[kind], title=msg.strip(), line=i + 1, quote=_quote(lines, start, cur_end))
        incidents.append(cur)
    return incidents


def _span_end(lines: list[str], i: int) -> int:
    """Where the report that starts at line i ends: its "---[ end ...]" marker, else the end of its
    first call trace, else a fixed amount of context; never past one of init's PORTER lines."""
    limit = min(len(lines) - 1, i + MAX_SPAN)
    task_end = None
    for j in range(i + 1, limit + 1):
        if "PORTER-" in lines[j]:
            limit = j - 1
            break
        msg = strip_prefix(lines[j])
        if _END.search(msg):
            return j
        if task_end is None and msg.strip() == "</TASK>":
            task_end = j
    if task_end is not None:
        return task_end
    return max(i, min(limit, i + CONTEXT_AFTER))


def _quote(lines: list[str], start: int, end: int) -> str:
    return "\n".join(lines[start:end + 1]).rstrip()


def parse_console(text: str, *, expect_init_line: bool = True, timed_out: bool = False,
                  timeout: float | None = None) -> ConsoleReport:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    rep = ConsoleReport()
    last_ts = None
    for i, line in enumerate(lines):
        m = _TS.search(line)
        if m:
            last_ts = float(m.group(1))
        if rep.kernel_version is None:
            mv = re.search(r"Linux version (\S+)", line)
            if mv:
                rep.kernel_version = mv.group(1)
        mi = INIT_LINE.search(line)
        if mi:
            rep.init_lines.append(InitLine(pages=int(mi.group(1)), ms=int(mi.group(2)), line=i + 1))
            continue
        mp = PORTER_LINE.search(line)
        if not mp:
            continue
        # a kernel message can land in the middle of init's line: cut the payload at its timestamp
        payload = _TS.split(mp.group(2), maxsplit=1)[0]
        tag, kv = mp.group(1), _kv(payload)
        if tag == "PORTER-INIT":
            rep.reached_init = True
        elif tag == "PORTER-MODULE" and "name" in kv:
            rep.modules[kv["name"]] = kv.get("status", "?")
        elif tag == "PORTER-REBIND":
            rep.rebind = kv
        elif tag == "PORTER-PMEM" and "name" in kv:
            rep.pmem.append(PmemDevice(name=kv["name"], bytes=_int(kv.get("bytes")), rw=kv.get("rw", "?"),
                                       tested_mib=_int(kv.get("tested_mib"))))
        elif tag == "PORTER-RESULT":
            rep.result = {k: _int(v) for k, v in kv.items()}
        elif tag == "PORTER-END":
            rep.finished = True
            rep.guest_seconds = last_ts
    if not rep.reached_init and any("Run /init as init process" in ln for ln in lines):
        rep.reached_init = True
    rep.incidents = find_incidents(lines)
    rep.reasons = _reasons(rep, expect_init_line=expect_init_line, timed_out=timed_out, timeout=timeout)
    rep.verdict = "FAIL" if rep.reasons else "PASS"
    return rep


def _int(v) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def _reasons(rep: ConsoleReport, *, expect_init_line: bool, timed_out: bool, timeout) -> list[str]:
    reasons = []
    if timed_out:
        reasons.append(f"timed out after {timeout:g} s" if timeout else "timed out")
    if not rep.reached_init:
        reasons.append("boot did not reach init")
    elif not rep.finished:
        reasons.append("init did not finish the pmem test (no PORTER-END line)")
    for name, status in rep.modules.items():
        if status != "ok":
            reasons.append(f"insmod {name} failed")
    if rep.rebind is not None and rep.rebind.get("status") != "ok":
        reasons.append(f"fsdax re-bind through sysfs failed at step {rep.rebind.get('step', '?')}")
    if rep.finished and not rep.pmem:
        reasons.append("no /dev/pmem* device")
    for dev in rep.pmem:
        if dev.rw != "ok":
            reasons.append(f"/dev/{dev.name}: write/read-back {dev.rw}")
    if expect_init_line and rep.reached_init and not rep.init_lines:
        reasons.append("no ZONE_DEVICE init line (memmap_init_zone_device ... initialised N pages)")
    for inc in rep.incidents:
        reasons.append(f"{'/'.join(inc.kinds)} at console line {inc.line}: {inc.title}")
    return reasons
