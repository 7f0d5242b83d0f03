"""Kill test (issue 10): `porter apply` of a 300-file patch, interrupted by SIGINT or SIGKILL at seeded random
moments, at moments aimed at the write (once its journal appears), and exactly at the first rename / half-way
through the renames / right after staging (PORTER_TEST_SIGNAL_AT makes porter signal itself there).

After SIGINT the tree is exactly the old or exactly the new one, with no journal or temp file left. After
SIGKILL the next porter command naming the tree (`porter apply --dry-run`) restores a whole state and, when it
rolled a write back, says so in one line."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.corpus import snapshot

N_FILES = 300
REPO = Path(__file__).resolve().parent.parent


def _tree(root: Path, new: bool) -> None:
    root.mkdir(parents=True)
    (root / "Makefile").write_text("obj-y += lib/\n")
    (root / "include/linux").mkdir(parents=True)
    (root / "include/linux/kernel.h").write_text("#define KERNEL 1\n")
    for i in range(N_FILES):
        d = root / f"lib/d{i % 12}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.c").write_text(f"int a{i};\nint {'B' if new else 'b'}{i};\nint c{i};\n")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("kill")
    _tree(base / "old", new=False)
    _tree(base / "new", new=True)
    proc = subprocess.run(["git", "diff", "--no-index", "old", "new"], cwd=base, capture_output=True, check=False)
    text = proc.stdout.decode().replace("a/old/", "a/").replace("b/new/", "b/")
    # No `index` lines: there is no repository to look pre-images up in, and the lookups only cost time.
    text = "".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith("index "))
    (base / "p.patch").write_text(text)
    assert text.count("diff --git") == N_FILES
    old, new = snapshot(base / "old"), snapshot(base / "new")
    # How long an uninterrupted run takes, to spread the random kills over it.
    work = base / "baseline"
    shutil.copytree(base / "old", work)
    t0 = time.monotonic()
    res = _porter(base, "apply", "p.patch", "--tree", str(work))
    duration = time.monotonic() - t0
    assert res.returncode == 0, res.stderr
    assert snapshot(work) == new
    return base, old, new, duration


def _env(extra: dict | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), **(extra or {})}
    env.pop("PORTER_TEST_SIGNAL_AT", None)
    env.update(extra or {})
    return env


def _porter(base: Path, *args: str, extra: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "porter", *args], cwd=base, capture_output=True, text=True,
                          env=_env(extra), timeout=120, check=False)


def _journal_exists(tree: Path) -> bool:
    try:
        return any(n.startswith(".porter-journal") for n in os.listdir(tree))
    except OSError:
        return False


def _debris(tree: Path) -> list[str]:
    return [str(p.relative_to(tree)) for p in tree.rglob(".porter*")]


def _trial(setup, name: str, sig: int, delay: float | None = None, aimed: bool = False, at: str | None = None):
    base, old, new, _ = setup
    tree = base / name
    shutil.copytree(base / "old", tree)
    extra = {"PORTER_TEST_SIGNAL_AT": f"{at}:{signal.Signals(sig).name[3:]}"} if at else None
    proc = subprocess.Popen([sys.executable, "-m", "porter", "apply", "p.patch", "--tree", str(tree)], cwd=base,
                            env=_env(extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if not at:
        if aimed:
            deadline = time.monotonic() + 60
            while not _journal_exists(tree) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.0005)
        time.sleep(delay or 0)
        if proc.poll() is None:
            proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    state = snapshot(tree)
    if sig != signal.SIGKILL:
        assert state in (old, new), f"{name}: mixed tree after {signal.Signals(sig).name}"
        assert _debris(tree) == [], f"{name}: leftovers {_debris(tree)}"
        if sig == signal.SIGINT and proc.returncode == 130:
            # The one line says what happened, and it is true.
            assert ("after writing" in err) == (state == new), err
        return "old" if state == old else "new"
    # SIGKILL: the next porter command naming the tree restores a whole state.
    # A recorded journal means the tree may be half-written: it must be rolled back. (A `.done` journal is a
    # finished write whose clean-up was cut short: the tree is the new one.)
    had_record = any((tree / n / "journal.json").exists() for n in os.listdir(tree)
                     if n.startswith(".porter-journal") and not n.endswith(".done"))
    res = _porter(base, "apply", "p.patch", "--tree", str(tree), "--dry-run")
    assert res.returncode == 0, res.stderr
    notes = [ln for ln in res.stderr.splitlines() if "interrupted porter write" in ln]
    after = snapshot(tree)
    assert after in (old, new), f"{name}: mixed tree after SIGKILL and recovery"
    assert _debris(tree) == [], f"{name}: leftovers {_debris(tree)}"
    if had_record:
        assert after == old and len(notes) == 1 and "rolled back" in notes[0], res.stderr
    return "old" if after == old else "new"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["INT", "TERM", "KILL"])
@pytest.mark.parametrize("at", ["first-rename", "mid-rename", "prepared"])
def test_signal_at_exact_point(setup, sig, at):
    outcome = _trial(setup, f"at-{at}-{sig}", sig, at=at)
    # SIGINT/SIGTERM are held during the write and delivered after it: the write completes. SIGKILL cannot
    # be held: the next command rolls the write back from the journal.
    assert outcome == ("old" if sig == signal.SIGKILL else "new")


def test_signals_at_random_moments(setup):
    rng = random.Random(1010)
    duration = setup[3]
    outcomes = []
    for n in range(8):
        sig = rng.choice([signal.SIGINT, signal.SIGKILL])
        aimed = n % 2 == 1
        delay = rng.uniform(0, 0.03) if aimed else rng.uniform(0, duration)
        outcomes.append((sig, aimed, _trial(setup, f"random-{n}", sig, delay, aimed)))
    assert len(outcomes) == 8
