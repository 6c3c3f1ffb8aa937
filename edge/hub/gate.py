"""One door to the journal: its work runs on the event loop, its fsync on a thread.

The journal's Python work (building envelopes and rows) holds the GIL; on a separate thread
it starved the event loop, whose every recv/send gives the GIL up and then waits up to the
5 ms switch interval to get it back (measured: 1.7k events/s end to end that way). So the
work runs inline on the loop — except the COMMIT, whose fsync (≈5 ms here with
synchronous=FULL) would stall everything else: it runs on a thread, which releases the
GIL while SQLite syncs. While a commit is in flight, other journal calls wait their turn
(they are queued and run in order once it is done), so the connection is never used by
two threads at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class JournalGate(Executor):
    """An executor for `loop.run_in_executor`: inline, or queued behind a commit."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="journal-commit")
        self._busy = False
        self._queue: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = deque()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        fut: Future[T] = Future()
        if kwargs:
            args = (*args,)
            call: Callable[..., Any] = lambda *a: fn(*a, **kwargs)  # noqa: E731
        else:
            call = fn
        if self._busy:
            self._queue.append((fut, call, args))
        else:
            _run(fut, call, args)
        return fut

    def hold(self) -> None:
        """From now on other calls queue: a transaction is open (see `release`). One holder
        at a time: a second would have the first's release run queued calls inside the
        second's open transaction."""
        if self._busy:
            raise RuntimeError("the journal gate is held already")
        self._busy = True

    def release(self) -> None:
        """The transaction is over: run what queued meanwhile, in order."""
        self._busy = False
        while self._queue and not self._busy:
            fut, call, args = self._queue.popleft()
            _run(fut, call, args)

    async def on_thread(self, fn: Callable[[], None]) -> None:
        """Run `fn` (the COMMIT) on the thread while held; the loop goes on meanwhile."""
        await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._thread.shutdown(wait=wait, cancel_futures=cancel_futures)


def _run(fut: Future[Any], call: Callable[..., Any], args: tuple[Any, ...]) -> None:
    # A caller that gave up while queued (its task was cancelled, e.g. the uplink's ack
    # flusher when the cloud link drops) gets nothing run and nothing set.
    if not fut.set_running_or_notify_cancel():
        return
    try:
        fut.set_result(call(*args))
    except BaseException as exc:
        fut.set_exception(exc)
