"""tool-issue: amplifier-core's tool contract, the worker/foreman behaviour, and the schema budget."""

from __future__ import annotations

import json

import pytest
from amplifier_core.models import ToolResult
from amplifier_core.testing import MockCoordinator
from amplifier_core.validation.behavioral import ToolBehaviorTests

import amplifier_foreman_modules.tool_issue
from amplifier_foreman_modules.tool_issue.tools import OPERATIONS
from foreman.issues import IssueFilter, NewIssue, Status, open_store
from foreman.issues.identity import IDENTITY_CAPABILITY, STORE_CAPABILITY, WorkerIdentity

SCHEMA_TOKEN_BUDGET = 1500  # the whole tool set, at ~4 characters per token (beads' MCP tools: 10,500)


class TestToolIssueContract(ToolBehaviorTests):
    """amplifier-core's own behavioural contract for tool modules."""

    # amplifier-core's plugin loads a module from its folder as a top-level package; ours live under
    # amplifier_foreman_modules (issue 9, item 3), so the fixture mounts through the package instead.
    @pytest.fixture
    async def tool_module(self, coordinator):
        await amplifier_foreman_modules.tool_issue.mount(coordinator, {})
        return next(iter(coordinator.mount_points["tools"].values()))

    @pytest.fixture(autouse=True)
    def _isolated_db(self, tmp_path, monkeypatch):
        monkeypatch.setenv("FOREMAN_DB", str(tmp_path / "contract.db"))


async def _mounted(store, identity: WorkerIdentity, operations: list[str]) -> dict:
    coordinator = MockCoordinator()
    coordinator.register_capability(STORE_CAPABILITY, store)
    coordinator.register_capability(IDENTITY_CAPABILITY, identity)
    await amplifier_foreman_modules.tool_issue.mount(coordinator, {"operations": operations})
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


# -- issue 7: the worker's filter on claim by id (defect 11), hostile input (defect 13) -----------


async def test_claim_by_id_obeys_the_worker_filter(shared):
    research = shared.create(NewIssue(title="pricing", metadata={"worker_type": "research"}))
    coding = shared.create(NewIssue(title="fix login", metadata={"worker_type": "coding"}))
    identity = WorkerIdentity(name="coding-1", where=IssueFilter(metadata={"worker_type": "coding"}))
    tools = await _mounted(shared, identity, ["claim"])

    refused = await tools["issue_claim"].execute({"id": research.id})
    assert not refused.success and refused.error["code"] == "not_taken"
    assert "coding-1" in refused.error["message"] and '"worker_type": "research"' in refused.error["message"]
    assert shared.get(research.id).status == Status.OPEN and identity.claim is None
    assert [e.kind.value for e in shared.events(research.id)] == ["created"]

    taken = await tools["issue_claim"].execute({"id": coding.id})
    assert taken.success and identity.claim.issue.id == coding.id


async def test_claim_by_id_without_a_filter_takes_any_issue(shared):
    issue = shared.create(NewIssue(title="anything", metadata={"worker_type": "research"}))
    tools = await _mounted(shared, WorkerIdentity(name="generalist"), ["claim"])
    assert (await tools["issue_claim"].execute({"id": issue.id})).success


def _hostile_inputs(schema: dict) -> list:
    """Inputs no tool accepts: not an object, unknown keys, and per property a wrong type, a 1 MB
    string, huge or non-finite numbers."""
    inputs: list = [None, [], "issue_note", 42, {"__proto__": 1, "unknown": True}]
    for name, spec in schema["properties"].items():
        inputs += [{name: {"nested": {"text": "x"}}}, {name: ["a", "list"]}]
        if spec.get("type") == "string" or "enum" in spec:
            inputs.append({name: "x" * 1_000_000})
        if spec.get("type") == "integer":
            inputs += [{name: 10**30}, {name: -(10**30)}, {name: float("inf")}, {name: float("nan")}, {name: 2.5}]
    return inputs


@pytest.mark.parametrize("role", ["worker", "foreman"])
async def test_every_tool_answers_hostile_input_with_one_error(shared, role):
    issue = shared.create(NewIssue(title="target"))
    claim = shared.claim(issue.id, "w1") if role == "worker" else None
    identity = WorkerIdentity(name="w1" if claim else "foreman", role=role, claim=claim)
    tools = await _mounted(shared, identity, list(OPERATIONS))
    before = shared.show(issue.id)
    for name, tool in tools.items():
        for hostile in _hostile_inputs(tool.input_schema):
            result = await tool.execute(hostile)
            assert isinstance(result, ToolResult) and not result.success, (name, str(hostile)[:80], result)
            assert result.error["code"] == "invalid_input", (name, str(hostile)[:80], result.error)
            assert len(result.error["message"]) <= 400, (name, result.error["message"][:80])
    assert shared.show(issue.id) == before


async def test_a_lone_surrogate_from_json_is_invalid_text(shared):
    issue = shared.create(NewIssue(title="target"))
    identity = WorkerIdentity(name="w1", claim=shared.claim(issue.id, "w1"))
    tools = await _mounted(shared, identity, ["note"])
    result = await tools["issue_note"].execute(json.loads('{"text": "caf\\udce9"}'))
    assert not result.success and result.error["code"] == "invalid_text"
    assert shared.show(issue.id).notes == []


async def test_a_store_fault_is_a_tool_error_not_an_exception(shared):
    class Broken:
        def __getattr__(self, name):
            raise RuntimeError("the disk went away")

    tools = await _mounted(Broken(), WorkerIdentity(name="foreman", role="foreman"), ["list"])
    result = await tools["issue_list"].execute({})
    assert not result.success and result.error["code"] == "internal_error" and "disk went away" in result.error["message"]


async def test_close_without_a_gate_refuses_an_issue_that_has_checks(shared):
    issue = shared.create(NewIssue(title="fix login", checks=["python3 -m unittest tests.test_login"]))
    identity = WorkerIdentity(name="coding-1")
    tools = await _mounted(shared, identity, ["claim", "close"])
    assert (await tools["issue_claim"].execute({"id": issue.id})).success
    refused = await tools["issue_close"].execute({"summary": "trust me"})
    assert not refused.success and refused.error["code"] == "checks_failed"
    assert shared.get(issue.id).status == "in_progress" and identity.claim is not None


async def test_verdict_fail_reopens_with_the_findings_and_pass_closes(shared):
    issue = shared.create(NewIssue(title="add reset"))
    claim = shared.claim(issue.id, "coding-1", ttl=60)
    shared.submit(issue.id, claim.token, summary="added reset_password")
    validator = WorkerIdentity(name="validator-1")
    tools = await _mounted(shared, validator, ["verdict"])
    validator.claim = shared.claim_review("validator-1", ttl=60)
    failed = await tools["issue_verdict"].execute({"verdict": "FAIL", "critical_issues": ["reset_password is missing"]})
    assert failed.success and failed.output["status"] == "open" and validator.claim is None
    detail = shared.show(issue.id)
    assert detail.attempts[-1].outcome == "rejected" and "reset_password is missing" in detail.notes[-1].body
    claim = shared.claim(issue.id, "coding-2", ttl=60)
    shared.submit(issue.id, claim.token, summary="now really added")
    validator.claim = shared.claim_review("validator-1", ttl=60)
    passed = await tools["issue_verdict"].execute({"verdict": "PASS"})
    assert passed.output["status"] == "closed" and shared.get(issue.id).assignee == "coding-2"
    assert [e.data["verdict"] for e in shared.show(issue.id).evidence] == ["FAIL", "PASS"]


async def test_planning_with_require_checks_refuses_unverifiable_issues(shared):
    coordinator = MockCoordinator()
    coordinator.register_capability(STORE_CAPABILITY, shared)
    coordinator.register_capability(IDENTITY_CAPABILITY, WorkerIdentity(name="foreman", role="foreman"))
    await amplifier_foreman_modules.tool_issue.mount(coordinator, {"operations": ["create"], "require_checks": True})
    create = coordinator.mount_points["tools"]["issue_create"]
    bare = await create.execute({"title": "fix it", "worker_type": "coding"})
    assert not bare.success and "give checks" in bare.error["message"]
    research = await create.execute({"title": "pricing", "type": "research", "checks": ["true"]})
    assert not research.success and "test -s" in research.error["message"]
    made = await create.execute({"title": "pricing", "type": "research", "checks": ["test -s research/p.md"],
                                 "acceptance": "three models"})
    assert made.success and shared.get(made.output["id"]).acceptance_criteria == "three models"


async def test_foreman_creates_pipeline_stages_with_depends_on(shared):
    """Issue 12: a later stage waits for the earlier one; an unknown id creates nothing."""
    tools = await _mounted(shared, WorkerIdentity(name="foreman", role="foreman"), ["create"])
    first = (await tools["issue_create"].execute({"title": "Requirements", "worker_type": "coding"})).output
    second = await tools["issue_create"].execute({"title": "Design", "worker_type": "coding", "depends_on": [first["id"]]})
    assert second.success and second.output["depends_on"] == [first["id"]]
    assert [i.id for i in shared.ready()] == [first["id"]]
    assert [d.depends_on for d in shared.show(second.output["id"]).dependencies] == [first["id"]]
    missing = await tools["issue_create"].execute({"title": "Package", "depends_on": ["fm-none"]})
    assert not missing.success and missing.error["code"] == "not_found" and len(shared.list()) == 2
