"""A series onto git refs, like `git am`: one commit per ported commit on a new branch, a stop at the first
refusal, and `--continue` / `--skip` / `--abort` from the state kept in the repository's git dir.

State lives in `<git common dir>/porter-apply/` (git am keeps `rebase-apply/` there): `state.json`, and, while a
tree is stopped, a worktree of its branch under `worktrees/` holding the refused commit's placed hunks and a
`.rej` file per refused file. The user fixes the hunk there; `--continue` commits what the worktree holds with
the commit's message, and the series goes on. `--abort` deletes the branches, removes the worktrees and the
state: the repository's refs and worktrees are as before the series started.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from porter.backport.revisions import Revision, read_revision
from porter.backport.trailers import TrailerOptions, decorate
from porter.errors import PorterError
from porter.matrix import Cell
from porter.patch import Series
from porter.porting import port
from porter.report import outcome_dict
from porter.tree import Tree, _git
from porter.write.changes import changes_of
from porter.write.gitref import build_commits, identity_env, rfc2822_date
from porter.write.rejects import reject_changes
from porter.write.transaction import TreeWrite, write_all

STATE_DIR = "porter-apply"
EMPTY_REASON = "the commit changes no file"


@dataclass
class Lane:
    """One target tree's progress through the series."""

    tree: str  # the --tree argument
    repo: str
    base: str  # commit the series started from
    branch: str
    tip: str  # branch head: base plus the commits made so far
    next: int = 0  # index of the revision to port next
    statuses: list[dict] = field(default_factory=list)  # per revision: status, reason, hunks, commit
    worktree: str | None = None  # created at the first stop, reused by later stops, removed at the end
    stopped: bool = False  # waiting for --continue / --skip


@dataclass
class Session:
    state_dir: str
    source: str  # repository the revisions come from
    revisions: list[str]
    lanes: list[Lane]
    trailers: dict = field(default_factory=dict)
    strict: bool = False
    committer: str | None = None  # --committer, for every commit the series makes

    @property
    def path(self) -> Path:
        return Path(self.state_dir)

    def save(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / "state.json.tmp"
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(self.path / "state.json")

    @classmethod
    def load(cls, state_dir: Path) -> Session:
        data = json.loads((state_dir / "state.json").read_text())
        data["lanes"] = [Lane(**lane) for lane in data["lanes"]]
        return cls(**data)

    @property
    def options(self) -> TrailerOptions:
        return TrailerOptions(**self.trailers)


def state_dir_of(repo: Path) -> Path:
    common = _git(repo, "rev-parse", "--git-common-dir").decode().strip()
    path = Path(common)
    return (path if path.is_absolute() else (repo / path)).resolve() / STATE_DIR


def find_session(cwd: Path) -> Session:
    try:
        sd = state_dir_of(cwd)
    except PorterError:
        raise PorterError("not in a git repository: no porter apply session to resume") from None
    if not (sd / "state.json").is_file():
        raise PorterError(f"no porter apply session in progress ({sd} does not exist)")
    return Session.load(sd)


def check_no_session(repo: Path) -> Path:
    sd = state_dir_of(repo)
    if sd.exists():
        raise PorterError(f"a porter apply session is in progress ({sd}): use --continue, --skip or --abort")
    return sd


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower()[:50] or "tree"


def _ref_exists(repo: Path, name: str) -> bool:
    args = ["git", "show-ref", "--verify", "--quiet", f"refs/heads/{name}"]
    return subprocess.run(args, check=False, cwd=repo).returncode == 0


def new_branch(repo: Path, wanted: str) -> str:
    name, n = wanted, 1
    while _ref_exists(repo, name):
        n += 1
        name = f"{wanted}-{n}"
    return name


def start_lane(tree: Tree, spec: str, branch: str, count: int) -> Lane:
    name = new_branch(tree.repo, branch)
    _git(tree.repo, "update-ref", f"refs/heads/{name}", tree.commit, "0" * 40)
    return Lane(spec, str(tree.repo), tree.commit, name, tree.commit,
                statuses=[{"status": Cell.NOT_ATTEMPTED.value} for _ in range(count)])


# -- porting commits onto a lane ---------------------------------------------------------------------------

def _commit(tree: Tree, rev: Revision, session: Session, result) -> str:
    """The writer's commit builder (porter/write/gitref.py) onto the lane's tip; the lane moves its branch."""
    commit = decorate(rev.commit, session.options, sha=rev.sha)
    return build_commits(tree, Series([commit]), result, session.committer)


def _hunks(result) -> list[dict]:
    return [outcome_dict(o) for o in result.outcomes]


def _reason(hunks: list[dict]) -> str:
    refused = [h for h in hunks if h["status"] == "refused"]
    return "; ".join(f"{h['file']} hunk {h['hunk']}: {h['reason']}" for h in refused[:3]) + \
        (f"; and {len(refused) - 3} more" if len(refused) > 3 else "")


def advance(session: Session, lane: Lane, revs: list[Revision], log) -> None:
    """Port the lane's remaining revisions in order, each onto the previous result; stop at the first refusal."""
    repo = Path(lane.repo)
    while lane.next < len(revs):
        i, rev = lane.next, revs[lane.next]
        if not rev.commit.files:
            lane.statuses[i] = {"status": Cell.EMPTY.value, "reason": EMPTY_REASON}
            lane.next += 1
            continue
        tree = Tree(name=lane.tree, repo=repo, ref=lane.tip, commit=lane.tip)
        try:
            result = port(Series([rev.commit]), tree, strict=session.strict)
        except PorterError as exc:
            lane.statuses[i] = {"status": Cell.REFUSED.value, "reason": str(exc), "hunks": []}
            _stop(session, lane, rev, None, log)
            return
        hunks = _hunks(result)
        if not result.ok:
            lane.statuses[i] = {"status": Cell.REFUSED.value, "reason": _reason(hunks), "hunks": hunks}
            _stop(session, lane, rev, result, log)
            return
        if not result.changed:
            lane.statuses[i] = {"status": Cell.ALREADY.value, "hunks": hunks}
        else:
            sha = _commit(tree, rev, session, result)
            _git(repo, "update-ref", f"refs/heads/{lane.branch}", sha, lane.tip)
            lane.tip = sha
            lane.statuses[i] = {"status": Cell.APPLIED.value, "hunks": hunks, "commit": sha}
        lane.next += 1
        session.save()
    _drop_if_no_commit(lane)


def made_no_commit(lane: Lane) -> bool:
    """The lane is through the series without a commit (every commit empty, already there, or skipped)."""
    return not lane.stopped and lane.next >= len(lane.statuses) and lane.tip == lane.base


def _drop_if_no_commit(lane: Lane) -> None:
    """A finished lane that made no commit keeps no branch: git am makes no commit of an empty patch, and a
    branch equal to its base would pass for a finished backport."""
    repo = Path(lane.repo)
    if made_no_commit(lane) and _ref_exists(repo, lane.branch):
        _drop_worktree(lane)  # a skipped stop's worktree has the branch checked out
        _git(repo, "update-ref", "-d", f"refs/heads/{lane.branch}", lane.base)


def _stop(session: Session, lane: Lane, rev: Revision, result, log) -> None:
    """Leave a worktree of the lane's branch with the refused commit's placed hunks and .rej files."""
    wt = session.path / "worktrees" / _slug(lane.tree)
    if lane.worktree:
        # Reused: a checkout of a whole kernel costs a minute, bringing it to the new tip only what changed.
        _git(wt, "reset", "--quiet", "--hard", lane.branch)
        _git(wt, "clean", "-fdq")
    else:
        if wt.exists():
            raise PorterError(f"{wt} already exists: remove it or run porter apply --abort")
        session.save()  # the state exists before the worktree does: --abort can always clean up
        _git(Path(lane.repo), "worktree", "add", "--quiet", str(wt), lane.branch)
        lane.worktree = str(wt)
    lane.stopped = True
    session.save()
    rejects: list[str] = []
    if result is not None:
        # The placed hunks and a .rej per refused file, through the writer's journal like any directory write.
        wtree = Tree(name=str(wt), root=wt)
        rej = reject_changes(wtree, result)
        write_all([TreeWrite(replace(result, tree=wtree), changes_of(result) + rej)], Series([rev.commit]))
        rejects = [c.path for c in rej]
    rej = f" (see {', '.join(rejects)})" if rejects else ""
    log(f"{lane.tree}: stopped at {rev.short} \"{rev.commit.subject}\": fix it in {wt}{rej}, then run "
        "porter apply --continue (or --skip, --abort)")


# -- resuming -------------------------------------------------------------------------------------------------

def _git_out(cwd: Path, *args: str) -> str:
    return _git(cwd, *args).decode("utf-8", "surrogateescape")


def _resolve(session: Session, lane: Lane, revs: list[Revision]) -> None:
    """Take what the user made of the refused commit in the lane's worktree: commits they made there, else the
    worktree's changes committed with the original author, date and message (plus the trailers asked for)."""
    wt = Path(lane.worktree)
    head = _git_out(wt, "rev-parse", "HEAD").strip()
    rev = revs[lane.next]
    if head != lane.tip:
        lane.tip = head
    else:
        _git(wt, "add", "-A")
        treeid = _git_out(wt, "write-tree").strip()
        if treeid == _git_out(wt, "rev-parse", f"{lane.tip}^{{tree}}").strip():
            raise PorterError(f"{lane.tree}: nothing changed in {wt}: fix the refused hunks there, or use --skip")
        commit = decorate(rev.commit, session.options, sha=rev.sha)
        msg = commit.subject + ("\n\n" + commit.message if commit.message else "") + "\n"
        sha = _git(wt, "commit-tree", treeid, "-p", lane.tip, input=msg.encode("utf-8", "surrogateescape"),
                   env=_author_env(wt, commit, session.committer)).decode().strip()
        _git(wt, "update-ref", f"refs/heads/{lane.branch}", sha, lane.tip)
        lane.tip = sha
    lane.statuses[lane.next] = {"status": Cell.RESOLVED.value, "commit": lane.tip,
                                "hunks": lane.statuses[lane.next].get("hunks", []),
                                "reason": lane.statuses[lane.next].get("reason", "")}


def _author_env(repo: Path, commit, committer: str | None) -> dict:
    """The same identity rules as the writer's commits: author and date from the commit, committer from
    --committer, else git's identity, else the author."""
    env = identity_env(repo, commit.author, committer)
    parsed = rfc2822_date(commit.date) if commit.date else None
    if parsed is not None:
        env["GIT_AUTHOR_DATE"] = parsed.isoformat()
    return env


def _leftover_rejects(wt: Path) -> list[str]:
    """The .rej files still in the worktree, ignored ones included: a user's `*.rej` ignore rule must not let
    --continue commit half a commit."""
    out = _git_out(wt, "ls-files", "--others", "-z")
    return [p for p in out.split("\0") if p.endswith(".rej")]


def _drop_worktree(lane: Lane) -> None:
    """Remove the lane's worktree: delete the files, then let git forget it (much faster than
    `git worktree remove` on a kernel-sized checkout)."""
    if lane.worktree:
        shutil.rmtree(lane.worktree, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], check=False, cwd=Path(lane.repo), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        lane.worktree = None
        lane.stopped = False


def load_revisions(session: Session) -> list[Revision]:
    return [read_revision(Path(session.source), sha) for sha in session.revisions]


def resume(session: Session, action: str, log) -> list[Revision]:
    """--continue or --skip: settle every stopped lane, then let all lanes go on."""
    revs = load_revisions(session)
    stopped = [lane for lane in session.lanes if lane.stopped]
    if action == "continue":
        for lane in stopped:  # check every lane before changing any
            left = _leftover_rejects(Path(lane.worktree))
            if left:
                raise PorterError(f"{lane.tree}: {lane.worktree} still has {', '.join(left)}: finish the fix and "
                                  "delete them, or use --skip")
        for lane in stopped:
            _resolve(session, lane, revs)
    for lane in stopped:
        if action == "skip":
            lane.statuses[lane.next] = dict(lane.statuses[lane.next], status=Cell.SKIPPED.value)
        lane.stopped = False
        lane.next += 1
        session.save()
    for lane in session.lanes:
        if not lane.stopped:
            advance(session, lane, revs, log)
    finish(session)
    return revs


def finish(session: Session) -> None:
    """The series is over on every tree: worktrees and state go, as rebase-apply does after git am."""
    if not any(lane.stopped for lane in session.lanes):
        for lane in session.lanes:
            _drop_worktree(lane)
        shutil.rmtree(session.path, ignore_errors=True)


def abort(session: Session) -> list[str]:
    """Back to where the series started: branches deleted, worktrees removed, state gone."""
    done = []
    for lane in session.lanes:
        _drop_worktree(lane)
        repo = Path(lane.repo)
        if _ref_exists(repo, lane.branch):  # a lane that made no commit has none left
            _git(repo, "update-ref", "-d", f"refs/heads/{lane.branch}")
            done.append(f"{lane.tree}: deleted branch {lane.branch}")
    shutil.rmtree(session.path, ignore_errors=True)
    return done
