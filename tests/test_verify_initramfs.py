"""porter verify's initramfs and config helpers (fast, no QEMU)."""

import gzip
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from porter.errors import PorterError
from porter.verify import config as kconfig
from porter.verify.initramfs import (
    CpioWriter,
    InitramfsSpec,
    _is_static_elf,
    build_initramfs,
    find_modules,
    render_init,
)


def read_newc(data: bytes) -> dict:
    """name -> (mode, payload) from a newc archive (independent reader for the test)."""
    out, pos = {}, 0
    while True:
        assert data[pos:pos + 6] == b"070701", pos
        fields = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        mode, filesize, namesize = fields[1], fields[6], fields[11]
        name = data[pos + 110: pos + 110 + namesize - 1].decode()
        pos = (pos + 110 + namesize + 3) & ~3
        payload = data[pos: pos + filesize]
        pos = (pos + filesize + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out[name] = (mode, payload)


def test_cpio_writer_roundtrip():
    w = CpioWriter()
    w.dir("bin")
    w.file("bin/x", b"hello", 0o755)
    w.symlink("bin/sh", "busybox")
    w.chardev("dev/console", 5, 1)
    entries = read_newc(w.finish())
    assert stat.S_ISDIR(entries["bin"][0])
    assert entries["bin/x"] == (stat.S_IFREG | 0o755, b"hello")
    assert stat.S_ISLNK(entries["bin/sh"][0]) and entries["bin/sh"][1] == b"busybox"
    assert stat.S_ISCHR(entries["dev/console"][0])


@pytest.mark.skipif(not shutil.which("cpio"), reason="cpio not installed")
def test_cpio_writer_readable_by_cpio():
    w = CpioWriter()
    w.dir("bin")
    w.file("bin/x", b"hello")
    proc = subprocess.run(["cpio", "-t"], input=w.finish(), capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().split() == ["bin", "bin/x"]


def test_render_init_fills_every_field():
    text = render_init(InitramfsSpec(mode="nvdimm-pmem", rw_mib=8, pfn_uuid="u-u-i-d"), ["libnvdimm", "nd_pmem"])
    assert "@@" not in text
    assert 'MODE="nvdimm-pmem"' in text and "RW_MIB=8" in text and 'MODULES="libnvdimm nd_pmem"' in text
    assert text.startswith("#!/bin/busybox sh")


def test_init_script_is_valid_sh():
    sh = shutil.which("sh")
    text = render_init(InitramfsSpec(), [])
    proc = subprocess.run([sh, "-n"], input=text, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_build_initramfs_with_modules(tmp_path):
    mods = tmp_path / "lib" / "modules" / "6.1.0-x" / "kernel" / "drivers"
    (mods / "nvdimm").mkdir(parents=True)
    (mods / "nvdimm" / "libnvdimm.ko").write_bytes(b"\x7fELFlib")
    (mods / "nvdimm" / "nd_pmem.ko.xz").write_bytes(__import__("lzma").compress(b"\x7fELFpmem"))
    (mods / "nvdimm" / "unrelated.ko").write_bytes(b"x")
    found = find_modules(tmp_path)
    assert set(found) == {"libnvdimm", "nd_pmem"}
    fake_busybox = Path(sys.executable)
    out = build_initramfs(InitramfsSpec(mode="legacy", modules_dir=tmp_path), tmp_path / "i.gz",
                          busybox=fake_busybox)
    entries = read_newc(gzip.decompress(out.read_bytes()))
    assert entries["lib/modules/porter/nd_pmem.ko"][1] == b"\x7fELFpmem"
    assert "lib/modules/porter/unrelated.ko" not in entries
    init = entries["init"][1].decode()
    assert 'MODULES="libnvdimm nd_pmem"' in init
    assert entries["init"][0] & 0o111


def test_build_initramfs_rejects_empty_modules_dir(tmp_path):
    with pytest.raises(PorterError):
        build_initramfs(InitramfsSpec(modules_dir=tmp_path), tmp_path / "i.gz", busybox=Path(sys.executable))


@pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="busybox-static not installed")
def test_debian_busybox_is_static():
    assert _is_static_elf(Path("/bin/busybox"))


def test_static_elf_check_on_dynamic_binary():
    ls = Path(shutil.which("ls")).resolve()
    assert not _is_static_elf(ls)  # Debian's ls has a PT_INTERP
    assert not _is_static_elf(Path(__file__))


def test_fragment_parses_and_has_the_must_haves():
    frag = kconfig.parse_config(kconfig.fragment_path().read_text())
    for sym in ("CONFIG_64BIT", "CONFIG_PCI", "CONFIG_ZONE_DEVICE", "CONFIG_X86_PMEM_LEGACY", "CONFIG_ACPI_NFIT",
                "CONFIG_BLK_DEV_PMEM", "CONFIG_DYNAMIC_DEBUG", "CONFIG_SERIAL_8250_CONSOLE", "CONFIG_DEVTMPFS"):
        assert frag[sym] == "y", sym


def test_check_config_reports_dropped_symbols():
    frag = "CONFIG_PCI=y\nCONFIG_ZONE_DEVICE=y\n"
    final = "CONFIG_PCI=y\n# CONFIG_ZONE_DEVICE is not set\n"
    assert kconfig.check_config(final, frag) == [("CONFIG_ZONE_DEVICE", "y", "n")]
    assert kconfig.check_config("CONFIG_PCI=y\nCONFIG_ZONE_DEVICE=y\n", frag) == []


def test_configure_steps_are_argv_lists(tmp_path):
    steps = kconfig.configure_steps(Path("/src/linux"), tmp_path, ["CC=ccache gcc"], Path("/f.config"))
    assert steps[0][-1] == "tinyconfig" and f"O={tmp_path}" in steps[0]
    assert steps[1][:3] == ["sh", "/src/linux/scripts/kconfig/merge_config.sh", "-m"]
    assert steps[2][-1] == "olddefconfig"


def _elf_with_note(name: bytes, ntype: int) -> bytes:
    import struct
    desc = b"\0" * 4
    note = struct.pack("<III", len(name) + 1, len(desc), ntype) + name + b"\0" * (4 - len(name) % 4) + desc
    ehdr = bytearray(64)
    ehdr[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", ehdr, 32, 64)           # e_phoff
    struct.pack_into("<HH", ehdr, 54, 56, 1)       # e_phentsize, e_phnum
    phdr = bytearray(56)
    struct.pack_into("<I", phdr, 0, 4)             # PT_NOTE
    struct.pack_into("<Q", phdr, 8, 64 + 56)       # p_offset
    struct.pack_into("<Q", phdr, 32, len(note))    # p_filesz
    return bytes(ehdr + phdr) + note


def test_pvh_note_detection_and_extraction():
    import lzma

    from porter.verify.pvh import extract_vmlinux, has_pvh_note
    elf = _elf_with_note(b"Xen", 18)
    assert has_pvh_note(elf)
    assert not has_pvh_note(_elf_with_note(b"Xen", 17))
    assert not has_pvh_note(_elf_with_note(b"GNU", 18))
    fake_bz = b"MZ setup code" + lzma.compress(elf, format=lzma.FORMAT_XZ) + b"trailer"
    assert extract_vmlinux(fake_bz) == elf
    fake_gz = b"MZ" + gzip.compress(elf)
    assert extract_vmlinux(fake_gz) == elf
    assert extract_vmlinux(b"MZ" + lzma.compress(_elf_with_note(b"GNU", 1), format=lzma.FORMAT_XZ)) is None
