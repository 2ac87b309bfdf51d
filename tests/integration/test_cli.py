"""``foreman issues ...``: JSON shapes, exit codes and messages, through click and the installed script."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from foreman.cli import cli
from foreman.issues import errors
from tests.support.postgres import fresh_database


@pytest.fixture
def run(db):
    """``foreman issues ARGS --db DB --json`` on SQLite and on PostgreSQL (the ``db`` fixture)."""
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
    events = [e["kind"] for e in run("events", created["id"])]
    assert events == ["created", "claimed", "noted", "updated", "closed"]  # updated: its result, for dependents


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


# -- issue 7: hostile and odd input (defects 12, 14, 21) --------------------------------------


def _cli(*args: str, db: str, as_json: bool = True):
    """Run ``foreman issues ARGS --db DB`` in-process; returns click's result (exceptions are caught)."""
    return CliRunner().invoke(cli, ["issues", *args, "--db", db, *(["--json"] if as_json else [])])


def _error_of(result, code: str, exit_code: int = errors.EXIT_INVALID) -> str:
    """Assert ``result`` is the one JSON error ``code`` with ``exit_code``; returns its message."""
    assert result.exit_code == exit_code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    error = json.loads(result.stdout)["error"]
    assert error["code"] == code, error
    return error["message"]


@pytest.mark.parametrize("command", [["list"], ["ready"], ["claim", "--next", "-w", "w1"]])
def test_meta_filter_without_equals_is_one_error(tmp_path, command):
    db = str(tmp_path / "m.db")
    _cli("create", "x", db=db)
    assert "KEY=VALUE" in _error_of(_cli(*command, "--meta", "a", db=db), "invalid_input")


def test_claim_by_id_refuses_filters_it_would_ignore(tmp_path):
    db = str(tmp_path / "f.db")
    issue = json.loads(_cli("create", "pricing", "--meta", "worker_type=research", db=db).stdout)
    refused = _cli("claim", issue["id"], "-w", "coding-1", "--meta", "worker_type=coding", db=db)
    assert "--next" in _error_of(refused, "invalid_input")
    assert json.loads(_cli("show", issue["id"], db=db).stdout)["issue"]["status"] == "open"


HUGE = "99999999999999999999"  # past SQLite's 64-bit INTEGER


@pytest.mark.parametrize("args", [
    ["create", "t", "--max-attempts", HUGE], ["list", "--limit", HUGE], ["ready", "--limit", HUGE],
    ["events", "--after", HUGE], ["events", "--after", f"-{HUGE}"], ["close", "ID", "--token", HUGE],
])
def test_huge_integers_are_out_of_range(tmp_path, args):
    db = str(tmp_path / "n.db")
    issue = json.loads(_cli("create", "first", db=db).stdout)
    args = [issue["id"] if a == "ID" else a for a in args]
    message = _error_of(_cli(*args, db=db), "number_out_of_range")
    assert HUGE in message and "--" in message
    assert [i["title"] for i in json.loads(_cli("list", db=db).stdout)] == ["first"]


@pytest.mark.parametrize("ttl", ["inf", "nan", "-inf", "0", "-5", "1e12"])
def test_lease_ttl_must_be_finite_positive_seconds(tmp_path, ttl):
    db = str(tmp_path / "ttl.db")
    issue = json.loads(_cli("create", "x", db=db).stdout)
    message = _error_of(_cli("claim", issue["id"], "-w", "w1", "--ttl", ttl, db=db), "number_out_of_range")
    assert "Restore" not in message
    assert json.loads(_cli("show", issue["id"], db=db).stdout)["issue"]["status"] == "open"
    claim = json.loads(_cli("claim", issue["id"], "-w", "w1", db=db).stdout)
    renewed = _cli("heartbeat", issue["id"], "--token", str(claim["token"]), "--ttl", ttl, db=db)
    _error_of(renewed, "number_out_of_range")


BAD = "caf\udce9"  # how Python hands over the Latin-1 byte 0xE9 from argv: not UTF-8


@pytest.mark.parametrize("args", [
    ["create", BAD], ["create", "t", "-d", BAD], ["create", "t", "--meta", f"k={BAD}"], ["note", "ID", BAD],
    ["note", "ID", "ok", "--author", BAD], ["claim", "ID", "-w", BAD], ["block", "ID", BAD], ["list", "--label", BAD],
])
def test_text_that_is_not_utf8_is_refused_by_name(tmp_path, args):
    db = str(tmp_path / "u.db")
    issue = json.loads(_cli("create", "first", db=db).stdout)
    args = [issue["id"] if a == "ID" else a for a in args]
    assert "UTF-8" in _error_of(_cli(*args, db=db), "invalid_text")
    assert [e["kind"] for e in json.loads(_cli("events", db=db).stdout)] == ["created"]


def test_non_utf8_argv_bytes_through_the_real_script(tmp_path):
    db = str(tmp_path / "bytes.db")
    script = [sys.executable, "-m", "foreman.cli", "issues"]
    subprocess.run([*script, "create", "first", "--db", db], check=True, capture_output=True)
    result = subprocess.run([*script, "create", b"caf\xe9", "--db", db], capture_output=True)
    assert result.returncode == errors.EXIT_INVALID
    assert b"invalid_text" in result.stderr and b"Traceback" not in result.stderr


def test_db_below_a_file_or_at_a_folder_is_a_bad_path(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("keep me")
    for command in (["create", "x"], ["list"]):
        message = _error_of(_cli(*command, db=str(blocker / "sub" / "issues.db")), "invalid_db_path")
        assert "is a file" in message
    assert "is a folder" in _error_of(_cli("list", db=str(tmp_path)), "invalid_db_path")
    assert blocker.read_text() == "keep me"


def test_only_a_file_that_is_not_a_database_suggests_a_backup(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_text("garbage" * 1000)
    assert "Restore it from a backup" in _error_of(_cli("list", db=str(bad)), "database_unreadable", errors.EXIT_DATABASE)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 200 KiB tmpfs (needs root and mount); skipped with the reason when it cannot be mounted."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs to fill: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=True)  # lazy: a leaked handle never leaves it mounted


def _fill(folder):
    """Write zeros into ``folder/filler`` until the disk refuses (ENOSPC)."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


@pytest.mark.parametrize("held_open", [False, True], ids=["no-wal-yet", "wal-held-open"])
def test_full_disk_is_disk_full_and_loses_nothing(tiny_disk, held_open):
    db = str(tiny_disk / "issues.db")
    first = json.loads(_cli("create", "first", db=db).stdout)
    holder = sqlite3.connect(db) if held_open else None  # a running fleet keeps -wal/-shm in place
    if holder:
        holder.execute("SELECT count(*) FROM issues").fetchall()
    _fill(tiny_disk)
    script = [sys.executable, "-m", "foreman.cli", "issues", "create", "second", "-d", "x" * 100_000, "--db", db, "--json"]
    full = subprocess.run(script, capture_output=True, text=True)  # its own process: nothing stays open on the mount
    assert full.returncode == errors.EXIT_INVALID, full.stderr
    error = json.loads(full.stdout)["error"]
    assert error["code"] == "disk_full" and "Restore" not in error["message"]
    if holder:
        holder.close()
    (tiny_disk / "filler").unlink()
    assert [i["id"] for i in json.loads(_cli("list", db=db).stdout)] == [first["id"]]


def test_brackets_in_values_and_errors_print_as_typed(tmp_path):
    db = str(tmp_path / "b.db")
    title = "pip install 'amplifier-foreman[local]' [x] [bold]b[/]"
    made = _cli("create", title, db=db, as_json=False)
    assert title in made.output
    issue_id = json.loads(_cli("list", db=db).stdout)[0]["id"]
    claimed = _cli("claim", issue_id, "-w", "[w1]", db=db, as_json=False)
    assert "as [w1]:" in claimed.output
    _cli("note", issue_id, "see [docs] for [red]x[/]", "--token", "1", db=db)
    for args in (["list"], ["show", issue_id], ["events", issue_id]):
        output = _cli(*args, db=db, as_json=False).output
        assert "[local]" in output and "[w1]" in output
    assert "see [docs] for [red]x[/]" in _cli("show", issue_id, db=db, as_json=False).output
    assert "no issue '[x]'" in _cli("show", "[x]", db=db, as_json=False).output
    assert "--meta expects KEY=VALUE, got '[a]'" in _cli("list", "--meta", "[a]", db=db, as_json=False).output


def test_dependency_commands_print_sentences(tmp_path):
    db = str(tmp_path / "d.db")
    a, b = (json.loads(_cli("create", name, db=db).stdout)["id"] for name in ("a", "b"))
    added = _cli("dep", "add", a, b, db=db, as_json=False)
    assert added.output.strip() == f"added: {a} waits until {b} is closed (blocks)"
    removed = _cli("dep", "remove", a, b, db=db, as_json=False)
    assert removed.output.strip() == f"removed: {a} no longer depends on {b} (blocks)"
    child = _cli("dep", "add", a, b, "-t", "parent-child", db=db, as_json=False)
    assert f"{a} is a child of {b}" in child.output
    assert json.loads(_cli("dep", "remove", a, b, "-t", "parent-child", db=db).stdout) == {
        "removed": {"issue_id": a, "depends_on": b, "type": "parent-child"}}


LONG_TITLE = "Research competitor pricing models for the onboarding flow and summarise the findings"


@pytest.fixture
def listed_db(tmp_path):
    """A database with one long-titled, claimed issue carrying metadata."""
    db = str(tmp_path / "w.db")
    issue = json.loads(_cli("create", LONG_TITLE, "--meta", "worker_type=research", db=db).stdout)
    _cli("claim", issue["id"], "-w", "research-worker-1", db=db)
    return db, issue["id"]


def test_piped_list_keeps_each_issue_on_one_full_line(listed_db):
    db, issue_id = listed_db
    env = os.environ | {"COLUMNS": "80"}
    piped = subprocess.run([sys.executable, "-m", "foreman.cli", "issues", "list", "--db", db],
                           capture_output=True, text=True, env=env, check=True)
    row = next(line for line in piped.stdout.splitlines() if issue_id in line)
    assert "in_progress" in row and LONG_TITLE in row and "worker_type=research" in row and "…" not in piped.stdout


def test_list_on_an_80_column_terminal_wraps_without_cutting(listed_db):
    db, issue_id = listed_db
    screen = _run_in_terminal([sys.executable, "-m", "foreman.cli", "issues", "list", "--db", db], columns=80)
    lines = screen.splitlines()
    assert all(len(line) <= 80 for line in lines), screen
    row = next(line for line in lines if issue_id in line)
    assert "in_progress" in row and "…" not in screen
    title_cells = "".join(line.split("│")[6].strip() + " " for line in lines if line.count("│") == 7)
    assert LONG_TITLE in " ".join(title_cells.split()) and "worker_type=research" in title_cells


def _run_in_terminal(argv: list[str], *, columns: int) -> str:
    """Run ``argv`` on a pseudo-terminal ``columns`` wide; returns what it printed, colours stripped."""
    import fcntl
    import pty
    import re
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(argv, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait() == 0
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode()).replace("\r", "")


def test_close_runs_the_checks_and_show_gives_their_evidence(tmp_path):
    """Issue 8: ``--check`` on create/update; ``close`` is refused (exit 4) until the checks pass."""
    db = str(tmp_path / ".foreman" / "issues.db")
    runner = CliRunner()

    def invoke(*args: str, expect: int = 0, as_json: bool = True):
        result = runner.invoke(cli, ["issues", *args, "--db", db, *(["--json"] if as_json else [])])
        assert result.exit_code == expect, result.output
        return json.loads(result.stdout) if as_json else result.stdout

    issue = invoke("create", "write notes", "--check", "test -s notes.md", "--check", "grep -q done notes.md")
    assert issue["checks"] == ["test -s notes.md", "grep -q done notes.md"]
    refused = invoke("close", issue["id"], expect=errors.EXIT_REFUSED)
    assert refused["error"]["code"] == "checks_failed" and "test -s notes.md" in refused["error"]["message"]
    (tmp_path / "notes.md").write_text("not yet\n")
    assert invoke("update", issue["id"], "--check", "test -s notes.md")["checks"] == ["test -s notes.md"]
    assert invoke("close", issue["id"], "-r", "written")["status"] == "closed"
    shown = invoke("show", issue["id"], as_json=False)
    assert "check: test -s notes.md  (passed" in shown


def test_budget_and_call_timeout_are_set_at_create_and_changed_key_by_key(tmp_path):
    db = str(tmp_path / "b.db")
    made = json.loads(_cli("create", "x", "--budget", "max_tokens=5000", "--budget", "max_cost_usd=0.5",
                           "--call-timeout", "30", db=db).stdout)
    assert made["metadata"] == {"budget": {"max_tokens": 5000, "max_cost_usd": 0.5}, "call_timeout": 30.0}
    changed = json.loads(_cli("update", made["id"], "--budget", "max_tokens=9000", db=db).stdout)
    assert changed["metadata"]["budget"] == {"max_tokens": 9000, "max_cost_usd": 0.5}


@pytest.mark.parametrize(("pair", "says"), [("max_token=5", "max_token: unknown key"),
                                            ("max_tokens=-5", "greater than 0"),
                                            ("max_seconds=soon", "max_seconds"),
                                            ("max_tokens", "KEY=VALUE")])
def test_a_bad_budget_is_one_error_and_creates_nothing(tmp_path, pair, says):
    db = str(tmp_path / "b.db")
    _cli("create", "first", db=db)
    assert says in _error_of(_cli("create", "x", "--budget", pair, db=db), "invalid_input")
    assert len(json.loads(_cli("list", db=db).stdout)) == 1
def test_close_on_postgresql_works_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with fresh_database() as url:
        issue = json.loads(_cli("create", "x", db=url).stdout)
        claim = json.loads(_cli("claim", issue["id"], "-w", "w1", db=url).stdout)
        assert json.loads(_cli("close", issue["id"], "--token", str(claim["token"]), db=url).stdout)["status"] == "closed"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".foreman"]  # no folder named after the URL
