"""Shared pytest fixtures.

Real-tree fixtures (`linux_5_10`, `linux_6_1`, `linux_6_12`) give the path of a pristine Debian
kernel tree through porter.kernel_sources.ensure_tree: a cached tree when there is one (see
scripts/fetch-kernel-sources), else a download.  Treat them as read-only: copy what you modify.
"""

import pytest

from porter.kernel_sources import ensure_tree


def _tree(version):
    return ensure_tree(version)


@pytest.fixture(scope="session")
def linux_5_10():
    return _tree("5.10")


@pytest.fixture(scope="session")
def linux_6_1():
    return _tree("6.1")


@pytest.fixture(scope="session")
def linux_6_12():
    return _tree("6.12")


@pytest.fixture(autouse=True)
def _release_tree_locks():
    """Tests that call open_tree() in-process must not keep trees locked against the porter subprocesses of
    later tests (a real porter holds its locks until it exits)."""
    yield
    from porter.write import treelock
    treelock.release_all()
