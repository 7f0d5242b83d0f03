"""Shared test helpers: run the CLI, copy demo trees, fingerprint a tree to prove it was not touched."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from click.testing import CliRunner

from porter.cli import main

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
SEED = FIXTURES / "seed" / "000_dbad0fc2fcc8110f.txt"
DEMO = FIXTURES / "demo"


def run(*args: str, cwd: Path | None = None, input: bytes | None = None):
    """Invoke porter in-process; returns click's Result (exit_code, stdout, stderr)."""
    runner = CliRunner()
    old = os.getcwd()
    try:
        if cwd:
            os.chdir(cwd)
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)
    finally:
        os.chdir(old)


def copy_tree(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(DEMO / name, target, symlinks=True)
    return target


def fingerprint(root: Path) -> dict[str, str]:
    """Path -> sha256 (or link target) of everything under root: equal fingerprints mean byte-identical trees."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for fn in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = Path(dirpath) / fn
            rel = str(p.relative_to(root))
            out[rel] = "link:" + os.readlink(p) if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def as_mail(diff: str, subject: str = "port me") -> str:
    """A git diff wrapped in a minimal format-patch mail."""
    return ("From: Kernel Dev <dev@example.org>\nDate: Tue, 1 Oct 2024 10:00:00 +0000\n"
            f"Subject: [PATCH] {subject}\n\nPort me.\n---\n" + diff)


def apply_dry(tmp_path, patch_text: str, tree):
    """`porter apply --dry-run --format json --output -` on one tree: (click result, report, ported mbox path).
    --dry-run writes no file, so the ported patch is taken from the report and saved here."""
    pfile = tmp_path / "p.mbox"
    pfile.write_text(patch_text)
    out = tmp_path / "ported.mbox"
    res = run("apply", str(pfile), "--tree", str(tree), "--dry-run", "--format", "json")
    assert res.stdout.startswith("{"), (res.exit_code, res.stdout, res.stderr)
    doc = json.loads(res.stdout)
    if doc.get("ported_patch") is not None:
        out.write_text(doc["ported_patch"], encoding="utf-8", errors="surrogateescape")
    return res, doc, out
