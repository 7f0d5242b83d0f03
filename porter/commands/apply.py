"""porter apply (placeholder until its module lands)."""

import click

from porter.errors import PorterError


@click.command("apply")
def command():
    """Not available yet."""
    raise PorterError("porter apply is not implemented yet")
