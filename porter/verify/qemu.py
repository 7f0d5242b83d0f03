"""Boot a kernel under QEMU with emulated pmem, read its serial console, never leave QEMU behind.

Modes:
  legacy       `memmap=SIZE!OFFSET`: e820 type-12 "legacy" pmem (struct pages in RAM)
  nvdimm-ram   `-machine pc,nvdimm=on -device nvdimm`, re-bound as fsdax with the memmap in RAM
  nvdimm-pmem  the same, with the memmap on the device (altmap)

The accelerator is KVM only when a real short boot under KVM prints the kernel banner; `/dev/kvm`
alone proves nothing (a software /dev/kvm exists on some hosts and every guest dies). Otherwise TCG.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from porter.errors import PorterError
from porter.verify.build import kill_group

MODES = ("legacy", "nvdimm-ram", "nvdimm-pmem")
END_MARKER = "PORTER-END"
DYNDBG = 'dyndbg="func memmap_init_zone_device +p"'
# loglevel=8: the init line is pr_debug in newer kernels (printed only above console level 7).
# A reboot after the verdict, or a panic with panic=-1, ends QEMU because of -no-reboot.
BASE_CMDLINE = ("console=ttyS0", "earlyprintk=serial,ttyS0", "panic=-1", "oops=panic", "loglevel=8",
                "nokaslr", DYNDBG)


def qemu_binary() -> str:
    q = shutil.which("qemu-system-x86_64")
    if not q:
        raise PorterError("qemu-system-x86_64 not found (install qemu-system-x86)")
    return q


def parse_size(text: str) -> int:
    """'512M' -> bytes (K/M/G/T suffixes, powers of two)."""
    t = text.strip().upper().removesuffix("B")
    mult = 1
    for suf, m in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)):
        if t.endswith(suf):
            mult, t = m, t[:-1]
            break
    try:
        val = int(t) * mult
    except ValueError:
        raise PorterError(f"bad size {text!r} (use e.g. 512M, 1G)") from None
    if val <= 0:
        raise PorterError(f"bad size {text!r}")
    return val


def fmt_size(n: int) -> str:
    for suf, m in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n % m == 0:
            return f"{n // m}{suf}"
    return str(n)


@dataclass
class BootSpec:
    kernel: Path
    initrd: Path
    mode: str = "legacy"
    accel: str = "tcg"  # "kvm" or "tcg"
    memory: str | None = None  # default: 2G, or enough for the legacy pmem plus headroom
    pmem_size: str = "512M"
    pmem_offset: str = "1G"  # legacy only
    timeout: float = 60.0
    append: tuple[str, ...] = ()
    workdir: Path | None = None  # where the nvdimm backing file goes


@dataclass
class BootResult:
    console: str
    seconds: float
    timed_out: bool
    exit_code: int | None
    argv: list[str] = field(default_factory=list)
    killed_after_end: bool = False
    verdict_seconds: float | None = None  # QEMU start -> init's PORTER-END line


LEGACY_HEADROOM = 256 << 20
PCI_HOLE_START, PCI_HOLE_END = 3 << 30, 4 << 30  # pc machine, guest RAM >= 3.5G


def guest_memory(spec: BootSpec) -> int:
    """Guest RAM in bytes: --memory, else 2G, grown so a legacy memmap= region lies inside real RAM."""
    if spec.memory:
        return parse_size(spec.memory)
    mem = 2 << 30
    if spec.mode == "legacy":
        end = parse_size(spec.pmem_offset) + parse_size(spec.pmem_size)
        if end > PCI_HOLE_START:
            # RAM above the hole starts at 4G; QEMU puts 3G below it once the guest has >= 3.5G
            end = PCI_HOLE_START + (end - PCI_HOLE_END)
            mem = max(mem, 7 << 29)
        mem = max(mem, end + LEGACY_HEADROOM)
    return mem


def check_legacy_region(spec: BootSpec):
    off = parse_size(spec.pmem_offset)
    end = off + parse_size(spec.pmem_size)
    if off < PCI_HOLE_END and end > PCI_HOLE_START:
        raise PorterError(f"legacy pmem {spec.pmem_size} at {spec.pmem_offset} crosses QEMU's PCI hole (3G-4G): "
                          "use at most 2G at the default offset 1G, or an offset of 4G or more")


def build_argv(spec: BootSpec, nvdimm_file: Path | None = None) -> list[str]:
    if spec.mode not in MODES:
        raise PorterError(f"unknown mode {spec.mode!r} (one of {', '.join(MODES)})")
    argv = [qemu_binary(), "-nodefaults", "-no-reboot", "-display", "none", "-serial", "stdio"]
    if spec.accel == "kvm":
        argv += ["-accel", "kvm", "-cpu", "host"]
    else:
        argv += ["-accel", "tcg", "-cpu", "max"]
    cmdline = list(BASE_CMDLINE)
    if spec.mode == "legacy":
        size, off = parse_size(spec.pmem_size), parse_size(spec.pmem_offset)
        check_legacy_region(spec)
        mem = guest_memory(spec)
        ram_end = mem if mem <= PCI_HOLE_START else PCI_HOLE_END + mem - PCI_HOLE_START
        if off + size + LEGACY_HEADROOM > ram_end:
            raise PorterError(f"legacy pmem {spec.pmem_size} at {spec.pmem_offset} does not fit in {fmt_size(mem)} of "
                              f"guest RAM (the top {fmt_size(LEGACY_HEADROOM)} is not all usable RAM)")
        argv += ["-machine", "pc", "-m", fmt_size(mem)]
        cmdline.append(f"memmap={fmt_size(size)}!{fmt_size(off)}")
    else:
        if nvdimm_file is None:
            raise PorterError("nvdimm mode needs a backing file")
        argv += ["-machine", "pc,nvdimm=on", "-m", f"{fmt_size(guest_memory(spec))},slots=2,maxmem=64G",
                 "-object", f"memory-backend-file,id=nv0,share=on,mem-path={nvdimm_file},"
                            f"size={fmt_size(parse_size(spec.pmem_size))}",
                 "-device", "nvdimm,id=nvdimm0,memdev=nv0"]
    cmdline += list(spec.append)
    argv += ["-smp", "1", "-kernel", str(spec.kernel), "-initrd", str(spec.initrd), "-append", " ".join(cmdline)]
    return argv


def run_qemu(argv: list[str], timeout: float, on_line=None, log_path: Path | None = None,
             end_marker: str = END_MARKER, end_grace: float = 3.0) -> BootResult:
    """Run QEMU with the serial console on stdout; hard timeout; kill the process group on the way out.

    After `end_marker` is seen QEMU gets `end_grace` seconds to exit on its own (init reboots).
    """
    start = time.monotonic()
    deadline = start + timeout
    chunks: list[bytes] = []
    partial = b""
    timed_out = False
    killed_after_end = False
    end_seen_at = None
    log = open(log_path, "wb") if log_path else None
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        fd = proc.stdout.fileno()
        while True:
            now = time.monotonic()
            limit = deadline if end_seen_at is None else min(deadline, end_seen_at + end_grace)
            if now >= limit:
                if end_seen_at is None:
                    timed_out = True
                else:
                    killed_after_end = True
                break
            ready, _, _ = select.select([fd], [], [], min(0.25, limit - now))
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            data = os.read(fd, 65536)
            if not data:
                break
            chunks.append(data)
            if log:
                log.write(data)
                log.flush()
            partial += data
            *lines, partial = partial.split(b"\n")
            for raw in lines:
                line = raw.decode("utf-8", "replace").rstrip("\r")
                if on_line:
                    on_line(line)
                if end_seen_at is None and end_marker in line:
                    end_seen_at = time.monotonic()
    except BaseException:
        kill_group(proc, grace=0.5)
        raise
    finally:
        kill_group(proc)
        if proc.stdout:
            proc.stdout.close()
        if log:
            log.close()
    if partial and on_line:
        on_line(partial.decode("utf-8", "replace"))
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return BootResult(console=text, seconds=time.monotonic() - start, timed_out=timed_out,
                      exit_code=proc.returncode, argv=list(argv), killed_after_end=killed_after_end,
                      verdict_seconds=None if end_seen_at is None else end_seen_at - start)


def boot(spec: BootSpec, on_line=None, log_path: Path | None = None) -> BootResult:
    """Boot once. For nvdimm modes a fresh sparse backing file is created (a stale info block makes
    the fsdax re-bind fail "busy") and removed afterwards."""
    tmp = tempfile.mkdtemp(prefix="porter-nvdimm-", dir=spec.workdir)
    try:
        nv = None
        if spec.mode != "legacy":
            nv = Path(tmp) / "nvdimm.img"
            with open(nv, "wb") as f:
                f.truncate(parse_size(spec.pmem_size))
        argv = build_argv(spec, nv)
        return run_qemu(argv, spec.timeout, on_line=on_line, log_path=log_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- KVM probe

def _probe_key(kernel: Path) -> str:
    parts = []
    try:
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    except OSError:
        parts.append("no-boot-id")
    parts.append(os.uname().release)
    try:
        parts.append(str(Path(qemu_binary()).stat().st_mtime))
    except (OSError, PorterError):
        pass
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def kvm_usable(kernel: Path, initrd: Path, cache_dir: Path | None = None, timeout: float = 15.0) -> bool:
    """Probe KVM with a real short boot of `kernel`: usable only if the kernel banner reaches the
    console. The answer is cached per host boot (boot_id) in cache_dir."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    cache_file = None
    key = _probe_key(kernel)
    if cache_dir is not None:
        cache_file = Path(cache_dir) / "kvm-probe.json"
        try:
            cached = json.loads(cache_file.read_text())
            if cached.get("key") == key:
                return bool(cached["usable"])
        except (OSError, ValueError, KeyError):
            pass
    argv = [qemu_binary(), "-nodefaults", "-no-reboot", "-display", "none", "-serial", "stdio",
            "-accel", "kvm", "-cpu", "host", "-m", "512M", "-smp", "1", "-kernel", str(kernel),
            "-initrd", str(initrd), "-append", "console=ttyS0 panic=-1 rdinit=/bin/true"]
    seen = []

    def on_line(line):
        if "Linux version" in line:
            seen.append(line)

    try:
        res = run_qemu(argv, timeout, on_line=on_line, end_marker="Linux version", end_grace=0.0)
        usable = bool(seen) and "KVM internal error" not in res.console
    except OSError:
        usable = False
    if cache_file is not None:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            cache_file.write_text(json.dumps({"key": key, "usable": usable}))
        except OSError:
            pass
    return usable
