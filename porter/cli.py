"""porter's command line: one click group, one module per subcommand under porter/commands/."""

import importlib
import signal
import sys

import click

from porter import __version__
from porter.errors import PorterError

SUBCOMMANDS = {
    "apply": "place every hunk of a patch in one or more target trees (C-aware)",
    "locate": "where a function is defined, declared, called (and where it moved)",
    "lint": "check tree invariants kept as rule files in rules/",
    "verify": "build a tree and boot it under QEMU with emulated pmem",
    "review": "one-screen answer: placement and invariants per tree",
}


class PorterGroup(click.Group):
    """Subcommands load lazily (each pulls in its own stack: tree-sitter, QEMU helpers...), and a PorterError
    becomes one line on stderr and exit status 2."""

    def list_commands(self, ctx):
        return list(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        return importlib.import_module(f"porter.commands.{name}").command

    def invoke(self, ctx):
        from porter.write import transaction
        from porter.write.signals import Terminated, raise_on_termination
        raise_on_termination()
        named = [*getattr(ctx, "_protected_args", []), *ctx.args]  # click empties them before the subcommand
        transaction.COMPLETED.clear()  # what this command wrote, not an earlier one in the same process
        try:
            return super().invoke(ctx)
        except PorterError as exc:
            click.echo(f"porter: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            # A missing file or a bad option is bad input like any other: one line, not click's usage block.
            # named by porter, not by the program name click was given (`main` under a test runner)
            where = f"porter {exc.ctx.info_name}" if exc.ctx and exc.ctx.command is not self else \
                _named_command(named)
            click.echo(f"porter: error: {exc.format_message()} (see '{where} --help')", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:
            # The machine, not the input: a full disk or temporary directory, an unreadable file. Writes
            # roll themselves back before this (write/transaction.py); one line, like any other error.
            where = f" ({exc.filename})" if exc.filename else ""
            click.echo(f"porter: error: {exc.strerror or exc}{where}", err=True)
            sys.exit(2)
        except KeyboardInterrupt as exc:
            _interrupted("interrupted", 130, getattr(exc, "undone", ""))
        except Terminated as exc:
            _interrupted(f"terminated by {signal.Signals(exc.signum).name}", 128 + exc.signum,
                         getattr(exc, "undone", ""))
        finally:
            from porter.write import treelock
            treelock.release_all()


def _named_command(args: list[str]) -> str:
    """`porter apply` when the error came while click was still reading apply's options in the group's
    context (an option missing its value), so the pointer names the subcommand's --help."""
    sub = next((a for a in args if a in SUBCOMMANDS), None)
    return f"porter {sub}" if sub else "porter"


def _interrupted(how: str, status: int, undone: str = "") -> None:
    # Writes hold the signal back until they are complete or rolled back: say which one happened (and, for a
    # series onto git refs, what became of the branches it had made).
    from porter.write.transaction import COMPLETED
    done = ", ".join(name for names in COMPLETED for name in names)
    said = f" after writing {done}" if done else "; nothing was written"
    click.echo(f"porter: {how}{said}" + (f"; {undone}" if undone else ""), err=True)
    sys.exit(status)


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

