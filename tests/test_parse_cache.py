"""The parse cache (porter.cmodel.cache): under XDG_CACHE_HOME, bounded on disk with least-recently-used
eviction, old model versions dropped, and text that exists only during one run (or a small snippet) kept in
memory only."""

from __future__ import annotations

import os
import time

import pytest

from porter import cachedir
from porter.cmodel import MODEL_VERSION, build_model, parse_c
from porter.cmodel import cache as parse_cache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTER_CACHE", str(tmp_path / "cache"))
    parse_cache.clear_memory()
    yield tmp_path / "cache"
    parse_cache.clear_memory()


def _entries(root):
    return sorted(p for p in (root / "parse" / f"v{MODEL_VERSION}").rglob("*.pkl"))


def big_source(n: int) -> bytes:
    return "".join(f"static int f{n}_{i}(int x)\n{{\n\treturn x + {i};\n}}\n\n" for i in range(200)).encode()


def test_cache_root_honours_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTER_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cachedir.cache_root() == tmp_path / "porter"
    assert parse_cache.cache_dir() == tmp_path / "porter" / "parse" / f"v{MODEL_VERSION}"


def test_persist_rules(cache):
    parse_c(big_source(1), "mm/a.c")
    assert len(_entries(cache)) == 1
    parse_c(big_source(2), "mm/b.c", persist=False)  # a file with hunks applied: this run's alone
    parse_c(b"int x;\n", "")  # a snippet: parsing it is cheaper than a disk entry
    assert len(_entries(cache)) == 1
    parse_cache.clear_memory()
    assert parse_c(big_source(1), "mm/a.c").functions()  # read back from disk


def test_trim_drops_old_versions_and_least_recently_used(cache):
    for n in range(6):
        parse_c(big_source(n), f"mm/{n}.c")
    entries = _entries(cache)
    assert len(entries) == 6
    size = entries[0].stat().st_size
    now = time.time()
    by_age = sorted(entries, key=lambda p: p.name)
    for age, p in enumerate(by_age):  # by_age[0] oldest
        os.utime(p, (now - 1000 + age, now - 1000 + age))
    stale = cache / "parse" / "v0" / "ab"
    stale.mkdir(parents=True)
    (stale / "cd.pkl").write_bytes(b"x" * 100)
    parse_cache.trim(limit=size * 6 + 1)  # under the bound: only the old version goes
    assert not (cache / "parse" / "v0").exists() and len(_entries(cache)) == 6
    parse_cache.trim(limit=size * 5)  # over: the oldest go until 80% of the bound (4 entries) is left
    left = _entries(cache)
    assert left == sorted(by_age[2:])


def test_a_hit_refreshes_recency(cache):
    parse_c(big_source(1), "mm/a.c")
    (entry,) = _entries(cache)
    os.utime(entry, (1, 1))
    parse_cache.clear_memory()
    parse_c(big_source(1), "mm/a.c")
    assert entry.stat().st_mtime > 1000


def test_disk_bound_from_environment(monkeypatch):
    monkeypatch.setenv("PORTER_PARSE_CACHE_MB", "3")
    assert parse_cache.disk_limit() == 3 << 20
    monkeypatch.setenv("PORTER_PARSE_CACHE_MB", "lots")
    assert parse_cache.disk_limit() == 1024 << 20


def test_uncached_build_matches(cache):
    src = big_source(3)
    assert parse_c(src, "mm/x.c").definitions == build_model(src, "mm/x.c").definitions
