"""``foreman issues ...``: JSON shapes, exit codes and messages, through click and the installed script."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from foreman.cli import cli
from foreman.issues import errors


@pytest.fixture
def run(tmp_path):
    db = str(tmp_path / "cli.db")
    runner = CliRunner()

    def invoke(*args: str, expect: int = 0):
        result = runner.invoke(cli, ["issues", *args, "--db", db, "--json"])
        assert result.exit_code == expect, result.output
        return json.loads(result.stdout) if result.stdout.strip() else None

    return invoke


def test_readme_flow_create_claim_close(run):
    created = run("create", "first", "--meta", "worker_type=coding", "-p", "1")
    assert created["status"] == "open" and created["metadata"] == {"worker_type": "coding"}
    claim = run("claim", "--next", "--worker", "w1", "--meta", "worker_type=coding")
    assert claim["issue"]["id"] == created["id"] and claim["token"] == 1
    run("note", created["id"], "looked at it", "--token", "1")
    closed = run("close", created["id"], "--token", "1", "--reason", "fixed")
    assert closed["status"] == "closed" and closed["close_reason"] == "fixed"
    shown = run("show", created["id"])
    assert [n["body"] for n in shown["notes"]] == ["looked at it"]
    assert [e["kind"] for e in run("events", created["id"])] == ["created", "claimed", "noted", "closed"]


def test_lists_stay_lists(run):
    run("create", "only")
    assert run("ready", "--meta", "worker_type=none") == []
    assert run("list", "--status", "closed") == []


def test_exit_codes_are_distinct_and_errors_are_json(run):
    issue = run("create", "x")
    assert run("show", "fm-nope", expect=errors.EXIT_NOT_FOUND)["error"]["code"] == "not_found"
    run("claim", issue["id"], "-w", "w1")
    assert run("claim", issue["id"], "-w", "w2", expect=errors.EXIT_CONFLICT)["error"]["code"] == "claim_conflict"
    assert run("close", issue["id"], "--token", "9", expect=errors.EXIT_CONFLICT)["error"]["code"] == "stale_token"
    assert run("claim", "--next", "-w", "w2", expect=errors.EXIT_NOTHING_READY)["error"]["code"] == "nothing_ready"
    assert run("unblock", issue["id"], expect=errors.EXIT_REFUSED)["error"]["code"] == "illegal_transition"
    bad = run("create", "y", "--metadata", "{oops", expect=errors.EXIT_INVALID)
    assert bad["error"]["code"] == "invalid_input" and "JSON" in bad["error"]["message"]
    assert run("claim", "-w", "w1", expect=errors.EXIT_INVALID)["error"]["code"] == "invalid_input"


def test_dependency_commands_and_cycle_refusal(run):
    a, b = run("create", "a")["id"], run("create", "b")["id"]
    run("dep", "add", a, b)
    assert [i["id"] for i in run("ready")] == [b]
    assert run("dep", "add", b, a, expect=errors.EXIT_REFUSED)["error"]["code"] == "dependency_cycle"
    run("dep", "remove", a, b)
    assert {i["id"] for i in run("ready")} == {a, b}


def test_block_unblock_and_sweep(run):
    issue = run("create", "needs input", "--blocked", "waiting for the schema")
    assert issue["status"] == "blocked" and issue["blocking_notes"] == "waiting for the schema"
    assert run("unblock", issue["id"], "schema attached")["status"] == "open"
    assert run("sweep") == []


def test_database_faults_are_one_clear_line(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_text("garbage")
    result = CliRunner().invoke(cli, ["issues", "list", "--db", str(bad)])
    assert result.exit_code == errors.EXIT_DATABASE
    assert "Traceback" not in result.output and "not a readable issue database" in result.output
    assert bad.read_text() == "garbage"
    missing = CliRunner().invoke(cli, ["issues", "ready", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == errors.EXIT_DATABASE and not (tmp_path / "none.db").exists()


def test_plain_output_is_a_table(tmp_path):
    db = str(tmp_path / "t.db")
    runner = CliRunner()
    runner.invoke(cli, ["issues", "create", "[red]Fix[/] login", "--db", db])
    result = runner.invoke(cli, ["issues", "list", "--db", db])
    assert result.exit_code == 0 and "[red]Fix[/] login" in result.output and "┃" in result.output


@pytest.mark.skipif(shutil.which("foreman") is None, reason="console script not installed")
def test_installed_console_script(tmp_path):
    env_db = str(tmp_path / "script.db")
    out = subprocess.run(["foreman", "issues", "create", "first", "--db", env_db, "--json"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["title"] == "first"
    helped = subprocess.run(["foreman", "issues", "claim", "--help"], capture_output=True, text=True, check=True)
    assert "--next" in helped.stdout and "--ttl" in helped.stdout
