"""``foreman issues ...``: the operator's commands on the issue database.

Every command takes ``--db`` (or ``$FOREMAN_DB``; default ``.foreman/issues.db``) and ``--json``.
Exit codes (docs/cli.md): 0 ok, 2 bad input (or a full disk), 3 not found, 4 refused (illegal
transition, cycle, not ready), 5 conflict (lost the race, not your claim, stale token, lease
expired), 6 nothing ready, 7 database missing or unreadable, 1 internal error.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from foreman.cli.render import DependencyEdge, DependencyRemoved, emit, emit_error
from foreman.issues import (
    DEFAULT_LEASE_TTL,
    DependencyType,
    EventKind,
    IssueFilter,
    IssueType,
    IssueUpdate,
    NewIssue,
    Status,
    limits,
    open_store,
    resolve_db,
)
from foreman.issues.errors import EXIT_INTERNAL, EXIT_INVALID, InvalidDatabasePath, InvalidInput, IssueError
from foreman.runtime.budgets import BUDGET, CALL_TIMEOUT, Budget, BudgetError
from foreman.runtime.workspace import Workspace
from workers.checks import CHECK_TIMEOUT
from workers.gate import CloseGate

TYPES = click.Choice([t.value for t in IssueType])
STATUSES = click.Choice([s.value for s in Status])
DEP_TYPES = click.Choice([d.value for d in DependencyType])


def store_command(*, create: bool = False, prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Callable:
    """Decorator: adds ``--db`` and ``--json``, checks the inputs, opens the store, prints the result,
    maps errors to exit codes.

    Put it above the command's other decorators that can raise (``filter_options``), so their errors
    are reported the same way. The wrapped function takes ``store`` first and returns what to print.
    ``prepare`` maps the command's arguments before the store is opened (e.g. reads a task file), so
    its errors change nothing, not even create a database.
    """

    def decorate(func: Callable) -> Callable:
        @click.option("--db", envvar="FOREMAN_DB", help="Issue database file [env FOREMAN_DB; default .foreman/issues.db].")
        @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
        @functools.wraps(func)
        def wrapper(db: str | None, as_json: bool, **kwargs: Any) -> None:
            try:
                _check_inputs(click.get_current_context().command.params, kwargs | {"db": db})
                if prepare is not None:
                    kwargs = prepare(kwargs)
                location = resolve_db(db)
                _check_db_path(location)
                store = open_store(location, create=create)
                try:
                    result = func(store, **kwargs)
                finally:
                    store.disconnect()
            except IssueError as exc:
                emit_error(exc.to_dict(), as_json)
                sys.exit(exc.exit_code)
            except ValidationError as exc:
                emit_error({"code": "invalid_input", "message": _validation_message(exc)}, as_json)
                sys.exit(EXIT_INVALID)
            except Exception as exc:  # a bug: still one line, never a traceback
                emit_error({"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}, as_json)
                sys.exit(EXIT_INTERNAL)
            emit(result, as_json)

        return wrapper

    return decorate


def _check_inputs(params: list[click.Parameter], values: dict[str, Any]) -> None:
    """Refuse what the database cannot store, naming the option: text that is not UTF-8 (argv bytes
    arrive as surrogates), integers past 64 bits, ``inf`` and ``nan``.

    Raises:
        InvalidText, NumberOutOfRange.
    """
    labels = {p.name: p.opts[0] if isinstance(p, click.Option) else p.human_readable_name for p in params}
    for name, given in values.items():
        label = labels.get(name, name)
        for value in given if isinstance(given, tuple) else (given,):
            if isinstance(value, str):
                limits.check_text(label, value)
            elif isinstance(value, int) and not isinstance(value, bool):
                limits.check_int(label, value)
            elif isinstance(value, float):
                limits.check_finite(label, value)


def _check_db_path(location: str) -> None:
    """A folder, or a path below a file, cannot hold the database: say so before SQLite does.

    Raises:
        InvalidDatabasePath: ``location`` is a folder, or its nearest existing parent is a file.
    """
    if location == ":memory:" or "://" in location.removeprefix("sqlite:///"):
        return
    path = Path(location.removeprefix("sqlite:///"))
    if path.is_dir():
        raise InvalidDatabasePath(f"--db {location} is a folder; give a file, e.g. {path / 'issues.db'}", path=location)
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise InvalidDatabasePath(f"--db {location}: {parent} is a file, not a folder", path=location)


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or 'input'}: {first['msg']}"


def _parse_meta(pairs: tuple[str, ...], metadata_json: str | None = None) -> dict[str, Any]:
    """``KEY=VALUE`` pairs (VALUE parsed as JSON when it is JSON, else kept as text) over ``--metadata`` JSON."""
    meta: dict[str, Any] = {}
    if metadata_json:
        try:
            meta = json.loads(metadata_json)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"--metadata is not valid JSON: {exc.msg} at character {exc.pos}") from exc
        if not isinstance(meta, dict):
            raise InvalidInput("--metadata must be a JSON object, e.g. '{\"worker_type\": \"coding\"}'")
    return meta | _key_values(pairs, "--meta")


def _key_values(pairs: tuple[str, ...], option: str) -> dict[str, Any]:
    """``KEY=VALUE`` pairs of ``option`` as a dict (VALUE parsed as JSON when it is JSON, else kept as text).

    Raises:
        InvalidInput: a pair without ``=`` or without a key.
    """
    given: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{option} expects KEY=VALUE, got {pair!r}")
        try:
            given[key] = json.loads(value)
        except json.JSONDecodeError:
            given[key] = value
    return given


def filter_options(func: Callable) -> Callable:
    """Adds ``--label``, ``--type`` and ``--meta`` filter options, passed on as ``where``."""

    @click.option("--label", "-l", "labels", multiple=True, help="Only issues with this label (repeatable: all must match).")
    @click.option("--type", "-t", "types", multiple=True, type=TYPES, help="Only issues of this type (repeatable: any).")
    @click.option("--meta", "meta", multiple=True, metavar="KEY=VALUE", help="Only issues whose metadata KEY equals VALUE.")
    @functools.wraps(func)
    def wrapper(*args: Any, labels: tuple, types: tuple, meta: tuple, **kwargs: Any) -> Any:
        where = IssueFilter(labels=list(labels), types=list(types), metadata=_parse_meta(meta))
        return func(*args, where=where, **kwargs)

    return wrapper


ttl_option = click.option(
    "--ttl", type=float, default=DEFAULT_LEASE_TTL, show_default=True,
    help="Lease length in seconds (above 0, at most a year).",
)
token_option = click.option("--token", type=int, help="Fencing token of your claim (required for a worker's writes).")
actor_option = click.option("--actor", default="operator", show_default=True, help="Who is acting (recorded in events).")
check_option = click.option(
    "--check", "checks", multiple=True, metavar="CMD",
    help="A shell command that must exit 0 in the issue's worktree before it closes (repeatable).")


budget_option = click.option(
    "--budget", "budget", multiple=True, metavar="KEY=VALUE",
    help="A budget limit of the issue, over every attempt: max_tokens, max_cost_usd, max_seconds or "
         "max_model_calls (repeatable; docs/budgets.md).")
call_timeout_option = click.option(
    "--call-timeout", type=click.FloatRange(min=0, min_open=True),
    help="Seconds one model call on this issue may take [default: the plan's, else 120].")


def _budget_meta(pairs: tuple[str, ...], call_timeout: float | None, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The metadata entries of ``--budget KEY=VALUE`` (over ``current``, the issue's budget) and ``--call-timeout``.

    Raises:
        InvalidInput: not KEY=VALUE, an unknown key, or a value that is not a positive number.
    """
    limits = (current or {}) | _key_values(pairs, "--budget")
    try:
        Budget.parse(limits, where="--budget")
    except BudgetError as exc:
        raise InvalidInput(str(exc)) from None
    meta: dict[str, Any] = {BUDGET: limits} if pairs else {}
    return meta | ({CALL_TIMEOUT: call_timeout} if call_timeout else {})


@click.group()
def issues() -> None:
    """Create, claim, work and close issues in the shared issue database."""


@issues.command()
@click.argument("title")
@click.option("--description", "-d", default="", help="What needs doing.")
@click.option("--acceptance", default="", help="Acceptance criteria.")
@click.option("--type", "-t", "issue_type", type=TYPES, default="task", show_default=True)
@click.option("--priority", "-p", type=click.IntRange(0, 4), default=2, show_default=True, help="0 = most urgent.")
@click.option("--label", "-l", "labels", multiple=True, help="A label (repeatable).")
@click.option("--meta", "meta", multiple=True, metavar="KEY=VALUE", help="A metadata entry, e.g. worker_type=coding.")
@click.option("--metadata", "metadata_json", help="Metadata as a JSON object.")
@click.option("--max-attempts", type=click.IntRange(1), default=3, show_default=True, help="Claims before dead letter.")
@click.option("--blocked", "blocked_reason", help="Create it already blocked, with this reason.")
@check_option
@budget_option
@call_timeout_option
@actor_option
@store_command(create=True)
def create(store, title, description, acceptance, issue_type, priority, labels, meta, metadata_json, max_attempts, blocked_reason,
           checks, budget, call_timeout, actor):
    """Create an issue (and the database, if it does not exist yet)."""
    metadata = _parse_meta(meta, metadata_json) | _budget_meta(budget, call_timeout)
    new = NewIssue(
        title=title, description=description, acceptance_criteria=acceptance, type=issue_type, priority=priority,
        labels=list(labels), metadata=metadata, max_attempts=max_attempts,
        blocked_reason=blocked_reason, checks=list(checks),
    )
    return store.create(new, actor=actor)


@issues.command("list")
@click.option("--status", "-s", "statuses", multiple=True, type=STATUSES, help="Only this status (repeatable).")
@click.option("--assignee", help="Only issues assigned to this worker.")
@click.option("--limit", type=click.IntRange(1), help="At most this many.")
@store_command()
@filter_options
def list_(store, statuses, assignee, limit, where):
    """List issues, oldest first."""
    return store.list(statuses=[Status(s) for s in statuses], assignee=assignee, where=where, limit=limit)


@issues.command()
@click.argument("issue_id")
@store_command()
def show(store, issue_id):
    """Show an issue with its notes, dependencies and attempts."""
    return store.show(issue_id)


@issues.command()
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@store_command()
@filter_options
def ready(store, limit, where):
    """List ready issues: open, no open blocker or child; by priority, then age."""
    return store.ready(where, limit=limit)


@issues.command()
@click.argument("issue_id", required=False)
@click.option("--next", "next_", is_flag=True, help="Claim the next ready issue matching the filters.")
@click.option("--worker", "-w", required=True, help="Your worker identity (becomes the assignee).")
@ttl_option
@store_command()
@filter_options
def claim(store, issue_id, next_, worker, ttl, where):
    """Claim ISSUE_ID, or the next ready issue with --next. Prints the fencing token.

    Exit 5 if another worker holds it, 6 if nothing is ready.
    """
    if bool(issue_id) == next_:
        raise InvalidInput("give an ISSUE_ID or --next, not both and not neither")
    if issue_id and where != IssueFilter():
        raise InvalidInput("--label, --type and --meta choose the issue for --next; with an ISSUE_ID they would be ignored")
    return store.claim_next(worker, where, ttl=ttl) if next_ else store.claim(issue_id, worker, ttl=ttl)


@issues.command()
@click.argument("issue_id")
@click.option("--token", type=int, required=True, help="Fencing token of your claim.")
@ttl_option
@store_command()
def heartbeat(store, issue_id, token, ttl):
    """Renew the lease of your claim for another TTL seconds."""
    return store.heartbeat(issue_id, token, ttl=ttl)


@issues.command()
@click.argument("issue_id")
@click.argument("text")
@click.option("--author", default="operator", show_default=True, help="Who writes it (ignored with --token).")
@token_option
@store_command()
def note(store, issue_id, text, author, token):
    """Append a note to an issue."""
    return store.note(issue_id, text, author=author, token=token)


@issues.command()
@click.argument("issue_id")
@click.argument("reason")
@token_option
@actor_option
@store_command()
def block(store, issue_id, reason, token, actor):
    """Mark an issue blocked with REASON (your claimed issue with --token, or an open one)."""
    return store.block(issue_id, reason, actor=actor, token=token)


@issues.command()
@click.argument("issue_id")
@click.argument("note", required=False)
@actor_option
@store_command()
def unblock(store, issue_id, note, actor):
    """Put a blocked issue back in the queue, with NOTE giving the missing input."""
    return store.unblock(issue_id, note, actor=actor)


@issues.command()
@click.argument("issue_id")
@click.option("--token", type=int, required=True, help="Fencing token of your claim.")
@click.option("--reason", help="Why it goes back.")
@store_command()
def release(store, issue_id, token, reason):
    """Give your claimed issue back to the queue."""
    return store.release(issue_id, token, reason=reason)


@issues.command()
@click.argument("issue_id")
@click.option("--token", type=int, required=True, help="Fencing token of your claim.")
@click.option("--error", "error", required=True, help="What went wrong.")
@store_command()
def fail(store, issue_id, token, error):
    """Record a failed attempt (back to the queue, or dead letter after max attempts)."""
    return store.fail(issue_id, token, error=error)


@issues.command()
@click.argument("issue_id")
@click.option("--reason", "-r", default="", help="How it was resolved.")
@token_option
@actor_option
@click.option("--workspace", type=click.Path(file_okay=False, exists=True),
              help="Where the issue's worktree is [default: the folder holding the database's .foreman/; "
                   "with PostgreSQL the current directory].")
@store_command()
def close(store, issue_id, reason, token, actor, workspace):
    """Close an issue (your claimed issue with --token, or an unclaimed one) once its checks pass.

    The checks run in the issue's worktree (``.foreman/worktrees/ID``, else the workspace) after
    its changes are committed; a failing check refuses the close (exit 4, ``checks_failed``).
    """
    database = Path(store.path)  # a PostgreSQL URL is no file: the workspace is then the current directory
    root = Path(workspace) if workspace else database.resolve().parent.parent if database.is_file() else Path.cwd()
    gate = CloseGate(store, Workspace(root), issue_id, validation=False, actor=actor, timeout=CHECK_TIMEOUT)
    return asyncio.run(gate.close(issue_id, token, reason))


@issues.command()
@click.argument("issue_id")
@click.option("--reason", "-r", default="", help="Why it is reopened.")
@actor_option
@store_command()
def reopen(store, issue_id, reason, actor):
    """Reopen a closed or dead-letter issue (its attempt count starts again)."""
    return store.reopen(issue_id, reason=reason, actor=actor)


@issues.command()
@click.argument("issue_id")
@click.option("--title")
@click.option("--description", "-d")
@click.option("--acceptance")
@click.option("--type", "-t", "issue_type", type=TYPES)
@click.option("--priority", "-p", type=click.IntRange(0, 4))
@click.option("--meta", "meta", multiple=True, metavar="KEY=VALUE", help="Set a metadata entry (VALUE null removes it).")
@check_option
@click.option("--no-checks", is_flag=True, help="Remove every check.")
@budget_option
@call_timeout_option
@actor_option
@store_command()
def update(store, issue_id, title, description, acceptance, issue_type, priority, meta, checks, no_checks, budget,
           call_timeout, actor):
    """Change an issue's fields (status changes have their own commands). ``--check`` replaces the checks;
    ``--budget`` changes the limits it names and keeps the others."""
    current = store.get(issue_id).metadata.get(BUDGET) if budget else None
    metadata = _parse_meta(meta) | _budget_meta(budget, call_timeout, current)
    given = {"title": title, "description": description, "acceptance_criteria": acceptance, "type": issue_type,
             "priority": priority, "metadata": metadata or None,
             "checks": [] if no_checks else (list(checks) or None)}
    return store.update(issue_id, IssueUpdate(**{k: v for k, v in given.items() if v is not None}), actor=actor)


@issues.group()
def dep() -> None:
    """Add or remove dependencies (blocks, parent-child, related, discovered-from)."""


@dep.command("add")
@click.argument("issue_id")
@click.argument("depends_on")
@click.option("--type", "-t", "dep_type", type=DEP_TYPES, default="blocks", show_default=True,
              help="blocks: ISSUE_ID waits for DEPENDS_ON. parent-child: ISSUE_ID is the child of DEPENDS_ON.")
@actor_option
@store_command()
def dep_add(store, issue_id, depends_on, dep_type, actor):
    """Record that ISSUE_ID depends on DEPENDS_ON. Cycles are refused (exit 4)."""
    return store.dep_add(issue_id, depends_on, DependencyType(dep_type), actor=actor)


@dep.command("remove")
@click.argument("issue_id")
@click.argument("depends_on")
@click.option("--type", "-t", "dep_type", type=DEP_TYPES, default="blocks", show_default=True)
@actor_option
@store_command()
def dep_remove(store, issue_id, depends_on, dep_type, actor):
    """Remove a dependency."""
    store.dep_remove(issue_id, depends_on, DependencyType(dep_type), actor=actor)
    return DependencyRemoved(removed=DependencyEdge(issue_id=issue_id, depends_on=depends_on, type=dep_type))


@issues.command()
@click.argument("issue_id", required=False)
@click.option("--kind", "kinds", multiple=True, type=click.Choice([k.value for k in EventKind]), help="Only this kind.")
@click.option("--after", type=int, default=0, help="Only events after this event number.")
@click.option("--limit", type=click.IntRange(1), help="At most this many.")
@store_command()
def events(store, issue_id, kinds, after, limit):
    """Show the event log (of one issue, or of all)."""
    return store.events(issue_id, kinds=[EventKind(k) for k in kinds], after=after, limit=limit)


@issues.command()
@store_command()
def sweep(store):
    """Expire every lease that ran out (issues go back to the queue or to dead letter)."""
    return store.sweep()
