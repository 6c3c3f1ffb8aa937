"""A small real HubPort for driver tests, and a helper to wait for conditions."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from edge.model import Event


class RecordingPort:
    """Stores what drivers submit; commits at once, or when the test says so."""

    def __init__(self, auto_commit: bool = True) -> None:
        self.auto_commit = auto_commit
        self.events: list[Event] = []
        self.uncommitted: list[Callable[[], None]] = []
        self.dead: list[tuple[str, bytes, str, str]] = []
        self.online: list[tuple[str, bool, str]] = []
        self.errors: list[tuple[str, str]] = []

    def submit(self, event: Event, on_committed: Callable[[], None] | None = None) -> None:
        self.events.append(event)
        if on_committed is None:
            return
        if self.auto_commit:
            asyncio.get_running_loop().call_soon(on_committed)
        else:
            self.uncommitted.append(on_committed)

    def commit(self) -> None:
        """The journal commits what was submitted so far: run the callbacks, like the hub."""
        pending, self.uncommitted = self.uncommitted, []
        for callback in pending:
            callback()

    def dead_letter(self, device_id: str, raw: bytes, where: str, reason: str) -> None:
        self.dead.append((device_id, raw, where, reason))

    def set_online(self, device_id: str, online: bool, reason: str = "") -> None:
        self.online.append((device_id, online, reason))

    def log_error(self, device_id: str, message: str) -> None:
        self.errors.append((device_id, message))

    def is_online(self, device_id: str) -> bool | None:
        states = [o for d, o, _ in self.online if d == device_id]
        return states[-1] if states else None

    def of_type(self, event_type: str) -> list[Event]:
        return [e for e in self.events if e.type == event_type]


async def eventually(check: Callable[[], object], wait_s: float = 5.0, what: str = "") -> None:
    """Wait until `check()` is truthy; fail the test after `wait_s` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


async def cancelled(*tasks: asyncio.Future[Any]) -> None:
    """Cancel the tasks and wait until they have ended (an error of theirs is ignored)."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def run_async(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test on a fresh event loop (with an overall time limit)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), 30))

    return wrapper
