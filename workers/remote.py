"""A worker's own clone of a shared git remote, for fleets on several machines (issue 11).

Worktrees cannot be shared across machines, so ``foreman worker --remote URL`` clones the remote
into its ``--workspace`` (or reuses a clone of that remote already there) and works each issue on
``foreman/<issue-id>`` as :class:`~workers.workspace.Workspace` does, with three differences: a
branch starts from the remote's copy (``origin/foreman/<id>`` when an earlier attempt pushed one,
else the remote's default branch, freshly fetched); every commit is pushed to the remote (never
forced, so two workers can never overwrite each other's branch); and a validator reviewing an
issue built on another machine fetches its branch first. The foreman's merge queue on such a clone
(``foreman run --remote URL``) reads each issue's branch from the remote and pushes the integration
branch back (:meth:`RemoteWorkspace.branch_ref`, :meth:`RemoteWorkspace.publish`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from foreman.runtime.workspace import BRANCH_PREFIX, Workspace, WorkspaceError, _git_lock, _ref_exists, ensure_foreman_dir, git

REMOTE = "origin"


class RemoteWorkspace(Workspace):
    """This machine's clone of ``remote`` at ``root``.

    Args:
        root: the clone's folder; made by ``git clone`` when missing or empty.
        remote: any URL or path ``git clone`` accepts (ssh://, https://, a bare repository's path).

    Raises:
        WorkspaceError: ``root`` holds something else (not empty, or a clone of another remote), or
            the clone failed (git's words).
    """

    def __init__(self, root: Path, remote: str) -> None:
        root = Path(root).resolve()
        if not root.exists() or not any(root.iterdir()):
            root.parent.mkdir(parents=True, exist_ok=True)
            git(root.parent, "clone", "-q", remote, str(root))
        elif not (root / ".git").exists():
            raise WorkspaceError(f"{root} is not empty and not a git clone; pass an empty or new folder as --workspace")
        elif not _same_remote(_origin(root), remote):
            raise WorkspaceError(f"{root} is not a clone of {remote} (its origin: {_origin(root) or 'none'}); "
                                 "pass an empty or new folder as --workspace")
        ensure_foreman_dir(root)
        super().__init__(root)
        self.remote = remote

    def _new_worktree(self, key: str) -> Path:
        """A worktree of ``foreman/<key>`` from the remote's branch if it was pushed, else the remote's HEAD."""
        self._fetch()
        branch = BRANCH_PREFIX + key
        pushed = f"{REMOTE}/{branch}"
        return self.add_worktree(key, branch, start=pushed if _ref_exists(self.root, pushed) else f"{REMOTE}/HEAD")

    def _stage_ref(self, issue_id: str) -> str:
        """An earlier stage's work is its branch on the remote (pushed from whichever machine did it)."""
        return f"refs/remotes/{REMOTE}/{BRANCH_PREFIX}{issue_id}"

    def worktree_of(self, key: str) -> Path:
        """Where the work of ``key`` is; a branch pushed from another machine is fetched into a worktree first."""
        if not self.worktree_path(key).exists():
            self._fetch()
            if _ref_exists(self.root, f"{REMOTE}/{BRANCH_PREFIX}{key}"):
                return self._worktree(key)
        return super().worktree_of(key)

    async def commit(self, key: str, message: str) -> list[str]:
        """Commit the worktree of ``key`` and push its branch to the remote (fast-forward only)."""
        changed = await super().commit(key, message)
        if self.worktree_path(key).exists():
            await asyncio.to_thread(git, self.worktree_path(key), "push", "-q", REMOTE, f"{BRANCH_PREFIX}{key}")
        return changed

    def branch_ref(self, branch: str) -> str | None:
        """``branch`` as the remote has it (fetched now), else this clone's own; None when neither has it."""
        self._fetch()
        pushed = f"refs/remotes/{REMOTE}/{branch}"
        return pushed if _ref_exists(self.root, pushed) else super().branch_ref(branch)

    def publish(self, branch: str) -> None:
        """Push ``branch`` to the remote, never forced.

        Raises:
            WorkspaceError: the remote's branch moved on (someone else pushed it), or the push failed.
        """
        git(self.root, "push", "-q", REMOTE, f"refs/heads/{branch}:refs/heads/{branch}")

    def share(self, key: str, message: str) -> None:
        """Commit the worktree of ``key`` as it is (a merge in progress is concluded, conflict markers and
        all) and push its branch, so that a worker on another machine starts from it."""
        self._commit(self.worktree_path(key), message)
        self.publish(BRANCH_PREFIX + key)

    def _fetch(self) -> None:
        with _git_lock(self.root):
            git(self.root, "fetch", "-q", REMOTE)


def _same_remote(origin: str | None, remote: str) -> bool:
    """True when the clone's ``origin`` is ``remote``; git records a local path absolute, so a relative
    ``remote`` that exists here is compared as a resolved path."""
    if origin == remote:
        return True
    return origin is not None and Path(remote).exists() and Path(origin).resolve() == Path(remote).resolve()


def _origin(root: Path) -> str | None:
    """The URL of the clone's ``origin`` remote (None when it has none)."""
    try:
        return git(root, "remote", "get-url", REMOTE).strip()
    except WorkspaceError:
        return None
