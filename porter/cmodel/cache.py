"""Parse results cached by content hash: in memory, and pickled on disk.

The key is the git blob id of the content (sha1 of "blob <len>\\0" + data), so a file read from a directory and
the same blob read from a git object share one entry, and a git tree can supply the id without hashing. The
directory is versioned by cmodel.MODEL_VERSION: changing the model invalidates old entries (they are deleted at
the next eviction). Location: <cache root>/parse/v<N>/<aa>/<rest>.pkl, the cache root from porter.cachedir
($PORTER_CACHE, $XDG_CACHE_HOME/porter or ~/.cache/porter).

The disk cache is bounded ($PORTER_PARSE_CACHE_MB, default 1024): a hit refreshes an entry's mtime, and when the
entries outgrow the bound the least recently used are deleted down to 80% of it.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import os
import pickle
import shutil
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Callable

from porter import cachedir

_MEMORY_LIMIT = 2048  # FileModels kept in memory (a big file's model is a few hundred KB)
_memory: "OrderedDict[str, object]" = OrderedDict()
_DEFAULT_DISK_MB = 1024
_written_since_check: int | None = None  # bytes stored since the last size check; None: not checked yet


def blob_id(data: bytes) -> str:
    """git's object id for a blob with this content."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def cache_root() -> Path:
    return cachedir.cache_root()


def cache_dir() -> Path:
    from porter.cmodel.model import MODEL_VERSION

    return cache_root() / "parse" / f"v{MODEL_VERSION}"


def _disk_path(key: str) -> Path:
    return cache_dir() / key[:2] / f"{key[2:]}.pkl"


def get_or_build(source: bytes, path: str, build: Callable[[bytes, str], object], key: str | None = None,
                 persist: bool = True):
    """Cached model of `source`, built with build(source, path) on a miss. `key` may be a known blob id.
    With persist=False a miss is kept in memory only."""
    key = key or blob_id(source)
    model = _memory.get(key)
    if model is None:
        model = _load(key) if persist else None
        if model is None:
            model = build(source, path)
            if persist:
                _store(key, model)
        _memory[key] = model
        if len(_memory) > _MEMORY_LIMIT:
            _memory.popitem(last=False)
    else:
        _memory.move_to_end(key)
    # the same content can live at several paths; the cached model is shared, the path is the caller's
    if getattr(model, "path", path) != path:
        model = dataclasses.replace(model, path=path)
    return model


def cached(key: str, path: str):
    """The model stored under `key` (a blob id) or None, without needing the content."""
    model = _memory.get(key)
    if model is None:
        model = _load(key)
        if model is None:
            return None
        _memory[key] = model
        if len(_memory) > _MEMORY_LIMIT:
            _memory.popitem(last=False)
    if getattr(model, "path", path) != path:
        model = dataclasses.replace(model, path=path)
    return model


def _load(key: str):
    p = _disk_path(key)
    try:
        with open(p, "rb") as f:
            data = f.read()
    except OSError:
        return None
    try:
        os.utime(p)  # least recently used goes first when the cache is trimmed
    except OSError:
        pass
    # thousands of small objects: the cycle collector would otherwise run many times during one load
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)
    except Exception:  # a truncated or stale pickle is a miss, not an error
        return None
    finally:
        if enabled:
            gc.enable()


def _store(key: str, model) -> None:
    p = _disk_path(key)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        # write then rename: concurrent porter runs never see half a file
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, p)
        _account(p.stat().st_size)
    except OSError:
        pass  # a read-only or full cache directory only costs speed


def disk_limit() -> int:
    """The disk cache's size bound in bytes."""
    try:
        mb = int(os.environ.get("PORTER_PARSE_CACHE_MB", _DEFAULT_DISK_MB))
    except ValueError:
        mb = _DEFAULT_DISK_MB
    return max(mb, 1) << 20


def _account(size: int) -> None:
    """Trim the disk cache at the first store of a process and whenever an eighth of the bound was written since."""
    global _written_since_check
    if _written_since_check is None or _written_since_check + size > disk_limit() // 8:
        _written_since_check = 0
        trim()
    else:
        _written_since_check += size


def trim(limit: int | None = None) -> int:
    """Delete entries of older model versions, then the least recently used entries until the cache holds at most
    80% of `limit` (default disk_limit()) -- only when it holds more than `limit`. Returns the bytes deleted."""
    limit = disk_limit() if limit is None else limit
    root, current = cache_dir().parent, cache_dir()
    freed = 0
    try:
        stale = [d for d in root.iterdir() if d.is_dir() and d != current]
    except OSError:
        return 0
    for d in stale:
        freed += _tree_size(d)
        shutil.rmtree(d, ignore_errors=True)
    entries = []
    for sub in _scandir(current):
        if sub.is_dir(follow_symlinks=False):
            for e in _scandir(sub.path):
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                entries.append((st.st_mtime, st.st_size, e.path))
    total = sum(size for _, size, _ in entries)
    if total <= limit:
        return freed
    entries.sort()
    for _mtime, size, path in entries:
        if total <= limit * 0.8:
            break
        try:
            os.unlink(path)
        except OSError:
            continue
        total -= size
        freed += size
    return freed


def _scandir(path) -> list:
    try:
        with os.scandir(path) as it:
            return list(it)
    except OSError:
        return []


def _tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def clear_memory() -> None:
    _memory.clear()
