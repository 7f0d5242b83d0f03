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
    # pthread_sigmask runs pending Python handlers when it returns: a Ctrl-C that arrived just before this
    # raises KeyboardInterrupt from the call itself. Read the old mask with a call that changes nothing, so
    # that a KeyboardInterrupt from the blocking call cannot leave the signals blocked for good.
    old = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def test_point(name: str) -> None:
    spec = os.environ.get("PORTER_TEST_SIGNAL_AT", "")
    point, _, sig = spec.partition(":")
    if point == name:
        os.kill(os.getpid(), getattr(signal, f"SIG{sig or 'KILL'}"))


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised like Ctrl-C's KeyboardInterrupt so that the command can say what it wrote."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def raise_on_termination() -> None:
    """Turn SIGTERM and SIGHUP into Terminated (held back, like SIGINT, while a write is under way)."""
    def handler(signum, _frame):
        raise Terminated(signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, handler)
