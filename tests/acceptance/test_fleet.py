"""The whole fleet: foreman, workers, the database and real Amplifier sessions from the real mount
plans, with scripted fake LLMs per role (foreman.rehearsal)."""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from foreman.cli.fleet import run_command
from foreman.fleet import Fleet, FleetConfig
from foreman.issues import EventKind, IssueError, Status, open_store
from foreman.rehearsal import rehearsal_provider
from foreman.runtime.plans import PLANS_DIR
from foreman.runtime.tasks import TaskSpec
from tests.support.tasks import SEED_WITHOUT_CHECKS

REPO = Path(__file__).parents[2]


def copy_plans(tmp_path: Path, lease_ttl: float | None = None) -> Path:
    plans = tmp_path / "plans"
    shutil.copytree(PLANS_DIR, plans)
    if lease_ttl is not None:
        for file in plans.glob("*-worker.json"):
            data = json.loads(file.read_text())
            data["fleet"]["lease_ttl"] = lease_ttl
            file.write_text(json.dumps(data))
    return plans


def run_fleet(config: FleetConfig):
    config.provider_factory = config.provider_factory or rehearsal_provider
    fleet = Fleet(config)
    return fleet, asyncio.run(fleet.run())


def test_seed_scenario_every_issue_closed_and_the_blocked_one_unblocked_by_the_foreman(git_workspace):
    ws = git_workspace
    fleet, report = run_fleet(FleetConfig(workspace=ws, tasks=SEED_WITHOUT_CHECKS, review_interval=0.1))
    store = fleet.store

    assert report.state.over and not report.interrupted
    assert sorted(i.title for i in report.issues) == sorted(t.title for t in SEED_WITHOUT_CHECKS)
    assert all(i.status == Status.CLOSED for i in report.issues)
    blocked = next(i for i in report.issues if i.title == "Optimize database queries")
    unblocks = store.events(blocked.id, kinds=[EventKind.UNBLOCKED])
    assert [e.actor for e in unblocks] == ["foreman"]
    unblock_note = next(n for n in store.show(blocked.id).notes if n.body.startswith("Unblocked:"))
    assert unblock_note.author == "foreman" and "logs/slow_queries.log" in unblock_note.body
    claims = Counter(e.issue_id for e in store.events(kinds=[EventKind.CLAIMED]))
    assert set(claims.values()) == {1}, "each issue is claimed exactly once"
    for issue in report.issues:
        session_events = store.events(issue.id, kinds=[EventKind.SESSION])
        assert {e.data["event"] for e in session_events} >= {"provider:response", "tool:post"}
        assert {e.actor for e in session_events} <= {issue.assignee, "validator-1"}  # its builder and its reviewer
        worker_type = issue.metadata["worker_type"]
        assert issue.assignee.startswith(worker_type + "-")
    branches = subprocess.run(["git", "branch", "--format=%(refname:short)", "--list", "foreman/*"], cwd=ws,
                              capture_output=True, text=True).stdout.split()
    assert sorted(branches) == sorted([f"foreman/{i.id}" for i in report.issues] + ["foreman/integration"])
    assert subprocess.run(["git", "status", "--porcelain"], cwd=ws, capture_output=True, text=True).stdout == ""
    assert sum(len(s.closed) for s in report.workers.values()) == len(SEED_WITHOUT_CHECKS)


def test_new_worker_type_from_a_copied_mount_plan(tmp_path, git_workspace):
    plans = copy_plans(tmp_path)
    docs = json.loads((plans / "coding-worker.json").read_text())
    docs["fleet"] |= {"worker_type": "docs", "takes": {"metadata": {"worker_type": "docs"}}, "count": 1}
    (plans / "docs-worker.json").write_text(json.dumps(docs))
    tasks = [TaskSpec(title="Write the changelog", worker_type="docs"), TaskSpec(title="Fix typo", worker_type="coding")]

    fleet, report = run_fleet(FleetConfig(workspace=git_workspace, plans_dir=plans, tasks=tasks,
                                          workers={"coding": 1, "research": 0}, review_interval=0.1))

    by_title = {i.title: i for i in report.issues}
    assert by_title["Write the changelog"].status == Status.CLOSED
    assert by_title["Write the changelog"].assignee == "docs-1"
    assert "docs-1" in report.workers


def _hanging_worker(plans: str, workspace: str, db: str) -> None:
    """A worker process whose model never answers (it is killed mid-issue)."""
    from foreman.testing import ScriptedProvider
    from workers.standalone import worker_process_main

    async def never(request):
        await asyncio.sleep(3600)

    def never_answering(plan, worker):
        return ScriptedProvider([never])

    slots = [(str(Path(plans) / "coding-worker.json"), "doomed-1")]
    worker_process_main(slots, None, workspace, db, never_answering)


def test_killed_worker_process_issue_is_finished_by_another_worker(tmp_path, git_workspace):
    plans, ws = copy_plans(tmp_path, lease_ttl=1.5), git_workspace
    db = str(ws / ".foreman" / "issues.db")
    store = open_store(db, create=True)
    issue = store.create(SEED_WITHOUT_CHECKS[0].new_issue())
    store.set_state("planned", True)  # a resumed run finds the issue already planned
    proc = mp.get_context("spawn").Process(target=_hanging_worker, args=(str(plans), str(ws), db))
    proc.start()
    deadline = time.monotonic() + 60
    while store.get(issue.id).status != Status.IN_PROGRESS:
        assert time.monotonic() < deadline, "the doomed worker never claimed"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()

    fleet, report = run_fleet(FleetConfig(workspace=ws, plans_dir=plans, tasks=[SEED_WITHOUT_CHECKS[0]], resume=True,
                                          workers={"coding": 1, "research": 0}, review_interval=0.1))

    after = store.show(issue.id)
    assert after.issue.status == Status.CLOSED and after.issue.assignee == "coding-1"
    assert [(a.worker, a.outcome) for a in after.attempts] == [("doomed-1", "lease_expired"), ("coding-1", "closed")]


def _counts_if_ready(db: Path) -> dict[str, int] | None:
    try:
        return open_store(db).counts()
    except IssueError:  # not created yet, or still being created by the run
        return None


def test_resume_after_sigkill_of_the_whole_run(tmp_path, git_workspace):
    plans, ws = copy_plans(tmp_path, lease_ttl=2), git_workspace
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps([t.model_dump(mode="json") for t in SEED_WITHOUT_CHECKS]))
    cmd = [sys.executable, "-m", "foreman.cli", "run", "--tasks", str(tasks_file), "--workspace", str(ws),
           "--plans", str(plans), "--rehearsal"]
    env = os.environ | {"FOREMAN_REHEARSAL_DELAY": "0.4"}
    first = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    db = ws / ".foreman" / "issues.db"
    deadline = time.monotonic() + 120
    while True:
        assert time.monotonic() < deadline, "the first run never closed an issue"
        counts = _counts_if_ready(db)
        if counts and counts["closed"] >= 1 and counts["in_progress"] >= 1:
            break
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    store = open_store(db)
    closed_before = {i.id for i in store.list(statuses=[Status.CLOSED])}
    notes_before = {i.id: [n.body for n in store.show(i.id).notes] for i in store.list()}

    second = subprocess.run([*cmd, "--resume"], cwd=REPO, env=os.environ | {"FOREMAN_REHEARSAL_DELAY": "0"},
                            capture_output=True, text=True, timeout=180)

    assert second.returncode == 0, second.stdout + second.stderr
    issues = store.list()
    assert len(issues) == len(SEED_WITHOUT_CHECKS), "no issue created twice"
    assert all(i.status == Status.CLOSED for i in issues)
    claims = Counter(e.issue_id for e in store.events(kinds=[EventKind.CLAIMED]))
    assert all(claims[i] == 1 for i in closed_before), "nothing closed before the kill was done again"
    for issue_id, bodies in notes_before.items():
        assert [n.body for n in store.show(issue_id).notes][: len(bodies)] == bodies, "notes kept"


def test_agent_claim_mode_the_model_claims_through_the_tool(tmp_path, git_workspace):
    plans = copy_plans(tmp_path)
    coding = json.loads((plans / "coding-worker.json").read_text())
    coding["fleet"]["claim_mode"] = "agent"
    coding["tools"][0]["config"]["operations"] = ["ready", "claim", "show", "note", "block", "close"]
    (plans / "coding-worker.json").write_text(json.dumps(coding))
    tasks = [TaskSpec(title="First fix", worker_type="coding"), TaskSpec(title="Second fix", worker_type="coding")]

    fleet, report = run_fleet(FleetConfig(workspace=git_workspace, plans_dir=plans, tasks=tasks,
                                          workers={"coding": 1, "research": 0}, review_interval=0.1))

    assert all(i.status == Status.CLOSED and i.assignee == "coding-1" for i in report.issues)
    assert sorted(report.workers["coding-1"].closed) == sorted(i.id for i in report.issues)
    claims = fleet.store.events(kinds=[EventKind.CLAIMED])
    assert len(claims) == 2 and all(e.actor == "coding-1" for e in claims)


def test_first_ctrl_c_stops_gracefully_and_releases_claims(tmp_path, git_workspace):
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps([t.model_dump(mode="json") for t in SEED_WITHOUT_CHECKS]))
    cmd = [sys.executable, "-m", "foreman.cli", "run", "--tasks", str(tasks_file), "--workspace", str(git_workspace),
           "--rehearsal"]
    run = subprocess.Popen(cmd, cwd=REPO, env=os.environ | {"FOREMAN_REHEARSAL_DELAY": "1.0"},
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    db = git_workspace / ".foreman" / "issues.db"
    deadline = time.monotonic() + 120
    while not ((counts := _counts_if_ready(db)) and counts["in_progress"] >= 2):
        assert time.monotonic() < deadline, "no claims to interrupt"
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    output, _ = run.communicate(timeout=60)

    assert run.returncode == 130, output
    assert "stopping" in output and "--resume" in output
    store = open_store(db)
    assert store.counts()["in_progress"] == 0, "every claim was released"
    outcomes = [a.outcome for i in store.list() for a in store.attempts(i.id)]
    assert "released" in outcomes and None not in outcomes


def test_foreman_worker_command_joins_a_shared_database(git_workspace):
    store = open_store(git_workspace / ".foreman" / "issues.db", create=True)
    mine = store.create(SEED_WITHOUT_CHECKS[0].new_issue())
    research = store.create(SEED_WITHOUT_CHECKS[2].new_issue())
    done = subprocess.run([sys.executable, "-m", "foreman.cli", "worker", "--plan", str(PLANS_DIR / "coding-worker.json"),
                           "--name", "shell-1", "--workspace", str(git_workspace), "--until-idle", "--rehearsal"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert store.get(mine.id).status == Status.IN_REVIEW and store.get(mine.id).submitted_by == "shell-1"
    assert store.get(research.id).status == Status.OPEN, "a coding worker leaves research issues alone"
    review = subprocess.run([sys.executable, "-m", "foreman.cli", "worker", "--plan", str(PLANS_DIR / "validator.json"),
                             "--name", "review-1", "--workspace", str(git_workspace), "--until-idle", "--rehearsal"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert review.returncode == 0, review.stdout + review.stderr
    assert store.get(mine.id).status == Status.CLOSED and store.get(mine.id).assignee == "shell-1"


def _always_blocking_worker(plan, worker):
    from foreman.rehearsal import foreman_turn
    from foreman.testing import ScriptedProvider, call

    def block_then_answer(request):
        last = request.messages[-1]
        return "blocked" if last.role == "tool" else call("issue_block", reason="I need the production password")

    return ScriptedProvider([foreman_turn if plan.fleet.role == "foreman" else block_then_answer] * 100)


def test_block_unblock_ping_pong_is_handed_to_a_human_and_the_run_ends(git_workspace):
    task = TaskSpec(title="Rotate the production password", worker_type="coding")
    fleet, report = run_fleet(FleetConfig(workspace=git_workspace, tasks=[task], workers={"coding": 1, "research": 0},
                                          provider_factory=_always_blocking_worker, review_interval=0.05))

    issue = report.issues[0]
    assert report.state.over and [i.id for i in report.state.waiting_for_human] == [issue.id]
    assert issue.status == Status.BLOCKED and issue.metadata["needs_human"] is True
    unblocks = fleet.store.events(issue.id, kinds=[EventKind.UNBLOCKED])
    assert [e.actor for e in unblocks] == ["foreman", "foreman"]
    assert "Needs a human" in fleet.store.show(issue.id).notes[-1].body


def test_run_with_a_free_goal_plans_one_issue_per_worker_type(git_workspace):
    done = subprocess.run([sys.executable, "-m", "foreman.cli", "run", "--goal", "Add a health check endpoint",
                           "--workspace", str(git_workspace), "--rehearsal"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    issues = open_store(git_workspace / ".foreman" / "issues.db").list()
    assert sorted(i.metadata["worker_type"] for i in issues) == ["coding", "research"]
    assert all(i.status == Status.CLOSED for i in issues)


def test_a_goal_the_foreman_cannot_plan_is_one_clear_error(git_workspace, monkeypatch):
    monkeypatch.setattr("foreman.rehearsal.foreman_turn", lambda request: "I will not plan anything.")
    result = CliRunner().invoke(run_command, ["--goal", "x", "--workspace", str(git_workspace), "--rehearsal"])
    assert result.exit_code == 2 and "created no issue" in result.output and "Traceback" not in result.output


def test_workers_of_a_process_start_their_sessions_two_at_a_time(tmp_path, monkeypatch):
    import workers.runtime as runtime
    opening, most = 0, 0
    real_open = runtime.open_session

    async def counting_open(*args, **kwargs):
        nonlocal opening, most
        opening += 1
        most = max(most, opening)
        try:
            return await real_open(*args, **kwargs)
        finally:
            opening -= 1

    monkeypatch.setattr(runtime, "open_session", counting_open)
    (tmp_path / "ws").mkdir()
    tasks = [TaskSpec(title=f"task {n}", worker_type="coding") for n in range(12)]
    _, report = run_fleet(FleetConfig(workspace=tmp_path / "ws", tasks=tasks, workers={"coding": 6, "research": 0},
                                      validation=False, review_interval=0.1))

    assert all(i.status == Status.CLOSED for i in report.issues) and len(report.issues) == 12
    assert most == runtime.STARTS_AT_ONCE == 2


def test_workers_work_with_the_heap_settled_and_the_collector_is_as_it_was_after(tmp_path):
    import gc

    from foreman.rehearsal import worker_turn
    from foreman.runtime.heap import YOUNG_THRESHOLD
    from foreman.testing import ScriptedProvider

    seen = set()

    def provider(plan, name):
        if plan.fleet.role != "worker":
            return rehearsal_provider(plan, name)

        def turn(request):
            seen.add((gc.get_threshold()[0], gc.get_freeze_count() > 0))
            return worker_turn(request)
        return ScriptedProvider([turn] * 20)

    (tmp_path / "ws").mkdir()
    before = gc.get_threshold()
    tasks = [TaskSpec(title=f"task {n}", worker_type="coding") for n in range(3)]
    _, report = run_fleet(FleetConfig(workspace=tmp_path / "ws", tasks=tasks, workers={"coding": 2, "research": 0},
                                      validation=False, review_interval=0.1, provider_factory=provider))

    assert all(i.status == Status.CLOSED for i in report.issues)
    assert seen == {(YOUNG_THRESHOLD, True)}
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
