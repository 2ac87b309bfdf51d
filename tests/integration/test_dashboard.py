"""The web dashboard (issue 10) over HTTP with starlette's TestClient: every page, every control,
the token, escaping, the 404 page; and the live stream from a real server on a free port."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from foreman.dashboard import (TOKEN_HEADER, DashboardSettings, control_token, create_app, open_dashboard,
                               serving_in_process, token_path)
from foreman.issues import EventKind, FakeClock, NewIssue, Status, open_store
from foreman.issues.errors import StaleToken
from foreman.issues.fleet_records import RUN_EVENTS, STOP_REQUEST, WorkerStatus
from workers.stop_requests import pending_stop

TOKEN = "test-token-0123456789"


@pytest.fixture
def db(tmp_path) -> str:
    path = str(tmp_path / ".foreman" / "issues.db")
    open_store(path, create=True).disconnect()
    return path


@pytest.fixture
def store(db):
    s = open_store(db)
    yield s
    s.disconnect()


def client_for(db: str, tmp_path: Path, *, open_reads: bool = True) -> TestClient:
    settings = DashboardSettings(db=db, token=TOKEN, workspace=tmp_path, open_reads=open_reads)
    return TestClient(create_app(settings))


@pytest.fixture
def client(db, tmp_path):
    with client_for(db, tmp_path) as c:
        yield c


def post(client: TestClient, path: str, **form: str) -> httpx.Response:
    return client.post(path, data=form, headers={TOKEN_HEADER: TOKEN})


def refreshed(client: TestClient) -> None:
    """Let the dashboard read the changes a test made through its own store connection."""
    client.app.state.model.refresh()


def test_overview_counts_progress_and_usage(client, store):
    a = store.create(NewIssue(title="first"))
    store.create(NewIssue(title="second"))
    store.close(a.id, reason="done")
    usage = {"input_tokens": 120, "output_tokens": 30, "cost_usd": 0.25}
    store.record_events([(a.id, EventKind.SESSION, "coding-1", {"event": "provider:response", "usage": usage})])
    refreshed(client)
    page = client.get("/").text
    assert 'id="percent-done">50%' in page
    assert 'data-status="closed">1<' in page and 'data-status="open">1<' in page
    assert ">1</span> model calls" in page and "120 in / 30 out tokens" in page and "$0.2500" in page


def test_remaining_time_comes_from_estimates_when_given(client, store):
    store.create(NewIssue(title="estimated", metadata={"estimate_minutes": 3}))
    refreshed(client)
    page = client.get("/fragments/overview").text
    assert 'id="remaining">3 min 00 s' in page and "from the estimates of 1 issues" in page


def test_issues_table_filters_searches_sorts_and_pages(client, store):
    for n in range(60):
        store.create(NewIssue(title=f"task {n:02d}", labels=["ui"] if n % 2 else [],
                              metadata={"worker_type": "research" if n < 5 else "coding"}))
    refreshed(client)
    assert client.get("/issues").text.count("data-issue=") == 50
    assert client.get("/issues?page=2").text.count("data-issue=") == 10
    research = client.get("/issues?worker_type=research").text
    assert research.count("data-issue=") == 5 and "5 issues match" in research
    assert client.get("/issues?label=ui").text.count("data-issue=") == 30
    found = client.get("/issues?q=TASK%2007").text
    assert found.count("data-issue=") == 1 and "task 07" in found
    newest_first = client.get("/issues?sort=title&desc=1").text
    assert newest_first.index("task 59") < newest_first.index("task 58")
    table = client.get("/issues/table?status=open&sort=title")
    assert table.headers["HX-Push-Url"].startswith("/issues?status=open") and "<html" not in table.text


def test_untrusted_text_is_escaped_everywhere(client, store):
    issue = store.create(NewIssue(title="<script>alert(1)</script>", description="<img src=x onerror=alert(2)>"))
    store.record_events([(issue.id, EventKind.SESSION, "coding-1",
                          {"event": "provider:response", "text": "<script>alert(3)</script>", "usage": {}})])
    refreshed(client)
    for path in ("/issues", f"/issues/{issue.id}"):
        page = client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_issue_page_shows_everything_about_the_issue(client, store):
    blocker = store.create(NewIssue(title="blocker"))
    issue = store.create(NewIssue(title="the work", description="Do the thing", acceptance_criteria="It is done",
                                  checks=["test -f done.txt"]))
    store.dep_add(issue.id, blocker.id)
    store.note(issue.id, "a plan", author="coding-1")
    store.record_events([(issue.id, EventKind.SESSION, "coding-1",
                          {"event": "tool:post", "tool": "write_file", "arguments": {"file_path": "done.txt"}, "result": "ok"})])
    page = client.get(f"/issues/{issue.id}").text
    for shown in ("Do the thing", "It is done", "test -f done.txt", "not run yet", blocker.id, "a plan",
                  "tool write_file", "done.txt", "Never claimed.", "no diff"):
        assert shown in page, shown


def test_unknown_issue_is_a_404_page(client):
    response = client.get("/issues/fm-none")
    assert response.status_code == 404 and "no issue &#39;fm-none&#39;" in response.text and "<html" in response.text


def test_workers_page_tells_idle_from_dead(client, store, db):
    store.worker_put(WorkerStatus(name="coding-1", worker_type="coding", host="h", pid=11, state="idle"))
    old = open_store(db, clock=FakeClock(start=store.clock.now() - 600))
    old.worker_put(WorkerStatus(name="coding-2", worker_type="coding", host="h", pid=12, state="working",
                                issue_id="fm-x"))
    old.disconnect()
    refreshed(client)
    page = client.get("/workers").text
    assert 'class="worker look-idle" data-worker="coding-1"' in page
    assert 'class="worker look-dead" data-worker="coding-2"' in page and "<td>12</td>" in page


@pytest.mark.parametrize("path", ["/stop", "/issues/fm-x/retry", "/issues/fm-x/kill", "/issues/fm-x/unblock"])
def test_every_control_needs_the_token_header(client, path):
    for headers in ({}, {TOKEN_HEADER: "wrong"}):
        response = client.post(path, data={"mode": "graceful"}, headers=headers)
        assert response.status_code == 403 and TOKEN_HEADER in response.text
    client.get(f"/?token={TOKEN}")  # the cookie a page sets does not stand in for the header
    assert client.post(path, data={"mode": "graceful"}).status_code == 403


def test_the_token_url_puts_the_token_in_the_page_headers(client):
    assert TOKEN not in client.get("/").text
    assert f'"X-Foreman-Token": "{TOKEN}"' in client.get(f"/?token={TOKEN}").text


def test_retry_reopens_a_dead_letter_issue(client, store):
    issue = store.create(NewIssue(title="flaky", max_attempts=1))
    claim = store.claim(issue.id, "coding-1")
    store.fail(issue.id, claim.token, error="boom")
    response = post(client, f"/issues/{issue.id}/retry", note="try again")
    assert response.status_code == 200 and "reopened" in response.text
    assert store.get(issue.id).status == Status.OPEN
    reopened = store.events(issue.id, kinds=[EventKind.REOPENED])[-1]
    assert reopened.actor == "dashboard"
    assert post(client, f"/issues/{issue.id}/retry").status_code == 409  # an open issue cannot be retried


def test_kill_revokes_the_claim_and_refuses_the_holders_renewal(client, store):
    issue = store.create(NewIssue(title="stuck"))
    claim = store.claim(issue.id, "coding-1")
    assert post(client, f"/issues/{issue.id}/kill", note="stuck for an hour").status_code == 200
    after = store.get(issue.id)
    assert after.status == Status.OPEN and after.fence == claim.token + 1 and after.assignee is None
    with pytest.raises(StaleToken):
        store.heartbeat(issue.id, claim.token)
    attempt = store.attempts(issue.id)[-1]
    assert attempt.outcome == "released" and attempt.error == "revoked by dashboard: stuck for an hour"
    released = store.events(issue.id, kinds=[EventKind.RELEASED])[-1]
    assert released.actor == "dashboard" and released.data["revoked"] is True
    assert post(client, f"/issues/{issue.id}/kill").status_code == 409  # nobody holds it now


def test_unblock_with_a_note(client, store):
    issue = store.create(NewIssue(title="needs input", blocked_reason="which database?"))
    assert post(client, f"/issues/{issue.id}/unblock", note="use SQLite").status_code == 200
    assert store.get(issue.id).status == Status.OPEN
    assert store.show(issue.id).notes[-1].body == "Unblocked: use SQLite"
    assert store.events(issue.id, kinds=[EventKind.UNBLOCKED])[-1].actor == "dashboard"


@pytest.mark.parametrize("mode", ["graceful", "emergency"])
def test_stop_buttons_write_a_stop_request_and_its_event(client, store, mode):
    before = store.clock.now()
    assert post(client, "/stop", mode=mode).status_code == 200
    assert store.get_state(STOP_REQUEST)["actor"] == "dashboard"
    assert pending_stop(store, before) == mode
    event = store.events(RUN_EVENTS, kinds=[EventKind.STOP_REQUESTED])[-1]
    assert event.actor == "dashboard" and event.data == {"mode": mode}


def test_an_unknown_stop_mode_is_refused(client, store):
    assert post(client, "/stop", mode="whenever").status_code == 409
    assert store.get_state(STOP_REQUEST) is None


def test_off_loopback_every_page_needs_the_token(db, tmp_path):
    with client_for(db, tmp_path, open_reads=False) as c:
        assert c.get("/").status_code == 401 and c.get("/events").status_code == 401
        assert c.get(f"/?token={TOKEN}").status_code == 200
        assert c.get("/workers").status_code == 200  # the cookie set by the token URL


def test_a_sqlite_token_is_kept_beside_the_database(db):
    token = control_token(db)
    assert token_path(db) == Path(db).parent / "dashboard-token"
    assert token_path(db).read_text().strip() == token == control_token(db)


def test_a_server_token_is_kept_in_the_config_folder_per_server_and_database(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)  # the old bug made a folder `postgresql:` here
    url = "postgresql://postgres@127.0.0.1:5432/fleet"
    token = control_token(url)
    path = tmp_path / "config" / "foreman" / "dashboard-tokens" / "127.0.0.1-5432-fleet"
    assert token_path(url) == path and path.read_text().strip() == token
    assert path.stat().st_mode & 0o777 == 0o600
    assert control_token(url) == token, "a restarted dashboard takes the same token"
    assert control_token("postgresql://postgres@db.example:6543/fleet") != token
    assert token_path("postgres://db.example/other").name == "db.example-5432-other"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"], "no folder named after the URL"


def test_the_live_stream_reports_a_change_made_by_another_connection(db, tmp_path, store):
    dashboard = open_dashboard(db, tmp_path, port=0)
    with serving_in_process(dashboard):
        base = dashboard.url.split("?")[0]
        seen: list[str] = []
        connected = threading.Event()

        def listen() -> None:
            with httpx.stream("GET", base + "events", timeout=30) as stream:
                for line in stream.iter_lines():
                    connected.set()
                    if line.startswith("event: "):
                        seen.append(line.removeprefix("event: "))
                        return

        listener = threading.Thread(target=listen)
        listener.start()
        assert connected.wait(30)
        issue = store.create(NewIssue(title="made elsewhere"))
        listener.join(30)
        assert seen and seen[0] in ("change", f"issue-{issue.id}")
        assert "made elsewhere" in httpx.get(base + "issues").text
