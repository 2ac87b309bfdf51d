"""Starting a run: everything that can fail is found before any claim, planning is idempotent, one
run per database, and issues no worker can take never keep a run alive (issue 7: 2, 3, 4, 5, 19, 21).

The fleets run real sessions from the real mount plans with scripted fake LLMs (foreman.rehearsal).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from foreman.cli.fleet import run_command
from foreman.fleet import PLANNED, RUN, Fleet, FleetConfig
from foreman.issues import EventKind, IssueError, NewIssue, Status, open_store
from foreman.planner import create_task_issues
from foreman.rehearsal import rehearsal_provider
from foreman.runtime.plans import PLANS_DIR
from foreman.runtime.tasks import TaskSpec
from foreman.testing import ScriptedProvider, call
from tests.support.seed import create_seed_workspace
from tests.support.tasks import SEED_WITHOUT_CHECKS

REPO = Path(__file__).parents[2]
pytestmark = pytest.mark.timeout(180)  # before these fixes several of these runs never ended


def flat(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def tasks_file(tmp_path: Path, tasks: list[TaskSpec], name: str = "tasks.json") -> Path:
    file = tmp_path / name
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps([t.model_dump(mode="json", exclude_none=True) for t in tasks]))
    return file


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(run_command, list(args), env=env)


def db_of(workspace: Path) -> Path:
    return workspace / ".foreman" / "issues.db"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "foreman.cli", *args]


def rehearsal_env(delay: float) -> dict[str, str]:
    return os.environ | {"FOREMAN_REHEARSAL_DELAY": str(delay)}


CODING = [TaskSpec(title="Fix the login", worker_type="coding", acceptance="login works"),
          TaskSpec(title="Add a reset", worker_type="coding")]


# -- 2: an issue no worker takes ---------------------------------------------------------------


def test_a_task_no_worker_plan_takes_is_refused_before_anything_is_created(tmp_path, git_workspace):
    file = tasks_file(tmp_path, [CODING[0], TaskSpec(title="Draw the logo", worker_type="design")])

    result = invoke("--tasks", str(file), "--workspace", str(git_workspace), "--rehearsal")

    assert result.exit_code == 2, result.output
    assert "'Draw the logo' (worker_type 'design')" in flat(result.output)
    assert "worker types: coding, research" in flat(result.output) and "Traceback" not in result.output
    assert open_store(db_of(git_workspace)).list() == []


def test_the_foreman_model_is_refused_an_issue_no_worker_takes_and_the_run_ends(git_workspace):
    providers: list[ScriptedProvider] = []

    def planning_foreman(request):
        results = [m for m in request.messages if m.role == "tool"]
        if not results:
            return call("issue_create", title="Draw the logo", worker_type="design")
        if len(results) > 1:
            return "done"
        return call("issue_create", title="Fix the login", worker_type="coding", checks=["test -s rehearsal/login.md"])

    def factory(plan, name):
        if plan.fleet.role != "foreman":
            return rehearsal_provider(plan, name)
        providers.append(ScriptedProvider([planning_foreman] * 20))
        return providers[-1]

    fleet = Fleet(FleetConfig(workspace=git_workspace, goal="Make login work", provider_factory=factory,
                              workers={"coding": 1, "research": 0}, review_interval=0.05))
    report = asyncio.run(fleet.run())

    assert report.state.over
    assert [(i.title, i.status) for i in report.issues] == [("Fix the login", Status.CLOSED)]
    seen = [str(m.content) for p in providers for r in p.requests for m in r.messages if m.role == "tool"]
    assert any("worker_type 'design'" in s and "coding, research" in s for s in seen), seen


def test_an_issue_no_worker_takes_is_handed_to_a_human_and_the_summary_says_so(tmp_path, git_workspace):
    store = open_store(db_of(git_workspace), create=True)
    logo = store.create(NewIssue(title="Draw the logo", metadata={"worker_type": "design"}))

    result = invoke("--tasks", str(tasks_file(tmp_path, CODING)), "--workspace", str(git_workspace), "--rehearsal")

    assert result.exit_code == 0, result.output
    after = store.get(logo.id)
    assert after.status == Status.BLOCKED and after.metadata["needs_human"] is True
    assert "--meta worker_type=TYPE" in after.blocking_notes
    assert f"runtime: {logo.id} handed to a human" in flat(result.output)
    assert f"waiting for a human: {logo.id}" in flat(result.output)


# -- 3: everything that can fail is found before any claim -------------------------------------


def broken_plans(tmp_path: Path, mutate) -> Path:
    plans = tmp_path / "plans"
    plans.mkdir()
    for file in PLANS_DIR.glob("*.json"):
        data = json.loads(file.read_text())
        if file.name == "coding-worker.json":
            mutate(data)
        (plans / file.name).write_text(json.dumps(data))
    return plans


def set_bash_timeout(data):
    next(t for t in data["tools"] if t["module"] == "tool-bash")["config"]["timeout"] = "${BASH_TIMEOUT}"


@pytest.mark.parametrize(
    ("mutate", "extra", "env", "named"),
    [
        (lambda d: d["tools"].append({"module": "tool-does-not-exist"}), ["--rehearsal"], {}, "tool-does-not-exist"),
        (set_bash_timeout, ["--rehearsal"], {"BASH_TIMEOUT": "-5"}, "tool-bash"),
        (lambda d: None, ["--provider", "llamacpp"], {"FOREMAN_LOCAL_MODEL": "no-such-model"}, "provider-llamacpp"),
    ],
    ids=["unknown-module", "bad-variable-value", "provider-does-not-load"],
)
def test_a_plan_that_cannot_start_a_session_stops_the_run_before_any_claim(tmp_path, git_workspace, mutate, extra,
                                                                           env, named):
    plans = broken_plans(tmp_path, mutate)

    result = invoke("--tasks", str(tasks_file(tmp_path, CODING)), "--workspace", str(git_workspace),
                    "--plans", str(plans), *extra, env=env)

    assert result.exit_code == 2, result.output
    assert named in result.output and result.output.count("error:") == 1 and "Traceback" not in result.output
    store = open_store(db_of(git_workspace))
    assert store.list() == [] and store.events(kinds=[EventKind.CLAIMED]) == []


def test_a_branch_named_foreman_is_found_before_any_claim(tmp_path, git_workspace):
    subprocess.run(["git", "branch", "foreman"], cwd=git_workspace, check=True)

    result = invoke("--tasks", str(tasks_file(tmp_path, CODING)), "--workspace", str(git_workspace), "--rehearsal")

    assert result.exit_code == 2 and "a branch named 'foreman' exists" in flat(result.output), result.output
    assert open_store(db_of(git_workspace)).list() == []


def test_a_repository_with_no_commit_is_found_before_any_claim(tmp_path):
    workspace = tmp_path / "empty-repo"
    workspace.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=workspace, check=True)

    result = invoke("--tasks", str(tasks_file(tmp_path, CODING)), "--workspace", str(workspace), "--rehearsal")

    assert result.exit_code == 2 and "has no commit yet" in flat(result.output), result.output
    assert open_store(db_of(workspace)).list() == []


# -- 4 and 19: planning is idempotent and a task list needs no model ---------------------------


def test_a_task_list_is_created_without_a_model_call(git_workspace):
    fleet = Fleet(FleetConfig(workspace=git_workspace, tasks=CODING, provider_factory=rehearsal_provider,
                              workers={"coding": 1, "research": 0}, review_interval=0.05))
    report = asyncio.run(fleet.run())

    assert report.foreman.model_calls == 0 and report.changes == []
    assert [(i.title, i.acceptance_criteria) for i in report.issues] == [(t.title, t.acceptance) for t in CODING]
    assert all(i.status == Status.CLOSED for i in report.issues)


def test_resume_with_nothing_to_resume_is_an_error_and_creates_nothing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("--resume", "--workspace", str(empty), "--rehearsal")
    assert result.exit_code == 2 and "nothing to resume: no issue database" in flat(result.output), result.output
    assert not db_of(empty).exists()

    store = open_store(db_of(empty), create=True)
    store.create(NewIssue(title="made by hand"))
    result = invoke("--resume", "--workspace", str(empty), "--rehearsal")
    assert result.exit_code == 2 and "holds no run" in flat(result.output), result.output
    assert [i.title for i in store.list()] == ["made by hand"]


def test_resume_of_a_task_list_killed_while_planning_creates_every_task_once(git_workspace):
    store = open_store(db_of(git_workspace), create=True)
    store.set_state(RUN, {"goal": None, "tasks": [t.model_dump(mode="json") for t in SEED_WITHOUT_CHECKS], "started_at": 0})
    store.set_state(PLANNED, False)
    create_task_issues(store, SEED_WITHOUT_CHECKS)  # the first run was killed after this, before it recorded "planned"

    fleet = Fleet(FleetConfig(workspace=git_workspace, resume=True, provider_factory=rehearsal_provider,
                              review_interval=0.05))  # no --tasks: the stored list is used
    report = asyncio.run(fleet.run())

    assert sorted(i.title for i in report.issues) == sorted(t.title for t in SEED_WITHOUT_CHECKS)
    assert all(i.status == Status.CLOSED for i in report.issues)
    assert report.changes == [f"5 of 5 tasks were already in the queue and were not created again: "
                              f"{', '.join(i.id for i in report.issues)}"]


def _planned_but_not_recorded(db: Path) -> bool:
    try:
        store = open_store(db)
        return len(store.list()) >= 2 and store.get_state(PLANNED) is False
    except IssueError:  # not created yet
        return False


def test_resume_after_a_kill_during_goal_planning_keeps_the_plan_and_creates_nothing_twice(git_workspace):
    goal = cli("run", "--goal", "Add a health check", "--workspace", str(git_workspace), "--rehearsal")
    first = subprocess.Popen(goal, cwd=REPO, env=rehearsal_env(1.0), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not _planned_but_not_recorded(db_of(git_workspace)):
        assert time.monotonic() < deadline and first.poll() is None, "the planning turn never created its issues"
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()

    resumed = subprocess.run(cli("run", "--resume", "--workspace", str(git_workspace), "--rehearsal"), cwd=REPO,
                             env=rehearsal_env(0), capture_output=True, text=True, timeout=120)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "planning was interrupted; the 2 issues it created are kept" in flat(resumed.stdout)
    issues = open_store(db_of(git_workspace)).list()
    assert sorted(i.metadata["worker_type"] for i in issues) == ["coding", "research"]
    assert all(i.status == Status.CLOSED for i in issues)


# -- 5: one run per database -------------------------------------------------------------------


def _lock_holder(db: Path):
    try:
        return open_store(db).get_state("run_lock")
    except IssueError:
        return None


def test_a_second_run_on_the_same_database_is_refused_while_workers_still_join(tmp_path, git_workspace):
    tasks = [TaskSpec(title=f"Fix bug {n}", worker_type="coding") for n in range(4)]
    run = cli("run", "--tasks", str(tasks_file(tmp_path, tasks)), "--workspace", str(git_workspace), "--rehearsal",
              "--workers", "coding=1,research=0")
    first = subprocess.Popen(run, cwd=REPO, env=rehearsal_env(0.3), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    deadline = time.monotonic() + 120
    while _lock_holder(db_of(git_workspace)) is None:
        assert time.monotonic() < deadline and first.poll() is None, "the first run never took the run lock"
        time.sleep(0.05)

    second = subprocess.run(run, cwd=REPO, env=rehearsal_env(0), capture_output=True, text=True, timeout=120)
    joined = subprocess.run(cli("worker", "--plan", str(PLANS_DIR / "coding-worker.json"), "--name", "shell-1",
                                "--workspace", str(git_workspace), "--until-idle", "--rehearsal"),
                            cwd=REPO, env=rehearsal_env(0.3), capture_output=True, text=True, timeout=120)
    output, _ = first.communicate(timeout=120)

    assert second.returncode == 2, second.stdout + second.stderr
    assert f"another `foreman run` is running on this database (pid {first.pid} on host" in flat(second.stdout)
    assert joined.returncode == 0, joined.stdout + joined.stderr
    assert first.returncode == 0, output
    store = open_store(db_of(git_workspace))
    assert sorted(i.title for i in store.list()) == sorted(t.title for t in tasks), "planned once"
    claims = Counter(e.issue_id for e in store.events(kinds=[EventKind.CLAIMED]))
    assert set(claims.values()) == {1}, "every issue worked once"
    assert _lock_holder(db_of(git_workspace)) is None, "released at the end"


# -- messages and the demo ---------------------------------------------------------------------


def test_user_values_in_error_messages_print_literally(tmp_path):
    missing = tmp_path / "[local]" / "tasks.json"
    result = invoke("--tasks", str(missing), "--workspace", str(tmp_path), "--rehearsal")
    assert result.exit_code == 2 and f"error: {missing}: cannot read the task file" in result.output, result.output


def test_demo_creates_its_workspace_at_a_new_path_and_uses_an_existing_one_as_is(tmp_path):
    new = tmp_path / "new" / "ws"
    done = subprocess.run([sys.executable, "demo.py", "--rehearsal", "--workspace", str(new)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert subprocess.run(["git", "log", "--oneline"], cwd=new, capture_output=True, text=True).stdout.strip()
    assert all(i.status == Status.CLOSED for i in open_store(db_of(new)).list())

    existing = create_seed_workspace(tmp_path / "mine")
    (existing / "keep.txt").write_text("mine")
    done = subprocess.run([sys.executable, "demo.py", "--rehearsal", "--workspace", str(existing)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (existing / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "new"], "nothing moved aside"
