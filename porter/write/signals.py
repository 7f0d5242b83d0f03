"""Ctrl-C and SIGTERM during a write: held back while the tree changes, delivered when it is whole again.

A test hook, PORTER_TEST_SIGNAL_AT=<point>:<SIGNAL> (points: first-rename, mid-rename, prepared), makes porter
send itself the signal at that point of the write, so tests hit the exact moment every time."""

from __future__ import annotations

import contextlib
import os
import signal

HELD = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT}


@contextlib.contextmanager
def held_signals():
    """Block the catchable termination signals; a signal that arrived meanwhile is delivered on exit (SIGINT
    then raises KeyboardInterrupt, SIGTERM ends the process), after the write finished or was rolled back."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def test_point(name: str) -> None:
    spec = os.environ.get("PORTER_TEST_SIGNAL_AT", "")
    point, _, sig = spec.partition(":")
    if point == name:
        os.kill(os.getpid(), getattr(signal, f"SIG{sig or 'KILL'}"))
