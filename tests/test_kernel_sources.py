"""porter.kernel_sources: version parsing, mirror derivation, index parsing (no network),
and one real-tree check."""

import os
import subprocess
import textwrap

import pytest

from porter import kernel_sources as ks
from porter.kernel_sources import KernelSourceError, KernelVersion
from tests.helpers import REPO

MIRROR = "http://mirror.invalid/debian"          # reserved TLD: never resolves
SECURITY = "http://mirror.invalid/debian-security"


# ---------------------------------------------------------------- versions

@pytest.mark.parametrize("text,series,patch", [
    ("6.1", "6.1", None), ("6.12", "6.12", None), ("5.10", "5.10", None),
    ("6.1.176", "6.1", 176), ("v6.12.107", "6.12", 107), ("linux-7.1", "7.1", None),
    (" 6.1 ", "6.1", None),
])
def test_parse_version(text, series, patch):
    v = KernelVersion.parse(text)
    assert v.series == series and v.patch == patch


@pytest.mark.parametrize("bad", ["", "6", "six.one", "6.1.2.3", "6.1-rc1", "6.x"])
def test_parse_version_rejects(bad):
    with pytest.raises(KernelSourceError, match="bad kernel version"):
        KernelVersion.parse(bad)


def test_series_does_not_match_longer_minor():
    six_one = KernelVersion.parse("6.1")
    assert six_one.matches("6.1.176")
    assert not six_one.matches("6.12.107")       # the glob linux-6.1* trap
    assert not six_one.matches("6.10.3")
    assert not six_one.matches("6.16~rc3")
    assert KernelVersion.parse("6.1.176").matches("6.1.176")
    assert not KernelVersion.parse("6.1.176").matches("6.1.170")


@pytest.mark.parametrize("deb,up", [("6.1.176-1", "6.1.176"), ("1:6.1.8-1+b1", "6.1.8"),
                                    ("6.12.107-1", "6.12.107"), ("7.1.8", "7.1.8")])
def test_debian_upstream(deb, up):
    assert ks.debian_upstream(deb) == up


# ---------------------------------------------------------------- mirror derivation

def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_mirror_from_deb822_skips_security(tmp_path):
    d = tmp_path / "sources.list.d"
    _write(d / "debian.sources", f"""\
        Types: deb
        URIs: {SECURITY}
        Suites: bookworm-security
        Components: main

        Types: deb
        # a comment
        URIs: {MIRROR}/
        Suites: bookworm bookworm-updates
        Components: main
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
        """)
    assert ks.derive_mirror(d, None) == MIRROR
    assert ks.mirror_uris(d, None) == [MIRROR]


def test_mirror_skips_disabled_stanza(tmp_path):
    d = tmp_path / "d"
    _write(d / "a.sources", f"""\
        Enabled: no
        Types: deb
        URIs: http://disabled.invalid/debian
        Suites: bookworm

        Types: deb deb-src
        URIs: {MIRROR}
        Suites: bookworm
        """)
    assert ks.derive_mirror(d, None) == MIRROR


def test_mirror_from_one_line_list(tmp_path):
    sl = _write(tmp_path / "sources.list", f"""\
        # deb http://commented.invalid/debian bookworm main
        deb {SECURITY} bookworm-security main
        deb [arch=amd64 signed-by=/x.gpg] {MIRROR} bookworm main
        """)
    assert ks.derive_mirror(tmp_path / "missing", sl) == MIRROR


def test_mirror_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTER_DEBIAN_MIRROR", MIRROR + "/")
    assert ks.derive_mirror(tmp_path / "missing", None) == MIRROR


def test_mirror_missing_is_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTER_DEBIAN_MIRROR", raising=False)
    d = tmp_path / "d"
    _write(d / "sec.sources", f"Types: deb\nURIs: {SECURITY}\nSuites: bookworm-security\n")
    with pytest.raises(KernelSourceError, match="cannot derive a Debian mirror"):
        ks.derive_mirror(d, None)


def test_private_sources_list_has_all_suites():
    text = ks.private_sources_list(MIRROR)
    assert text.splitlines() == [f"deb-src {MIRROR} {s} main"
                                 for s in ("bullseye", "bookworm", "trixie", "sid")]


# ---------------------------------------------------------------- source index

SHOWSRC = """\
Package: linux
Binary: linux-source, linux-doc
Version: 6.1.170-3
Directory: pool/main/l/linux
Files:
 aaa 100 linux_6.1.170-3.dsc
Checksums-Sha256:
 11 100 linux_6.1.170-3.dsc
 22 140000000 linux_6.1.170.orig.tar.xz
 33 1500000 linux_6.1.170-3.debian.tar.xz

Package: linux
Version: 6.1.176-1
Directory: pool/main/l/linux
Checksums-Sha256:
 44 100 linux_6.1.176-1.dsc
 55 141000000 linux_6.1.176.orig.tar.xz

Package: linux
Version: 6.12.107-1
Directory: pool/main/l/linux
Checksums-Sha256:
 66 150000000 linux_6.12.107.orig.tar.xz

Package: linux-signed-amd64
Version: 6.1.176+1
Directory: pool/main/l/linux-signed-amd64
Checksums-Sha256:
 77 10 linux-signed-amd64_6.1.176+1.tar.xz
"""


def test_parse_showsrc_and_candidates():
    entries = ks.parse_showsrc(SHOWSRC)
    assert [e.version for e in entries] == ["6.1.170-3", "6.1.176-1", "6.12.107-1"]
    assert entries[1].orig_tarball() == "linux_6.1.176.orig.tar.xz"
    assert entries[1].files["linux_6.1.176.orig.tar.xz"] == ("55", 141000000)
    c = ks.candidates(entries, KernelVersion.parse("6.1"))
    assert [e.upstream for e in c] == ["6.1.176", "6.1.170"]   # newest first, 6.12 excluded
    assert [e.upstream for e in ks.candidates(entries, KernelVersion.parse("6.12"))] == ["6.12.107"]
    assert ks.candidates(entries, KernelVersion.parse("5.10")) == []


def test_download_falls_back_on_404(tmp_path, monkeypatch):
    import urllib.error
    entries = ks.parse_showsrc(SHOWSRC)
    monkeypatch.setattr(ks, "source_index", lambda cache, mirror, refresh=False: entries)
    tried = []

    def fake_download(url, dest, sha):
        tried.append(url)
        if "6.1.176" in url:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        dest.write_bytes(b"tarball")

    def fake_extract(tarball, cache, upstream):
        p = cache / f"linux-{upstream}"
        p.mkdir()
        return p

    monkeypatch.setattr(ks, "_download", fake_download)
    monkeypatch.setattr(ks, "_extract", fake_extract)
    tree = ks.download_tree(KernelVersion.parse("6.1"), tmp_path, mirror=MIRROR)
    assert tree.name == "linux-6.1.170"
    assert tried == [f"{MIRROR}/pool/main/l/linux/linux_6.1.176.orig.tar.xz",
                     f"{MIRROR}/pool/main/l/linux/linux_6.1.170.orig.tar.xz"]


def test_download_unknown_series_names_listed(tmp_path, monkeypatch):
    entries = ks.parse_showsrc(SHOWSRC)
    monkeypatch.setattr(ks, "source_index", lambda cache, mirror, refresh=False: entries)
    with pytest.raises(KernelSourceError, match=r"listed: 6\.1\.170, 6\.1\.176, 6\.12\.107"):
        ks.download_tree(KernelVersion.parse("4.19"), tmp_path, mirror=MIRROR)


# ---------------------------------------------------------------- cache lookup

def _fake_tree(root, name, complete=True):
    p = root / name
    (p / "mm").mkdir(parents=True)
    (p / "Makefile").write_text("")
    if complete:
        (p / "mm" / "page_alloc.c").write_text("")
        (p / "virt").mkdir()
    return p


def test_cache_lookup_order(tmp_path, monkeypatch):
    cache, bench = tmp_path / "kernels", tmp_path / "bench"
    monkeypatch.setenv("PORTER_KERNELS", str(cache))
    monkeypatch.setenv("PORTER_BENCH_TREES", str(bench))
    _fake_tree(bench, "linux-6.1.176")
    _fake_tree(bench, "linux-6.12.107")
    _fake_tree(bench, "linux-5.10.223", complete=False)      # still being extracted
    assert ks.ensure_tree("6.1", download=False) == bench / "linux-6.1.176"
    assert ks.ensure_tree("6.12", download=False) == bench / "linux-6.12.107"
    _fake_tree(cache, "linux-6.1.170")
    assert ks.ensure_tree("6.1", download=False) == cache / "linux-6.1.170"   # own cache first
    assert ks.ensure_tree("6.1.176", download=False) == bench / "linux-6.1.176"
    with pytest.raises(KernelSourceError, match="no cached kernel tree for 5.10"):
        ks.ensure_tree("5.10", download=False)


# ---------------------------------------------------------------- real tree

@pytest.mark.realtree
def test_ensure_tree_6_1_real(linux_6_1):
    assert linux_6_1.name.startswith("linux-6.1.")
    assert (linux_6_1 / "mm" / "page_alloc.c").is_file()
    assert os.path.isfile(linux_6_1 / "Makefile")


# ---------------------------------------------------------------- cache location

def test_kernel_cache_honours_xdg_cache_home(tmp_path, monkeypatch):
    for var in ("PORTER_KERNELS", "PORTER_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ks.cache_dir() == tmp_path / "xdg" / "porter" / "kernels"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # the XDG spec says: ignore a relative path
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ks.cache_dir() == tmp_path / "home" / ".cache" / "porter" / "kernels"
    monkeypatch.setenv("PORTER_KERNELS", str(tmp_path / "mine"))
    assert ks.cache_dir() == tmp_path / "mine"


def test_no_mirror_host_in_the_repository():
    """The mirror comes from the system's apt configuration at run time, never from porter's own files."""
    hosts = [u.split("//", 1)[1].split("/", 1)[0] for u in ks.mirror_uris()]
    hosts = [h for h in hosts if h and not h.endswith(".invalid")]
    if not hosts:
        pytest.skip("this machine's apt configuration names no mirror")
    for host in hosts:
        r = subprocess.run(["git", "grep", "-l", "-F", host, "--", "."], cwd=REPO, capture_output=True, text=True)
        assert r.stdout == "", f"{host} is written in {r.stdout.split()}"
