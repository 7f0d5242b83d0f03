"""QEMU command lines and process hygiene for porter verify (fast: a fake 'QEMU' written in Python)."""

import os
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from porter.cli import main
from porter.errors import PorterError
from porter.verify import qemu
from porter.verify.build import run_logged

# prints a line, starts a grandchild that records its pid, then both sleep
FAKE = r"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
open(sys.argv[1], "w").write(str(child.pid))
print("Linux version 6.1.0-fake", flush=True)
print(sys.argv[2], flush=True)
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); read its state
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_dead(pid, secs=5.0):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_timeout_kills_whole_process_group(tmp_path):
    pidfile = tmp_path / "pid"
    t0 = time.monotonic()
    res = qemu.run_qemu([sys.executable, "-c", FAKE, str(pidfile), "hello"], timeout=2.0)
    assert res.timed_out and time.monotonic() - t0 < 10
    assert "Linux version 6.1.0-fake" in res.console
    assert _wait_dead(int(pidfile.read_text()))


def test_end_marker_gives_a_short_grace_then_kills(tmp_path):
    pidfile = tmp_path / "pid"
    res = qemu.run_qemu([sys.executable, "-c", FAKE, str(pidfile), "PORTER-END"], timeout=60.0, end_grace=0.5)
    assert not res.timed_out and res.killed_after_end
    assert res.seconds < 20
    assert _wait_dead(int(pidfile.read_text()))


def test_interrupt_kills_qemu(tmp_path):
    pidfile = tmp_path / "pid"

    def on_line(line):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        qemu.run_qemu([sys.executable, "-c", FAKE, str(pidfile), "x"], timeout=60.0, on_line=on_line)
    assert _wait_dead(int(pidfile.read_text()))


def test_build_step_interrupt_kills_make(tmp_path):
    pidfile = tmp_path / "pid"

    class Boom:
        def update(self, text, force=False):
            if pidfile.exists() and pidfile.read_text():
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_logged([sys.executable, "-c", FAKE, str(pidfile), "x"], label="fake make", progress=Boom())
    assert _wait_dead(int(pidfile.read_text()))


def test_failed_step_raises_with_tail():
    with pytest.raises(PorterError, match="exit 3"):
        run_logged([sys.executable, "-c", "print('boom'); raise SystemExit(3)"], label="step")


def test_argv_legacy_tcg():
    spec = qemu.BootSpec(kernel=Path("/k"), initrd=Path("/i"), mode="legacy", accel="tcg", pmem_size="512M",
                         append=("rdinit=/nonexistent",))
    argv = qemu.build_argv(spec)
    assert argv[argv.index("-accel") + 1] == "tcg" and argv[argv.index("-cpu") + 1] == "max"
    assert "-no-reboot" in argv and "-nodefaults" in argv
    cmdline = argv[argv.index("-append") + 1]
    assert "memmap=512M!1G" in cmdline and "panic=-1" in cmdline
    assert 'dyndbg="func memmap_init_zone_device +p"' in cmdline
    assert cmdline.endswith("rdinit=/nonexistent")


def test_argv_nvdimm():
    spec = qemu.BootSpec(kernel=Path("/k"), initrd=Path("/i"), mode="nvdimm-pmem", accel="kvm")
    argv = qemu.build_argv(spec, Path("/tmp/x/nv.img"))
    assert argv[argv.index("-machine") + 1] == "pc,nvdimm=on"
    assert "memory-backend-file,id=nv0,share=on,mem-path=/tmp/x/nv.img,size=512M" in argv
    assert "nvdimm,id=nvdimm0,memdev=nv0" in argv
    assert argv[argv.index("-cpu") + 1] == "host"
    assert "memmap=" not in argv[argv.index("-append") + 1]


def test_argv_rejects_pmem_outside_ram():
    spec = qemu.BootSpec(kernel=Path("/k"), initrd=Path("/i"), memory="2G", pmem_size="1G")
    with pytest.raises(PorterError, match="does not fit"):
        qemu.build_argv(spec)


def test_default_memory_grows_for_legacy_pmem():
    # memmap=1G!1G in -m 2G gives no pmem at all (the region reaches past usable RAM)
    spec = qemu.BootSpec(kernel=Path("/k"), initrd=Path("/i"), pmem_size="1G")
    argv = qemu.build_argv(spec)
    assert argv[argv.index("-m") + 1] == "2304M"
    assert "memmap=1G!1G" in argv[argv.index("-append") + 1]
    small = qemu.build_argv(qemu.BootSpec(kernel=Path("/k"), initrd=Path("/i")))
    assert small[small.index("-m") + 1] == "2G"
    big = qemu.build_argv(qemu.BootSpec(kernel=Path("/k"), initrd=Path("/i"), pmem_size="2G"))
    assert big[big.index("-m") + 1] == "3328M"  # 1G + 2G + headroom, all below the PCI hole
    high = qemu.build_argv(qemu.BootSpec(kernel=Path("/k"), initrd=Path("/i"), pmem_size="4G", pmem_offset="4G"))
    assert high[high.index("-m") + 1] == "7424M"  # 3G low + 4G high + headroom
    with pytest.raises(PorterError, match="PCI hole"):
        qemu.build_argv(qemu.BootSpec(kernel=Path("/k"), initrd=Path("/i"), pmem_size="4G"))


def test_sizes():
    assert qemu.parse_size("512M") == 512 << 20 and qemu.parse_size("2g") == 2 << 30
    assert qemu.fmt_size(1 << 30) == "1G" and qemu.fmt_size(3 << 29) == "1536M"
    with pytest.raises(PorterError):
        qemu.parse_size("lots")


@pytest.mark.parametrize("args,msg", [
    ([], "exactly one of --tree or --kernel"),
    (["--kernel", __file__, "--patch", __file__], "--base/--patch need --tree"),
    (["--tree", str(Path(__file__).parent), "--modules", str(Path(__file__).parent)], "--modules goes with --kernel"),
    (["--tree", str(Path(__file__).parent), "--base", "HEAD", "--patch", __file__], "not both"),
])
def test_cli_usage_errors(args, msg):
    res = CliRunner().invoke(main, ["verify", *args])
    assert res.exit_code == 2 and msg in res.output


def test_cli_rejects_non_kernel_tree(tmp_path):
    res = CliRunner().invoke(main, ["verify", "--tree", str(tmp_path), "-q", "--log-dir", str(tmp_path / "l")])
    assert res.exit_code == 2 and "not a kernel source tree" in res.output


FAKE_QEMU = r"""#!PYTHON
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
with open(os.environ["FAKE_QEMU_PIDFILE"], "a") as f:
    f.write(f"{os.getpid()} {child.pid}\n")
print("Linux version 6.1.0-fake", flush=True)
time.sleep(300)
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_porter_killed_leaves_no_qemu(tmp_path, sig):
    import signal
    import subprocess
    if not Path("/bin/busybox").exists():
        pytest.skip("busybox-static not installed")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "qemu-system-x86_64"
    fake.write_text(FAKE_QEMU.replace("PYTHON", sys.executable))
    fake.chmod(0o755)
    pidfile = tmp_path / "pids"
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", FAKE_QEMU_PIDFILE=str(pidfile),
               TMPDIR=str(tmpdir))
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"not a kernel")
    proc = subprocess.Popen([sys.executable, "-m", "porter", "verify", "--kernel", str(kernel), "--accel", "tcg",
                             "--timeout", "120", "-q", "--log-dir", str(tmp_path / "logs")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            # A shell's background job inherits SIGINT ignored (CI runs us that way); Python
                            # then never raises KeyboardInterrupt. Give the child the default, as a terminal does.
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pidfile.exists(), proc.communicate(timeout=5)
    time.sleep(0.5)
    proc.send_signal(getattr(signal, sig))
    proc.communicate(timeout=30)
    assert proc.returncode != 0
    for pid in pidfile.read_text().split():
        assert _wait_dead(int(pid)), f"{pid} survived porter's {sig}"
    assert list(tmpdir.iterdir()) == []  # work dir (initramfs) removed
