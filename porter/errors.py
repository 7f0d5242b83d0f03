"""Errors porter reports as one line and an exit code."""


class PorterError(Exception):
    """Bad input or usage: one clear line, exit status 2, nothing written."""

    exit_code = 2
