"""porter review (placeholder until its module lands)."""

import click

from porter.errors import PorterError


@click.command("review")
def command():
    """Not available yet."""
    raise PorterError("porter review is not implemented yet")
