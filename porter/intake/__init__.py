"""Read a patch in any shape kernel developers receive one, into porter.patch.Series, with git's semantics
(git mailsplit, git mailinfo, git apply are the reference).

Shapes: format-patch mbox (one or many messages, cover letter skipped), a single mail (MIME attachments,
base64/quoted-printable, any charset), a Maildir, several PATCH arguments, stdin and pipes, plain `git diff`
(renames, copies, modes), `diff -u` and `diff -c`, `.rej` files and bare hunks (with --file), and a patch
quoted in a reply. Anything that cannot be read safely is a PorterError with one line saying why.

One concern a module: sources (where bytes come from), mbox (mailsplit), mail + headers (MIME, encodings),
mailinfo (body semantics), quoted (replies), diff + names + hunks (git apply's reading), context (`diff -c`),
rejects (bare hunks), series (putting it together).
"""

from porter.intake.common import Options
from porter.intake.diff import parse_diff
from porter.intake.series import load_series, parse_series
from porter.intake.sources import read_input

__all__ = ["Options", "load_series", "parse_diff", "parse_series", "read_input"]
