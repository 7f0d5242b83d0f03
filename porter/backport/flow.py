"""`porter apply` with revisions: REV, A..B or -N (from the current repository or --from REPO) onto one or
more trees, and --continue / --skip / --abort of a stopped series.

Git refs get a series like `git am` (porter.backport.session); directories stay all-or-nothing (every commit
placed, or nothing written) unless --partial. Either way the outcome is a commit x tree matrix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import click

from porter.backport import session as sess
from porter.backport.revisions import Revision, read_revisions, source_repo
from porter.backport.trailers import TrailerOptions
from porter.errors import PorterError
from porter.matrix import Cell, Entry, Matrix, Row
from porter.patch import Series
from porter.porting import PortResult, port
from porter.report import outcome_dict
from porter.tree import Tree, open_trees
from porter.write.changes import changes_of
from porter.write.rejects import reject_changes
from porter.write.transaction import TreeWrite, write_all

EXIT_APPLIED, EXIT_REFUSED = 0, 1


@dataclass
class Request:
    spec: str | None
    trees: tuple[str, ...]
    from_repo: str | None
    action: str | None  # continue | skip | abort
    dry_run: bool = False
    partial: bool = False
    branch: str | None = None
    committer: str | None = None
    strict: bool = False
    fmt: str = "text"
    junit: str | None = None
    trailers: TrailerOptions = field(default_factory=TrailerOptions)


def run(req: Request) -> int:
    cwd = Path.cwd()
    notes: list[str] = []  # what the revisions reader noted (printed first)
    said: list[str] = []  # what the series has to tell (where it stopped, how to go on: printed last)
    if req.action:
        if req.spec or req.trees:
            raise PorterError(f"--{req.action} takes no PATCH or --tree: it resumes the session in progress")
        session = sess.find_session(cwd)
        if req.action == "abort":
            for line in sess.abort(session):
                click.echo(line)
            click.echo("porter apply: aborted; branches and worktrees are as before the series")
            return EXIT_APPLIED
        revs = sess.resume(session, req.action, said.append)
        matrix = _session_matrix(session, revs)
        return _emit(req, matrix, notes, said)
    if not req.trees:
        raise PorterError("--tree is required")
    repo = source_repo(req.from_repo, cwd)
    if repo is None:
        raise PorterError(f"{req.spec}: not a patch file, and not in a git repository to read it as a revision")
    revs = read_revisions(repo, req.spec)
    targets = list(zip(req.trees, open_trees(list(req.trees), write=not req.dry_run)))
    for r in revs:
        notes += [f"{r.short}: {n}" for n in r.notes]
    matrix = Matrix([Row(r.sha, r.commit.subject) for r in revs], list(req.trees))
    refs = [(s, t) for s, t in targets if t.is_ref and not req.dry_run]
    session = None
    if refs:
        state_dir = sess.check_no_session(refs[0][1].repo)
        lanes = [sess.start_lane(t, s, _branch_name(req.branch, revs, s, len(refs)), len(revs)) for s, t in refs]
        session = sess.Session(str(state_dir), str(repo), [r.sha for r in revs], lanes,
                               trailers=req.trailers.__dict__, strict=req.strict, committer=req.committer)
        session.save()
        for lane in lanes:
            sess.advance(session, lane, revs, said.append)
        sess.finish(session)
        _fill_from_session(matrix, session, revs)
    for spec, tree in targets:
        if tree.is_ref and not req.dry_run:
            continue
        _whole_series(req, matrix, spec, tree, revs)
    return _emit(req, matrix, notes, said)


def _branch_name(wanted: str | None, revs: list[Revision], tree_spec: str, n_refs: int) -> str:
    base = wanted or "porter/" + (re.sub(r"[^A-Za-z0-9]+", "-", revs[0].commit.subject).strip("-").lower()[:50]
                                  or "backport")
    return base if n_refs == 1 else f"{base}-{sess._slug(tree_spec)}"


# -- directories (and dry runs): the whole series at once ------------------------------------------------------

def _commit_entries(result: PortResult, revs: list[Revision]) -> list[Entry]:
    entries = []
    for ci, rev in enumerate(revs):
        outs = [o for o in result.outcomes if o.commit == ci]
        hunks = [outcome_dict(o) for o in outs]
        if not rev.commit.files:
            entries.append(Entry(Cell.EMPTY, "the commit changes no file content"))
        elif any(not o.placed for o in outs):
            entries.append(Entry(Cell.REFUSED, sess._reason(hunks), hunks))
        elif all(o.result.rung == "already-applied" for o in outs):
            entries.append(Entry(Cell.ALREADY, hunks=hunks))
        else:
            entries.append(Entry(Cell.APPLIED, hunks=hunks))
    return entries


def _whole_series(req: Request, matrix: Matrix, spec: str, tree: Tree, revs: list[Revision]) -> None:
    series = Series([r.commit for r in revs])
    try:
        result = port(series, tree, strict=req.strict)
    except PorterError as exc:
        for r in revs:
            matrix.cells[(r.sha, spec)] = Entry(Cell.REFUSED, str(exc))
        return
    entries = _commit_entries(result, revs)
    refused = [r.short for r, e in zip(revs, entries) if e.status is Cell.REFUSED]
    written: list[str] = []
    if result.ok:
        if req.dry_run:
            entries = [Entry(Cell.PLACED, e.reason, e.hunks) if e.status is Cell.APPLIED else e for e in entries]
        elif result.changed:
            written = _write(series, result, changes_of(result))
    elif req.partial and not req.dry_run:
        written = _write(series, result, changes_of(result) + reject_changes(tree, result))
        entries = [Entry(Cell.PARTIAL, e.reason, e.hunks) if e.status is Cell.REFUSED else e for e in entries]
    else:
        why = f"nothing written: {', '.join(refused)} refused (a directory gets all or nothing; --partial writes " \
              "the placed hunks)"
        entries = [e if e.status in (Cell.REFUSED, Cell.EMPTY) else Entry(Cell.NOT_ATTEMPTED, why, e.hunks)
                   for e in entries]
    for r, e in zip(revs, entries):
        matrix.cells[(r.sha, spec)] = e
    if written:
        matrix.notes.setdefault(spec, []).append(f"wrote {', '.join(written)}")


def _write(series: Series, result: PortResult, changes) -> list[str]:
    """One directory, all or nothing, through the writer's transaction (journal, rollback on failure)."""
    write = TreeWrite(result, changes)
    write_all([write], series)
    return write.written


# -- refs: from the session's lanes ----------------------------------------------------------------------------

def _fill_from_session(matrix: Matrix, session: sess.Session, revs: list[Revision]) -> None:
    for lane in session.lanes:
        stopped_at = revs[lane.next].short if lane.stopped else None
        for r, st in zip(revs, lane.statuses):
            status = Cell(st["status"])
            reason = st.get("reason", "")
            if status is Cell.NOT_ATTEMPTED and stopped_at:
                reason = f"the series stopped at {stopped_at} on this tree"
            matrix.cells[(r.sha, lane.tree)] = Entry(status, reason, st.get("hunks", []), st.get("commit"))
        notes = matrix.notes.setdefault(lane.tree, [])
        notes.append(f"branch {lane.branch}: {lane.base[:12]}..{lane.tip[:12]}")
        if lane.stopped:
            notes.append(f"stopped: fix the refused hunks in {lane.worktree}, then porter apply --continue "
                         "(or --skip, --abort)")


def _session_matrix(session: sess.Session, revs: list[Revision]) -> Matrix:
    matrix = Matrix([Row(r.sha, r.commit.subject) for r in revs], [lane.tree for lane in session.lanes])
    _fill_from_session(matrix, session, revs)
    return matrix


# -- output ------------------------------------------------------------------------------------------------------

def _emit(req: Request, matrix: Matrix, notes: list[str], said: list[str]) -> int:
    if req.junit:
        Path(req.junit).write_text(matrix.to_junit(), encoding="utf-8")
    if req.fmt == "json":
        doc = matrix.as_dict()
        doc["messages"] = notes + said
        click.echo(json.dumps(doc, indent=2))
    else:
        for n in notes:
            click.echo(f"note: {n}")
        for line in matrix.text_lines():
            click.echo(line)
        for line in said:
            click.echo(f"porter: {line}")
    return EXIT_APPLIED if matrix.ok else EXIT_REFUSED
