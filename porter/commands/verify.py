"""porter verify: build a kernel tree (or take a prebuilt one) and boot it under QEMU with emulated pmem."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from porter.errors import PorterError

MODE_CHOICES = ("legacy", "nvdimm-ram", "nvdimm-pmem", "all")


@click.command("verify")
@click.option("--tree", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Kernel source tree to build (never modified; built with make O=).")
@click.option("--kernel", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Boot this prebuilt kernel instead of building (bzImage, or an ELF vmlinux with a PVH note).")
@click.option("--modules", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="With --kernel: directory holding libnvdimm/nd_pmem/nd_e820/nd_btt/nfit modules.")
@click.option("--base", metavar="REF", help="Also build and boot the tree at this git ref; compare side by side.")
@click.option("--patch", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Apply this patch to a copy of --tree; build and boot before and after side by side.")
@click.option("--mode", "modes", multiple=True, type=click.Choice(MODE_CHOICES), default=("legacy",),
              show_default=True, help="pmem emulation (repeatable, or 'all').")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Hard limit per boot, seconds.")
@click.option("--boots", type=click.IntRange(1, 50), default=1, show_default=True,
              help="Boots per mode; init times are reported as medians.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path),
              help="make O= directory (default: ~/.cache/porter/build/<tree>-<hash>).")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None, help="make -j (default: CPU count).")
@click.option("--accel", type=click.Choice(("auto", "kvm", "tcg")), default="auto", show_default=True,
              help="auto: KVM only if a real short boot under KVM works, else TCG.")
@click.option("--pmem-size", default="512M", show_default=True, help="Size of the emulated pmem.")
@click.option("--memory", default=None,
              help="Guest RAM (default 2G, more when the legacy pmem needs it: it is carved out of RAM at 1G).")
@click.option("--append", "append", multiple=True, metavar="ARG",
              help="Extra kernel command-line argument (repeatable).")
@click.option("--no-ccache", is_flag=True, help="Do not use ccache even if installed.")
@click.option("--allow-missing-init-line", is_flag=True,
              help="Do not fail when the ZONE_DEVICE init line is absent.")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to keep console logs (default: ~/.cache/porter/logs/<time>).")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def command(tree, kernel, modules, base, patch, modes, timeout, boots, fmt, build_dir, jobs, accel, pmem_size,
            memory, append, no_ccache, allow_missing_init_line, log_dir, quiet):
    """Build a kernel and boot it under QEMU with emulated pmem; judge the serial console.

    \b
    The initramfs (Debian's busybox-static) writes, reads back and compares every /dev/pmem*.
    The verdict is PASS only if init finished, every pmem device passed, the ZONE_DEVICE init line
    was printed, and the console has no WARNING/BUG/Oops/panic/lockdep/KASAN report.
    Exit status: 0 PASS, 1 FAIL, 2 usage error.
    """
    from porter.verify import qemu, report, runner
    from porter.verify.build import Progress

    if (tree is None) == (kernel is None):
        raise PorterError("give exactly one of --tree or --kernel")
    if modules is not None and kernel is None:
        raise PorterError("--modules goes with --kernel")
    if kernel is not None and (base or patch):
        raise PorterError("--base/--patch need --tree (a prebuilt kernel cannot be patched)")
    if base and patch:
        raise PorterError("give --base or --patch, not both")
    mode_list = list(qemu.MODES) if "all" in modes else list(dict.fromkeys(modes))
    qemu.parse_size(pmem_size)
    if memory is not None:
        qemu.parse_size(memory)
    opts = runner.Options(modes=mode_list, boots=boots, timeout=timeout, accel=accel, memory=memory,
                          pmem_size=pmem_size, append=tuple(append), modules=modules, jobs=jobs,
                          use_ccache=not no_ccache, expect_init_line=not allow_missing_init_line,
                          log_dir=log_dir)
    progress = Progress(enabled=not quiet)
    _cleanup_on_termination()
    sides = runner.run(tree=tree, kernel=kernel, base=base, patch=patch, build_dir=build_dir, opts=opts,
                       progress=progress)
    if fmt == "json":
        click.echo(report.to_json(sides, mode_list))
    else:
        click.echo(report.to_text(sides, mode_list))
    sys.exit(0 if report.overall(sides) == "PASS" else 1)


def _cleanup_on_termination():
    """SIGTERM/SIGHUP unwind like Ctrl-C, so the finally blocks kill make/QEMU and remove temp files."""
    def handler(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread
            pass
