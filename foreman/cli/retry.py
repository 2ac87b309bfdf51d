"""``foreman retry ID``: a dead-letter issue back to the queue, with a note (issue 12; seed 004's ``retry``).

Takes ``--db`` (or ``$FOREMAN_DB``) and ``--json``. Exit codes (docs/cli.md): 0 ok, 3 no such
issue, 4 refused (the issue is not in dead letter), 7 database missing or unreadable.
"""

from __future__ import annotations

import click

from foreman.cli.issues import actor_option, store_command
from foreman.issues import Status
from foreman.issues.errors import IllegalTransition

#: why an issue in each other status cannot be retried, and what to do instead
NOT_RETRIED = {
    Status.OPEN: "it is open already (a failed attempt goes back to the queue by itself until its last one)",
    Status.IN_PROGRESS: "a worker holds it",
    Status.IN_REVIEW: "it waits for its review",
    Status.BLOCKED: "it is blocked; give the missing input with `foreman issues unblock ID NOTE`",
    Status.CLOSED: "it is closed; `foreman issues reopen ID --reason ...` reopens closed work",
}


@click.command("retry")
@click.argument("issue_id")
@click.option("--note", "-n", default="", help="What to do differently (a note the next worker's prompt shows).")
@actor_option
@store_command()
def retry_command(store, issue_id, note, actor):
    """Put a dead-letter issue back in the queue with a fresh allowance of attempts, and a note."""
    issue = store.get(issue_id)
    if issue.status != Status.DEAD_LETTER:
        raise IllegalTransition(f"{issue_id} is {issue.status.value}, not dead_letter: {NOT_RETRIED[issue.status]}",
                                id=issue_id, status=issue.status.value)
    return store.reopen(issue_id, reason=f"retry: {note}" if note else "retry requested", actor=actor)
