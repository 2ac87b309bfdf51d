"""Task files: a JSON list of issues for the foreman to create (``--tasks FILE``), and the seed scenario.

Each task: ``title`` (required), ``id`` (a stable key), ``description``, ``acceptance``, ``type``,
``priority`` (0-4), ``worker_type`` (matched by a worker plan's ``fleet.takes``), ``blocked_reason``
(create it blocked), ``checks`` (shell commands that must exit 0 in the issue's worktree before
it closes). Each task's issue carries its :attr:`TaskSpec.key` in ``metadata.task_key``,
so a task list planned twice creates every task once. The seed scenario is the five issues of the
user's original demo.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from foreman.issues import IssueType, NewIssue
from foreman.issues.models import Check
from foreman.plans import PlanError

SEED_WORKSPACE = Path(__file__).parent / "seed_workspace"
TASK_KEY = "task_key"  #: issue metadata key holding the task's stable key


class TaskSpec(BaseModel):
    """One issue the foreman should create."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    id: str | None = Field(None, min_length=1, max_length=100)  #: stable key; default: a hash of the title
    description: str = ""
    acceptance: str = ""
    type: IssueType = IssueType.TASK
    priority: int = Field(2, ge=0, le=4)
    worker_type: str
    blocked_reason: str | None = None
    checks: list[Check] = Field(default_factory=list)  #: commands that must exit 0 in the worktree to close (issue 8)

    @property
    def key(self) -> str:
        """The task's stable key: its ``id``, else ``title:`` and a hash of its title (case and spacing ignored)."""
        if self.id is not None:
            return self.id
        title = " ".join(self.title.split()).casefold()
        return "title:" + hashlib.sha256(title.encode()).hexdigest()[:16]

    def new_issue(self) -> NewIssue:
        """The issue to create for this task (its key in ``metadata.task_key``)."""
        return NewIssue(title=self.title, description=self.description, acceptance_criteria=self.acceptance,
                        type=self.type, priority=self.priority,
                        metadata={"worker_type": self.worker_type, TASK_KEY: self.key},
                        blocked_reason=self.blocked_reason, checks=self.checks)


LIST_ITEMS = "grep -cE '^ *([-*]|[0-9]+[.)]) +[^ ]'"  # counts Markdown list items (the seed's research checks)

SEED_TASKS = [
    TaskSpec(title="Fix login authentication bug", type="bug", priority=0, worker_type="coding",
             description="login() in app/auth.py rejects users who type the right password. Find the bug and fix it.",
             acceptance="login('ada', 'lovelace') returns True; a wrong password returns False.",
             checks=["python3 -m unittest -q tests.test_login"]),
    TaskSpec(title="Add password reset feature", type="feature", priority=1, worker_type="coding",
             description="Add reset_password(username, new_password) to app/auth.py that stores the new password hash.",
             acceptance="After reset_password('ada', 'new'), login('ada', 'new') returns True.",
             checks=["python3 -m unittest -q tests.test_reset"]),
    TaskSpec(title="Research competitor pricing models", type="research", priority=2, worker_type="research",
             description="Summarise common pricing models of developer tools (per seat, usage based, freemium) "
                         "in research/pricing.md.",
             acceptance="research/pricing.md lists at least three models with one line each.",
             checks=["test -s research/pricing.md", f"test $({LIST_ITEMS} research/pricing.md) -ge 3"]),
    TaskSpec(title="User onboarding flow analysis", type="research", priority=2, worker_type="research",
             description="Describe the steps a new user takes from sign-up to first login, and where they may "
                         "drop off, in research/onboarding.md.",
             acceptance="research/onboarding.md lists the steps and at least two drop-off risks.",
             checks=["test -s research/onboarding.md", f"test $({LIST_ITEMS} research/onboarding.md) -ge 3",
                     "test $(grep -ci 'drop' research/onboarding.md) -ge 2"]),
    TaskSpec(title="Optimize database queries", type="task", priority=1, worker_type="coding",
             description="find_orders() in app/db.py runs one query per user. Make it one query.",
             acceptance="find_orders() issues a single query.",
             checks=["python3 -m unittest -q tests.test_db"],
             blocked_reason="Needs the slow query log from production to know which queries matter."),
]


def create_seed_workspace(path: Path) -> Path:
    """Copy the seed's sample app to ``path`` (which must not exist) as a new git repository with one commit."""
    shutil.copytree(SEED_WORKSPACE, path)
    git = ["git", "-c", "user.name=amplifier-foreman", "-c", "user.email=foreman@localhost"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "Seed workspace"]):
        subprocess.run([*git, *args], cwd=path, check=True, capture_output=True)
    return path


def load_tasks(path: str | Path) -> list[TaskSpec]:
    """Read a JSON task file (a list of task objects).

    Raises:
        PlanError: unreadable file, bad JSON, or a task with a missing/unknown field (file and index named).
    """
    file = Path(path)
    try:
        data = json.loads(file.read_text())
        return TypeAdapter(list[TaskSpec]).validate_python(data)
    except OSError as exc:
        raise PlanError(f"{file}: cannot read the task file ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise PlanError(f"{file}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PlanError(f"{file}: task {where}: {first['msg']}") from None
