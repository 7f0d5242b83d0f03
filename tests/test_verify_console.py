"""Console parsing for porter verify, on recorded serial consoles (fast, no QEMU).

debian-6.1-*.console were recorded from Debian's 6.1.0-50 kernel under QEMU/TCG with porter's initramfs;
synthetic-*.console are hand-written in the kernel's report formats."""

from pathlib import Path

import pytest

from porter.verify.console import find_incidents, parse_console, strip_prefix

DATA = Path(__file__).parent / "data" / "verify"


def load(name):
    return (DATA / name).read_text()


@pytest.mark.parametrize("name,pages,size", [
    ("debian-6.1-legacy.console", 131072, 536870912),
    ("debian-6.1-nvdimm-ram.console", 131072, 534773760),
    ("debian-6.1-nvdimm-pmem.console", 128512, 526385152),
])
def test_recorded_pass(name, pages, size):
    rep = parse_console(load(name))
    assert rep.verdict == "PASS", rep.reasons
    assert rep.reached_init and rep.finished
    assert rep.kernel_version == "6.1.0-50-amd64"
    assert [(d.name, d.bytes, d.rw) for d in rep.pmem] == [("pmem0", size, "ok")]
    assert len(rep.init_lines) == 1 and rep.init_lines[0].pages == pages
    assert rep.init_lines[0].ms > 0
    assert rep.incidents == []
    assert set(rep.modules) == {"libnvdimm", "nd_btt", "nd_pmem", "nd_e820", "nfit"}


def test_recorded_nvdimm_rebind_parsed():
    rep = parse_console(load("debian-6.1-nvdimm-pmem.console"))
    assert rep.rebind == {"status": "ok", "namespace": "namespace0.0", "pfn": "pfn0.0", "mode": "pmem"}


def test_recorded_panic_is_fail_and_quoted():
    rep = parse_console(load("debian-6.1-panic.console"))
    assert rep.verdict == "FAIL"
    assert not rep.reached_init
    assert "boot did not reach init" in rep.reasons
    (inc,) = rep.incidents
    assert inc.kinds == ["panic"]
    assert inc.title == "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)"
    # quoted with context: the line before, the call trace, up to "Kernel Offset"
    assert "No filesystem could mount root" in inc.quote
    assert "mount_block_root+" in inc.quote
    assert inc.quote.rstrip().endswith("Kernel Offset: disabled")
    assert any(r.startswith("panic at console line") for r in rep.reasons)


def test_kernel_message_inside_init_line():
    # nd_pmem's message landed in the middle of "PORTER-MODULE name=nd_e820 status=ok"
    text = load("debian-6.1.0-56-legacy-interleaved.console")
    assert "status=ok[" in text
    rep = parse_console(text, expect_init_line=False)
    assert rep.modules["nd_e820"] == "ok"
    assert rep.verdict == "PASS", rep.reasons


def test_missing_init_line_fails_unless_allowed():
    text = load("debian-6.1.0-56-legacy-interleaved.console")
    rep = parse_console(text)
    assert rep.verdict == "FAIL"
    assert any("ZONE_DEVICE init line" in r for r in rep.reasons)


def test_warning_lockdep_kasan_each_quoted():
    rep = parse_console(load("synthetic-warn-lockdep-kasan.console"))
    assert rep.verdict == "FAIL"
    kinds = [inc.kinds for inc in rep.incidents]
    assert kinds == [["warning"], ["lockdep"], ["kasan"]]
    warn, lockdep, kasan = rep.incidents
    assert warn.title.startswith("WARNING: CPU: 0 PID: 13 at mm/page_alloc.c:7047 memmap_init_zone_device")
    assert "------------[ cut here ]------------" in warn.quote
    assert warn.quote.rstrip().endswith("---[ end trace 0000000000000000 ]---")
    assert "=====" in lockdep.quote and "mem_hotplug_lock" in lockdep.quote
    assert "use-after-free in nd_pmem_probe" in kasan.title
    assert "PORTER-" not in kasan.quote
    # the boot itself was fine: init line, pmem ok
    assert rep.init_lines[0].pages == 131072 and rep.pmem[0].rw == "ok"
    assert len([r for r in rep.reasons if " at console line " in r]) == 3


def test_oops_then_panic():
    rep = parse_console(load("synthetic-oops-panic.console"), expect_init_line=False)
    assert rep.verdict == "FAIL"
    assert rep.incidents[0].kinds == ["bug", "oops"]
    assert "NULL pointer dereference" in rep.incidents[0].title
    assert rep.incidents[-1].kinds == ["panic"]
    assert "Fatal exception" in rep.incidents[-1].title
    assert "init did not finish the pmem test (no PORTER-END line)" in rep.reasons


def test_rw_failure_and_no_device():
    base = "[    1.0] Run /init as init process\nPORTER-INIT reached=1\n"
    bad = base + "PORTER-PMEM name=pmem0 bytes=1048576 tested_mib=1 rw=fail-compare\nPORTER-END\n"
    rep = parse_console(bad, expect_init_line=False)
    assert rep.reasons == ["/dev/pmem0: write/read-back fail-compare"]
    none = base + "PORTER-RESULT devices=0 rw_failed=0\nPORTER-END\n"
    rep = parse_console(none, expect_init_line=False)
    assert rep.reasons == ["no /dev/pmem* device"]


def test_timeout_reason():
    rep = parse_console("[    0.1] Linux version 6.1.0\n", timed_out=True, timeout=30)
    assert rep.reasons[:2] == ["timed out after 30 s", "boot did not reach init"]


def test_command_line_is_not_an_oops():
    text = "[    0.000000] Kernel command line: console=ttyS0 panic=-1 oops=panic\n"
    assert find_incidents(text.splitlines()) == []


def test_strip_prefix():
    assert strip_prefix("[   12.345678] WARNING: x") == "WARNING: x"
    assert strip_prefix("[    1.000000][    T1] BUG: y") == "BUG: y"
    assert strip_prefix("plain") == "plain"


def test_to_dict_is_json_ready():
    import json
    rep = parse_console(load("synthetic-oops-panic.console"))
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["verdict"] == "FAIL" and d["incidents"][0]["kind"] == "bug"


def test_recorded_tinyconfig_pass():
    # porter's own 6.1.176 build (tinyconfig + fragment), legacy pmem, TCG
    rep = parse_console(load("tinyconfig-6.1-legacy.console"))
    assert rep.verdict == "PASS", rep.reasons
    assert rep.kernel_version == "6.1.176"
    assert rep.init_lines[0].pages == 131072
    assert rep.modules == {}  # everything built in


def test_recorded_planted_warn_is_fail_and_quoted():
    # the same kernel with fixtures/verify/planted-warn.patch: boots, pmem fine, one real WARN
    rep = parse_console(load("tinyconfig-6.1-planted-warn.console"))
    assert rep.verdict == "FAIL"
    assert rep.pmem[0].rw == "ok" and rep.init_lines[0].pages == 131072
    (inc,) = rep.incidents
    assert inc.kinds == ["warning"]
    assert inc.title.startswith("WARNING: CPU: 0 PID: 13 at ") and "memmap_init_zone_device+" in inc.title
    lines = inc.quote.splitlines()
    assert lines[0].endswith("------------[ cut here ]------------")
    assert "porter fixture: planted warning after 131072 pages" in lines[1]
    assert lines[-1].endswith("---[ end trace 0000000000000000 ]---")
    assert any("pmem_attach_disk" in ln for ln in lines)
    assert len(rep.reasons) == 1 and rep.reasons[0].startswith("warning at console line")
