"""Reads do not queue behind a write: a write transaction held open in one thread, a read in another."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from foreman.issues import IssueUpdate, NewIssue, reads
from foreman.issues.postgres_store import PostgresStore

HANG_GUARD = 10.0  # seconds: a read that waits for the writer fails the test instead of hanging it


def test_a_read_in_another_thread_does_not_wait_for_an_open_write(store):
    if store.path == ":memory:":
        pytest.skip("a private in-memory database has one connection, shared under the write lock")
    issue = store.create(NewIssue(title="read me"))
    writing, release = threading.Event(), threading.Event()

    def hold_a_write() -> None:
        with store._write():  # the store's write transaction, open until the read has answered
            writing.set()
            release.wait(HANG_GUARD)

    writer = threading.Thread(target=hold_a_write)
    writer.start()
    try:
        assert writing.wait(HANG_GUARD)
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(store.get(issue.id).title))
        reader.start()
        reader.join(HANG_GUARD)
        assert answer == ["read me"], "the read answered while the write was still open"
    finally:
        release.set()
        writer.join(HANG_GUARD)


def test_a_thread_that_read_before_sees_a_write_once_it_commits(store):
    """The reading thread keeps its connection between reads; its next read is a fresh snapshot."""
    issue = store.create(NewIssue(title="before"))
    with ThreadPoolExecutor(max_workers=1) as reader:
        assert reader.submit(lambda: store.get(issue.id).title).result(HANG_GUARD) == "before"
        store.update(issue.id, IssueUpdate(title="after"))
        assert reader.submit(lambda: store.get(issue.id).title).result(HANG_GUARD) == "after"


def test_an_async_read_answers_inline_only_where_reads_never_wait(store):
    issue = store.create(NewIssue(title="read me"))
    threads: list[int] = []

    def get(issue_id: str):
        threads.append(threading.get_ident())
        return store.get(issue_id)

    async def read_it():
        return await reads.read(store, get, issue.id), threading.get_ident()

    got, loop_thread = asyncio.run(read_it())
    assert got.title == "read me"
    assert (threads == [loop_thread]) == store.inline_reads
    assert store.inline_reads == (not isinstance(store, PostgresStore) and store.path != ":memory:")
