"""Errors of the issue database, each with a stable machine-readable code and a CLI exit code.

Every error a caller can cause (unknown id, illegal transition, stale token, ...) is an
:class:`IssueError`; the CLI prints its message (or ``{"error": {"code", "message"}}`` with
``--json``) and exits with :attr:`IssueError.exit_code`. Messages never suggest deleting or
re-initialising data. The exit codes are documented in ``docs/cli.md``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1  #: a bug: report it
EXIT_INVALID = 2  #: bad input (also click's usage errors)
EXIT_NOT_FOUND = 3  #: no issue with that id
EXIT_REFUSED = 4  #: illegal transition, dependency cycle, issue not ready
EXIT_CONFLICT = 5  #: lost the race, not your claim, stale fencing token, lease expired
EXIT_NOTHING_READY = 6  #: no ready issue matches the filter
EXIT_DATABASE = 7  #: database file missing, unreadable or newer than this program


class WouldWait(Exception):
    """A write tried without waiting (``store.not_waiting()``) found the write lock taken: nothing was
    written, and the caller runs the write again where it may wait (foreman/issues/writes.py).
    Not an :class:`IssueError`: it never reaches a user."""


class IssueError(Exception):
    """Base class: ``code`` is a stable snake_case string, ``exit_code`` the CLI's exit status."""

    code = "error"
    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, object]:
        """The JSON shape used by ``--json`` and by the issue tool: ``{"code", "message", ...details}``."""
        return {"code": self.code, "message": self.message, **self.details}


class InvalidInput(IssueError):
    """A malformed argument: bad priority, type, metadata JSON, filter key."""

    code, exit_code = "invalid_input", EXIT_INVALID


class NumberOutOfRange(InvalidInput):
    """A number the database cannot hold, or a lease length that is not finite positive seconds (see limits.py)."""

    code = "number_out_of_range"


class InvalidText(InvalidInput):
    """Text that is not valid Unicode (e.g. bytes that are not UTF-8, passed through argv as surrogates)."""

    code = "invalid_text"


class InvalidDatabasePath(InvalidInput):
    """The database path cannot hold a database: it is a folder, or one of its parents is a file."""

    code = "invalid_db_path"


class DiskFull(InvalidInput):
    """SQLite reported a full disk or quota; the transaction was rolled back and nothing changed."""

    code = "disk_full"


class NotTaken(IssueError):
    """Claim by id of an issue outside the worker's filter (its plan's ``fleet.takes``)."""

    code, exit_code = "not_taken", EXIT_REFUSED


class IssueNotFound(IssueError):
    """No issue has the given id."""

    code, exit_code = "not_found", EXIT_NOT_FOUND


class IllegalTransition(IssueError):
    """The state machine (docs/state-machine.md) has no edge for this action from the current status."""

    code, exit_code = "illegal_transition", EXIT_REFUSED


class DependencyCycle(IssueError):
    """Adding the dependency would make issues wait on each other forever."""

    code, exit_code = "dependency_cycle", EXIT_REFUSED


class NotReady(IssueError):
    """Claim by id of an open issue that still waits on an open blocker or child."""

    code, exit_code = "not_ready", EXIT_REFUSED


class ClaimConflict(IssueError):
    """Another worker holds (or just won) the claim."""

    code, exit_code = "claim_conflict", EXIT_CONFLICT


class StaleToken(IssueError):
    """The fencing token does not match the issue's current claim."""

    code, exit_code = "stale_token", EXIT_CONFLICT


class LeaseExpired(IssueError):
    """The claim's lease ran out before this write; the issue went back to the queue (or dead letter)."""

    code, exit_code = "lease_expired", EXIT_CONFLICT


class NothingReady(IssueError):
    """``claim --next`` found no ready issue matching the filter."""

    code, exit_code = "nothing_ready", EXIT_NOTHING_READY


class DatabaseMissing(IssueError):
    """The database file does not exist (only creating an issue starts a new database)."""

    code, exit_code = "database_missing", EXIT_DATABASE


class DatabaseUnreadable(IssueError):
    """The file exists but is not a readable issue database (corrupt, not SQLite, locked too long)."""

    code, exit_code = "database_unreadable", EXIT_DATABASE


class SchemaTooNew(IssueError):
    """The database was written by a newer version of this program."""

    code, exit_code = "schema_too_new", EXIT_DATABASE


class ChecksFailed(IssueError):
    """A close refused by the runtime: a check (or the commit) failed; the message has each command and its output."""

    code, exit_code = "checks_failed", EXIT_REFUSED
