"""Read-only paths of foreman.sandbox.run_command (issue 7, defect 10): from its worktree, a worker's
shell cannot change the user's checkout, branches or issue database, root included; the worktree
stays writable. Real git repositories, real mount namespaces, the real tool-bash module and worker
runtime; the LLM is foreman.testing's ScriptedProvider (a FAKE)."""

import asyncio
import logging
from pathlib import Path

import pytest
from amplifier_core import AmplifierSession
from amplifier_foreman_modules.tool_bash import mount

from foreman.issues import NewIssue, Status
from foreman.issues.sqlite_store import SQLiteStore
from foreman.runtime.plans import PLANS_DIR, load_plan
from foreman.runtime.recorder import EventSink
from foreman.runtime.workspace import Workspace, git
from foreman.sandbox import READ_ONLY_CAPABILITY, mounts, run_command
from foreman.testing import ScriptedProvider, call, last_tool_result, mount_scripted, session_plan
from workers import runtime
from workers.runtime import Worker

requires_mounts = pytest.mark.skipif(
    not mounts.available(), reason="no mount namespace here (unshare, setpriv, root or user namespaces): "
    "read_only paths stay writable, as docs/sandbox.md says"
)

# Each tries to change the user's checkout, a branch or the database from the worktree.
ATTACKS = [
    "git -C ../../.. checkout -- app.txt",
    "git -C ../../.. branch -D foreman/other",
    "git branch -D foreman/other",
    "rm ../../../app.txt",
    "echo x > ../../issues.db",
    "cd /; rm {root}/app.txt",
    "umount -l {root}; rm {root}/app.txt",
    "mount -o remount,bind,rw {root}; rm {root}/app.txt",
    "unshare --user --map-root-user --mount sh -c 'umount -l {root}; rm {root}/app.txt'",
]


def make_user_repo(root: Path) -> Path:
    """A user's repository with a branch `foreman/other`; `app.txt` is committed, then changed."""
    root.mkdir()
    (root / "app.txt").write_text("committed\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        git(root, *args)
    git(root, "branch", "foreman/other")
    (root / "app.txt").write_text("uncommitted change\n")
    return root


def user_state(root: Path) -> dict[str, str]:
    """What the user would lose: the uncommitted change, the branches, where HEAD is."""
    app = root / "app.txt"
    return {
        "app.txt": app.read_text() if app.exists() else "<deleted>",
        "foreman/other": git(root, "rev-parse", "--verify", "-q", "refs/heads/foreman/other"),
        "main": git(root, "rev-parse", "refs/heads/main"),
        "HEAD": git(root, "symbolic-ref", "HEAD"),
    }


@pytest.fixture
async def repo(tmp_path: Path) -> tuple[Path, Path]:
    """The user's repository, an issue database file, and the worktree the runtime makes for issue `x`."""
    root = make_user_repo(tmp_path / "repo")
    worktree = await Workspace(root).checkout("x")
    (root / ".foreman" / "issues.db").write_text("the issue database\n")
    return root, worktree


async def confined(command: str, root: Path, worktree: Path):
    return await run_command(command, worktree, timeout=30, max_output_bytes=20_000,
                             read_only=[root], writable=[worktree])


@requires_mounts
@pytest.mark.parametrize("attack", ATTACKS)
async def test_the_shell_cannot_change_the_users_checkout_branches_or_database(repo, attack):
    root, worktree = repo
    before = user_state(root)
    outcome = await confined(attack.format(root=root), root, worktree)
    assert outcome.exit_code != 0, outcome.output
    assert user_state(root) == before
    assert before["app.txt"] == "uncommitted change\n"
    assert (root / ".foreman" / "issues.db").read_text() == "the issue database\n"


@requires_mounts
async def test_the_worktree_stays_writable_and_what_is_written_is_kept(repo):
    root, worktree = repo
    outcome = await confined("echo made > made.txt && mkdir -p sub && echo deep > sub/f && cat sub/f", root, worktree)
    assert (outcome.exit_code, outcome.output) == (0, "deep\n")
    assert (worktree / "made.txt").read_text() == "made\n"


@requires_mounts
async def test_paths_with_spaces_and_shell_characters_and_missing_paths(tmp_path):
    root = make_user_repo(tmp_path / "my repo $HOME 'x'")
    worktree = await Workspace(root).checkout("x")
    outcome = await run_command("rm ../../../app.txt; echo made > made.txt", worktree, timeout=30,
                                max_output_bytes=1000, read_only=[tmp_path / "missing", root], writable=[worktree])
    assert outcome.exit_code == 0 and "Read-only file system" in outcome.output
    assert (root / "app.txt").read_text() == "uncommitted change\n"
    assert (worktree / "made.txt").exists()


@requires_mounts
async def test_no_mount_reaches_the_host(repo):
    root, worktree = repo
    await confined("true", root, worktree)
    assert str(root) not in Path("/proc/self/mountinfo").read_text()


async def test_without_read_only_paths_the_repository_stays_writable_as_before(repo):
    """The check runner passes no read_only paths: its commands (e.g. `git diff > ../../x`) behave as before."""
    root, worktree = repo
    outcome = await run_command("echo kept > ../../note", worktree, timeout=30, max_output_bytes=1000)
    assert outcome.exit_code == 0
    assert (root / ".foreman" / "note").read_text() == "kept\n"


@pytest.fixture
def no_mount_namespace(monkeypatch):
    """As on a machine where no namespace can be made: `available()` is checked afresh, then forgotten."""
    monkeypatch.setattr(mounts, "isolation_prefix", lambda: ())
    mounts.available.cache_clear()
    yield
    mounts.available.cache_clear()


async def test_without_a_mount_namespace_the_command_still_runs_and_one_warning_says_so(
    repo, no_mount_namespace, caplog
):
    root, worktree = repo
    with caplog.at_level(logging.WARNING, logger=mounts.__name__):
        first = await confined("echo x > ../../issues.db", root, worktree)
        second = await confined("echo y > made.txt", root, worktree)
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert (root / ".foreman" / "issues.db").read_text() == "x\n"  # not protected, as the warning says
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1 and "no read-only mounts here" in warnings[0] and "unshare" in warnings[0]


@requires_mounts
async def test_tool_bash_protects_the_paths_of_the_session_capability(repo):
    root, worktree = repo
    before = user_state(root)
    session = AmplifierSession(session_plan())
    session.coordinator.register_capability(READ_ONLY_CAPABILITY, [str(root)])
    await session.initialize()
    try:
        await mount(session.coordinator, {"working_dir": str(worktree)})
        bash = session.coordinator.get("tools", "bash")
        attack = call("bash", command="rm ../../../app.txt; echo made > made.txt")
        provider = ScriptedProvider([attack, last_tool_result])
        await mount_scripted(session, provider)
        answer = await session.execute("try to delete the user's file")
    finally:
        await session.cleanup()
    assert bash.read_only == (str(root),)
    assert "Read-only file system" in answer
    assert user_state(root) == before
    assert (worktree / "made.txt").read_text() == "made\n"


@pytest.mark.parametrize("capability", ["/a/path", [1], {"path": "/a"}])
async def test_a_read_only_capability_that_is_not_a_list_of_paths_is_refused_at_mount(capability):
    session = AmplifierSession(session_plan())
    session.coordinator.register_capability(READ_ONLY_CAPABILITY, capability)
    with pytest.raises(ValueError, match="tool-bash: foreman.sandbox.read_only must be a list of paths"):
        await mount(session.coordinator, {"working_dir": "/tmp"})


@requires_mounts
@pytest.mark.timeout(120)
def test_a_fleet_worker_cannot_change_the_users_repository_from_its_worktree(tmp_path):
    """The runtime registers the repository as read-only for every worker session in a git workspace:
    a scripted worker tries to delete the user's file, a branch and the database, then blocks its issue."""
    root = make_user_repo(tmp_path / "repo")
    workspace = Workspace(root)
    store = SQLiteStore(root / ".foreman" / "issues.db", create=True)
    issue = store.create(NewIssue(title="x", metadata={"worker_type": "coding"}))
    before = user_state(root)
    attack = ("rm ../../../app.txt; git -C ../../.. branch -D foreman/other; echo x > ../../issues.db; "
              "echo made > made.txt")
    provider = ScriptedProvider([call("bash", command=attack), call("issue_block", reason="tried")])
    worker = Worker("coding-1", load_plan(PLANS_DIR / "coding-worker.json"), store, workspace,
                    run_over=asyncio.Event(), stopping=asyncio.Event(), sink=EventSink(store),
                    options=runtime.WorkerOptions(provider_factory=lambda plan, name: provider, until_idle=True))

    asyncio.run(worker.run())

    assert store.show(issue.id).issue.status == Status.BLOCKED  # the database is intact
    assert user_state(root) == before
    assert (workspace.worktree_of(issue.id) / "made.txt").read_text() == "made\n"
    assert last_tool_result(provider.requests[1]).count("Read-only file system") == 3
    store.disconnect()
