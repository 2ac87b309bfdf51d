"""Records what an agent session does against its issue, and keeps the worker's running totals.

Hooks on ``llm:response``, ``provider:response``, ``provider:error``, ``tool:post`` and
``tool:error`` append a ``session`` event (actor = worker) to the issue's event log, so ``foreman
issues events ID`` shows every model call (tokens, cost) and tool call (arguments, result) of every
attempt. Which of the two response events counts a model call is ``foreman.runtime.model_calls``' rule; the
logged event says so in ``model_call``. Events go
through one :class:`EventSink` per process, which writes whatever accumulated in a single
transaction (:class:`~foreman.runtime.coalescing.CoalescingWriter`: a burst of events, one commit).
Secret values (``foreman.sandbox.secret_values``, read once when the recorder is made: the
environment the session starts with) are redacted from every event before it is queued.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from amplifier_core.models import HookResult

from foreman.issues import EventKind, IssueStore, writes
from foreman.issues.identity import WorkerIdentity
from foreman.runtime.coalescing import CoalescingWriter
from foreman.runtime.model_calls import MODEL_CALL, MODEL_CALL_EVENTS, ModelCallCounter, call_usage
from foreman.sandbox import redact, secret_values

RECORDED_EVENTS = (*MODEL_CALL_EVENTS, "provider:error", "tool:post", "tool:error")
MAX_TEXT = 400  # characters of a tool result or model answer kept in an event


@dataclass
class WorkerStats:
    """Running totals of one worker, shown by the live view and the summary."""

    state: str = "starting"  #: starting, idle, working, stopping, stopped
    issue_id: str | None = None
    last_action: str = ""
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    closed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    reviewed: list[str] = field(default_factory=list)  #: issues a validator gave a verdict on


class EventSink:
    """Batches session events into the store; ``flush()`` waits until everything put so far is written."""

    def __init__(self, store: IssueStore) -> None:
        self.store = store
        self._pending: list[tuple[str, EventKind, str, dict[str, Any]]] = []
        self._writer = CoalescingWriter(self._write)

    def put(self, issue_id: str, actor: str, data: dict[str, Any]) -> None:
        """Queue one ``session`` event; a writer task is started if none is running."""
        self._pending.append((issue_id, EventKind.SESSION, actor, data))
        self._writer.kick()

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            await writes.write(self.store, self.store.record_events, batch)

    async def flush(self) -> None:
        """Wait for every queued event to be written."""
        await self._writer.flush()


class SessionRecorder:
    """Attach to a session's hooks; events go to the issue the identity holds (or last held).

    ``fallback_issue`` takes the events of a session that holds no issue (the foreman's, under
    :data:`~foreman.issues.fleet_records.RUN_EVENTS`); without it they are dropped.
    """

    def __init__(self, sink: EventSink, worker: str, stats: WorkerStats, identity: WorkerIdentity,
                 fallback_issue: str | None = None) -> None:
        self.sink, self.worker, self.stats, self.identity = sink, worker, stats, identity
        self.fallback_issue = fallback_issue
        self.counter = ModelCallCounter()
        self.secrets = secret_values()  # once per session: scanning the environment per event showed in the profile

    def attach(self, hooks: Any) -> None:
        """Register the recording handlers on a session's hooks (its FleetSession's ``hooks``, or a kernel registry)."""
        for event in RECORDED_EVENTS:
            hooks.register(event, self._on_event, name=f"foreman-recorder-{event}")

    async def _on_event(self, event: str, data: dict[str, Any]) -> HookResult:
        summary = self._summarise(event, _redacted(data, self.secrets))
        claim = self.identity.claim
        issue_id = claim.issue.id if claim else self.stats.issue_id or self.fallback_issue
        if issue_id:
            self.sink.put(issue_id, self.worker, summary)
        return HookResult()

    def _summarise(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        if event in MODEL_CALL_EVENTS:
            return self._model_call(event, data)
        if event.startswith("tool:"):
            self.stats.last_action = f"{data.get('tool_name')}" + (" (error)" if event == "tool:error" else "")
            arguments = data.get("tool_input", data.get("arguments"))  # tool_input: amplifier-core's hook contract
            return {"event": event, "tool": data.get("tool_name"), "arguments": arguments,
                    "result": _clip(data.get("result")), "error": data.get("error")}
        self.stats.last_action = "model error"
        return {"event": event, "provider": data.get("provider"), "error": data.get("error")}


    def _model_call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        usage = data.get("usage") or {}
        counted = self.counter.counts(event, data)
        if counted:
            input_tokens, output_tokens, cost_usd = call_usage(usage)
            self.stats.model_calls += 1
            self.stats.input_tokens += input_tokens
            self.stats.output_tokens += output_tokens
            self.stats.cost_usd += cost_usd
        calls = [c.get("name") for c in data.get("tool_calls") or []]
        self.stats.last_action = f"model -> {', '.join(calls) or 'answer'}"
        return {"event": event, "provider": data.get("provider"), "model": data.get("model"), "usage": usage,
                "tool_calls": data.get("tool_calls"), "text": _clip(data.get("text")), MODEL_CALL: counted}


def _clip(value: Any) -> Any:
    text = value if isinstance(value, str) or value is None else json.dumps(value, default=str)
    return text if text is None or len(text) <= MAX_TEXT else text[:MAX_TEXT] + "..."


def _redacted(value: Any, secrets: list[str]) -> Any:
    """`value` (JSON-like: dicts, lists, strings) with every secret in its strings replaced, so no
    secret reaches the event log (issue 7, defect 6); done before clipping cuts a secret in two.
    With no secrets ``value`` itself is returned (the walk showed in the fleet profile)."""
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {key: _redacted(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item, secrets) for item in value]
    return value
