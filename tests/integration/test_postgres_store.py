"""What only the PostgreSQL store has (issue 11): connection faults, server clock, wake-ups, a killed backend."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import psycopg
import pytest
from click.testing import CliRunner

from foreman.cli import cli
from foreman.issues import NewIssue, Status, errors, open_store
from foreman.issues.errors import DatabaseMissing, DatabaseUnreadable, SchemaTooNew
from workers.runtime import wait_any
from tests.support.postgres import ADMIN_URL, fresh_database, require_server, url_of


@pytest.fixture
def url():
    with fresh_database() as found:
        yield found


@pytest.fixture
def pg(url):
    store = open_store(url, create=True)
    yield store
    store.disconnect()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_is_one_clear_cli_error():
    result = CliRunner().invoke(cli, ["issues", "list", "--db", f"postgresql://postgres@127.0.0.1:{_closed_port()}/x"])
    assert result.exit_code == errors.EXIT_DATABASE
    assert "cannot reach PostgreSQL" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_refused_login_and_missing_database_are_clear_errors():
    require_server()
    with pytest.raises(DatabaseUnreadable, match="refused the login"):
        open_store(url_of("postgres").replace("postgres@", "no_such_role@", 1))
    with pytest.raises(DatabaseMissing, match="no database 'no_such_db'"):
        open_store(url_of("no_such_db"))


def test_password_is_kept_out_of_messages():
    with pytest.raises(DatabaseUnreadable) as refused:
        open_store(f"postgresql://postgres:s3cret@127.0.0.1:{_closed_port()}/x")
    assert "s3cret" not in refused.value.message


def test_empty_database_is_created_only_by_create(url):
    with pytest.raises(DatabaseMissing, match="no issue schema"):
        open_store(url)
    open_store(url, create=True).disconnect()
    open_store(url).disconnect()


def test_newer_schema_is_refused(url, pg):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE foreman.schema_version SET version = 999")
    with pytest.raises(SchemaTooNew, match="999"):
        open_store(url)


def test_rows_are_never_deleted(url, pg):
    issue = pg.create(NewIssue(title="keep me"))
    pg.note(issue.id, "and me")
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in ("DELETE FROM foreman.issues", "TRUNCATE foreman.events", "DELETE FROM foreman.notes",
                          "UPDATE foreman.events SET kind = 'x'"):
            with pytest.raises(psycopg.errors.IntegrityConstraintViolation):
                conn.execute(statement)
    assert pg.get(issue.id).title == "keep me" and len(pg.events(issue.id)) == 2


def test_leases_follow_the_server_clock_not_the_workers(pg, monkeypatch):
    with psycopg.connect(pg.path) as conn:
        server_now = conn.execute("SELECT extract(epoch FROM now())::float8").fetchone()[0]
    issue = pg.create(NewIssue(title="t"))
    monkeypatch.setattr(time, "time", lambda: server_now - 86_400)  # this worker's clock is a day behind
    claim = pg.claim(issue.id, "w1", ttl=60)
    assert abs(claim.lease_expires_at.timestamp() - (server_now + 60)) < 30


def test_changes_wake_a_listening_worker_and_claims_do_not(url, pg):
    other = open_store(url)
    assert pg.wait_for_change(0) is False  # starts listening; nothing happened yet
    blocker, lone = other.create(NewIssue(title="blocker")), other.create(NewIssue(title="lone"))
    waiter = other.create(NewIssue(title="waits for the blocker"))
    other.dep_add(waiter.id, blocker.id)
    assert pg.wait_for_change(30) is True
    claims = [other.claim(i.id, "w1") for i in (lone, blocker)]
    assert pg.wait_for_change(0.2) is False
    other.close(lone.id, token=claims[0].token)  # nobody waits on it: silent
    assert pg.wait_for_change(0.2) is False
    other.close(blocker.id, token=claims[1].token)  # makes the waiter ready
    assert pg.wait_for_change(30) is True
    other.disconnect()


def _waiting_backend(url: str) -> int:
    """The pid of the store's backend that waits for a row lock (polled: it is another thread's query)."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        for _ in range(600):
            row = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                                (name,)).fetchone()
            if row:
                return row[0]
            time.sleep(0.05)
    raise AssertionError("the claim never waited for the lock")


def test_backend_killed_mid_claim_is_retried_once(url, pg):
    issue = pg.create(NewIssue(title="contested"))
    holder = psycopg.connect(url)  # holds the issue's row lock, so the claim waits inside its transaction
    holder.execute("SELECT 1 FROM foreman.issues WHERE id = %s FOR UPDATE", (issue.id,))
    outcome = {}
    claimer = threading.Thread(target=lambda: outcome.update(claim=pg.claim(issue.id, "w1")))
    claimer.start()
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (_waiting_backend(url),))
    holder.rollback()
    holder.close()
    claimer.join(timeout=60)
    assert outcome["claim"].token == 1
    assert pg.get(issue.id).status == Status.IN_PROGRESS and pg.get(issue.id).fence == 1
    assert [e.kind for e in pg.events(issue.id)] == ["created", "claimed"]


async def test_an_idle_worker_wakes_on_new_work_before_its_poll_interval(url, pg):
    stopping, run_over = asyncio.Event(), asyncio.Event()
    pg.wait_for_change(0)  # listening from here on, so the create below cannot be missed
    waiting = asyncio.create_task(wait_any(stopping, run_over, timeout=600, store=pg))
    other = open_store(url)
    other.create(NewIssue(title="wake up"))
    other.disconnect()
    await asyncio.wait_for(waiting, timeout=60)  # a 600 s poll would time this out: the NOTIFY woke it
    assert not stopping.is_set() and not run_over.is_set()


def test_only_one_thread_per_process_listens_the_others_poll(url, pg):
    woken = {}
    pg.wait_for_change(0)  # listening from here on, so the create below cannot be missed
    listener = threading.Thread(target=lambda: woken.update(first=pg.wait_for_change(60)))
    listener.start()
    while not pg._listener_lock.locked():  # the listening thread holds the connection
        time.sleep(0.01)
    assert pg.wait_for_change(60) is False  # answered at once: this thread polls instead
    other = open_store(url)
    other.create(NewIssue(title="for the listener"))
    other.disconnect()
    listener.join(timeout=60)
    assert woken == {"first": True}
