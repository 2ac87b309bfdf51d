"""Property tests: random operation sequences never reach an illegal state, and the event log
replays to the current state of every issue."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from foreman.issues import FakeClock, NewIssue, Status, open_store
from foreman.issues.errors import IssueError
from tests.support.postgres import fresh_database, require_server

WORKERS = st.sampled_from(["w1", "w2", "w3"])
VALIDATORS = st.sampled_from(["v1", "w1"])  # w1 also builds: it must never review its own work


def replay(events) -> dict[str, object]:
    """Rebuild (status, fence, attempts, reviews) of one issue from its events alone."""
    state = {"status": None, "fence": 0, "attempts": 0, "reviews": 0}
    for event in events:
        if event.kind in ("claimed", "review_claimed"):
            state["fence"] = event.data["token"]
            state["attempts" if event.kind == "claimed" else "reviews"] += 1
        if event.kind == "reopened":
            state["attempts"] = 0
        if event.kind == "submitted":
            state["reviews"] = 0
        if "to" in event.data:
            state["status"] = event.data["to"]
    return state


class QueueMachine(RuleBasedStateMachine):
    """Drives one store with creates, claims (fresh and stale tokens), leases and operator actions."""

    @initialize()
    def setup(self):
        self.clock = FakeClock()
        self.store = open_store(self.location(), clock=self.clock, create=True)
        self.ids: list[str] = []
        self.tokens: dict[str, list[int]] = {}

    def location(self) -> str:
        """Where each example's fresh database is."""
        return ":memory:"

    def teardown(self):
        self.store.disconnect()

    def _try(self, call):
        try:
            return call()
        except IssueError:
            return None  # a refusal is fine; the invariants check nothing illegal happened

    def _pick(self, data):
        return data.draw(st.sampled_from(self.ids)) if self.ids else None

    @precondition(lambda self: len(self.ids) < 6)  # a few issues, many operations on each
    @rule(blocked=st.booleans(), max_attempts=st.integers(1, 3))
    def create(self, blocked, max_attempts):
        new = NewIssue(title="t", max_attempts=max_attempts, blocked_reason="needs input" if blocked else None)
        # Ids are random, so issues created at one instant would queue in id order and claim_next's
        # pick would differ between hypothesis's replays (FlakyStrategyDefinition): creation order decides.
        self.clock.advance(0.001)
        issue = self.store.create(new)
        self.ids.append(issue.id)
        self.tokens[issue.id] = []

    @rule(worker=WORKERS, ttl=st.sampled_from([1.0, 5.0]))
    def claim_next(self, worker, ttl):
        claim = self._try(lambda: self.store.claim_next(worker, ttl=ttl))
        if claim:
            self.tokens[claim.issue.id].append(claim.token)

    @rule(data=st.data(), worker=WORKERS)
    def claim_by_id(self, data, worker):
        issue_id = self._pick(data)
        claim = issue_id and self._try(lambda: self.store.claim(issue_id, worker, ttl=5.0))
        if claim:
            self.tokens[issue_id].append(claim.token)

    @rule(worker=WORKERS)
    def claim_and_submit(self, worker):
        """A builder whose checks passed at once (makes the review path common enough to explore)."""
        claim = self._try(lambda: self.store.claim_next(worker, ttl=5.0))
        if claim:
            self.tokens[claim.issue.id].append(claim.token)
            self.store.submit(claim.issue.id, claim.token, summary="checks passed")

    @rule(worker=VALIDATORS, ttl=st.sampled_from([1.0, 5.0]))
    def claim_review(self, worker, ttl):
        claim = self._try(lambda: self.store.claim_review(worker, ttl=ttl))
        if claim:
            assert claim.issue.submitted_by != worker
            self.tokens[claim.issue.id].append(claim.token)

    @rule(data=st.data(), op=st.sampled_from(["heartbeat", "note", "block", "close", "release", "fail",
                                             "submit", "pass", "reject"]))
    def fenced_write(self, data, op):
        issue_id = self._pick(data)
        if not issue_id or not self.tokens[issue_id]:
            return
        token = data.draw(st.sampled_from(self.tokens[issue_id]))  # often stale on purpose
        self._try(self._fenced_calls(issue_id, token)[op])

    @rule(data=st.data(), op=st.sampled_from(["submit", "pass", "reject", "fail"]))
    def current_holder_write(self, data, op):
        """The review path needs writes with the current token, which random tokens rarely are."""
        issue_id = self._pick(data)
        if issue_id:
            self._try(self._fenced_calls(issue_id, self.store.get(issue_id).fence)[op])

    def _fenced_calls(self, issue_id, token):
        return {
            "heartbeat": lambda: self.store.heartbeat(issue_id, token, ttl=5.0),
            "note": lambda: self.store.note(issue_id, "progress", token=token),
            "block": lambda: self.store.block(issue_id, "missing input", token=token),
            "close": lambda: self.store.close(issue_id, reason="done", token=token),
            "release": lambda: self.store.release(issue_id, token),
            "fail": lambda: self.store.fail(issue_id, token, error="boom"),
            "submit": lambda: self.store.submit(issue_id, token, summary="checks passed"),
            "pass": lambda: self.store.verdict(issue_id, token, passed=True, critical_issues=[], recommendations=[]),
            "reject": lambda: self.store.verdict(issue_id, token, passed=False, critical_issues=["wrong"],
                                                 recommendations=[]),
        }

    @rule(data=st.data(), op=st.sampled_from(["unblock", "close", "reopen", "block"]))
    def operator_write(self, data, op):
        issue_id = self._pick(data)
        if not issue_id:
            return
        calls = {
            "unblock": lambda: self.store.unblock(issue_id, "here is the input"),
            "close": lambda: self.store.close(issue_id, reason="operator"),
            "reopen": lambda: self.store.reopen(issue_id, reason="again"),
            "block": lambda: self.store.block(issue_id, "hold"),
        }
        self._try(calls[op])

    @rule(seconds=st.sampled_from([0.5, 2.0, 6.0]))
    def time_passes(self, seconds):
        self.clock.advance(seconds)

    @rule()
    def sweep(self):
        self.store.sweep()

    @invariant()
    def every_issue_is_legal_and_replays(self):
        for issue in self.store.list():
            in_progress = issue.status == Status.IN_PROGRESS
            in_review = issue.status == Status.IN_REVIEW
            assert not in_progress or issue.lease_expires_at is not None
            assert in_progress or in_review or issue.lease_expires_at is None
            assert not (in_progress or in_review) or issue.assignee is not None
            assert not in_review or issue.submitted_by is not None
            assert not (in_review and issue.lease_expires_at) or issue.assignee != issue.submitted_by
            assert (issue.status == Status.BLOCKED) == (issue.blocking_notes is not None)
            assert (issue.status == Status.CLOSED) == (issue.closed_at is not None)
            exhausted = max(issue.attempts, issue.reviews) >= issue.max_attempts
            assert issue.status != Status.DEAD_LETTER or exhausted
            running = [a for a in self.store.attempts(issue.id) if a.outcome is None]
            assert len(running) == (1 if in_progress or in_review else 0)
            assert replay(self.store.events(issue.id)) == {
                "status": issue.status.value, "fence": issue.fence, "attempts": issue.attempts,
                "reviews": issue.reviews,
            }

    @invariant()
    def every_verdict_fail_is_a_rejected_attempt(self):
        for issue in self.store.list():
            fails = [e for e in self.store.events(issue.id, kinds=["verdict"]) if e.data["verdict"] == "FAIL"]
            rejected = [a for a in self.store.attempts(issue.id) if a.outcome == "rejected"]
            assert len(rejected) >= len(fails)


class PostgresQueueMachine(QueueMachine):
    """The same machine on PostgreSQL (issue 11): a fresh database per example, dropped after it."""

    def location(self) -> str:
        self.database = fresh_database()
        return self.database.__enter__()

    def teardown(self):
        super().teardown()
        self.database.__exit__(None, None, None)


QueueMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestQueueMachine = QueueMachine.TestCase
# Fewer examples: each one creates and drops a database (the SQLite machine covers breadth).
PostgresQueueMachine.TestCase.settings = settings(max_examples=20, stateful_step_count=40, deadline=None)


class TestPostgresQueueMachine(PostgresQueueMachine.TestCase):
    def setUp(self):
        require_server()  # skip (or fail under FOREMAN_REQUIRE_PG=1) before any example runs
