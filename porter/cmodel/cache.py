"""Parse results cached by content hash: in memory, and pickled on disk.

The key is the git blob id of the content (sha1 of "blob <len>\\0" + data), so a file read from a directory and
the same blob read from a git object share one entry, and a git tree can supply the id without hashing. The
directory is versioned by cmodel.MODEL_VERSION: changing the model invalidates old entries by never reading them.
Location: ${PORTER_CACHE:-~/.cache/porter}/parse/v<N>/<aa>/<rest>.pkl
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import os
import pickle
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Callable

_MEMORY_LIMIT = 2048  # FileModels kept in memory (a big file's model is a few hundred KB)
_memory: "OrderedDict[str, object]" = OrderedDict()


def blob_id(data: bytes) -> str:
    """git's object id for a blob with this content."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def cache_root() -> Path:
    return Path(os.environ.get("PORTER_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "porter"))


def cache_dir() -> Path:
    from porter.cmodel.model import MODEL_VERSION

    return cache_root() / "parse" / f"v{MODEL_VERSION}"


def _disk_path(key: str) -> Path:
    return cache_dir() / key[:2] / f"{key[2:]}.pkl"


def get_or_build(source: bytes, path: str, build: Callable[[bytes, str], object], key: str | None = None):
    """Cached model of `source`, built with build(source, path) on a miss. `key` may be a known blob id."""
    key = key or blob_id(source)
    model = _memory.get(key)
    if model is None:
        model = _load(key)
        if model is None:
            model = build(source, path)
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
    except OSError:
        pass  # a read-only or full cache directory only costs speed


def clear_memory() -> None:
    _memory.clear()
