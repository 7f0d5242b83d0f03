"""porter verify (placeholder until its module lands)."""

import click

from porter.errors import PorterError


@click.command("verify")
def command():
    """Not available yet."""
    raise PorterError("porter verify is not implemented yet")
