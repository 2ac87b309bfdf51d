"""The dashboard in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright, issue 10).

One rehearsal fleet runs for the whole module with every scripted model call slowed to 1 s, so
there is time to watch: the pages follow it without a reload, and each button does in the
database what it says. The screenshots in docs/ (shown in the README) are taken here: they are
written to ``$FOREMAN_SCREENSHOTS`` when it is set (``FOREMAN_SCREENSHOTS=docs`` refreshes them), else
to a temporary folder, so a test run leaves the checkout as it was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from foreman.issues import EventKind, NewIssue, open_store
from foreman.monitor import NEEDS_HUMAN
from tests.support.fleet_runs import read_until, start_rehearsal, wait_until
from tests.support.seed import create_seed_workspace

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(os.environ.get("FOREMAN_SCREENSHOTS") or Path(tempfile.gettempdir()) / "foreman-screenshots")
WAIT_MS = 30_000  # how long the page may take to show what the test waits for (it shows within 1 s)
pytestmark = pytest.mark.timeout(300)

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[test])")


def shot(name: str) -> Path:
    """Where the screenshot ``name`` goes (the folder is made if needed)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / name


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_api.sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except sync_api.Error as exc:
            pytest.skip(f"chromium at {CHROMIUM} cannot start: {exc}")
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """A running rehearsal fleet with a dashboard on a free port: ``(url, db, seeded issue ids)``.

    Before it starts, the database gets a dead-letter issue and a blocked one, both waiting for a
    human (so the foreman leaves them to the dashboard's retry and unblock), and an issue claimed
    for an hour by a worker that hangs (for the kill).
    """
    tmp = tmp_path_factory.mktemp("dashboard")
    workspace = create_seed_workspace(tmp / "ws")
    db = workspace / ".foreman" / "issues.db"
    store = open_store(db, create=True)
    human = {"worker_type": "coding", NEEDS_HUMAN: True}
    dead = store.create(NewIssue(title="Flaky <script>alert(1)</script> task", max_attempts=1, metadata=human))
    store.fail(dead.id, store.claim(dead.id, "ghost-1").token, error="crashed")
    blocked = store.create(NewIssue(title="Pick the port", blocked_reason="which port?", metadata=human))
    stuck = store.create(NewIssue(title="Update the changelog", metadata={"worker_type": "coding"}))
    store.claim(stuck.id, "ghost-2", ttl=3600)  # a worker that hangs holding its claim
    store.disconnect()
    run = start_rehearsal(workspace, tmp, "--workers", "coding=2,research=1", delay=1.0)
    url = read_until(run, "dashboard: ").removeprefix("dashboard: ")
    yield url, db, {"dead": dead.id, "blocked": blocked.id, "stuck": stuck.id}
    if run.poll() is None:
        run.kill()
    run.communicate(timeout=60)


@pytest.fixture
def page(browser, fleet):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() of kill and stop
    page.goto(fleet[0])  # the token URL: the controls work
    yield page
    context.close()


def base(fleet) -> str:
    return fleet[0].split("?")[0]


def statuses(page) -> dict[str, str]:
    """Issue id -> status as the issues table on the page shows them."""
    rows = page.locator("#issue-table tr[data-issue]")
    return {rows.nth(n).get_attribute("data-issue"): rows.nth(n).locator("[data-status]").get_attribute("data-status")
            for n in range(rows.count())}


def test_the_issues_page_follows_the_run_without_a_reload(page, fleet):
    page.goto(base(fleet) + "issues")
    page.evaluate("window.notReloaded = true")
    page.wait_for_selector('#issue-table [data-status="in_progress"]', timeout=WAIT_MS * 4)
    first = statuses(page)
    page.wait_for_function("() => document.querySelectorAll('#issue-table [data-status=\"closed\"]').length >= 1",
                           timeout=WAIT_MS * 4)
    later = statuses(page)
    assert later != first, "statuses changed on the page"
    assert page.evaluate("window.notReloaded") is True, "without a reload"
    assert page.locator("text=Flaky <script>alert(1)</script> task").count() == 1  # shown as text, not run
    page.screenshot(path=str(shot("dashboard-issues.png")))
    page.goto(base(fleet))
    page.screenshot(path=str(shot("dashboard-overview.png")))
    page.goto(base(fleet) + "workers")
    page.wait_for_selector(".worker.look-working", timeout=WAIT_MS)
    page.screenshot(path=str(shot("dashboard-workers.png")))


def test_kill_revokes_a_stuck_claim_and_the_issue_is_worked_again(page, fleet):
    _, db, seeded = fleet
    stuck = seeded["stuck"]
    page.goto(base(fleet) + f"issues/{stuck}")
    page.wait_for_selector("text=Event log and transcript")
    page.fill(f'form[hx-post="/issues/{stuck}/kill"] input[name="note"]', "stuck in the test")
    page.click(f'form[hx-post="/issues/{stuck}/kill"] button')
    page.wait_for_selector("#flash p", timeout=WAIT_MS)
    assert "claim revoked" in page.inner_text("#flash")
    store = open_store(db)
    released = store.events(stuck, kinds=[EventKind.RELEASED])[-1]
    assert released.actor == "dashboard" and released.data["revoked"] is True
    attempt = store.attempts(stuck)[0]
    assert attempt.worker == "ghost-2" and attempt.outcome == "released"
    assert attempt.error == "revoked by dashboard: stuck in the test"
    wait_until(lambda: any(a.worker.startswith("coding-") for a in store.attempts(stuck)), what="a worker to take it")
    page.wait_for_selector("#issue-status:not([data-status=\"open\"])", timeout=WAIT_MS)  # the page follows
    page.screenshot(path=str(shot("dashboard-issue.png")), full_page=True)
    store.disconnect()


def test_retry_and_unblock_from_the_issue_pages(page, fleet):
    _, db, seeded = fleet
    page.goto(base(fleet) + f"issues/{seeded['dead']}")
    page.click(f'form[hx-post="/issues/{seeded["dead"]}/retry"] button')
    page.wait_for_selector("#flash >> text=reopened", timeout=WAIT_MS)
    page.goto(base(fleet) + f"issues/{seeded['blocked']}")
    page.fill(f'form[hx-post="/issues/{seeded["blocked"]}/unblock"] input[name="note"]', "use port 8080")
    page.click(f'form[hx-post="/issues/{seeded["blocked"]}/unblock"] button')
    page.wait_for_selector("#flash >> text=unblocked", timeout=WAIT_MS)
    store = open_store(db)
    assert store.events(seeded["dead"], kinds=[EventKind.REOPENED])[-1].actor == "dashboard"
    assert store.events(seeded["blocked"], kinds=[EventKind.UNBLOCKED])[-1].actor == "dashboard"
    assert "Unblocked: use port 8080" in [n.body for n in store.show(seeded["blocked"]).notes]
    store.disconnect()


def test_graceful_stop_stops_the_run_and_releases_every_claim(page, fleet):
    _, db, _ = fleet
    page.click("text=Graceful stop")
    page.wait_for_selector("#flash >> text=graceful stop requested", timeout=WAIT_MS)
    store = open_store(db)
    wait_until(lambda: all(w.state == "stopped" for w in store.worker_list(since=0)), what="every worker to stop")
    assert store.counts()["in_progress"] == 0
    assert store.events("run", kinds=[EventKind.STOP_REQUESTED])[-1].actor == "dashboard"
    store.disconnect()
