"""Kill test (issue 10): `porter apply` of a 300-file patch, interrupted by SIGINT or SIGKILL at seeded random
moments, at moments aimed at the write (once its journal appears), and exactly at the first rename / half-way
through the renames / right after staging (PORTER_TEST_SIGNAL_AT makes porter signal itself there).

After SIGINT or SIGTERM the tree is exactly the old or exactly the new one, with no journal or temp file left,
and one line says which. After SIGKILL a dry run refuses the half-written tree without touching it, and the
next porter run that may write restores a whole state first and, when it rolled a write back, says so in one
line. Two runs on one tree at once take turns (write/treelock.py)."""

from __future__ import annotations

import json
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


@pytest.fixture(scope="module", autouse=True)
def _signals_not_ignored():
    """A CI job started in the background of a non-interactive shell inherits SIGINT ignored, and so would
    porter (an ignored signal stays ignored across exec; Python then installs no KeyboardInterrupt handler):
    every SIGINT trial would pass without testing anything. Handled signals are reset to the default by exec."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig, handler in saved.items():
        if handler == signal.SIG_IGN:
            signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


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
    if at:
        # porter signalled itself inside the write: the signal was held and delivered after it (INT: the
        # one line and 130; TERM: death by the signal), or SIGKILL killed it on the spot.
        expected = {signal.SIGINT: 130, signal.SIGTERM: 128 + signal.SIGTERM, signal.SIGKILL: -signal.SIGKILL}[sig]
        assert proc.returncode == expected, (proc.returncode, err[-2000:])
        if sig == signal.SIGINT:
            assert err.splitlines()[-1] == f"porter: interrupted after writing {tree}", err[-2000:]
        if sig == signal.SIGTERM:
            assert err.splitlines()[-1] == f"porter: terminated by SIGTERM after writing {tree}", err[-2000:]
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
    if had_record:
        # A dry run writes nothing, not even a rollback: it says the tree may be half written.
        killed = snapshot(tree)
        res = _porter(base, "apply", "p.patch", "--tree", str(tree), "--dry-run")
        assert res.returncode == 2 and "interrupted porter write" in res.stderr, res.stderr
        assert snapshot(tree) == killed
    # The next run that may write recovers first; this one then refuses its patch (a file the tree lacks).
    (base / "nope.patch").write_text("--- a/no/such.c\n+++ b/no/such.c\n@@ -1 +1 @@\n-a\n+b\n")
    res = _porter(base, "apply", "nope.patch", "--tree", str(tree))
    assert res.returncode in (1, 2) and "Traceback" not in res.stderr, res.stderr
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


def _two_line_tree(root: Path) -> None:
    root.mkdir(parents=True)
    (root / "Makefile").write_text("obj-y += lib/\n")
    (root / "include/linux").mkdir(parents=True)
    (root / "include/linux/kernel.h").write_text("#define KERNEL 1\n")
    (root / "lib").mkdir()
    (root / "lib/f.c").write_text("".join(f"int v{i};\n" for i in range(40)))


A_PATCH = "--- a/{p}\n+++ b/{p}\n@@ -2,3 +2,3 @@\n int v1;\n-int v2;\n+int A2;\n int v3;\n"
B_PATCH = "--- a/{p}\n+++ b/{p}\n@@ -30,3 +30,3 @@\n int v29;\n-int v30;\n+int B30;\n int v31;\n"


def _a_paused_then_b(tmp_path: Path, a_trees: list[str], b_trees: list[str], a_path: str = "lib/f.c",
                     b_path: str = "lib/f.c", staged_in: str = "t", b_must_wait: bool = True) -> str:
    """Run A (a.patch onto a_trees) stops right after staging its write in `staged_in`; then run B (b.patch
    onto b_trees) starts; B must still be waiting 1-2 s later. A is resumed; both must exit 0. B's stderr."""
    (tmp_path / "a.patch").write_text(A_PATCH.format(p=a_path))
    (tmp_path / "b.patch").write_text(B_PATCH.format(p=b_path))
    run = [sys.executable, "-m", "porter", "apply"]
    a = subprocess.Popen([*run, "a.patch", *[x for t in a_trees for x in ("--tree", t)]], cwd=tmp_path,
                         env=_env({"PORTER_TEST_SIGNAL_AT": "prepared:STOP"}), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _journal_exists(tmp_path / staged_in) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _journal_exists(tmp_path / staged_in), "run A never staged its write"
        b = subprocess.Popen([*run, "b.patch", *[x for t in b_trees for x in ("--tree", t)]], cwd=tmp_path,
                             env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        if b_must_wait:
            assert b.poll() is None, b.stderr.read()  # B waits while A holds the tree
    finally:
        a.send_signal(signal.SIGCONT)
    assert a.wait(timeout=60) == 0, a.stderr.read()
    _, err = b.communicate(timeout=120)
    assert b.returncode == 0, err
    return err


def test_two_runs_on_one_tree_take_turns(tmp_path):
    """Run A stops right after staging its write (holding the tree); run B, changing another line of the
    same file, waits for it instead of reading the old file and renaming over A's result: both land."""
    _two_line_tree(tmp_path / "t")
    err = _a_paused_then_b(tmp_path, ["t"], ["t"])
    assert "another porter run is using this tree" in err
    text = (tmp_path / "t/lib/f.c").read_text()
    assert "int A2;" in text and "int B30;" in text


def test_journal_name_porter_did_not_write_is_left_alone(tmp_path):
    """A directory with the journal's name that porter did not leave here (committed by `git add -A`, copied
    with the tree): no run deletes it or restores files from it; a write refuses in one line, the tree as it was."""
    _two_line_tree(tmp_path / "t")
    jdir = tmp_path / "t/.porter-journal-4242"
    jdir.mkdir()
    (jdir / "b0").write_text("not the old file\n")
    (jdir / "journal.json").write_text('{"version": 1, "pid": 4242, "entries": [{"path": "lib/f.c", '
                                       '"existed": true, "backup": "b0"}], "created_dirs": [], "removed_dirs": []}')
    (tmp_path / "a.patch").write_text("--- a/lib/f.c\n+++ b/lib/f.c\n@@ -2,3 +2,3 @@\n int v1;\n-int v2;\n"
                                      "+int A2;\n int v3;\n")
    before = snapshot(tmp_path / "t")
    for extra in (["--dry-run"], []):
        res = _porter(tmp_path, "apply", "a.patch", "--tree", "t", *extra)
        assert res.returncode == 2, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and ".porter-journal-4242" in res.stderr, res.stderr
        assert snapshot(tmp_path / "t") == before


def test_two_runs_naming_trees_in_opposite_orders_do_not_deadlock(tmp_path):
    """Locks are taken in one order whatever the --tree order: B (t2, t1) waits for A (t1, t2), then runs."""
    for t in ("t1", "t2"):
        _two_line_tree(tmp_path / t)
    _a_paused_then_b(tmp_path, ["t1", "t2"], ["t2", "t1"], staged_in="t2", b_must_wait=False)
    for t in ("t1", "t2"):
        text = (tmp_path / t / "lib/f.c").read_text()
        assert "int A2;" in text and "int B30;" in text


def test_nested_trees_in_one_run_are_refused(tmp_path):
    """--tree t --tree t/sub would write one file as two files of one write (the second silently wins)."""
    _two_line_tree(tmp_path / "t")
    _two_line_tree(tmp_path / "t/sub")
    (tmp_path / "a.patch").write_text("--- a/lib/f.c\n+++ b/lib/f.c\n@@ -2,3 +2,3 @@\n int v1;\n-int v2;\n"
                                      "+int A2;\n int v3;\n")
    before = snapshot(tmp_path / "t")
    res = _porter(tmp_path, "apply", "a.patch", "--tree", "t", "--tree", "t/sub")
    assert res.returncode == 2 and "is inside --tree t" in res.stderr, res.stderr
    assert snapshot(tmp_path / "t") == before


def _killed_mid_write(tmp_path: Path) -> Path:
    """A tree whose write of a.patch was SIGKILLed half-way (its journal left behind)."""
    _two_line_tree(tmp_path / "t")
    for i in range(6):
        (tmp_path / f"t/lib/g{i}.c").write_text("int a;\nint b;\nint c;\n")
    (tmp_path / "a.patch").write_text("".join(f"--- a/lib/g{i}.c\n+++ b/lib/g{i}.c\n@@ -1,3 +1,3 @@\n int a;\n"
                                              f"-int b;\n+int B{i};\n int c;\n" for i in range(6)))
    proc = subprocess.run([sys.executable, "-m", "porter", "apply", "a.patch", "--tree", "t"], cwd=tmp_path,
                          env=_env({"PORTER_TEST_SIGNAL_AT": "mid-rename:KILL"}), capture_output=True, check=False)
    assert proc.returncode == -signal.SIGKILL
    return tmp_path / "t"


def test_rollback_never_overwrites_an_edit_made_after_the_crash(tmp_path):
    tree = _killed_mid_write(tmp_path)
    written = next(p for p in sorted((tree / "lib").glob("g*.c")) if "int B" in p.read_text())
    written.write_text("my own work\n")
    (tmp_path / "nope.patch").write_text("--- a/no/such.c\n+++ b/no/such.c\n@@ -1 +1 @@\n-a\n+b\n")
    before = snapshot(tree)
    res = _porter(tmp_path, "apply", "nope.patch", "--tree", "t")
    assert res.returncode == 2 and "was changed after the interrupted write" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert snapshot(tree) == before and written.read_text() == "my own work\n"


@pytest.mark.parametrize("damage", ["subdir", "shape", "mode"])
def test_damaged_journal_is_refused_untouched(tmp_path, damage):
    """A journal directory with a sub-directory among its names, or a record of another shape: one line,
    nothing deleted or restored, no traceback."""
    tree = _killed_mid_write(tmp_path)
    jdir = next(p for p in tree.iterdir() if p.name.startswith(".porter-journal-"))
    if damage == "subdir":
        (jdir / "n99").mkdir()
        (jdir / "n99/precious.txt").write_text("keep me\n")
    else:
        rec = json.loads((jdir / "journal.json").read_text())
        if damage == "shape":
            rec["created_dirs"] = [1]
        else:
            rec["removed_dirs"] = [["lib", 0o4777]]
        (jdir / "journal.json").write_text(json.dumps(rec))
    (tmp_path / "nope.patch").write_text("--- a/no/such.c\n+++ b/no/such.c\n@@ -1 +1 @@\n-a\n+b\n")
    before = snapshot(tree)
    res = _porter(tmp_path, "apply", "nope.patch", "--tree", "t")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and jdir.name in res.stderr, res.stderr
    assert snapshot(tree) == before


def test_runs_on_nested_trees_take_turns(tmp_path):
    """A writes tree t (the file sub/lib/f.c), B writes tree t/sub (the same file as lib/f.c): B waits for A
    (it holds t/sub's parent t shared, A holds t exclusively), then both changes are there."""
    _two_line_tree(tmp_path / "t")
    _two_line_tree(tmp_path / "t/sub")
    _a_paused_then_b(tmp_path, ["t"], ["t/sub"], a_path="sub/lib/f.c")
    text = (tmp_path / "t/sub/lib/f.c").read_text()
    assert "int A2;" in text and "int B30;" in text


def test_dry_run_names_a_foreign_journal_as_foreign(tmp_path):
    """The dry run gives the same verdict the write would: a record porter did not write is not "an interrupted
    write the next apply rolls back"."""
    _two_line_tree(tmp_path / "t")
    jdir = tmp_path / "t/.porter-journal-77"
    jdir.mkdir()
    (jdir / "journal.json").write_text('{"version": 1, "entries": [], "created_dirs": [], "removed_dirs": []}')
    (tmp_path / "a.patch").write_text("--- a/lib/f.c\n+++ b/lib/f.c\n@@ -2,3 +2,3 @@\n int v1;\n-int v2;\n"
                                      "+int A2;\n int v3;\n")
    for extra in (["--dry-run"], []):
        res = _porter(tmp_path, "apply", "a.patch", "--tree", "t", *extra)
        assert res.returncode == 2 and "is not a journal porter left" in res.stderr, res.stderr
