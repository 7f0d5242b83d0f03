"""`porter apply` with revisions: REV, A..B or -N (from the current repository or --from REPO) onto one or
more trees, and --continue / --skip / --abort of a stopped series.

Git refs get a series like `git am` (porter.backport.session): each ref's lane goes on or stops by itself, on a
new branch. Directories stay all-or-nothing, together: every commit placed in every directory, then all of them
written in one transaction, or none (--partial writes the placed hunks). A write that fails takes back the
branches the run made too, so an error leaves every tree and ref as it was. Either way the outcome is a
commit x tree matrix.
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
from porter.intake.names import quote_c
from porter.matrix import Cell, Entry, Matrix, Row
from porter.patch import Series
from porter.porting import PortResult, port
from porter.report import outcome_dict
from porter.tree import Tree, open_trees
from porter.write.changes import changes_of
from porter.write.gitref import check_branch_name, identity_env
from porter.write.rejects import reject_changes
from porter.write.signals import Terminated, held_signals
from porter.write.transaction import COMPLETED, TreeWrite, write_all

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
    _check_something_to_port(req.spec, revs)
    targets = list(zip(req.trees, open_trees(list(req.trees), write=not req.dry_run)))
    for r in revs:
        notes += [f"{r.short}: {n}" for n in r.notes]
    matrix = Matrix([Row(r.sha, r.commit.subject) for r in revs], list(req.trees))
    # Refs get a lane each (a dry run has none); directories and dry runs are placed in memory first, so that
    # nothing is written before every directory is known to take the series.
    refs = [(s, t) for s, t in targets if t.is_ref and not req.dry_run]
    session = _start_session(req, repo, revs, refs) if refs else None
    placed = [_place_series(req, s, t, revs) for s, t in targets if not (t.is_ref and not req.dry_run)]
    try:
        if session is not None:
            _run_lanes(req, session, revs, refs, said.append)
            _fill_from_session(matrix, session, revs)
        _write_directories(req, matrix, placed, revs)
    except PorterError as exc:
        if session is None:
            raise
        # All or nothing across the run: a failed directory write (or a lane that could not be committed)
        # takes the branches this run made with it.
        raise PorterError(f"{exc}; {_undo_session(session)}") from None
    except (KeyboardInterrupt, Terminated) as exc:
        # Ctrl-C or SIGTERM between lanes or before the directories were written: the same all or nothing,
        # or the run would leave branches and a session whose --continue never writes the directories.
        if session is not None and not any(COMPLETED):  # directories written: the lanes had all finished
            with held_signals():
                exc.undone = _undo_session(session)
        raise
    return _emit(req, matrix, notes, said)


def _check_something_to_port(spec: str, revs: list[Revision]) -> None:
    """An input that changes nothing is bad input, as an empty patch file is: git cherry-pick refuses an empty
    commit (without --allow-empty) and git am an empty patch. In a series, an empty commit is only noted."""
    if all(not r.commit.files for r in revs):
        what = "the commit changes no file" if len(revs) == 1 else f"none of its {len(revs)} commits changes a file"
        raise PorterError(f"{spec}: {what} (empty; git cherry-pick and git am refuse it too): nothing to port")


def _branch_name(wanted: str | None, revs: list[Revision], tree_spec: str, n_refs: int) -> str:
    base = wanted or "porter/" + (re.sub(r"[^A-Za-z0-9]+", "-", revs[0].commit.subject).strip("-").lower()[:50]
                                  or "backport")
    return base if n_refs == 1 else f"{base}-{sess._slug(tree_spec)}"


# -- refs: a git am-like session, one lane per ref -----------------------------------------------------------

def _start_session(req: Request, repo: Path, revs: list[Revision], refs: list[tuple[str, Tree]]) -> sess.Session:
    """Everything a lane could refuse is checked before the first branch exists."""
    state_dir = sess.check_no_session(refs[0][1].repo)
    for spec, tree in refs:
        check_branch_name(tree, _branch_name(req.branch, revs, spec, len(refs)))
        for author in sorted({r.commit.author for r in revs}):
            identity_env(tree.repo, author, req.committer)
    return sess.Session(str(state_dir), str(repo), [r.sha for r in revs], [], trailers=req.trailers.__dict__,
                        strict=req.strict, committer=req.committer)


def _run_lanes(req: Request, session: sess.Session, revs: list[Revision], refs: list[tuple[str, Tree]],
               log) -> None:
    for spec, tree in refs:
        session.lanes.append(sess.start_lane(tree, spec, _branch_name(req.branch, revs, spec, len(refs)),
                                             len(revs)))
    session.save()
    for lane in session.lanes:
        sess.advance(session, lane, revs, log)
    sess.finish(session)


def _undo_session(session: sess.Session) -> str:
    """Take back what the lanes made (branches, worktrees, the session's state), and say so truly."""
    if not session.lanes:
        return "no branch was made"
    try:
        sess.abort(session)
    except PorterError as exc:
        return f"the branches this run made were NOT all deleted ({exc}): git branch -D " + \
            " ".join(lane.branch for lane in session.lanes)
    return "the branches this run made are deleted (" + ", ".join(lane.branch for lane in session.lanes) + ")"


# -- directories (and dry runs): the whole series at once, every directory in one transaction ----------------

@dataclass
class _Placed:
    """One directory's (or dry-run tree's) series, placed in memory: its cells, and what it would write."""

    spec: str
    entries: list[Entry]
    write: TreeWrite | None = None
    refused: list[str] = field(default_factory=list)  # short ids of the commits refused here


def _commit_changes(result: PortResult, ci: int) -> bool:
    """Commit ci changes some file's content or mode (per_commit holds the states after each commit)."""
    before = result.per_commit[ci - 1] if ci else {}
    modes_before = result.per_commit_modes[ci - 1] if ci else {}
    after, modes_after = result.per_commit[ci], result.per_commit_modes[ci]
    return any(after[p] != before.get(p, result.before.get(p))
               or modes_after.get(p) != modes_before.get(p, result.modes_before.get(p)) for p in after)


def _commit_entries(result: PortResult, revs: list[Revision]) -> list[Entry]:
    entries = []
    for ci, rev in enumerate(revs):
        outs = [o for o in result.outcomes if o.commit == ci]
        hunks = [outcome_dict(o) for o in outs]
        if not rev.commit.files:
            entries.append(Entry(Cell.EMPTY, sess.EMPTY_REASON))
        elif any(not o.placed for o in outs):
            entries.append(Entry(Cell.REFUSED, sess._reason(hunks), hunks))
        elif all(o.result.rung == "already-applied" for o in outs) and not _commit_changes(result, ci):
            entries.append(Entry(Cell.ALREADY, hunks=hunks))
        else:
            entries.append(Entry(Cell.APPLIED, hunks=hunks))
    return entries


def _place_series(req: Request, spec: str, tree: Tree, revs: list[Revision]) -> _Placed:
    try:
        result = port(Series([r.commit for r in revs]), tree, strict=req.strict)
    except PorterError as exc:
        return _Placed(spec, [Entry(Cell.REFUSED, str(exc)) for _ in revs], refused=[r.short for r in revs])
    entries = _commit_entries(result, revs)
    refused = [r.short for r, e in zip(revs, entries) if e.status is Cell.REFUSED]
    if req.dry_run:
        entries = [Entry(Cell.PLACED, e.reason, e.hunks) if e.status is Cell.APPLIED else e for e in entries]
        return _Placed(spec, entries, refused=refused)
    if result.ok:
        write = TreeWrite(result, changes_of(result)) if result.changed else None
        return _Placed(spec, entries, write)
    if req.partial:
        entries = [Entry(Cell.PARTIAL, e.reason, e.hunks) if e.status is Cell.REFUSED else e for e in entries]
        return _Placed(spec, entries, TreeWrite(result, changes_of(result) + reject_changes(tree, result)))
    return _Placed(spec, entries, refused=refused)


def _write_directories(req: Request, matrix: Matrix, placed: list[_Placed], revs: list[Revision]) -> None:
    """Every directory of the run is written in one transaction, or none is (as with patch files): a refusal
    in one directory, or a failed write in any, leaves them all as they were."""
    blocked = [p for p in placed if p.refused] if not (req.dry_run or req.partial) else []
    if blocked:
        why = "nothing written: " + "; ".join(f"{', '.join(p.refused)} refused on {p.spec}" for p in blocked) + \
            " (the directories of a run are written all together or not at all; --partial writes the placed hunks)"
        for p in placed:
            p.entries = [e if e.status in (Cell.REFUSED, Cell.EMPTY) else Entry(Cell.NOT_ATTEMPTED, why, e.hunks)
                         for e in p.entries]
            matrix.notes.setdefault(p.spec, []).append(why)  # the text shows no reason beside placed hunks
    writes = [p.write for p in placed if p.write is not None and not blocked]
    if writes:
        write_all(writes, Series([r.commit for r in revs]))
    for p in placed:
        for r, e in zip(revs, p.entries):
            matrix.cells[(r.sha, p.spec)] = e
        if p.write is not None and p.write.written:
            matrix.notes.setdefault(p.spec, []).append(f"wrote {', '.join(quote_c(w) for w in p.write.written)}")


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
        if sess.made_no_commit(lane):
            notes.append(f"no commit made: no branch kept ({lane.branch} would equal {lane.base[:12]})")
        else:
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
