"""The run lock: one `foreman run` per database, taken over only from a stale or dead holder."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from foreman.issues import open_store
from foreman.run_lock import STALE_AFTER, RunLock, RunLocked


def test_a_live_holder_keeps_the_lock_and_is_named(tmp_path, clock):
    store = open_store(tmp_path / "issues.db", clock=clock, create=True)
    first = RunLock.acquire(store)

    with pytest.raises(RunLocked, match=rf"pid {os.getpid()} on host {socket.gethostname()}.*last heartbeat 1\.0 s ago"):
        clock.advance(1.0)
        RunLock.acquire(store)
    assert store.run_lock_renew(first.holder["run_id"])

    first.release()
    RunLock.acquire(store)  # free again


def test_a_stale_lock_is_taken_over_and_its_old_holder_learns_it(tmp_path, clock):
    store = open_store(tmp_path / "issues.db", clock=clock, create=True)
    old = RunLock.acquire(store)
    clock.advance(STALE_AFTER + 1)

    new = RunLock.acquire(store)

    assert not store.run_lock_renew(old.holder["run_id"])
    old.release()  # leaves the new holder's lock alone
    with pytest.raises(RunLocked):
        RunLock.acquire(store)
    assert store.run_lock_renew(new.holder["run_id"])


def test_a_lock_whose_process_is_gone_is_taken_over_at_once(tmp_path, clock):
    store = open_store(tmp_path / "issues.db", clock=clock, create=True)
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: its pid names no process
    holder = {"run_id": "killed", "host": socket.gethostname(), "pid": gone.pid, "started": "earlier"}
    assert store.run_lock_acquire(holder, stale_after=STALE_AFTER)[0] == holder

    RunLock.acquire(store)

    assert not store.run_lock_renew("killed")
