"""tool-issue: amplifier-core's tool contract, the worker/foreman behaviour, and the schema budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from amplifier_core.testing import MockCoordinator
from amplifier_core.validation.behavioral import ToolBehaviorTests

import amplifier_module_tool_issue
from amplifier_module_tool_issue.tools import OPERATIONS
from foreman.issues import IssueFilter, NewIssue, Status, open_store
from foreman.issues.identity import IDENTITY_CAPABILITY, STORE_CAPABILITY, WorkerIdentity

SCHEMA_TOKEN_BUDGET = 1500  # the whole tool set, at ~4 characters per token (beads' MCP tools: 10,500)


class TestToolIssueContract(ToolBehaviorTests):
    """amplifier-core's own behavioural contract for tool modules."""

    @pytest.fixture
    def module_path(self) -> Path:
        return Path(amplifier_module_tool_issue.__file__).parent

    @pytest.fixture(autouse=True)
    def _isolated_db(self, tmp_path, monkeypatch):
        monkeypatch.setenv("FOREMAN_DB", str(tmp_path / "contract.db"))


async def _mounted(store, identity: WorkerIdentity, operations: list[str]) -> dict:
    coordinator = MockCoordinator()
    coordinator.register_capability(STORE_CAPABILITY, store)
    coordinator.register_capability(IDENTITY_CAPABILITY, identity)
    await amplifier_module_tool_issue.mount(coordinator, {"operations": operations})
    return coordinator.mount_points["tools"]


@pytest.fixture
def shared(tmp_path):
    store = open_store(tmp_path / "tool.db", create=True)
    yield store
    store.disconnect()


async def test_agent_mode_worker_claims_notes_and_closes_with_its_token(shared):
    coding = shared.create(NewIssue(title="fix login", metadata={"worker_type": "coding"}))
    shared.create(NewIssue(title="pricing", metadata={"worker_type": "research"}))
    identity = WorkerIdentity(name="coding-1", where=IssueFilter(metadata={"worker_type": "coding"}))
    tools = await _mounted(shared, identity, ["ready", "claim", "note", "close"])

    ready = await tools["issue_ready"].execute({})
    assert [i["id"] for i in ready.output] == [coding.id]
    claimed = await tools["issue_claim"].execute({})
    assert claimed.success and claimed.output["id"] == coding.id and identity.claim.token == 1
    assert (await tools["issue_note"].execute({"text": "root cause: expired session check"})).success
    closed = await tools["issue_close"].execute({"summary": "fixed the session check"})
    assert closed.output["status"] == "closed" and identity.claim is None
    notes = shared.show(coding.id).notes
    assert [(n.author, n.body) for n in notes] == [("coding-1", "root cause: expired session check")]


async def test_worker_cannot_touch_other_issues_or_write_after_losing_the_claim(shared):
    mine, other = shared.create(NewIssue(title="mine")), shared.create(NewIssue(title="other"))
    identity = WorkerIdentity(name="w1", claim=shared.claim(mine.id, "w1"))
    tools = await _mounted(shared, identity, ["note", "close"])
    refused = await tools["issue_close"].execute({"id": other.id, "summary": "not mine"})
    assert not refused.success and refused.error["code"] == "invalid_input"
    shared.release(mine.id, identity.claim.token)
    shared.claim(mine.id, "w2")
    stale = await tools["issue_note"].execute({"text": "late"})
    assert not stale.success and stale.error["code"] == "stale_token"
    assert shared.get(other.id).status == Status.OPEN


async def test_foreman_creates_blocked_and_unblocks(shared):
    tools = await _mounted(shared, WorkerIdentity(name="foreman", role="foreman"), ["create", "list", "unblock", "show"])
    made = await tools["issue_create"].execute(
        {"title": "Optimise database queries", "worker_type": "coding", "priority": 1, "blocked_reason": "need slow query log"}
    )
    assert made.output["status"] == "blocked" and made.output["metadata"] == {"worker_type": "coding"}
    blocked = await tools["issue_list"].execute({"status": "blocked"})
    assert [i["id"] for i in blocked.output] == [made.output["id"]]
    opened = await tools["issue_unblock"].execute({"id": made.output["id"], "note": "log is in logs/slow.log"})
    assert opened.output["status"] == "open"
    shown = await tools["issue_show"].execute({"id": made.output["id"]})
    assert "Unblocked: log is in logs/slow.log" in shown.output["notes"][-1]
    missing = await tools["issue_show"].execute({"id": "fm-none"})
    assert not missing.success and missing.error["code"] == "not_found"


async def test_missing_required_argument_is_a_tool_error(shared):
    tools = await _mounted(shared, WorkerIdentity(name="foreman", role="foreman"), ["create"])
    result = await tools["issue_create"].execute({})
    assert not result.success and "title" in result.error["message"]


async def test_unknown_operation_fails_mount(shared):
    with pytest.raises(ValueError, match="unknown operations"):
        await _mounted(shared, WorkerIdentity(name="w"), ["teleport"])


def test_whole_tool_set_fits_the_schema_budget():
    size = sum(len(json.dumps({"name": op.name, "description": op.description,
                               "input_schema": {"type": "object", "properties": op.properties,
                                                "required": list(op.required)}}))
               for op in OPERATIONS.values())
    assert size / 4 <= SCHEMA_TOKEN_BUDGET, f"{size} characters ~ {size / 4:.0f} tokens"
