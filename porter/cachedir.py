"""Where porter keeps its caches: outside any repository, under the XDG base directory for caches."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """$PORTER_CACHE, else $XDG_CACHE_HOME/porter, else ~/.cache/porter (the XDG default)."""
    explicit = os.environ.get("PORTER_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    # the XDG spec ignores a relative value: it would depend on the current directory
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path(os.path.expanduser("~")) / ".cache"
    return base / "porter"
