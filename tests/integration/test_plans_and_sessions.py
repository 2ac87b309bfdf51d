"""Mount plans load and validate with clear errors; every shipped plan runs a two-turn tool
conversation in a real Amplifier session with a scripted fake LLM; failures to load are loud."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from foreman.issues import NewIssue, open_store
from foreman.issues.identity import WorkerIdentity
from foreman.runtime.plans import PLANS_DIR, PlanError, load_plan, load_plans
from foreman.runtime.sessions import SessionStartError, open_session
from foreman.testing import ScriptedProvider, call, last_tool_result
from tests.support.sessions import first_request

REPO = Path(__file__).parents[2]


def write_plan(tmp_path: Path, mutate) -> Path:
    data = json.loads((PLANS_DIR / "coding-worker.json").read_text())
    mutate(data)
    file = tmp_path / "plan.json"
    file.write_text(json.dumps(data))
    return file


def test_shipped_plans_load_with_one_foreman():
    plans = load_plans()
    assert sorted(p.name for p in plans) == ["coding-worker", "foreman", "research-worker", "validator"]
    assert [p.fleet.role for p in plans].count("foreman") == 1
    assert [p.fleet.role for p in plans].count("validator") == 1


def test_requires_env_picks_claude_only_with_a_key():
    with_key = load_plan("coding-worker", env={"ANTHROPIC_API_KEY": "k"})
    without = load_plan("coding-worker", env={})
    assert [p.module for p in with_key.providers] == ["provider-anthropic", "provider-llamacpp"]
    assert [p.module for p in without.providers] == ["provider-llamacpp"]
    assert without.skipped_modules == ["provider-anthropic: ANTHROPIC_API_KEY is not set"]


def test_research_worker_gets_web_search_only_with_a_search_backend():
    offline = load_plan("research-worker", env={})
    online = load_plan("research-worker", env={"SEARXNG_URL": "http://127.0.0.1:8888/search"})
    assert "tool-web" not in [t.module for t in offline.tools]
    assert "tool-web: SEARXNG_URL is not set" in offline.skipped_modules
    assert online.tools[1].config["search_url"] == "http://127.0.0.1:8888/search"


def test_env_expansion_with_defaults_and_errors(tmp_path):
    def use_vars(data):
        data["tools"][2]["config"]["timeout"] = "${BASH_TIMEOUT:-30}"
        data["tools"][1]["config"]["working_dir"] = "${MUST_BE_SET}"

    file = write_plan(tmp_path, use_vars)
    plan = load_plan(file, env={"MUST_BE_SET": "/tmp/x"})
    assert plan.tools[2].config["timeout"] == "30" and plan.tools[1].config["working_dir"] == "/tmp/x"
    with pytest.raises(PlanError, match=r"plan.json: tools\[1\].config.working_dir: \$\{MUST_BE_SET\} is not set"):
        load_plan(file, env={})


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["fleet"].update(claim_mode="sometimes"), r"fleet.claim_mode: .*\(use 'runtime' or 'agent'\)"),
        (lambda d: d["fleet"].update(colour="blue"), r"fleet.colour: .*remove it or fix its spelling"),
        (lambda d: d["session"].pop("context"), r"session.context: Field required \(add it"),
        (lambda d: d.pop("fleet"), r"fleet: Field required"),
    ],
)
def test_bad_plans_name_file_field_and_fix(tmp_path, mutate, expected):
    with pytest.raises(PlanError, match=expected):
        load_plan(write_plan(tmp_path, mutate))


def test_invalid_json_names_the_line(tmp_path):
    file = tmp_path / "broken.json"
    file.write_text('{\n  "session": ,\n}')
    with pytest.raises(PlanError, match=r"broken.json: line 2 column"):
        load_plan(file)


def test_seed_string_form_is_accepted(tmp_path):
    file = write_plan(tmp_path, lambda d: d["session"].update(orchestrator="loop-streaming", context="context-simple"))
    assert load_plan(file).kernel_config()["session"]["orchestrator"] == {"module": "loop-streaming", "config": {}}


SCRIPTS = {
    "foreman": (call("issue_create", title="Write docs", worker_type="coding"), "issue_create"),
    "coding-worker": (call("write_file", file_path="out.txt", content="hi"), "write_file"),
    "research-worker": (call("write_file", file_path="research/notes.md", content="# notes"), "write_file"),
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_each_plan_runs_a_two_turn_tool_conversation(tmp_path, name):
    plan = load_plan(name)
    store = open_store(tmp_path / "db.sqlite", create=True)
    issue = store.create(NewIssue(title="t"))
    role = plan.fleet.role
    identity = WorkerIdentity(name=name, role=role, claim=store.claim(issue.id, name) if role == "worker" else None)
    first_turn, tool = SCRIPTS[name]
    fake = ScriptedProvider([first_turn, lambda request: f"done: {last_tool_result(request)}"])

    async def run() -> str:
        session = await open_session(plan, workspace=tmp_path, identity=identity, store=store, provider=fake)
        try:
            return await session.execute("do it")
        finally:
            await session.cleanup()

    answer = asyncio.run(run())
    fake.assert_complete()
    assert answer.startswith("done: ")
    assert tool in {spec.name for spec in fake.requests[0].tools or []}
    if name == "foreman":
        assert [i.title for i in store.list()] == ["t", "Write docs"]
    else:
        assert (tmp_path / first_turn.arguments["file_path"]).read_text() == first_turn.arguments["content"]


def test_the_model_sees_the_tools_in_the_plans_order_every_time(tmp_path):
    """Modules mount their tools together (their waits on the kernel overlap); the request's tool
    list must still follow the plan and each module's own order, or prompts would vary run to run."""
    plan = load_plan("coding-worker")

    async def twenty_sessions() -> list[list[str]]:
        requests = await asyncio.gather(*(first_request(plan, tmp_path) for _ in range(20)))
        return [[spec.name for spec in request.tools] for request in requests]

    expected = ["issue_show", "issue_note", "issue_block", "issue_close",
                "read_file", "write_file", "edit_file", "list_files", "grep", "bash"]
    assert asyncio.run(twenty_sessions()) == [expected] * 20


def test_a_tool_that_fails_to_load_fails_the_session_loudly(tmp_path):
    plan = load_plan(write_plan(tmp_path, lambda d: d["tools"].append({"module": "tool-does-not-exist"})))
    with pytest.raises(SessionStartError, match="tool-does-not-exist"):
        asyncio.run(open_session(plan, workspace=tmp_path, provider=ScriptedProvider([])))


def test_no_provider_mounted_fails_loudly(tmp_path):
    plan = load_plan("coding-worker", env={}).with_providers([])
    with pytest.raises(SessionStartError, match="no provider is mounted"):
        asyncio.run(open_session(plan, workspace=tmp_path))


def test_setup_modules_passes_and_fails_with_the_right_exit_code(tmp_path):
    ok = subprocess.run([sys.executable, "setup_modules.py"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "pass amplifier-core's validators" in ok.stdout
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "bad.json").write_text(write_plan(tmp_path, lambda d: d["tools"].append({"module": "tool-nope"})).read_text())
    bad = subprocess.run([sys.executable, "setup_modules.py", "--plans", str(plans)], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1 and "tool-nope" in bad.stdout
