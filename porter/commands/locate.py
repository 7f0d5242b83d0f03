"""porter locate (placeholder until its module lands)."""

import click

from porter.errors import PorterError


@click.command("locate")
def command():
    """Not available yet."""
    raise PorterError("porter locate is not implemented yet")
