"""porter verify end to end: (build) -> initramfs -> boot N times per pmem mode -> parse -> summary.

A "side" is one kernel: the tree as given, the tree with --patch applied (in a copy), or the tree at
--base REF (exported with `git archive`). The user's tree is only ever read.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from porter.errors import PorterError
from porter.verify import qemu
from porter.verify.build import CACHE_ROOT, Progress, build_kernel, default_build_dir, kill_group, run_logged
from porter.verify.console import ConsoleReport, parse_console
from porter.verify.initramfs import InitramfsSpec, build_initramfs, find_busybox


@dataclass
class Options:
    modes: list[str]
    boots: int = 1
    timeout: float = 120.0
    accel: str = "auto"
    memory: str | None = None
    pmem_size: str = "512M"
    append: tuple[str, ...] = ()
    modules: Path | None = None
    jobs: int | None = None
    use_ccache: bool = True
    expect_init_line: bool = True
    log_dir: Path | None = None


@dataclass
class Boot:
    mode: str
    index: int
    seconds: float
    timed_out: bool
    report: ConsoleReport
    console_path: Path | None


@dataclass
class Side:
    label: str
    tree: Path | None
    desc: str = ""
    kernel: Path | None = None
    build: dict | None = None
    boots: list[Boot] = field(default_factory=list)
    placement: list[dict] = field(default_factory=list)  # --patch: how porter placed each hunk (after side)

    def mode_boots(self, mode: str) -> list[Boot]:
        return [b for b in self.boots if b.mode == mode]

    @property
    def verdict(self) -> str:
        if not self.boots:
            return "FAIL"
        return "PASS" if all(b.report.passed for b in self.boots) else "FAIL"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def mode_summary(side: Side, mode: str) -> dict:
    boots = side.mode_boots(mode)
    ms = [b.report.init_lines[0].ms for b in boots if b.report.init_lines]
    pages = [b.report.init_lines[0].pages for b in boots if b.report.init_lines]
    return {
        "mode": mode,
        "verdict": "PASS" if boots and all(b.report.passed for b in boots) else "FAIL",
        "boots": len(boots),
        "init_pages": pages[0] if pages else None,
        "init_ms": ms,
        "init_ms_median": median(ms),
        "boot_seconds": [round(b.seconds, 2) for b in boots],
        "boot_seconds_median": median([b.seconds for b in boots]),
        "pmem": [{"name": d.name, "bytes": d.bytes, "rw": d.rw} for d in (boots[0].report.pmem if boots else [])],
    }


# ---------------------------------------------------------------- trees

def _mirror_paths(tree: Path, build_dir: Path, scratch: Path) -> tuple[Path, Path]:
    """Place the copy and its build dir under `scratch` so that the copy's path relative to its build
    dir equals the original's: with CCACHE_BASEDIR the compiler command lines are then identical and
    every unchanged file is a ccache hit."""
    base = Path(os.path.commonpath([str(tree), str(build_dir)]))
    return scratch / tree.relative_to(base), scratch / build_dir.relative_to(base)


def copy_tree(src: Path, dst: Path, progress: Progress | None = None):
    dst.parent.mkdir(parents=True, exist_ok=True)
    if progress:
        progress.update(f"copying {src} (the tree itself is never modified)", force=True)
    run_logged(["cp", "-a", "--", str(src), str(dst)], label="copy tree")


@dataclass
class PortedPatch:
    """--patch placed by porter's own ladder (the code path of `porter apply` and `lint --patch`) on the tree
    itself, in memory: the contents to lay over the copy, and how each hunk was placed."""

    name: str
    after: dict[str, bytes | None]
    before: dict[str, bytes | None]
    hunks: list[dict]  # porter.report.outcome_dict per hunk: rung, target file:line, evidence

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for path in sorted(self.after):
            h.update(path.encode("utf-8", "surrogateescape") + b"\0" + (self.after[path] or b"\1") + b"\0")
        return h.hexdigest()[:12]


def ported_from_result(name: str, result) -> PortedPatch:
    """A PortResult (porter.porting) whose every hunk was placed, as the overlay verify builds."""
    from porter.report import outcome_dict

    return PortedPatch(name, dict(result.after), dict(result.before), [outcome_dict(o) for o in result.outcomes])


def port_patch(tree: Path, patch: Path) -> PortedPatch:
    """Place `patch` onto `tree` with porter (read only): a drifted tree gets the patch where its code went."""
    from porter.intake import parse_series, read_input
    from porter.porting import port
    from porter.tree import Tree

    series = parse_series(read_input(str(patch)), str(patch))
    result = port(series, Tree(name=str(tree), root=tree))
    refused = [o for o in result.outcomes if not o.placed]
    if refused:
        first = refused[0]
        raise PorterError(f"--patch {patch}: {len(refused)} hunk(s) could not be placed in {tree} (first: "
                          f"{first.patch_file} hunk {first.number}: {first.result.reason}); nothing built")
    if not result.changed:
        raise PorterError(f"--patch {patch}: already applied in {tree}; nothing to compare")
    return ported_from_result(patch.name, result)


def apply_patch(copy: Path, ported: PortedPatch):
    """Lay the ported files over the copy with porter's own writer (porter.write: all-or-nothing, the same
    checks as `porter apply`), never touching the tree itself."""
    from types import SimpleNamespace

    from porter.tree import Tree
    from porter.write.changes import changes_of
    from porter.write.transaction import TreeWrite, write_all

    target = SimpleNamespace(tree=Tree(name=str(copy), root=copy))
    write_all([TreeWrite(target, changes_of(ported))], series=None)


def export_ref(tree: Path, ref: str, dst: Path):
    """The tree at REF via `git archive` (reads the repository, writes nothing in it)."""
    proc = subprocess.run(["git", "-C", str(tree), "rev-parse", "--verify", "--quiet", ref + "^{commit}"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise PorterError(f"--base {ref}: not a commit in {tree}")
    dst.mkdir(parents=True, exist_ok=True)
    arch = subprocess.Popen(["git", "-C", str(tree), "archive", "--format=tar", proc.stdout.strip()],
                            stdout=subprocess.PIPE, start_new_session=True)
    try:
        tar = subprocess.run(["tar", "-x", "-C", str(dst)], stdin=arch.stdout, capture_output=True)
        arch.stdout.close()
        arch.wait()
    except BaseException:
        kill_group(arch)
        raise
    if arch.returncode != 0 or tar.returncode != 0:
        raise PorterError(f"--base {ref}: git archive failed: {tar.stderr.decode(errors='replace')}")


def remove_copy(copy: Path):
    """Delete a tree copy and the then-empty directories above it (up to the variants/<tag> root)."""
    shutil.rmtree(copy, ignore_errors=True)
    parent = copy.parent
    root = CACHE_ROOT / "variants"
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


def scratch_root(tree: Path, what: str) -> Path:
    tag = hashlib.sha256(f"{tree}\0{what}".encode()).hexdigest()[:12]
    return CACHE_ROOT / "variants" / tag


# ---------------------------------------------------------------- boots

_KVM_DECISION: dict[str, str] = {}


def choose_accel(opts: Options, kernel: Path, initrd: Path, progress: Progress | None) -> str:
    if opts.accel in ("kvm", "tcg"):
        return opts.accel
    if "auto" not in _KVM_DECISION:
        if progress:
            progress.update("probing KVM with a short real boot ...", force=True)
        ok = qemu.kvm_usable(kernel, initrd, cache_dir=CACHE_ROOT)
        _KVM_DECISION["auto"] = "kvm" if ok else "tcg"
    return _KVM_DECISION["auto"]


def boot_side(side: Side, opts: Options, progress: Progress | None, workdir: Path) -> None:
    find_busybox()
    log_dir = opts.log_dir
    for mode in opts.modes:
        initrd = workdir / f"initramfs-{mode}.cpio.gz"
        build_initramfs(InitramfsSpec(mode=mode, modules_dir=opts.modules), initrd)
        accel = choose_accel(opts, side.kernel, initrd, progress)
        for i in range(opts.boots):
            label = f"boot {side.label} {mode} {i + 1}/{opts.boots} ({accel})"
            state = {"stage": "starting"}

            def on_line(line, state=state, label=label):
                if "Linux version" in line:
                    state["stage"] = "kernel"
                elif "PORTER-INIT" in line:
                    state["stage"] = "init"
                elif "initialised" in line and "memmap_init_zone_device" in line:
                    state["stage"] = "pmem"
                elif "Kernel panic" in line:
                    state["stage"] = "PANIC"
                if progress:
                    progress.update(f"{label}: {state['stage']}")

            log_path = (log_dir / f"{side.label}-{mode}-{i + 1}.console") if log_dir else None
            spec = qemu.BootSpec(kernel=side.kernel, initrd=initrd, mode=mode, accel=accel, memory=opts.memory,
                                 pmem_size=opts.pmem_size, timeout=opts.timeout, append=opts.append,
                                 workdir=workdir)
            res = qemu.boot(spec, on_line=on_line, log_path=log_path)
            rep = parse_console(res.console, expect_init_line=opts.expect_init_line, timed_out=res.timed_out,
                                timeout=opts.timeout)
            # boot-to-verdict: until init's last line (or until QEMU ended, when it never came)
            secs = res.verdict_seconds if res.verdict_seconds is not None else res.seconds
            side.boots.append(Boot(mode=mode, index=i + 1, seconds=secs, timed_out=res.timed_out,
                                   report=rep, console_path=log_path))
            if progress:
                init = rep.init_lines[0] if rep.init_lines else None
                extra = f", init {init.pages} pages in {init.ms} ms" if init else ""
                progress.done(f"{label}: {rep.verdict} in {secs:.1f}s{extra}")


def run(*, tree: Path | None, kernel: Path | None, base: str | None, patch: Path | PortedPatch | None,
        build_dir: Path | None, opts: Options, progress: Progress | None) -> list[Side]:
    """Build/boot every side; returns them in order (before first)."""
    if opts.log_dir is None:
        opts.log_dir = CACHE_ROOT / "logs" / time.strftime("%Y%m%d-%H%M%S")
    opts.log_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="porter-verify-"))
    copies: list[Path] = []
    sides: list[Side] = []
    ported: PortedPatch | None = None
    try:
        if kernel is not None:
            side = Side(label="kernel", tree=None, kernel=Path(kernel).resolve(), desc=str(kernel))
            boot_side(side, opts, progress, work)
            return [side]
        tree = Path(tree).resolve()
        bdir = Path(build_dir).resolve() if build_dir else default_build_dir(tree)
        plan: list[tuple[str, Path, Path, str]] = []
        if base is not None:
            scratch = scratch_root(tree, "base:" + base)
            copy, cbdir = _mirror_paths(tree, bdir, scratch)
            shutil.rmtree(copy, ignore_errors=True)
            copies.append(copy)
            if progress:
                progress.update(f"exporting {base} from {tree}", force=True)
            export_ref(tree, base, copy)
            plan.append(("before", copy, cbdir, f"{tree} at {base}"))
            plan.append(("after", tree, bdir, f"{tree} (working tree)"))
        elif patch is not None:
            if not isinstance(patch, PortedPatch):
                patch = Path(patch)
                if not patch.is_file():
                    raise PorterError(f"--patch {patch}: no such file")
                # Placed before the copy is made: a patch that does not port costs no copy of the tree.
                patch = port_patch(tree, patch)
            ported = patch
            scratch = scratch_root(tree, "patch:" + ported.digest)
            copy, cbdir = _mirror_paths(tree, bdir, scratch)
            shutil.rmtree(copy, ignore_errors=True)
            copies.append(copy)
            copy_tree(tree, copy, progress)
            apply_patch(copy, ported)
            plan.append(("before", tree, bdir, f"{tree}"))
            plan.append(("after", copy, cbdir, f"{tree} + {ported.name}"))
        else:
            plan.append(("tree", tree, bdir, str(tree)))
        for label, t, b, desc in plan:
            res = build_kernel(t, b, jobs=opts.jobs, progress=progress, use_ccache=opts.use_ccache,
                               label=f"build {label} ({t.name})")
            side = Side(label=label, tree=t, desc=desc, kernel=res.bzimage,
                        build={"seconds": round(res.seconds, 1), "config_seconds": round(res.config_seconds, 1),
                               "build_dir": str(res.build_dir), "ccache": res.ccache,
                               "configured": res.configured, "log": str(res.log_path)})
            if label == "after" and ported is not None:
                side.placement = ported.hunks
            sides.append(side)
        # boot after all builds: the copies can go as soon as the kernels exist
        for c in copies:
            remove_copy(c)
        for side in sides:
            boot_side(side, opts, progress, work)
        return sides
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for c in copies:
            remove_copy(c)
