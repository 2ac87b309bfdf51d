"""Obeying stop requests made through the database (the dashboard's stop buttons, issue 10).

An operator writes ``fleet_state[STOP_REQUEST]`` (:meth:`IssueStore.request_stop`); every process of
the run polls it, so workers in ``--processes`` processes and ``foreman worker`` shells obey too.
``graceful`` sets the process's ``stopping`` event, as one Ctrl-C does (workers finish their step
and release their claims); ``emergency`` exits the process at once, as a second Ctrl-C does (the
leases it held expire on their own). Only requests made after ``since`` count, so a request that
stopped an earlier run does not stop the next one.
"""

from __future__ import annotations

import asyncio
import logging
import os

from foreman.issues import IssueStore
from foreman.issues.fleet_records import STOP_REQUEST

STOP_POLL = 0.5  # seconds between reads of the stop request
EXIT_STOPPED = 130  # the exit code of an emergency stop, as after a second Ctrl-C
log = logging.getLogger(__name__)


def pending_stop(store: IssueStore, since: float) -> str | None:
    """The mode (``graceful``/``emergency``) of a stop requested at or after ``since`` (epoch seconds), else None."""
    request = store.get_state(STOP_REQUEST) or {}
    return request.get("mode") if float(request.get("at") or 0.0) >= since else None


async def follow_stop_requests(store: IssueStore, stopping: asyncio.Event, since: float) -> None:
    """Poll every :data:`STOP_POLL` seconds until cancelled: set ``stopping`` on a graceful stop,
    ``os._exit(EXIT_STOPPED)`` on an emergency stop. A failed read is logged and retried."""
    while True:
        try:
            mode = await asyncio.to_thread(pending_stop, store, since)
        except Exception as exc:  # the worker backs off on the same fault; keep following
            log.warning("could not read %s: %s", STOP_REQUEST, exc)
            mode = None
        if mode == "emergency":
            log.warning("emergency stop requested through the database: exiting now")
            os._exit(EXIT_STOPPED)
        if mode == "graceful" and not stopping.is_set():
            log.warning("graceful stop requested through the database")
            stopping.set()
        await asyncio.sleep(STOP_POLL)
