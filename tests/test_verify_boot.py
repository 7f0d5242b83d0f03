"""Real boots under QEMU (TCG unless KVM really works): Debian's prebuilt 6.1 kernel with pmem.

Needs qemu-system-x86, busybox-static and apt (the kernel package is fetched once with
`apt-get download` into ~/.cache/porter/debian-kernel). Each boot takes ~10-20 s under TCG.
"""

import json
import shutil
import subprocess
import sys

import pytest

from porter.errors import PorterError

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def debian_kernel():
    for tool in ("qemu-system-x86_64", "apt-get", "dpkg-deb"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} not installed")
    from porter.verify import debian_kernel as dk
    from porter.verify.initramfs import find_busybox
    try:
        find_busybox()
    except PorterError as exc:
        pytest.skip(str(exc))
    try:
        return dk.fetch("6.1")
    except PorterError as exc:
        pytest.skip(f"could not fetch Debian's kernel: {exc}")


def run_verify(debian_kernel, tmp_path, *extra):
    # the ELF inside vmlinuz boots through PVH: no BIOS, no in-guest decompression (~10 s less under TCG)
    kernel = debian_kernel.pvh or debian_kernel.kernel
    argv = [sys.executable, "-m", "porter", "verify", "--kernel", str(kernel),
            "--modules", str(debian_kernel.modules), "--format", "json", "-q", "--timeout", "120",
            "--log-dir", str(tmp_path / "logs"), *extra]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_legacy_pmem_boot_passes(debian_kernel, tmp_path):
    rc, out = run_verify(debian_kernel, tmp_path, "--mode", "legacy")
    assert rc == 0, json.dumps(out, indent=1)[:4000]
    assert out["verdict"] == "PASS"
    (boot,) = out["sides"][0]["boots"]
    assert boot["verdict"] == "PASS" and boot["reached_init"] and boot["finished"]
    assert [(d["name"], d["rw"]) for d in boot["pmem"]] == [("pmem0", "ok")]
    assert boot["pmem"][0]["bytes"] == 512 << 20
    assert boot["init_lines"][0]["pages"] == 131072
    assert boot["incidents"] == []
    assert (tmp_path / "logs" / "kernel-legacy-1.console").is_file()


def test_panic_command_line_is_fail_with_panic_quoted(debian_kernel, tmp_path):
    # no /init to run and no root device: the kernel panics; QEMU itself still exits 0
    rc, out = run_verify(debian_kernel, tmp_path, "--mode", "legacy", "--append", "rdinit=/nonexistent")
    assert rc == 1
    assert out["verdict"] == "FAIL"
    (boot,) = out["sides"][0]["boots"]
    assert not boot["reached_init"]
    panics = [i for i in boot["incidents"] if "panic" in i["kinds"]]
    assert panics, boot["reasons"]
    assert "Kernel panic - not syncing" in panics[0]["quote"]
    assert "Call Trace" in panics[0]["quote"]
    assert any("Kernel panic - not syncing" in r for r in boot["reasons"])
