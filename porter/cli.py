"""porter's command line: one click group, one module per subcommand under porter/commands/."""

import sys

import click

from porter import __version__
from porter.errors import PorterError
from porter.commands import apply, lint, locate, review, verify


class PorterGroup(click.Group):
    """Turn PorterError into one line on stderr and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PorterError as exc:
            click.echo(f"porter: error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=PorterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="porter")
def main():
    """Port Linux kernel patches to trees where they no longer apply.

    \b
    porter apply   place every hunk of a patch in one or more target trees (C-aware)
    porter locate  where a function is defined, declared, called (and where it moved)
    porter lint    check tree invariants kept as rule files in rules/
    porter verify  build a tree and boot it under QEMU with emulated pmem
    porter review  one-screen answer: placement and invariants per tree
    """


for _module in (apply, locate, lint, verify, review):
    main.add_command(_module.command)
