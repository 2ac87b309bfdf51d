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
  lists, ``.git/HEAD``, ``.git/config``) may have changed while the tool ran: the guard takes a
  :func:`checkout_state` at the call's ``tool:pre`` and compares it at its ``tool:post``; a change (a
  shell command, which no argument check can see) cancels the session and
  :attr:`WorkspaceGuard.violation` names what changed, so the runtime fails the attempt. A mounted
  tool whose object declares ``workspace_confined = True`` (ours for files and issues: it touches
  only the paths its arguments name, which ``tool:pre`` checked) is not watched: two ``git status``
  runs per call saved, which on a large repository are the dearest part of a tool call.

The sessions of one process share one :class:`CheckoutReader` per checkout: every session that asks
while a reading runs gets the next reading, which starts after they asked. Each state is still taken
after its ``tool:pre`` (and before the tool runs, since the hook waits for it) or after its tool
finished, but 32 sessions whose tool calls arrive together cost two ``git status`` runs, not 64.
"""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import weakref
from pathlib import Path
from typing import Any

from amplifier_core.events import TOOL_POST, TOOL_PRE
from amplifier_core.models import HookResult

PATH_KEYS = frozenset({"file_path", "path", "paths", "cwd", "working_dir", "directory"})


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


def checkout_state(root: Path) -> dict[str, tuple[int, int]]:
    """What the user's git checkout at ``root`` looks like now: for each entry ``git status`` lists
    (read without taking git's index lock), and ``HEAD`` and ``config`` of the git directory, its
    (modification time in ns, size), or its nearest folder's when it is gone. Two states differ
    exactly where something changed in between, so the user's own edits before a tool call, and
    the runtime's own git work before the session (a worktree, a tracking branch), never count."""
    def run(*args: str) -> str:
        done = subprocess.run(["git", "--no-optional-locks", *args], cwd=root, capture_output=True, text=True)
        return done.stdout

    git_dir = _git_dir(root)
    listed = [entry[3:] for entry in run("status", "--porcelain", "-z").split("\0") if len(entry) > 3]
    candidates = [root / entry for entry in listed] + [git_dir / "HEAD", git_dir / "config"]
    return {str(path): _stamp(path) for path in candidates}


@functools.lru_cache(maxsize=64)
def _git_dir(root: Path) -> Path:
    """The git directory of the checkout at ``root`` (asked once per process and checkout: the guard
    reads the checkout's state twice per tool call, and every git process counts)."""
    done = subprocess.run(["git", "rev-parse", "--git-common-dir"], cwd=root, capture_output=True, text=True)
    git_dir = Path(done.stdout.strip())
    return git_dir if git_dir.is_absolute() else root / git_dir


def changed(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    """The paths whose stamp differs between two :func:`checkout_state` readings (new ones included)."""
    return [path for path, stamp in after.items() if before.get(path) != stamp]


def _stamp(path: Path) -> tuple[int, int]:
    """``path``'s (modification time in ns, size); for a missing path, its nearest folder's."""
    while not path.exists() and path != path.parent:
        path = path.parent
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


class CheckoutReader:
    """:func:`checkout_state` of one checkout for every session of the process, one reading at a time.

    Args:
        root: the user's checkout.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._next: asyncio.Future | None = None  # the reading that starts once the running one ends
        self._reading: asyncio.Task | None = None

    async def read(self) -> dict[str, tuple[int, int]]:
        """The checkout's state, read after this call started (waits for a reading already running).

        Raises whatever :func:`checkout_state` raises.
        """
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        waiting = self._next
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(self._read_while_asked())
        return await asyncio.shield(waiting)

    async def _read_while_asked(self) -> None:
        while self._next is not None:
            answer, self._next = self._next, None
            try:
                answer.set_result(await asyncio.to_thread(checkout_state, self.root))
            except Exception as exc:
                answer.set_exception(exc)


_readers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> {root: CheckoutReader}


def checkout_reader(root: Path) -> CheckoutReader:
    """The running event loop's shared :class:`CheckoutReader` of ``root``."""
    readers = _readers.setdefault(asyncio.get_running_loop(), {})
    return readers.setdefault(root, CheckoutReader(root))


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
        self._before: dict[str, dict[str, tuple[int, int]]] = {}  # tool_call_id -> checkout state at its tool:pre
        self._session: Any = None

    async def attach(self, session: Any) -> None:
        """Register on ``session``'s hooks (a FleetSession): deny on ``tool:pre``; in git, compare the
        checkout at ``tool:post`` of every :meth:`watched` call."""
        self._session = session
        session.hooks.register(TOOL_PRE, self._on_tool_pre, name="foreman-workspace-guard")
        if self.git:
            session.hooks.register(TOOL_POST, self._on_tool_post, name="foreman-checkout-watch")

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

    def watched(self, tool_name: Any) -> bool:
        """Whether the checkout is read around a call of ``tool_name``: in a git workspace, unless
        the session's mounted tool of that name declares ``workspace_confined``."""
        tools = self._session.coordinator.get("tools") or {}
        return self.git and not getattr(tools.get(tool_name), "workspace_confined", False)

    async def _on_tool_pre(self, event: str, data: dict[str, Any]) -> HookResult:
        named = self.forbidden(data.get("tool_input") or data.get("arguments"))
        if named is None:
            if self.watched(data.get("tool_name")):
                self._before[str(data.get("tool_call_id"))] = await checkout_reader(self.root).read()
            return HookResult()
        reason = (f"{named!r} is outside your workspace {self.where} (the repository, its .git and .foreman "
                  "are the fleet's); use paths inside your workspace.")
        return HookResult(action="deny", reason=reason)

    async def _on_tool_post(self, event: str, data: dict[str, Any]) -> HookResult:
        before = self._before.pop(str(data.get("tool_call_id")), None)
        if self.violation is not None or before is None:
            return HookResult()
        touched = changed(before, await checkout_reader(self.root).read())
        if touched:
            self.violation = (f"the session changed the user's checkout at {self.root} while {data.get('tool_name')!r} "
                              f"ran ({', '.join(touched[:3])}); the attempt failed")
            await self._session.cancel()
        return HookResult()
