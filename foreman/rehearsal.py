"""Scripted rehearsal: FAKE LLMs per role that play the seed scenario in seconds.

``python demo.py --rehearsal`` and the fleet tests use these instead of a real model. Everything
else is real: Amplifier sessions from the real mount plans, the issue tools, the database, the
worker runtime, leases and git worktrees. Output is labelled "rehearsal". The fakes read the
conversation and answer the way a competent agent would:

- foreman: plans a free goal as one issue per worker type (a task list needs no model: the
  runtime creates it), unblocks a blocked issue by pointing at a workspace file that matches the
  missing input, and answers HUMAN to a dead-letter retry;
- worker: notes its plan, writes a file for its issue, closes it (naming that file as its
  ``notes`` output); when the close is refused it writes the files the failing checks name and
  closes again; a merge issue gets both sides kept;
- validator: FAILs work whose acceptance criteria ask it to name its issue and that does not,
  PASSes the rest (so a rehearsal shows a refused close, a FAIL, and a merge conflict resolved).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from typing import Any

from amplifier_core.message_models import ChatRequest

from foreman.runtime.plans import MountPlan
from foreman.testing import ScriptedProvider, call

TURNS_PER_SESSION = 200  # more than any rehearsal session uses
DELAY_ENV = "FOREMAN_REHEARSAL_DELAY"
_ISSUE_ID = re.compile(r"\b(fm-[0-9a-z]{4,})\b")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(getattr(block, "text", "") or "" for block in content)


def _since_last_prompt(request: ChatRequest) -> tuple[str, list[str]]:
    """The newest user prompt and the names of the tools called after it."""
    prompt, called = "", []
    for message in request.messages:
        if message.role == "user":
            prompt, called = _text(message.content), []
        elif message.role == "assistant" and not isinstance(message.content, str):
            called += [block.name for block in message.content if getattr(block, "type", "") == "tool_call"]
    return prompt, called


def foreman_turn(request: ChatRequest) -> Any:
    """What the rehearsal foreman does next."""
    prompt, called = _since_last_prompt(request)
    if called:
        return "done"
    if prompt.startswith("Goal: "):
        goal = prompt.splitlines()[0].removeprefix("Goal: ")
        types = re.search(r"worker_type to one of: ([\w\-, ]+)\.", prompt).group(1).split(", ")
        return [call("issue_create", title=f"{goal[:150]} ({kind} part)", worker_type=kind,
                     type="research" if kind == "research" else "task", acceptance=f"rehearsal/{kind}.md is written",
                     checks=[f"test -s rehearsal/{kind}.md"]) for kind in types]
    if " is blocked: " in prompt:
        issue_id = _ISSUE_ID.search(prompt).group(1)
        return call("issue_unblock", id=issue_id, note=_missing_input(prompt))
    return "HUMAN"


def _missing_input(prompt: str) -> str:
    """Point at the workspace file whose name shares a word with the blocking reason."""
    reason = prompt.split(" is blocked: ", 1)[1].splitlines()[0].lower()
    files = prompt.split("Files in the workspace:\n", 1)[-1].splitlines()
    for path in files:
        stem_words = re.split(r"[/_.\-]", path.lower())
        if any(len(word) > 3 and word in reason for word in stem_words):
            return f"The input you need is in the workspace at {path}."
    return "Proceed with the information in the issue description."


def worker_turn(request: ChatRequest) -> Any:
    """What a rehearsal worker does next.

    (Agent mode: claim,) note, write ``rehearsal/<id>.md``, close. A refused close names failing
    ``test -s FILE`` checks: it writes those files (naming the issue only once a review asked for
    it) and closes again. A merge issue: read each conflicting file, keep both sides, close.
    """
    prompt, called = _since_last_prompt(request)
    match = re.search(r"Your issue is (fm-[0-9a-z]+): (.+)", prompt)
    if not match and "issue_claim" in prompt and "issue_claim" not in called:
        return call("issue_claim")
    if not match and "issue_claim" in called:
        match = _claimed(request)
    if not match:
        return "nothing to do"
    issue_id, title = match.group(1), match.group(2).strip()
    if "issue_note" not in called:
        return call("issue_note", text=f"Rehearsal plan for '{title}': read the code, change it, check it.")
    conflicted = re.search(r"conflicting files: ([^\n]+)", prompt)
    if conflicted:
        return _resolve_conflicts(request, issue_id, conflicted.group(1).split(", "), called)
    if "write_file" not in called:
        content = f"# {title}\n\nRehearsal output for {issue_id}.\n"
        return call("write_file", file_path=f"rehearsal/{issue_id}.md", content=content)
    refused = _latest_tool_result(request) if called[-1] == "issue_close" else ""
    missing = re.findall(r"check `test -s ([^`]+)` exited", refused)
    if "Review FAIL" in prompt and called.count("write_file") == 1:  # a review asked for more: redo the files
        missing = re.findall(r"^- `test -s ([^`]+)`", prompt, re.MULTILINE)
    if missing:
        mention = f"Issue {issue_id}.\n" if "Review FAIL" in prompt else ""
        return [call("write_file", file_path=path, content=f"# {title}\n\nWritten by the rehearsal.\n{mention}")
                for path in missing]
    if called[-1] != "issue_close":
        return call("issue_close", summary=f"Rehearsal: did '{title}'.", outputs={"notes": f"rehearsal/{issue_id}.md"})
    return f"Closed {issue_id}."


def _resolve_conflicts(request: ChatRequest, issue_id: str, files: list[str], called: list[str]) -> Any:
    """Merge issue: read the conflicting files, write them back with both sides kept, then close."""
    if "read_file" not in called:
        return [call("read_file", file_path=path) for path in files]
    if "write_file" not in called:
        texts = _tool_results(request)[-len(files):]
        return [call("write_file", file_path=path, content=_both_sides(text)) for path, text in zip(files, texts)]
    if called[-1] != "issue_close":
        return call("issue_close", summary=f"Rehearsal: merged, kept both sides in {', '.join(files)}.")
    return f"Closed {issue_id}."


def _both_sides(read_result: str) -> str:
    """A ``read_file`` result (upstream's JSON: ``content`` numbered lines), minus numbers and
    conflict markers (both sides kept)."""
    numbered = json.loads(read_result)["content"]
    lines = [re.sub(r"^\s*\d+\t", "", line) for line in numbered.splitlines()]
    return "\n".join(line for line in lines if not re.match(r"^(<<<<<<<|=======|>>>>>>>)", line)) + "\n"


def _tool_results(request: ChatRequest) -> list[str]:
    """The text of every tool result in the conversation, oldest first."""
    return [_text(m.content) for m in request.messages if m.role == "tool"]


def _latest_tool_result(request: ChatRequest) -> str:
    results = _tool_results(request)
    return results[-1] if results else ""


def validator_turn(request: ChatRequest) -> Any:
    """What the rehearsal validator does: FAIL work whose acceptance asks it to name its issue and does not."""
    prompt, called = _since_last_prompt(request)
    match = re.search(r"Review issue (fm-[0-9a-z]+)", prompt)
    if not match:
        return "nothing to review"
    if "issue_verdict" in called:
        return "Verdict given."
    issue_id = match.group(1)
    diff = prompt.split("Diff of branch", 1)[-1]
    if "names its issue id" in prompt and f"Issue {issue_id}" not in diff:
        return call("issue_verdict", verdict="FAIL", critical_issues=[f"the file does not name issue {issue_id}"],
                    recommendations=["say which issue the file belongs to"])
    return call("issue_verdict", verdict="PASS")


def _claimed(request: ChatRequest) -> re.Match | None:
    """The issue an ``issue_claim`` result in the conversation names (agent mode)."""
    for message in request.messages:
        if message.role == "tool":
            found = re.search(r'"id": "(fm-[0-9a-z]+)", "title": "([^"]+)"', _text(message.content))
            if found:
                return found
    return None


def rehearsal_provider(plan: MountPlan, worker: str) -> ScriptedProvider:
    """A fresh fake LLM for one session of ``plan`` (provider factory for the fleet).

    ``$FOREMAN_REHEARSAL_DELAY`` (seconds, default 0) is added to every call, to stand in for a
    model's latency (benchmarks, interruption tests).
    """
    return role_provider(plan.fleet.role)


def role_provider(role: str) -> ScriptedProvider:
    """A fresh fake LLM playing ``role`` (``foreman``, ``validator``, else a worker), as
    :func:`rehearsal_provider` gives."""
    policies = {"foreman": foreman_turn, "validator": validator_turn}
    policy: Callable[[ChatRequest], Any] = policies.get(role, worker_turn)
    delay = float(os.environ.get(DELAY_ENV, "0") or 0)

    async def slow(request: ChatRequest) -> Any:
        await asyncio.sleep(delay)
        return policy(request)

    return ScriptedProvider([slow if delay else policy] * TURNS_PER_SESSION, name="rehearsal", model="rehearsal-script")
