"""Backporting from git history: commits and ranges as input (revisions), a series that stops and resumes like
`git am` (session), stable-tree trailers, and "already upstream in another form" evidence."""
