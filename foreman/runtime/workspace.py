"""Where a worker works: the workspace itself, or (in a git repository) its own worktree per issue.

In a git repository each issue gets a worktree under ``<repo>/.foreman/worktrees/<issue-id>`` on a
new branch ``foreman/<issue-id>`` started from the repository's current HEAD; closing the issue
commits what changed there. The user's checkout, index and branches are never touched: only
``git worktree add`` and commits on ``foreman/*`` branches are made, and ``.foreman/`` ignores
itself. Worktrees are kept after the run for review (``git worktree list``).
"""

from __future__ import annotations

import asyncio
import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BRANCH_PREFIX = "foreman/"
GIT_AUTHOR = ["-c", "user.name=amplifier-foreman", "-c", "user.email=foreman@localhost"]


class WorkspaceError(RuntimeError):
    """A git command on the workspace failed; the message has git's own words."""


def git(cwd: Path, *args: str) -> str:
    """Run ``git args`` in ``cwd`` as the foreman's author; returns stdout. Raises WorkspaceError with git's words."""
    done = subprocess.run(["git", *GIT_AUTHOR, *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise WorkspaceError(f"git {' '.join(args)} in {cwd}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


@contextmanager
def _git_lock(root: Path) -> Iterator[None]:
    """An exclusive lock on ``<root>/.foreman/git.lock`` held by one thread of one process at a time."""
    with open(root / ".foreman" / "git.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ref_exists(cwd: Path, ref: str) -> bool:
    """True when ``ref`` (``HEAD``, ``refs/heads/x``) names a commit in the repository at ``cwd``."""
    done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=cwd, capture_output=True)
    return done.returncode == 0


def is_git_repo(path: Path) -> bool:
    """True when ``path`` is inside a git work tree."""
    done = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=path, capture_output=True, text=True)
    return done.returncode == 0 and done.stdout.strip() == "true"


def create_repository(template: Path, path: Path) -> Path:
    """Copy the folder ``template`` to ``path`` (which must not exist) as a new git repository with one commit.

    Raises:
        FileExistsError: ``path`` exists.
        subprocess.CalledProcessError: git failed.
    """
    shutil.copytree(template, path)
    identity = ["-c", "user.name=amplifier-foreman", "-c", "user.email=foreman@localhost"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "Initial commit"]):
        subprocess.run(["git", *identity, *args], cwd=path, check=True, capture_output=True)
    return path


def ensure_foreman_dir(workspace: Path) -> Path:
    """Create ``<workspace>/.foreman/`` with a ``.gitignore`` of ``*`` so git never sees it."""
    folder = workspace / ".foreman"
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return folder


class Workspace:
    """The directory a fleet works in. ``git`` is detected once at construction."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        ensure_foreman_dir(self.root)
        self.git = is_git_repo(self.root)

    def check(self) -> None:
        """Refuse, before any claim, a git workspace where no worktree could be made.

        Raises:
            WorkspaceError: the repository has no commit yet (worktrees start from HEAD), or a
                branch named ``foreman`` exists (git cannot create ``foreman/<id>`` next to it).
        """
        if not self.git:
            return
        if not _ref_exists(self.root, "HEAD"):
            raise WorkspaceError(f"{self.root}: the git repository has no commit yet, and each issue's worktree "
                                 "starts from HEAD; commit something first (git commit --allow-empty -m start)")
        if _ref_exists(self.root, "refs/heads/" + BRANCH_PREFIX.rstrip("/")):
            raise WorkspaceError(f"{self.root}: a branch named {BRANCH_PREFIX.rstrip('/')!r} exists, so git cannot "
                                 f"create the {BRANCH_PREFIX}<issue> branches; rename it "
                                 f"(git branch -m {BRANCH_PREFIX.rstrip('/')} NEW-NAME)")

    async def checkout(self, key: str, builds_on: list[str] = ()) -> Path:
        """The directory to work in: the worktree of branch ``foreman/<key>`` in a git repository, else the root.

        ``key`` is the issue id (runtime claim mode) or a session label (agent mode, where the issue is
        not known before the session starts). A new worktree merges the branches of ``builds_on``
        (issue ids of earlier pipeline stages) that exist, so a stage starts with their files
        (issue 12); when they conflict, it starts from HEAD alone.
        """
        if not self.git:
            return self.root
        return await asyncio.to_thread(self._worktree, key, list(builds_on))

    def worktree_path(self, key: str) -> Path:
        """Where the worktree of ``key`` is (or will be): ``.foreman/worktrees/<key>``."""
        return self.root / ".foreman" / "worktrees" / key

    def _worktree(self, key: str, builds_on: list[str] = ()) -> Path:
        if self.worktree_path(key).exists():
            return self.worktree_path(key)
        path = self._new_worktree(key)
        refs = [ref for ref in map(self._stage_ref, builds_on) if _ref_exists(self.root, ref)]
        if refs:
            try:
                git(path, "merge", "-q", "--no-edit", "-m", f"Start from {', '.join(refs)}", *refs)
            except WorkspaceError:  # a conflict: leave the worktree as HEAD made it
                subprocess.run(["git", "merge", "--abort"], cwd=path, capture_output=True)
        return path

    def _new_worktree(self, key: str) -> Path:
        """A new worktree of ``key`` on branch ``foreman/<key>``, from HEAD."""
        return self.add_worktree(key, BRANCH_PREFIX + key, start="HEAD")

    def _stage_ref(self, issue_id: str) -> str:
        """The ref holding the work of the earlier stage ``issue_id`` (its branch here)."""
        return f"refs/heads/{BRANCH_PREFIX}{issue_id}"

    def add_worktree(self, key: str, branch: str, *, start: str) -> Path:
        """The worktree ``.foreman/worktrees/<key>`` on ``branch``, made from ``start`` unless the branch exists.

        An existing worktree is returned as it is (a retry or a resumed run continues on the same
        branch). Raises WorkspaceError with git's words.

        Only the worktree's entry is made under the repository's lock (``--no-checkout``); its files
        are checked out after the lock is released, so workers claiming together queue for about
        half as long (``git worktree add`` with checkout took 89 ms here, without it 52 ms). The
        repository's ``post-checkout`` hook does not run for these worktrees.
        """
        path = self.worktree_path(key)
        if path.exists():
            return path
        with _git_lock(self.root):  # concurrent `git worktree add` in one repository can read half-made entries
            try:
                git(self.root, "worktree", "add", "-q", "--no-checkout", "-b", branch, str(path), start)
            except WorkspaceError as exc:
                if "already exists" not in str(exc):
                    raise
                git(self.root, "worktree", "add", "-q", "--no-checkout", str(path), branch)
        try:
            git(path, "reset", "-q", "--hard")  # the branch's files, in the worktree's own index: no lock needed
        except WorkspaceError:  # never leave an empty worktree that a retry would take as made
            with _git_lock(self.root):
                subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=self.root, capture_output=True)
            raise
        return path

    def branch_ref(self, branch: str) -> str | None:
        """The ref to read ``branch`` (e.g. ``foreman/<id>``) from: ``refs/heads/<branch>``, None when it is missing."""
        ref = f"refs/heads/{branch}"
        return ref if _ref_exists(self.root, ref) else None

    def publish(self, branch: str) -> None:
        """Make ``branch`` reachable by every worker: nothing to do here, they all share this repository."""

    def share(self, key: str, message: str) -> None:
        """Make the worktree of ``key`` as it is the start of whoever works ``key``: nothing to do here,
        a worker of this repository opens that worktree itself (``message`` is unused)."""

    def head_commit(self) -> str | None:
        """The commit the user's checkout is at (the run's base; None outside git)."""
        return git(self.root, "rev-parse", "HEAD") if self.git else None

    def worktree_of(self, key: str) -> Path:
        """Where the session of ``key`` works: its worktree when it has one, else the root."""
        return self.worktree_path(key) if self.git and self.worktree_path(key).exists() else self.root

    async def head(self, key: str) -> str | None:
        """The commit the worktree of ``key`` is at (None outside git or before it exists)."""
        if not self.git or not self.worktree_path(key).exists():
            return None
        return await asyncio.to_thread(git, self.worktree_path(key), "rev-parse", "HEAD")

    async def commit(self, key: str, message: str) -> list[str]:
        """Commit everything changed in the worktree of ``key``; returns the changed paths (empty: nothing)."""
        if not self.git or not self.worktree_path(key).exists():
            return []
        return await asyncio.to_thread(self._commit, self.worktree_path(key), message)

    async def changed_files(self, key: str, base: str | None, builds_on: list[str] = ()) -> list[str]:
        """Paths the commits on the branch of ``key`` touched, in the order first touched: commits since
        ``base`` (default: the user's checkout) that the branches of ``builds_on`` (issue ids) do not
        hold. Empty outside git."""
        if not self.git or not self.worktree_path(key).exists():
            return []
        since = base or await asyncio.to_thread(self.head_commit)
        others = [BRANCH_PREFIX + i for i in builds_on if _ref_exists(self.root, f"refs/heads/{BRANCH_PREFIX}{i}")]
        log = await asyncio.to_thread(git, self.worktree_path(key), "log", "--reverse", "--name-only", "--pretty=format:",
                                      "HEAD", "--not", since, *others)
        return list(dict.fromkeys(line for line in log.splitlines() if line))

    @staticmethod
    def _commit(path: Path, message: str) -> list[str]:
        git(path, "add", "-A")
        changed = git(path, "diff", "--cached", "--name-only").splitlines()
        if changed:
            git(path, "commit", "-q", "-m", message)
        return changed
