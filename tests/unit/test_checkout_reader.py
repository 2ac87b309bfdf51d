"""workers.guard.CheckoutReader: sessions that ask together share a reading, never one taken before they asked."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from workers import guard
from workers.guard import CheckoutReader, checkout_reader

HANG_GUARD = 10.0  # seconds: a reader that never answers fails the test instead of hanging the run


async def test_sessions_asking_while_a_reading_runs_share_the_next_one(monkeypatch):
    started: list[int] = []
    release = threading.Event()

    def checkout_state(root: Path) -> dict[str, tuple[int, int]]:
        started.append(len(started) + 1)
        release.wait(HANG_GUARD)
        return {"reading": (len(started), 0)}

    monkeypatch.setattr(guard, "checkout_state", checkout_state)
    reader = CheckoutReader(Path("/repo"))
    async with asyncio.timeout(HANG_GUARD):
        first = asyncio.create_task(reader.read())
        while not started:  # the first reading is running
            await asyncio.sleep(0.01)
        later = [asyncio.create_task(reader.read()) for _ in range(5)]
        await asyncio.sleep(0.05)
        assert started == [1], "the later sessions wait for the running reading to end"
        release.set()
        answers = [await first, *[await task for task in later]]
    assert answers[0] == {"reading": (1, 0)}
    assert all(answer == {"reading": (2, 0)} for answer in answers[1:]), "one reading, started after they asked"
    assert started == [1, 2]


async def test_a_failed_reading_fails_its_sessions_and_the_next_one_reads_again(monkeypatch):
    calls: list[str] = []

    def checkout_state(root: Path) -> dict[str, tuple[int, int]]:
        calls.append("read")
        if len(calls) == 1:
            raise OSError("git is gone")
        return {}

    monkeypatch.setattr(guard, "checkout_state", checkout_state)
    reader = CheckoutReader(Path("/repo"))
    async with asyncio.timeout(HANG_GUARD):
        try:
            await reader.read()
        except OSError as exc:
            assert "git is gone" in str(exc)
        else:
            raise AssertionError("the failure reaches the session")
        assert await reader.read() == {}


async def test_one_reader_per_checkout_and_event_loop():
    assert checkout_reader(Path("/a")) is checkout_reader(Path("/a"))
    assert checkout_reader(Path("/a")) is not checkout_reader(Path("/b"))
