"""Verified work (issue 8): the close gate, check evidence, and the merge queue, on real git and SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from foreman.issues import NewIssue, Status, open_store
from foreman.issues.errors import ChecksFailed
from foreman.merge_queue import MERGE, MERGE_OF, MergeQueue
from foreman.runtime.workspace import Workspace, git
from workers.gate import CloseGate
from workers.remote import RemoteWorkspace

FAKE_KEY = "sk-ant-test-0123456789abcdef"


def make_repo(path: Path) -> Path:
    path.mkdir()
    (path / "app.txt").write_text("line one\nline two\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        git(path, *args)
    return path


@pytest.fixture
def repo(tmp_path):
    root = make_repo(tmp_path / "repo")
    ws = Workspace(root)
    store = open_store(str(root / ".foreman" / "issues.db"), create=True)
    yield root, ws, store
    store.disconnect()


async def claim_in_worktree(store, ws, checks, *, title="Change app.txt"):
    issue = store.create(NewIssue(title=title, checks=checks))
    claim = store.claim(issue.id, "coding-1", ttl=60)
    path = await ws.checkout(issue.id)
    return claim, path


def gate(store, ws, key, *, validation=True, timeout=10.0):
    return CloseGate(store, ws, key, validation=validation, actor="coding-1", timeout=timeout)


async def test_a_close_whose_check_fails_is_refused_with_the_output_then_passes_after_the_fix(repo):
    _, ws, store = repo
    claim, path = await claim_in_worktree(store, ws, ["grep -q fixed app.txt"])
    with pytest.raises(ChecksFailed) as refused:
        await gate(store, ws, claim.issue.id).close(claim.issue.id, claim.token, "done")
    assert "grep -q fixed app.txt" in refused.value.message and "exited 1" in refused.value.message
    assert store.get(claim.issue.id).status == Status.IN_PROGRESS  # the claim is kept: fix and close again
    (path / "app.txt").write_text("line one\nfixed\n")
    issue = await gate(store, ws, claim.issue.id).close(claim.issue.id, claim.token, "fixed it")
    assert issue.status == Status.IN_REVIEW and issue.submitted_by == "coding-1"
    evidence = store.show(claim.issue.id).evidence
    assert [e.data["passed"] for e in evidence] == [False, True]
    assert evidence[1].data["commit"] == git(path, "rev-parse", "HEAD")  # the checks ran on the commit
    assert git(ws.root, "show", f"foreman/{claim.issue.id}:app.txt") == "line one\nfixed"


async def test_without_validation_a_passing_close_closes(repo):
    _, ws, store = repo
    claim, path = await claim_in_worktree(store, ws, ["test -s notes.md"])
    (path / "notes.md").write_text("findings\n")
    issue = await gate(store, ws, claim.issue.id, validation=False).close(claim.issue.id, claim.token, "wrote it")
    assert issue.status == Status.CLOSED


async def test_a_check_that_hangs_times_out_and_one_that_floods_is_capped(repo):
    _, ws, store = repo
    claim, _ = await claim_in_worktree(store, ws, ["sleep 30", "yes flood | head -c 5000000", "no-such-tool --x"])
    with pytest.raises(ChecksFailed) as refused:
        await gate(store, ws, claim.issue.id, timeout=1.0).close(claim.issue.id, claim.token, "done")
    runs = {e.data["command"]: e.data for e in store.show(claim.issue.id).evidence}
    assert runs["sleep 30"]["timed_out"] and runs["sleep 30"]["seconds"] < 10
    assert runs["yes flood | head -c 5000000"]["passed"] and len(runs["yes flood | head -c 5000000"]["output"]) <= 2000
    assert runs["no-such-tool --x"]["exit_code"] == 127 and "not found" in runs["no-such-tool --x"]["output"]
    assert "timed out" in refused.value.message and "2 of 3 checks failed" in refused.value.message


async def test_a_check_sees_no_api_key(repo, monkeypatch):
    _, ws, store = repo
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    claim, _ = await claim_in_worktree(store, ws, ["env; exit 1"])
    with pytest.raises(ChecksFailed) as refused:
        await gate(store, ws, claim.issue.id).close(claim.issue.id, claim.token, "done")
    assert "PATH=" in refused.value.message  # env did run
    assert FAKE_KEY not in refused.value.message and "ANTHROPIC_API_KEY" not in refused.value.message


async def test_a_commit_refused_by_a_hook_refuses_the_close(repo):
    root, ws, store = repo
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'lint: trailing whitespace in app.txt' >&2\nexit 1\n")
    hook.chmod(0o755)
    claim, path = await claim_in_worktree(store, ws, [])
    (path / "app.txt").write_text("changed \n")
    with pytest.raises(ChecksFailed) as refused:
        await gate(store, ws, claim.issue.id).close(claim.issue.id, claim.token, "done")
    assert "trailing whitespace" in refused.value.message
    assert store.get(claim.issue.id).status == Status.IN_PROGRESS
    assert store.show(claim.issue.id).evidence[-1].data["command"] == "git commit"


async def close_with(store, ws, title, content, checks):
    """Build, submit and pass one issue whose branch writes ``content`` to app.txt."""
    claim, path = await claim_in_worktree(store, ws, checks, title=title)
    (path / "app.txt").write_text(content)
    await gate(store, ws, claim.issue.id).close(claim.issue.id, claim.token, "done")
    review = store.claim_review("validator-1", ttl=60)
    store.verdict(review.issue.id, review.token, passed=True, critical_issues=[], recommendations=[])
    return claim.issue.id


async def test_merge_queue_merges_in_order_and_turns_a_conflict_into_a_merge_issue(repo):
    root, ws, store = repo
    base = git(root, "rev-parse", "HEAD")
    user_head = (root / "app.txt").read_text()
    first = await close_with(store, ws, "One", "line one\nline two, first\n", ["grep -q first app.txt"])
    second = await close_with(store, ws, "Two", "line one\nline two, second\n", ["grep -q second app.txt"])
    queue = MergeQueue(store, ws, base=base)
    results = await queue.advance()
    assert [(r.issue_id, r.state) for r in results] == [(first, "merged"), (second, "conflict")]
    merge_id = results[1].merge_issue
    merge_issue = store.get(merge_id)
    assert merge_issue.metadata[MERGE_OF] == second and "app.txt" in merge_issue.description
    assert "grep -q first app.txt" in merge_issue.checks and "grep -q second app.txt" in merge_issue.checks
    worktree = ws.worktree_of(merge_id)
    assert "<<<<<<<" in (worktree / "app.txt").read_text()  # the merge waits there, markers and all
    assert (root / "app.txt").read_text() == user_head  # the user's checkout is untouched
    assert git(root, "branch", "--show-current") == "main"

    claim = store.claim(merge_id, "coding-2", ttl=60)
    with pytest.raises(ChecksFailed):  # markers left: refused
        await gate(store, ws, merge_id).close(merge_id, claim.token, "resolved")
    (worktree / "app.txt").write_text("line one\nline two, first and second\n")
    await gate(store, ws, merge_id).close(merge_id, claim.token, "resolved")
    review = store.claim_review("validator-1", ttl=60)
    store.verdict(review.issue.id, review.token, passed=True, critical_issues=[], recommendations=[])
    assert [(r.issue_id, r.state) for r in await queue.advance()] == [(merge_id, "merged")]
    assert store.get(second).metadata[MERGE]["state"] == "merged"
    assert git(root, "show", "foreman/integration:app.txt") == "line one\nline two, first and second"


async def test_merge_queue_hands_over_a_merge_that_breaks_an_earlier_issues_check(repo):
    root, ws, store = repo
    base = git(root, "rev-parse", "HEAD")
    await close_with(store, ws, "Keep line one", "line one\nline two\n", ["grep -q 'line one' app.txt"])
    second = await close_with(store, ws, "Rewrite", "something else\n", [])
    results = await MergeQueue(store, ws, base=base).advance()
    assert [r.state for r in results] == ["merged", "failed"]
    assert "grep -q 'line one' app.txt" in results[1].detail
    assert git(root, "show", "foreman/integration:app.txt") == "line one\nline two"  # the bad merge was undone
    assert store.get(results[1].merge_issue).metadata[MERGE_OF] == second



async def test_on_a_remote_the_queue_merges_pushed_branches_and_pushes_integration_and_merge_branches(tmp_path):
    """Workers on two machines and the foreman on a third share only a bare repository (and the database)."""
    bare = tmp_path / "shared.git"
    git(tmp_path, "clone", "-q", "--bare", str(make_repo(tmp_path / "seed")), str(bare))
    machine_a, machine_b, foreman = (RemoteWorkspace(tmp_path / name, str(bare)) for name in ("a", "b", "foreman"))
    store = open_store(str(tmp_path / "issues.db"), create=True)
    first = await close_with(store, machine_a, "One", "line one\nline two, first\n", ["grep -q first app.txt"])
    second = await close_with(store, machine_a, "Two", "line one\nline two, second\n", ["grep -q second app.txt"])
    assert not git(foreman.root, "branch", "--list", "foreman/*"), "the foreman's clone has none of the branches"
    queue = MergeQueue(store, foreman, base=git(foreman.root, "rev-parse", "HEAD"))
    results = await queue.advance()
    assert [(r.issue_id, r.state) for r in results] == [(first, "merged"), (second, "conflict")]
    assert git(bare, "show", "foreman/integration:app.txt") == "line one\nline two, first"
    merge_id = results[1].merge_issue
    assert "<<<<<<<" in git(bare, "show", f"foreman/{merge_id}:app.txt"), "the merge issue's start is pushed"

    claim = store.claim(merge_id, "coding-b", ttl=60)  # machine B resolves it in its own clone
    worktree = await machine_b.checkout(merge_id)
    (worktree / "app.txt").write_text("line one\nline two, first and second\n")
    await gate(store, machine_b, merge_id).close(merge_id, claim.token, "resolved")
    review = store.claim_review("validator-1", ttl=60)
    store.verdict(review.issue.id, review.token, passed=True, critical_issues=[], recommendations=[])
    assert [(r.issue_id, r.state) for r in await queue.advance()] == [(merge_id, "merged")]
    assert await queue.advance() == [], "each branch is integrated once"
    assert git(bare, "show", "foreman/integration:app.txt") == "line one\nline two, first and second"
    merges = git(bare, "log", "--merges", "--first-parent", "--format=%s", "foreman/integration").splitlines()
    assert sorted(m.split(":")[0] for m in merges) == sorted(f"Merge foreman/{i}" for i in (first, merge_id))
    store.disconnect()


def test_a_clone_made_from_a_relative_path_is_reused(tmp_path, monkeypatch):
    git(tmp_path, "clone", "-q", "--bare", str(make_repo(tmp_path / "seed")), str(tmp_path / "shared.git"))
    monkeypatch.chdir(tmp_path)
    made = RemoteWorkspace(Path("clone"), "shared.git")  # git records origin as an absolute path
    assert RemoteWorkspace(Path("clone"), "shared.git").root == made.root


def test_a_review_without_a_verdict_is_retried_then_dead_lettered(repo):
    _, ws, store = repo
    issue = store.create(NewIssue(title="add reset", max_attempts=2))
    claim = store.claim(issue.id, "coding-1", ttl=60)
    store.submit(issue.id, claim.token, summary="done")
    first = store.claim_review("validator-1", ttl=60)
    assert store.fail(issue.id, first.token, error="no verdict").status == Status.IN_REVIEW
    assert store.get(issue.id).assignee == "coding-1"  # back to waiting, with its builder
    second = store.claim_review("validator-1", ttl=60)
    assert store.fail(issue.id, second.token, error="no verdict").status == Status.DEAD_LETTER
    assert store.attempts(issue.id)[-1].outcome == "rejected"


def test_a_builder_never_reviews_its_own_work(repo):
    _, _, store = repo
    issue = store.create(NewIssue(title="add reset"))
    claim = store.claim(issue.id, "coding-1", ttl=60)
    store.submit(issue.id, claim.token, summary="done")
    with pytest.raises(Exception) as none:
        store.claim_review("coding-1", ttl=60)
    assert "no issue waits for a review" in str(none.value)
    assert store.claim_review("validator-1", ttl=60).issue.id == issue.id
