"""Workspace protection that holds whichever tool modules a plan mounts (issue 9, item 2).

Our tool-filesystem refuses writes to ``.git`` and ``.foreman`` and our tool-bash sees the user's
repository read-only; Microsoft's tool-filesystem resolves ``denied_write_paths`` against the
process's directory and its tool-bash confines nothing. So the runtime guards the workspace itself,
through amplifier-core's hook contract only (docs/contracts/HOOK_CONTRACT.md):

- ``tool:pre``: a call whose path arguments (keys ``file_path``, ``path``, ``*_path``, ``*_paths``,
  ``cwd``, ``working_dir``, ``directory``) resolve inside the workspace root but outside the
  session's own working directory (its worktree), or inside ``.foreman/``, is denied with the
  reason. Paths elsewhere on the machine are the tool module's business.
- ``tool:post``: in a git workspace, nothing of the user's checkout (the files ``git status``
  lists, ``.git/HEAD``, ``.git/config``) may have changed while the tool ran (:func:`touched_since`
  the call's ``tool:pre``); a change (a shell command, which no argument check can see) cancels the
  session and :attr:`WorkspaceGuard.violation` names what changed, so the runtime fails the attempt.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from amplifier_core.events import TOOL_POST, TOOL_PRE
from amplifier_core.models import HookResult

PATH_KEYS = frozenset({"file_path", "path", "paths", "cwd", "working_dir", "directory"})
MTIME_SLACK = 0.05  # seconds: file times may lag the clock by a kernel tick


def path_arguments(arguments: Any) -> list[str]:
    """The string values of ``arguments`` (a tool call's input dict) under path-like keys
    (:data:`PATH_KEYS`, or a key ending in ``_path`` / ``_paths``); lists of strings included."""
    if not isinstance(arguments, dict):
        return []
    found: list[str] = []
    for key, value in arguments.items():
        if not isinstance(key, str) or not (key in PATH_KEYS or key.endswith(("_path", "_paths"))):
            continue
        values = value if isinstance(value, list) else [value]
        found += [item for item in values if isinstance(item, str) and item]
    return found


def touched_since(root: Path, since: float) -> list[str]:
    """What in the user's git checkout at ``root`` changed at or after ``since`` (epoch seconds):
    the entries ``git status`` lists (read without taking git's index lock; a deleted one by its
    folder's time), ``HEAD`` and ``config`` of the git directory. The user's own edits before a tool
    call are not counted, so a user may keep working in the checkout during a run."""
    def run(*args: str) -> str:
        done = subprocess.run(["git", "--no-optional-locks", *args], cwd=root, capture_output=True, text=True)
        return done.stdout

    git_dir = Path(run("rev-parse", "--git-common-dir").strip())
    git_dir = git_dir if git_dir.is_absolute() else root / git_dir
    listed = [entry[3:] for entry in run("status", "--porcelain", "-z").split("\0") if len(entry) > 3]
    candidates = [root / entry for entry in listed] + [git_dir / "HEAD", git_dir / "config"]
    return [str(path) for path in candidates if _changed_at(path) >= since]


def _changed_at(path: Path) -> float:
    """``path``'s modification time (epoch seconds); for a missing path, its nearest folder's."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path.stat().st_mtime


class WorkspaceGuard:
    """Guards one session of a worker (see the module docstring).

    Args:
        root: the user's workspace (the repository root in a git workspace).
        where: the session's working directory: its worktree, or ``root`` outside git.
        git: whether ``root`` is a git repository (then the checkout is watched during each tool call).

    Attributes:
        violation: what the session changed outside its worktree, or None.
    """

    def __init__(self, root: Path, where: Path, git: bool) -> None:
        self.root = Path(os.path.realpath(root))
        self.where = Path(os.path.realpath(where))
        self.git = git
        self.violation: str | None = None
        self._started: dict[str, float] = {}  # tool_call_id -> epoch seconds of its tool:pre
        self._session: Any = None

    async def attach(self, session: Any) -> None:
        """Register on ``session``'s hooks (a FleetSession): deny on ``tool:pre``; in git, look at the
        checkout on every ``tool:post``."""
        self._session = session
        session.coordinator.hooks.register(TOOL_PRE, self._on_tool_pre, name="foreman-workspace-guard")
        if self.git:
            session.coordinator.hooks.register(TOOL_POST, self._on_tool_post, name="foreman-checkout-watch")

    def forbidden(self, arguments: Any) -> str | None:
        """The first path argument of a tool call that names a protected place, or None."""
        for value in path_arguments(arguments):
            target = Path(os.path.realpath(self.where / os.path.expanduser(value)))
            if self._protected(target):
                return value
        return None

    def _protected(self, target: Path) -> bool:
        """Inside ``.git`` (or a worktree's ``.git`` file), in the workspace but outside ``where``, or
        in ``.foreman`` when the session works in the workspace itself."""
        if target.is_relative_to(self.where / ".git"):
            return True
        if target.is_relative_to(self.where):
            return self.where == self.root and target.is_relative_to(self.root / ".foreman")
        return target.is_relative_to(self.root)

    async def _on_tool_pre(self, event: str, data: dict[str, Any]) -> HookResult:
        named = self.forbidden(data.get("tool_input") or data.get("arguments"))
        if named is None:
            self._started[str(data.get("tool_call_id"))] = time.time() - MTIME_SLACK
            return HookResult()
        reason = (f"{named!r} is outside your workspace {self.where} (the repository, its .git and .foreman "
                  "are the fleet's); use paths inside your workspace.")
        return HookResult(action="deny", reason=reason)

    async def _on_tool_post(self, event: str, data: dict[str, Any]) -> HookResult:
        since = self._started.pop(str(data.get("tool_call_id")), None)
        if self.violation is not None or since is None:
            return HookResult()
        touched = await asyncio.to_thread(touched_since, self.root, since)
        if touched:
            self.violation = (f"the session changed the user's checkout at {self.root} while {data.get('tool_name')!r} "
                              f"ran ({', '.join(touched[:3])}); the attempt failed")
            await self._session.cancel()
        return HookResult()
