"""Pristine Debian kernel source trees for real-tree tests and benchmarks.

    ensure_tree("6.1")  -> Path to an extracted linux-6.1.<n> tree

A version is a *series* ("6.1", "6.12", "5.10", "7.1") or a full upstream version ("6.1.176").
Lookup order:

1. the kernel cache: ``$PORTER_KERNELS`` (default ``$XDG_CACHE_HOME/porter/kernels``, that is
   ``~/.cache/porter/kernels`` when XDG_CACHE_HOME is unset), directories
   ``linux-<full version>``;
2. an already-extracted tree of the shared benchmark build, reused read-only:
   ``$PORTER_BENCH_TREES`` (default ``~/.cache/porter-bench/trees``), ``linux-<full version>``;
3. a download: Debian's ``linux`` source package.  A private apt configuration under the cache
   (a ``deb-src`` list for the suites bullseye, bookworm, trixie and sid, its own lists directory)
   is written with the mirror URI taken *at run time* from the system's apt configuration, so no
   host name is ever part of porter.  ``apt-cache showsrc linux`` gives every listed version with
   its files and checksums; the newest version of the series is fetched (its ``.orig.tar.xz``
   only, checked against the index's SHA-256) and, when the mirror no longer has its files (404),
   the next listed version of the series is tried.  The tarball is extracted next to the cache and
   renamed into place atomically, so a directory ``linux-<v>`` in the cache is always complete.

A lock file per series serialises concurrent callers (pytest-xdist workers, several sessions): the
second caller waits and then finds the first one's tree.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from porter import cachedir
from porter.errors import PorterError

SUITES = ("bullseye", "bookworm", "trixie", "sid")
SOURCE_PACKAGE = "linux"
APT_SOURCES_DIR = "/etc/apt/sources.list.d"
APT_SOURCES_LIST = "/etc/apt/sources.list"
# files that exist late in an extracted kernel tree (tar order is sorted): a tree that has them
# all was extracted to the end
COMPLETE_MARKERS = ("Makefile", "mm/page_alloc.c", "virt")


class KernelSourceError(PorterError):
    """A kernel tree could not be found or fetched."""


# ---------------------------------------------------------------- versions


_VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")


@dataclass(frozen=True)
class KernelVersion:
    """A requested version: a series (6.1) or an exact upstream version (6.1.176)."""

    major: int
    minor: int
    patch: int | None = None

    @classmethod
    def parse(cls, text: str) -> "KernelVersion":
        t = text.strip()
        if t.startswith("linux-"):
            t = t[len("linux-"):]
        if t.startswith("v"):
            t = t[1:]
        m = _VERSION_RE.match(t)
        if not m:
            raise KernelSourceError(
                f"bad kernel version {text!r}: expected a series like 6.1 or a release like 6.1.176")
        return cls(int(m.group(1)), int(m.group(2)),
                   int(m.group(3)) if m.group(3) is not None else None)

    @property
    def series(self) -> str:
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return self.series if self.patch is None else f"{self.series}.{self.patch}"

    def matches(self, upstream: str) -> bool:
        """Does an upstream version string ("6.1.176", "6.12", "6.16~rc3") belong to this request?"""
        key = upstream_key(upstream)
        if key is None or key[:2] != (self.major, self.minor):
            return False
        return self.patch is None or key[2] == self.patch


def upstream_key(upstream: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a plain upstream release; None for rc/odd versions."""
    m = _VERSION_RE.match(upstream)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def debian_upstream(debian_version: str) -> str:
    """Upstream part of a Debian version: "1:6.1.176-1" -> "6.1.176", "6.1.8-1+b1" -> "6.1.8"."""
    v = debian_version.split(":", 1)[-1]
    if "-" in v:
        v = v.rsplit("-", 1)[0]
    return v


def debian_revision_key(debian_version: str) -> tuple:
    """A rough sort key for the Debian revision part (only used among equal upstream versions)."""
    rev = debian_version.rsplit("-", 1)[1] if "-" in debian_version else ""
    return tuple(int(x) if x.isdigit() else -1 for x in re.split(r"[^0-9]+", rev) if x != "")


# ---------------------------------------------------------------- mirror from the system's apt config


def _deb822_stanzas(text: str) -> list[dict[str, str]]:
    stanzas, cur, last = [], {}, None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                stanzas.append(cur)
            cur, last = {}, None
            continue
        if line[0] in " \t" and last:
            cur[last] += " " + line.strip()
            continue
        if ":" in line:
            k, v = line.split(":", 1)
            last = k.strip().lower()
            cur[last] = v.strip()
    if cur:
        stanzas.append(cur)
    return stanzas


def _is_security(uri: str, suites: list[str]) -> bool:
    return any(s.endswith("-security") or "/updates" in s for s in suites) or \
        uri.rstrip("/").endswith("-security")


def mirror_uris(sources_dir: str | os.PathLike = APT_SOURCES_DIR,
                sources_list: str | os.PathLike | None = APT_SOURCES_LIST) -> list[str]:
    """Every archive URI of the system's apt config that is not a security archive, in order.

    Reads deb822 ``*.sources`` files (``URIs:`` of enabled stanzas) and one-line ``*.list`` files
    (``deb [opts] URI suite ...``)."""
    uris: list[str] = []

    def add(u: str) -> None:
        u = u.rstrip("/")
        if u and u not in uris and re.match(r"^[a-z][a-z0-9+.-]*://", u):
            uris.append(u)

    files: list[str] = []
    if sources_list and os.path.isfile(sources_list):
        files.append(str(sources_list))
    if sources_dir and os.path.isdir(sources_dir):
        files += sorted(glob.glob(os.path.join(str(sources_dir), "*.sources")))
        files += sorted(glob.glob(os.path.join(str(sources_dir), "*.list")))
    for f in files:
        try:
            text = Path(f).read_text(errors="replace")
        except OSError:
            continue
        if f.endswith(".sources"):
            for st in _deb822_stanzas(text):
                if st.get("enabled", "yes").lower() == "no":
                    continue
                suites = st.get("suites", "").split()
                for u in st.get("uris", "").split():
                    if not _is_security(u, suites):
                        add(u)
        else:
            for line in text.splitlines():
                line = line.split("#", 1)[0].strip()
                m = re.match(r"^deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
                if m and not _is_security(m.group(1), [m.group(2)]):
                    add(m.group(1))
    return uris


def derive_mirror(sources_dir: str | os.PathLike = APT_SOURCES_DIR,
                  sources_list: str | os.PathLike | None = APT_SOURCES_LIST) -> str:
    """The mirror to fetch Debian sources from: ``$PORTER_DEBIAN_MIRROR`` or the system's apt config."""
    env = os.environ.get("PORTER_DEBIAN_MIRROR")
    if env:
        return env.rstrip("/")
    uris = mirror_uris(sources_dir, sources_list)
    if not uris:
        raise KernelSourceError(
            f"cannot derive a Debian mirror: no non-security URIs in {sources_dir}/*.sources or "
            f"{sources_list}; set PORTER_DEBIAN_MIRROR")
    return uris[0]


def private_sources_list(mirror: str, suites=SUITES, component: str = "main") -> str:
    return "".join(f"deb-src {mirror} {s} {component}\n" for s in suites)


# ---------------------------------------------------------------- the source index


@dataclass
class SourceEntry:
    version: str                       # Debian version, e.g. 6.1.176-1
    directory: str                     # pool/main/l/linux
    files: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> (sha256, size)

    @property
    def upstream(self) -> str:
        return debian_upstream(self.version)

    def orig_tarball(self) -> str | None:
        for name in self.files:
            if re.match(rf"^{re.escape(SOURCE_PACKAGE)}_[^/]+\.orig\.tar\.[a-z0-9]+$", name):
                return name
        return None


def parse_showsrc(text: str) -> list[SourceEntry]:
    """Entries of ``apt-cache showsrc linux`` output (deb822 with multi-line checksum fields)."""
    out: list[SourceEntry] = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, list[str]] = {}
        key = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key].append(line.strip())
            elif ":" in line:
                key, v = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = [v.strip()] if v.strip() else []
        if fields.get("package", [""])[0] != SOURCE_PACKAGE or "version" not in fields:
            continue
        e = SourceEntry(fields["version"][0], (fields.get("directory") or [""])[0])
        for line in fields.get("checksums-sha256", []):
            parts = line.split()
            if len(parts) == 3:
                e.files[parts[2]] = (parts[0], int(parts[1]))
        if not e.files:   # older apt: only Files (md5)
            for line in fields.get("files", []):
                parts = line.split()
                if len(parts) == 3:
                    e.files[parts[2]] = ("", int(parts[1]))
        if all(x.version != e.version for x in out):
            out.append(e)
    return out


def candidates(entries: list[SourceEntry], want: KernelVersion) -> list[SourceEntry]:
    """Entries of the wanted series/version with an orig tarball, newest first."""
    c = [e for e in entries if want.matches(e.upstream) and e.orig_tarball()]
    c.sort(key=lambda e: (upstream_key(e.upstream), debian_revision_key(e.version)), reverse=True)
    # one entry per upstream version (the orig tarball is shared between revisions)
    seen, out = set(), []
    for e in c:
        if e.upstream not in seen:
            seen.add(e.upstream)
            out.append(e)
    return out


# ---------------------------------------------------------------- cache


def cache_dir() -> Path:
    """$PORTER_KERNELS, else <porter's cache root>/kernels (honours $XDG_CACHE_HOME, see porter.cachedir)."""
    return Path(os.environ.get("PORTER_KERNELS") or cachedir.cache_root() / "kernels")


def bench_trees_dir() -> Path | None:
    d = os.environ.get("PORTER_BENCH_TREES")
    if d is None:
        d = os.path.join(os.environ.get("BENCH") or os.path.expanduser("~/.cache/porter-bench"),
                         "trees")
    return Path(d) if d else None


def is_complete_tree(path: Path) -> bool:
    return path.is_dir() and all((path / m).exists() for m in COMPLETE_MARKERS)


def find_tree(root: Path | None, want: KernelVersion) -> Path | None:
    """The newest complete ``linux-<v>`` directory under root matching the request."""
    if root is None or not root.is_dir():
        return None
    found = []
    for p in root.glob("linux-*"):
        v = p.name[len("linux-"):]
        if want.matches(v) and is_complete_tree(p):
            found.append((upstream_key(v), p))
    if not found:
        return None
    return max(found)[1]


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---------------------------------------------------------------- apt


def _apt_options(apt_dir: Path) -> list[str]:
    opts = ["-o", f"Dir::Etc::SourceList={apt_dir / 'sources.list'}",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={apt_dir / 'lists'}",
            "-o", f"Dir::Cache={apt_dir / 'cache'}",
            "-o", "Acquire::Languages=none"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        opts += ["-o", "APT::Sandbox::User=root"]
    return opts


def _redact(text: str) -> str:
    """Keep URIs out of error messages (and so out of logs that might be committed)."""
    return re.sub(r"[a-z][a-z0-9+.-]*://\S+", "<uri>", text)


def source_index(cache: Path, mirror: str, refresh: bool = False) -> list[SourceEntry]:
    """Write the private apt config, update its lists (once, or when refresh) and read the index."""
    apt_dir = cache / "apt"
    (apt_dir / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt_dir / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    sl = apt_dir / "sources.list"
    text = private_sources_list(mirror)
    changed = not sl.exists() or sl.read_text() != text
    if changed:
        sl.write_text(text)
    opts = _apt_options(apt_dir)
    have_lists = any(apt_dir.joinpath("lists").glob("*Sources*"))
    if refresh or changed or not have_lists:
        r = subprocess.run(["apt-get", *opts, "-qq", "update"], capture_output=True, text=True)
        if r.returncode != 0:
            raise KernelSourceError("apt-get update (private kernel-source list) failed: "
                                    + _redact(r.stderr.strip())[-400:])
    r = subprocess.run(["apt-cache", *opts, "showsrc", SOURCE_PACKAGE],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise KernelSourceError("apt-cache showsrc linux failed: " + _redact(r.stderr.strip())[-400:])
    return parse_showsrc(r.stdout)


def _download(url: str, dest: Path, sha256: str) -> None:
    tmp = dest.with_name(dest.name + ".part")
    h = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=120) as resp, open(tmp, "wb") as out:
        while True:
            chunk = resp.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
            out.write(chunk)
    if sha256 and h.hexdigest() != sha256:
        tmp.unlink(missing_ok=True)
        raise KernelSourceError(f"checksum mismatch for {dest.name}")
    tmp.rename(dest)


def _extract(tarball: Path, cache: Path, upstream: str) -> Path:
    final = cache / f"linux-{upstream}"
    tmpdir = Path(tempfile.mkdtemp(prefix=".extract-", dir=cache))
    try:
        r = subprocess.run(["tar", "-C", str(tmpdir), "-xf", str(tarball)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise KernelSourceError(f"extracting {tarball.name} failed: {r.stderr.strip()[-300:]}")
        tops = [p for p in tmpdir.iterdir() if p.is_dir()]
        if len(tops) != 1 or not is_complete_tree(tops[0]):
            raise KernelSourceError(f"{tarball.name} does not hold one complete kernel tree")
        if final.exists():
            shutil.rmtree(final)
        tops[0].rename(final)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return final


def download_tree(want: KernelVersion, cache: Path, mirror: str | None = None,
                  keep_tarball: bool = False, log=None) -> Path:
    """Fetch and extract the newest listed version of the series (falling back on 404s)."""
    mirror = mirror or derive_mirror()
    with _locked(cache / ".lock-apt"):    # apt itself refuses a second concurrent update
        entries = source_index(cache, mirror)
        cands = candidates(entries, want)
        if not cands:
            entries = source_index(cache, mirror, refresh=True)
            cands = candidates(entries, want)
    if not cands:
        listed = sorted({e.upstream for e in entries}, key=lambda v: upstream_key(v) or (0, 0, 0))
        raise KernelSourceError(f"no Debian source package of linux {want} in {'/'.join(SUITES)} "
                                f"(listed: {', '.join(listed) or 'none'})")
    dl = cache / "downloads"
    dl.mkdir(parents=True, exist_ok=True)
    errors = []
    for e in cands:
        name = e.orig_tarball()
        sha, _size = e.files[name]
        dest = dl / name
        url = f"{mirror}/{e.directory}/{name}"
        if not dest.exists():
            if log:
                log(f"downloading {name} (Debian {e.version})")
            try:
                _download(url, dest, sha)
            except urllib.error.HTTPError as exc:
                errors.append(f"{name}: HTTP {exc.code}")
                continue
            except (urllib.error.URLError, OSError) as exc:
                errors.append(f"{name}: {_redact(str(exc))}")
                continue
        if log:
            log(f"extracting {name}")
        tree = _extract(dest, cache, e.upstream)
        if not keep_tarball:
            dest.unlink(missing_ok=True)
        return tree
    raise KernelSourceError(f"could not download linux {want}: " + "; ".join(errors))


def ensure_tree(version: str, *, download: bool = True, log=None) -> Path:
    """Path of an extracted pristine kernel tree of `version` ("6.1", "6.12", "6.1.176")."""
    want = KernelVersion.parse(version)
    cache = cache_dir()
    hit = find_tree(cache, want) or find_tree(bench_trees_dir(), want)
    if hit:
        return hit
    if not download:
        raise KernelSourceError(f"no cached kernel tree for {want} (run scripts/fetch-kernel-sources {want})")
    cache.mkdir(parents=True, exist_ok=True)
    with _locked(cache / f".lock-{want.series}"):
        hit = find_tree(cache, want)      # another process may have fetched it meanwhile
        if hit:
            return hit
        return download_tree(want, cache, log=log)
