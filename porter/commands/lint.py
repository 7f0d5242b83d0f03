"""porter lint (placeholder until its module lands)."""

import click

from porter.errors import PorterError


@click.command("lint")
def command():
    """Not available yet."""
    raise PorterError("porter lint is not implemented yet")
