"""Debian's prebuilt kernel (linux-image-*-amd64) for testing the boot path without building.

Fetched with the system's apt configuration (`apt-cache search`, `apt-get download`), unpacked with
`dpkg-deb --fsys-tarfile` (only vmlinuz and the pmem modules are kept). It cannot test a modified tree.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from porter.errors import PorterError
from porter.verify.build import CACHE_ROOT
from porter.verify.initramfs import MODULE_SUFFIXES, PMEM_MODULES
from porter.verify.pvh import pvh_kernel

_PKG = re.compile(r"^(linux-image-(\d+)\.(\d+)\.(\d+)-(\d+)-amd64)\s")


@dataclass
class DebianKernel:
    package: str
    kernel: Path  # the bzImage (vmlinuz)
    modules: Path
    pvh: Path | None = None  # the ELF inside it, bootable through PVH (much faster under TCG)


def _finish(dest: Path) -> DebianKernel:
    pvh = pvh_kernel(dest / "vmlinuz", dest / "vmlinux")
    return DebianKernel(package=dest.name, kernel=dest / "vmlinuz", modules=dest / "modules", pvh=pvh)


def candidates(series: str = "6.1") -> list[str]:
    """linux-image-<series>.0-N-amd64 packages the apt index lists, newest ABI first."""
    if not shutil.which("apt-cache"):
        raise PorterError("apt-cache not found: Debian's kernel needs apt")
    out = subprocess.run(["apt-cache", "search", "--names-only", f"^linux-image-{re.escape(series)}"],
                         capture_output=True, text=True, check=False).stdout
    found = []
    for line in out.splitlines():
        m = _PKG.match(line)
        if m and f"{m.group(2)}.{m.group(3)}" == series:
            found.append((int(m.group(5)), m.group(1)))
    return [name for _abi, name in sorted(found, reverse=True)]


def _extract(deb: Path, dest: Path) -> DebianKernel:
    wanted_mods = {m + s for m in PMEM_MODULES for s in MODULE_SUFFIXES}
    tar_proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    kernel = None
    try:
        with tarfile.open(fileobj=tar_proc.stdout, mode="r|") as tf:
            for member in tf:
                base = member.name.rsplit("/", 1)[-1]
                if not member.isfile():
                    continue
                if "/boot/vmlinuz-" in "/" + member.name.lstrip("./"):
                    target = dest / "vmlinuz"
                elif base in wanted_mods:
                    target = dest / "modules" / base
                else:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tf.extractfile(member)
                with open(target, "wb") as f:
                    shutil.copyfileobj(src, f)
                if target.name == "vmlinuz":
                    kernel = target
    finally:
        tar_proc.stdout.close()
        tar_proc.wait()
    if kernel is None:
        raise PorterError(f"{deb.name}: no /boot/vmlinuz-* inside")
    return DebianKernel(package=deb.name, kernel=kernel, modules=dest / "modules")


def fetch(series: str = "6.1", cache_dir: Path | None = None) -> DebianKernel:
    """Download (once) and unpack the newest listed linux-image-<series>.0-N-amd64; on a failed download
    fall back to the next listed version."""
    cache_dir = Path(cache_dir or CACHE_ROOT / "debian-kernel")
    for existing in sorted(cache_dir.glob(f"linux-image-{series}.*"), reverse=True):
        if (existing / "vmlinuz").is_file() and (existing / "modules").is_dir():
            return _finish(existing)
    names = candidates(series)
    if not names:
        raise PorterError(f"apt lists no linux-image-{series}.0-*-amd64 package (apt-get update?)")
    errors = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix="porter-deb-") as tmp:
            proc = subprocess.run(["apt-get", "download", name], cwd=tmp, capture_output=True, text=True)
            debs = list(Path(tmp).glob("*.deb"))
            if proc.returncode != 0 or not debs:
                errors.append(f"{name}: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
                continue
            dest = cache_dir / name
            part = cache_dir / (name + ".part")
            shutil.rmtree(part, ignore_errors=True)
            part.mkdir(parents=True)
            try:
                _extract(debs[0], part)
            except BaseException:
                shutil.rmtree(part, ignore_errors=True)
                raise
            shutil.rmtree(dest, ignore_errors=True)
            part.rename(dest)
            return _finish(dest)
    raise PorterError("could not download a Debian kernel: " + "; ".join(errors))
