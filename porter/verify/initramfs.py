"""The test initramfs: Debian's static busybox, an /init that exercises every /dev/pmem*, optional modules.

The cpio archive ("newc" format) is written here in Python, so no cpio binary and no shell are involved.
"""

from __future__ import annotations

import gzip
import io
import lzma
import os
import shutil
import stat
import subprocess
import uuid as uuidlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from porter.errors import PorterError

# insmod order for a modular kernel (Debian's): dependencies first.
PMEM_MODULES = ("libnvdimm", "nd_btt", "nd_pmem", "nd_e820", "nfit")
MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.gz", ".ko.zst")
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")


def init_template() -> str:
    return resources.files("porter").joinpath("data/verify/init.sh").read_text()


def find_busybox() -> Path:
    """Debian's busybox-static: /bin/busybox must be a static executable."""
    for cand in BUSYBOX_CANDIDATES:
        p = Path(cand)
        if p.is_file() and _is_static_elf(p):
            return p
    raise PorterError("no static busybox found (install Debian's busybox-static)")


def _is_static_elf(path: Path) -> bool:
    """True if the ELF file has no PT_INTERP program header (i.e. is statically linked)."""
    try:
        data = path.read_bytes()[:65536]
    except OSError:
        return False
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit only
        return False
    little = data[5] == 1
    order = "little" if little else "big"
    phoff = int.from_bytes(data[32:40], order)
    phentsize = int.from_bytes(data[54:56], order)
    phnum = int.from_bytes(data[56:58], order)
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 4 > len(data):
            break
        if int.from_bytes(data[off:off + 4], order) == 3:  # PT_INTERP
            return False
    return True


def find_modules(modules_dir: Path, names=PMEM_MODULES) -> dict[str, Path]:
    """Map module name -> file for the pmem modules found anywhere under modules_dir."""
    found: dict[str, Path] = {}
    wanted = set(names)
    for root, _dirs, files in os.walk(modules_dir):
        for fname in files:
            for suffix in MODULE_SUFFIXES:
                if fname.endswith(suffix):
                    name = fname[: -len(suffix)].replace("-", "_")
                    if name in wanted and name not in found:
                        found[name] = Path(root) / fname
    return found


def _read_module(path: Path) -> bytes:
    name = path.name
    if name.endswith(".ko.xz"):
        return lzma.decompress(path.read_bytes())
    if name.endswith(".ko.gz"):
        return gzip.decompress(path.read_bytes())
    if name.endswith(".ko.zst"):
        zstd = shutil.which("zstd")
        if not zstd:
            raise PorterError(f"{path} is zstd-compressed and zstd is not installed")
        return subprocess.run([zstd, "-dc", str(path)], check=True, capture_output=True).stdout
    return path.read_bytes()


class CpioWriter:
    """Minimal SVR4 "newc" cpio writer (what the kernel's initramfs unpacker reads)."""

    def __init__(self):
        self._buf = io.BytesIO()
        self._ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", nlink: int = 1):
        namebytes = name.encode() + b"\0"
        fields = [self._ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(namebytes), 0]
        self._ino += 1
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        self._buf.write(header + namebytes)
        self._pad()
        self._buf.write(data)
        self._pad()

    def _pad(self):
        rem = self._buf.tell() % 4
        if rem:
            self._buf.write(b"\0" * (4 - rem))

    def dir(self, name: str, perm: int = 0o755):
        self._entry(name, stat.S_IFDIR | perm, nlink=2)

    def file(self, name: str, data: bytes, perm: int = 0o644):
        self._entry(name, stat.S_IFREG | perm, data)

    def symlink(self, name: str, target: str):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name: str, major: int, minor: int, perm: int = 0o600):
        namebytes = name.encode() + b"\0"
        fields = [self._ino, stat.S_IFCHR | perm, 0, 0, 1, 0, 0, 0, 0, major, minor, len(namebytes), 0]
        self._ino += 1
        self._buf.write(b"070701" + b"".join(b"%08X" % f for f in fields) + namebytes)
        self._pad()

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0, nlink=1)
        return self._buf.getvalue()


@dataclass
class InitramfsSpec:
    mode: str = "legacy"
    modules_dir: Path | None = None
    rw_mib: int = 1
    pfn_uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))


def render_init(spec: InitramfsSpec, module_names) -> str:
    text = init_template()
    values = {
        "MODE": spec.mode,
        "PFN_UUID": spec.pfn_uuid,
        "RW_MIB": str(int(spec.rw_mib)),
        "MODULES": " ".join(module_names),
    }
    for key, val in values.items():
        text = text.replace(f"@@{key}@@", val)
    return text


def build_initramfs(spec: InitramfsSpec, out: Path, busybox: Path | None = None) -> Path:
    """Write a gzip-compressed newc cpio to `out` and return it."""
    busybox = busybox or find_busybox()
    modules: dict[str, Path] = {}
    if spec.modules_dir is not None:
        if not Path(spec.modules_dir).is_dir():
            raise PorterError(f"--modules {spec.modules_dir}: not a directory")
        modules = find_modules(Path(spec.modules_dir))
        if not modules:
            raise PorterError(f"--modules {spec.modules_dir}: none of {', '.join(PMEM_MODULES)} found")
    order = [m for m in PMEM_MODULES if m in modules]
    w = CpioWriter()
    for d in ("bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules", "lib/modules/porter"):
        w.dir(d)
    w.chardev("dev/console", 5, 1)
    w.chardev("dev/null", 1, 3, 0o666)
    w.file("bin/busybox", busybox.read_bytes(), 0o755)
    w.symlink("bin/sh", "busybox")
    for name in order:
        w.file(f"lib/modules/porter/{name}.ko", _read_module(modules[name]), 0o644)
    w.file("init", render_init(spec, order).encode(), 0o755)
    data = gzip.compress(w.finish(), compresslevel=6, mtime=0)
    out.write_bytes(data)
    return out
