"""Moved to the porter.write package; kept so older imports keep working."""

from porter.write.gitref import commit_to_ref  # noqa: F401
from porter.write.patchfile import (  # noqa: F401
    commit_diffs,
    diffstat,
    file_diff,
    format_message,
    format_series,
)
