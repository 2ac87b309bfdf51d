"""One inference at a time per process, first come first served.

llama.cpp contexts are not thread-safe, and several sessions sharing two
cores gain nothing from running inferences concurrently
(docs/modules/provider-llamacpp.md). So every job of every session, in every
thread and event loop of the process, goes through one queue served by one
worker thread: jobs start in submission order, the awaiting event loop stays
responsive, and a job never overlaps another.
"""

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

#: A job runs on the worker thread; it should return soon after its event is set.
Job = Callable[[threading.Event], T]


class InferenceQueue:
    """A FIFO of blocking jobs run one at a time on a dedicated worker thread."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llamacpp-inference")

    async def run(self, job: Job[T]) -> T:
        """Queue ``job``, wait for its turn and its result.

        Cancelling the awaiting task dequeues a job that has not started, and
        sets the stop event of a running one so it ends at its next token.

        Raises:
            Whatever ``job`` raises; asyncio.CancelledError when cancelled.
        """
        stop = threading.Event()
        future = self._executor.submit(job, stop)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            stop.set()
            raise


#: The process-wide queue every provider instance shares.
SHARED_QUEUE = InferenceQueue()
