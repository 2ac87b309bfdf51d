"""The workspace listing the foreman gets for a blocked issue (issue 7, defect 20): the files git
knows (never ``.git``, ``.foreman`` or ignored folders), most relevant to the blocking note first."""

from __future__ import annotations

import subprocess
from pathlib import Path

from foreman.listing import LISTING_LIMIT, workspace_files, workspace_listing

NOTE = "Needs the slow query log from production to know which queries matter."


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args], cwd=root, check=True,
                   capture_output=True)


def _many_files(root: Path) -> None:
    """More files than the listing shows, all sorting before ``logs/`` (the old listing kept the first 40)."""
    for n in range(LISTING_LIMIT + 20):
        path = root / "aaa" / f"module_{n:02}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def test_in_a_repository_the_file_the_note_names_comes_first_and_git_internals_never_appear(git_workspace):
    _many_files(git_workspace)
    (git_workspace / ".gitignore").write_text("build/\n")
    (git_workspace / "build").mkdir()
    (git_workspace / "build" / "slow_query_cache.log").write_text("ignored\n")
    worktree = git_workspace / ".foreman" / "worktrees" / "fm-abcd" / "logs"
    worktree.mkdir(parents=True)
    (worktree / "slow_queries.log").write_text("a worktree's copy\n")
    (git_workspace / "notes_untracked.txt").write_text("untracked but not ignored\n")

    lines = workspace_listing(git_workspace, NOTE).splitlines()

    assert lines[0] == "logs/slow_queries.log"
    assert len(lines) == LISTING_LIMIT + 1 and lines[-1].startswith("(and ") and lines[-1].endswith(" more files)")
    files = workspace_files(git_workspace)
    assert "notes_untracked.txt" in files and "app/auth.py" in files
    assert not [f for f in files if f.startswith((".git/", ".foreman/", "build/"))]


def test_outside_git_hidden_and_cache_folders_are_skipped(tmp_path):
    root = tmp_path / "plain"
    _many_files(root)
    (root / "logs").mkdir()
    (root / "logs" / "slow_queries.log").write_text("SELECT ...\n")
    for hidden in (".cache/slow_query.log", "node_modules/slow/query.js", "__pycache__/queries.pyc"):
        (root / hidden).parent.mkdir(parents=True, exist_ok=True)
        (root / hidden).write_text("skip me\n")

    lines = workspace_listing(root, NOTE).splitlines()

    assert lines[0] == "logs/slow_queries.log"
    assert not [line for line in lines if line.startswith((".cache", "node_modules", "__pycache__"))]


def test_an_empty_workspace_says_so(tmp_path):
    assert workspace_listing(tmp_path, NOTE) == "(empty)"
