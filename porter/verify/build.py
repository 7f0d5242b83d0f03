"""Build a kernel out of tree (`make O=`), with ccache when installed, showing progress.

Every child runs in its own process group; on any exception (Ctrl-C included) the whole group is killed,
so no make or compiler outlives porter.
"""

from __future__ import annotations

import hashlib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from porter import cachedir
from porter.errors import PorterError
from porter.verify import config as kconfig

CACHE_ROOT = cachedir.cache_root()
_STEP = re.compile(r"^\s+(CC|LD|AR|AS|HOSTCC|OBJCOPY|GEN|CHK|UPD|VDSO\w*|MKPIGGY|ZOFFSET|BUILD|SYSMAP)\s+(\S+)")


def default_build_dir(tree: Path) -> Path:
    tree = Path(tree).resolve()
    tag = hashlib.sha256(str(tree).encode()).hexdigest()[:8]
    return CACHE_ROOT / "build" / f"{tree.name}-{tag}"


def ccache_env(tree: Path, build_dir: Path, env: dict | None = None) -> tuple[dict, list[str]]:
    """Environment and make variables for ccache (none when ccache is not installed).

    CCACHE_BASEDIR is the common ancestor of tree and build dir, so the compiler command lines
    become relative and hits cross build directories."""
    env = dict(os.environ if env is None else env)
    ccache = shutil.which("ccache")
    if not ccache:
        return env, []
    env.setdefault("CCACHE_DIR", str(CACHE_ROOT / "ccache"))
    base = os.path.commonpath([str(Path(tree).resolve()), str(Path(build_dir).resolve())])
    if base != "/":
        env.setdefault("CCACHE_BASEDIR", base)
    env.setdefault("CCACHE_MAXSIZE", "5G")
    return env, [f"CC={Path(ccache).name} gcc"]


def kill_group(proc: subprocess.Popen, grace: float = 3.0):
    """SIGTERM the whole process group (make, QEMU and their children), then SIGKILL; always reap."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


class Progress:
    """One status line on stderr, rewritten in place on a terminal, every few seconds otherwise."""

    def __init__(self, enabled: bool = True, stream=None):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0
        self._width = 0

    def update(self, text: str, force: bool = False):
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < (0.2 if self.tty else 10.0):
            return
        self._last = now
        if self.tty:
            text = text[:150]
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self, text: str):
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r" + text + " " * max(0, self._width - len(text)) + "\n")
            self._width = 0
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


@dataclass
class StepLog:
    lines: list[str] = field(default_factory=list)
    keep: int = 400

    def add(self, line: str):
        self.lines.append(line)
        if len(self.lines) > self.keep:
            del self.lines[: len(self.lines) - self.keep]


def run_logged(argv: list[str], *, cwd: Path | None = None, env: dict | None = None, label: str = "",
               progress: Progress | None = None, log_file=None, timeout: float | None = None) -> StepLog:
    """Run argv in its own process group, stream its output to log_file, show progress, raise
    PorterError on failure with the tail of the output."""
    log = StepLog()
    start = time.monotonic()
    count = 0
    last_target = ""
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        raise PorterError(f"{label or argv[0]}: cannot run {argv[0]}: {exc}") from None
    partial = b""
    try:
        fd = proc.stdout.fileno()
        while True:
            if timeout is not None and time.monotonic() - start > timeout:
                raise PorterError(f"{label}: timed out after {timeout:g} s")
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                if progress:
                    progress.update(f"{label}: {count} steps, {time.monotonic() - start:.0f}s  {last_target}")
                continue
            data = os.read(fd, 65536)
            if not data:
                break
            if log_file:
                log_file.write(data)
            partial += data
            *lines, partial = partial.split(b"\n")
            for raw in lines:
                line = raw.decode("utf-8", "replace")
                log.add(line)
                m = _STEP.match(line)
                if m:
                    count += 1
                    last_target = f"{m.group(1)} {m.group(2)}"
            if progress:
                progress.update(f"{label}: {count} steps, {time.monotonic() - start:.0f}s  {last_target}")
        proc.wait()
    except BaseException:
        kill_group(proc, grace=1.0)
        raise
    finally:
        kill_group(proc)
        proc.stdout.close()
    if partial:
        log.add(partial.decode("utf-8", "replace"))
    if proc.returncode != 0:
        tail = "\n".join(log.lines[-25:])
        raise PorterError(f"{label} failed (exit {proc.returncode}):\n{tail}")
    return log


@dataclass
class BuildResult:
    tree: Path
    build_dir: Path
    bzimage: Path
    seconds: float
    config_seconds: float
    configured: bool
    ccache: bool
    log_path: Path


def build_kernel(tree: Path, build_dir: Path | None = None, *, jobs: int | None = None,
                 progress: Progress | None = None, use_ccache: bool = True, timeout: float | None = None,
                 fragment: Path | None = None, label: str | None = None) -> BuildResult:
    """Configure (once per build dir) and `make bzImage` out of tree."""
    tree = Path(tree).resolve()
    if not (tree / "Makefile").is_file() or not (tree / "arch" / "x86").is_dir():
        raise PorterError(f"{tree}: not a kernel source tree")
    build_dir = Path(build_dir or default_build_dir(tree)).resolve()
    if build_dir == tree or tree in build_dir.parents:
        raise PorterError(f"build dir {build_dir} is inside the tree; porter never writes into the tree")
    build_dir.mkdir(parents=True, exist_ok=True)
    if use_ccache:
        env, make_vars = ccache_env(tree, build_dir)
    else:
        env, make_vars = dict(os.environ), []
    jobs = jobs or os.cpu_count() or 1
    log_path = build_dir / "porter-build.log"
    start = time.monotonic()
    with open(log_path, "wb") as log_file:
        def run(argv, label, cwd=None):
            run_logged(argv, cwd=cwd, env=env, label=label, progress=progress, log_file=log_file, timeout=timeout)

        configured = kconfig.ensure_config(tree, build_dir, run, make_vars, fragment)
        cfg_s = time.monotonic() - start
        argv = ["make", "-C", str(tree), f"O={build_dir}", *make_vars, f"-j{jobs}", "bzImage"]
        t1 = time.monotonic()
        run(argv, label or f"build {tree.name}")
    elapsed = time.monotonic() - t1
    bz = build_dir / "arch" / "x86" / "boot" / "bzImage"
    if not bz.is_file():
        raise PorterError(f"build finished but {bz} is missing")
    if progress:
        progress.done(f"{label or 'build ' + tree.name}: done in {elapsed:.0f}s (config {cfg_s:.0f}s)")
    return BuildResult(tree=tree, build_dir=build_dir, bzimage=bz, seconds=elapsed, config_seconds=cfg_s,
                       configured=configured, ccache=bool(make_vars), log_path=log_path)
