"""The issue tools: one small JSON schema each, all backed by the same store calls.

A worker acts on its own claim (the ``id`` argument may be left out); the fencing token comes
from the session's :class:`~foreman.issues.identity.WorkerIdentity`. A foreman acts on any
issue by id as an operator. The schemas are kept terse: the whole set stays far below 1,500
tokens (``tests/modules/test_tool_issue.py`` measures it). Every input is validated against the
tool's own schema (jsonschema, draft 2020-12) before anything runs.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema
from amplifier_core.models import ToolResult
from pydantic import ValidationError

from foreman.issues import (
    RUNTIME_ACTOR,
    ChecksFailed,
    DependencyType,
    InvalidInput,
    Issue,
    IssueError,
    IssueFilter,
    IssueType,
    NewIssue,
    NothingReady,
    NotTaken,
    Status,
    writes,
)

from .binding import Binding

logger = logging.getLogger(__name__)

ISSUE_ID = {"type": "string", "maxLength": 64}
ID = ISSUE_ID | {"description": "Issue id; default: your claimed issue"}
TEXT = {"type": "string", "maxLength": 2000}
LIMIT = {"type": "integer", "minimum": 1, "maximum": 50}
MESSAGE_CHARS = 300  # longest schema complaint echoed to the model (the offending value may be megabytes)
JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
              type(None): "null"}


@dataclass(frozen=True)
class Operation:
    """One tool: its name, description, input properties, required keys and handler."""

    name: str
    description: str
    properties: dict[str, Any]
    required: tuple[str, ...]
    handler: Callable[[Binding, dict[str, Any]], Any]

    @property
    def input_schema(self) -> dict[str, Any]:
        """JSON Schema of the tool's input."""
        return {"type": "object", "properties": self.properties, "required": list(self.required),
                "additionalProperties": False}

    @functools.cached_property
    def validator(self) -> jsonschema.Draft202012Validator:
        """The validator of :attr:`input_schema`, built once per process (every session's tool shares it:
        building one per session showed in the fleet profile)."""
        return jsonschema.Draft202012Validator(self.input_schema)


def brief(issue: Issue) -> dict[str, Any]:
    """What a model needs to see of an issue (keeps tool results short)."""
    data = {"id": issue.id, "title": issue.title, "status": issue.status.value, "priority": issue.priority,
            "type": issue.type.value}
    data |= {k: v for k, v in (("assignee", issue.assignee), ("blocking_notes", issue.blocking_notes)) if v}
    return data | ({"metadata": issue.metadata} if issue.metadata else {})


def _target(binding: Binding, args: dict[str, Any]) -> tuple[str, int | None]:
    """(issue id, token): a worker's own claim, or any id for a foreman (no token)."""
    identity, wanted = binding.identity, args.get("id")
    if identity.role == "foreman":
        if not wanted:
            raise InvalidInput("give the issue id")
        return wanted, None
    claim = identity.claim
    if claim is None:
        raise InvalidInput("you have no claimed issue; claim one first")
    if wanted and wanted != claim.issue.id:
        raise InvalidInput(f"you can only act on your claimed issue {claim.issue.id}")
    return claim.issue.id, claim.token


def _create(b: Binding, a: dict[str, Any]) -> Any:
    """Create the issue, then its ``depends_on`` edges (pipeline stages, issue 12); every id is checked first."""
    meta = {"worker_type": a["worker_type"]} if a.get("worker_type") else {}
    new = NewIssue(title=a["title"], description=a.get("description", ""), acceptance_criteria=a.get("acceptance", ""),
                   type=a.get("type", "task"), priority=a.get("priority", 2), metadata=meta,
                   checks=a.get("checks", []), blocked_reason=a.get("blocked_reason"))
    if b.require_checks:
        _check_verifiable(new)
    waits_on = [b.store.get(issue_id).id for issue_id in a.get("depends_on", [])]
    issue = b.store.create(new, actor=b.identity.name)
    for depends_on in waits_on:
        b.store.dep_add(issue.id, depends_on, DependencyType.BLOCKS, actor=b.identity.name)
    return brief(issue) | ({"depends_on": waits_on} if waits_on else {})


def _check_verifiable(new: NewIssue) -> None:
    """Issue 8: a planned issue says how it is verified; research needs a check that its output file is not empty.

    Raises:
        InvalidInput: no checks, or a research issue without a ``test -s FILE`` check.
    """
    if not new.checks:
        raise InvalidInput("give checks: shell commands that exit 0 only when the work is done "
                           "(e.g. 'python3 -m unittest -q tests.test_x', or 'test -s research/notes.md')")
    if new.type == IssueType.RESEARCH and not any(c.startswith("test -s ") for c in new.checks):
        raise InvalidInput("a research issue needs a check that its output file exists and is not empty: "
                           "'test -s <file>'")


def _list(b: Binding, a: dict[str, Any]) -> Any:
    statuses = [Status(a["status"])] if a.get("status") else None
    return [brief(i) for i in b.store.list(statuses=statuses, limit=a.get("limit", 20))]


def _show(b: Binding, a: dict[str, Any]) -> Any:
    issue_id = a.get("id") or _target(b, a)[0]
    detail = b.store.show(issue_id)
    return brief(detail.issue) | {
        "description": detail.issue.description,
        "acceptance_criteria": detail.issue.acceptance_criteria,
        "notes": [f"{n.author}: {n.body}" for n in detail.notes if n.author != RUNTIME_ACTOR],
        "attempts": [f"#{t.number} {t.worker}: {t.outcome or 'running'} {t.error or ''}".strip() for t in detail.attempts],
    }


def _ready(b: Binding, a: dict[str, Any]) -> Any:
    return [brief(i) for i in b.store.ready(b.identity.where, limit=a.get("limit", 10))]


def _claim(b: Binding, a: dict[str, Any]) -> Any:
    identity = b.identity
    if identity.claim is not None:
        raise InvalidInput(f"you already hold {identity.claim.issue.id}; close, block or release it first")
    if a.get("id"):
        _check_taken(b, a["id"])
        claim = b.store.claim(a["id"], identity.name, ttl=identity.lease_ttl)
    else:
        claim = b.store.claim_next(identity.name, identity.where, ttl=identity.lease_ttl)
    identity.claim = claim
    identity.claimed.append(claim.issue.id)
    return brief(claim.issue) | {"description": claim.issue.description}


def _check_taken(b: Binding, issue_id: str) -> None:
    """Claim by id obeys the worker's filter (its plan's ``fleet.takes``) like claim-next does.

    The store's own filter SQL decides, so both claims agree on what matches. (The check and the
    claim are two transactions: an issue re-routed in between is claimed as it was a moment ago.)

    Raises:
        IssueNotFound, NotTaken: the issue is outside the filter.
    """
    where = b.identity.where
    if where == IssueFilter():
        return
    issue = b.store.get(issue_id)
    if any(i.id == issue.id for i in b.store.list(statuses=[issue.status], where=where)):
        return
    takes = json.dumps(where.model_dump(mode="json", exclude_defaults=True))
    raise NotTaken(
        f"{issue.id} is not an issue {b.identity.name} takes: it takes {takes}; {issue.id} has type "
        f"{issue.type.value}, labels {json.dumps(issue.labels)}, metadata {json.dumps(issue.metadata)}. "
        "Claim without an id to get the next issue you take",
        id=issue.id,
    )


def _note(b: Binding, a: dict[str, Any]) -> Any:
    issue_id, token = _target(b, a)
    b.store.note(issue_id, a["text"], author=b.identity.name, token=token)
    return {"id": issue_id, "noted": True}


def _finishing(action: str) -> Callable[[Binding, dict[str, Any]], Any]:
    """block / close / release: end the worker's claim, or act as operator for a foreman."""

    def handler(b: Binding, a: dict[str, Any]) -> Any:
        issue_id, token = _target(b, a)
        store, actor = b.store, b.identity.name
        if action == "block":
            issue = store.block(issue_id, a["reason"], actor=actor, token=token)
        else:
            issue = store.release(issue_id, token, reason=a.get("reason"))
        if token is not None:
            b.identity.claim = None
        return brief(issue)

    return handler


async def _close(b: Binding, a: dict[str, Any]) -> Any:
    """A worker's close goes through the runtime's close gate (commit, checks, then review); see workers/gate.py."""
    issue_id, token = _target(b, a)
    if b.gate is not None and token is not None:
        issue = await b.gate.close(issue_id, token, a["summary"], a.get("outputs"))
    else:
        issue = await writes.write(b.store, _close_ungated, b, issue_id, token, a["summary"])
    if token is not None:
        b.identity.claim = None
    return brief(issue) | ({"next": "a validator reviews it"} if issue.status == Status.IN_REVIEW else {})


def _close_ungated(b: Binding, issue_id: str, token: int | None, summary: str) -> Issue:
    """A close with no gate to run checks: allowed only for an issue that has none."""
    if b.store.get(issue_id).checks:
        raise ChecksFailed(f"{issue_id} has checks, and only the runtime's close gate runs them: close it from a "
                           "fleet worker or with `foreman issues close`")
    return b.store.close(issue_id, reason=summary, actor=b.identity.name, token=token)


def _verdict(b: Binding, a: dict[str, Any]) -> Any:
    """A validator's answer on the review it holds (seed 004: PASS/FAIL with critical issues)."""
    issue_id, token = _target(b, a)
    if token is None:
        raise InvalidInput("only the validator holding the review can give a verdict")
    issue = b.store.verdict(issue_id, token, passed=a["verdict"] == "PASS",
                            critical_issues=a.get("critical_issues", []), recommendations=a.get("recommendations", []))
    b.identity.claim = None
    return brief(issue)


def _unblock(b: Binding, a: dict[str, Any]) -> Any:
    return brief(b.store.unblock(a["id"], a["note"], actor=b.identity.name))


def _reopen(b: Binding, a: dict[str, Any]) -> Any:
    return brief(b.store.reopen(a["id"], reason=a["note"], actor=b.identity.name))


OPERATIONS: dict[str, Operation] = {
    op.name.removeprefix("issue_"): op
    for op in (
        Operation("issue_create", "Create an issue in the work queue.", {
            "title": {"type": "string", "maxLength": 200}, "description": TEXT,
            "type": {"enum": [t.value for t in IssueType]}, "priority": {"type": "integer", "minimum": 0, "maximum": 4},
            "worker_type": {"type": "string", "maxLength": 40, "description": "Worker type that should take it"},
            "blocked_reason": {"type": "string", "maxLength": 500, "description": "Create it blocked, waiting for this"},
            "acceptance": TEXT,
            "checks": {"type": "array", "items": {"type": "string", "maxLength": 500}, "maxItems": 10,
                       "description": "Shell commands that exit 0 only when the work is done"},
            "depends_on": {"type": "array", "items": ISSUE_ID, "maxItems": 10,
                           "description": "Ids of issues that must close first; their results reach this one"},
        }, ("title",), _create),
        Operation("issue_list", "List issues, optionally by status.", {
            "status": {"enum": [s.value for s in Status]}, "limit": LIMIT,
        }, (), _list),
        Operation("issue_show", "Show an issue with its notes and attempts.", {"id": ID}, (), _show),
        Operation("issue_ready", "List ready issues you can take, most urgent first.", {"limit": LIMIT}, (), _ready),
        Operation("issue_claim", "Claim an issue to work on (default: the next ready one).", {"id": ID}, (), _claim),
        Operation("issue_note", "Add a progress note to an issue.", {"id": ID, "text": TEXT}, ("text",), _note),
        Operation("issue_block", "Mark an issue blocked, saying what input is missing.",
                  {"id": ID, "reason": TEXT}, ("reason",), _finishing("block")),
        Operation("issue_close", "Close an issue as done, summarising the result. Its checks run first.",
                  {"id": ID, "summary": TEXT, "outputs": {
                      "type": "object", "additionalProperties": TEXT, "maxProperties": 10,
                      "description": "Named results for the issues that depend on this one"}}, ("summary",), _close),
        Operation("issue_verdict", "Give your review verdict on the issue you review.", {
            "verdict": {"enum": ["PASS", "FAIL"]},
            "critical_issues": {"type": "array", "items": TEXT, "maxItems": 20, "description": "What must be fixed"},
            "recommendations": {"type": "array", "items": TEXT, "maxItems": 20},
        }, ("verdict",), _verdict),
        Operation("issue_release", "Give your claimed issue back to the queue.",
                  {"reason": TEXT}, (), _finishing("release")),
        Operation("issue_unblock", "Unblock a blocked issue, giving the missing input.",
                  {"id": ISSUE_ID, "note": TEXT}, ("id", "note"), _unblock),
        Operation("issue_reopen", "Retry a closed or dead-letter issue with changed instructions.",
                  {"id": ISSUE_ID, "note": TEXT}, ("id", "note"), _reopen),
    )
}

DEFAULT_OPERATIONS = {
    "worker": ["show", "note", "block", "close"],
    "foreman": ["create", "list", "show", "note", "block", "unblock", "reopen", "close"],
}


class IssueTool:
    """An Amplifier tool (``name``, ``description``, ``input_schema``, ``execute``) for one operation.

    ``workspace_confined``: it changes no file (only the issue database; a close's commit is the
    runtime's close gate, in the session's worktree), so the fleet's workspace guard need not read
    the user's checkout around its calls (workers/guard.py).
    """

    workspace_confined = True

    def __init__(self, operation: Operation, binding: Binding) -> None:
        self.operation = operation
        self.binding = binding
        self.name = operation.name
        self.description = operation.description

    @property
    def input_schema(self) -> dict[str, Any]:
        """JSON Schema of the tool's input."""
        return self.operation.input_schema

    async def _run(self, args: dict[str, Any]) -> Any:
        """Call the handler: a coroutine function is awaited, a plain one (store I/O) runs inline unless
        its write would wait (foreman/issues/writes.py; a handler's first store write comes before
        anything else it changes)."""
        handler = self.operation.handler
        if asyncio.iscoroutinefunction(handler):
            return await handler(self.binding, args)
        return await writes.write(self.binding.store, handler, self.binding, args)

    async def execute(self, input: Any) -> ToolResult:
        """Run the operation; every failure, whatever the input, comes back as ``ToolResult(success=False)``.

        Keys starting with ``_`` (added by orchestrators) are dropped; the rest must match
        :attr:`input_schema`, and required text must not be empty.
        """
        if not isinstance(input, dict):
            return _error("invalid_input", f"{self.name} takes a JSON object of arguments, not {_json_type(input)}")
        args = {k: v for k, v in input.items() if not str(k).startswith("_")}
        problem = jsonschema.exceptions.best_match(self.operation.validator.iter_errors(args))
        if problem is not None:
            return _error("invalid_input", f"{self.name}: {_schema_message(problem)}")
        missing = [key for key in self.operation.required if not args.get(key)]
        if missing:
            return _error("invalid_input", f"{self.name} needs {', '.join(missing)}")
        try:
            return ToolResult(success=True, output=await self._run(args))
        except NothingReady as exc:
            return ToolResult(success=True, output={"ready": [], "message": exc.message})
        except IssueError as exc:
            return ToolResult(success=False, output=exc.message, error=exc.to_dict())
        except ValidationError as exc:
            return _error("invalid_input", str(exc.errors()[0]["msg"]))
        except Exception as exc:  # a bug: the session still gets one result, the log gets the traceback
            logger.exception("%s failed", self.name)
            return _error("internal_error", f"{self.name} failed: {type(exc).__name__}: {exc}"[:MESSAGE_CHARS])


def _schema_message(error: jsonschema.ValidationError) -> str:
    """One short line naming the argument and the rule it breaks, never echoing a long value."""
    where = "/".join(map(str, error.absolute_path)) or "input"
    limit = error.validator_value
    if error.validator == "type":
        return f"{where} must be of type {limit}, not {_json_type(error.instance)}"
    if error.validator == "maxLength":
        return f"{where} is {len(error.instance)} characters long; at most {limit} are allowed"
    if error.validator in ("maximum", "minimum"):
        return f"{where} must be at {'most' if error.validator == 'maximum' else 'least'} {limit}"
    if error.validator == "enum":
        return f"{where} must be one of {', '.join(map(str, limit))}"
    return error.message[:MESSAGE_CHARS]


def _json_type(value: Any) -> str:
    return JSON_TYPES.get(type(value), type(value).__name__)


def _error(code: str, message: str) -> ToolResult:
    return ToolResult(success=False, output=message, error={"code": code, "message": message})


def build_tools(binding: Binding, operations: list[str] | None) -> list[IssueTool]:
    """The tools for ``operations`` (names without the ``issue_`` prefix), default by the identity's role.

    Raises:
        ValueError: an unknown operation name.
    """
    names = operations or DEFAULT_OPERATIONS[binding.identity.role]
    unknown = sorted(set(names) - set(OPERATIONS))
    if unknown:
        raise ValueError(f"tool-issue: unknown operations {unknown}; choose from {sorted(OPERATIONS)}")
    return [IssueTool(OPERATIONS[name], binding) for name in names]


__all__ = ["DEFAULT_OPERATIONS", "OPERATIONS", "IssueTool", "build_tools"]
