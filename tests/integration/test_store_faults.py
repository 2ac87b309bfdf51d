"""How the SQLite store reports values it cannot bind and faults that are not corruption (issue 7, defect 12).

The CLI refuses these inputs first, naming the option; these tests hold the store's own answer for
every other caller (agent tools, the fleet runtime).
"""

from __future__ import annotations

import pytest

from foreman.issues import NewIssue, open_store
from foreman.issues.errors import DatabaseUnreadable, InvalidText, NumberOutOfRange


@pytest.fixture
def store(tmp_path):
    opened = open_store(tmp_path / "faults.db", create=True)
    yield opened
    opened.disconnect()


def test_an_integer_past_64_bits_is_out_of_range(store):
    issue = store.create(NewIssue(title="x"))
    with pytest.raises(NumberOutOfRange):
        store.list(limit=2**70)
    with pytest.raises(NumberOutOfRange):
        store.create(NewIssue(title="y", max_attempts=2**63))
    assert [i.id for i in store.list()] == [issue.id]


def test_a_lone_surrogate_is_invalid_text_and_writes_nothing(store):
    issue = store.create(NewIssue(title="x"))
    with pytest.raises(InvalidText, match="character 4"):
        store.note(issue.id, "caf\udce9")
    assert store.show(issue.id).notes == []


@pytest.mark.parametrize("ttl", [float("nan"), float("inf"), 0, 10**12])
def test_a_lease_that_is_not_finite_positive_seconds_is_out_of_range(store, ttl):
    issue = store.create(NewIssue(title="x"))
    with pytest.raises(NumberOutOfRange):
        store.claim(issue.id, "w1", ttl=ttl)
    claim = store.claim(issue.id, "w1")
    with pytest.raises(NumberOutOfRange):
        store.heartbeat(issue.id, claim.token, ttl=ttl)


def test_backup_advice_only_for_a_file_that_is_not_a_database(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 1000)
    with pytest.raises(DatabaseUnreadable, match="Restore it from a backup"):
        open_store(bad)
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    with pytest.raises(DatabaseUnreadable) as raised:
        open_store(folder)
    assert "Restore" not in raised.value.message
