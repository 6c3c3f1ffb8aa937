"""Journal writes beside the batches: the command log and device availability.

They go through the journal gate like everything else that touches the writing
connection, so they run in turn with the batches and never inside one.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future
from typing import Any

from edge.hub.gate import JournalGate
from edge.store import Journal

log = logging.getLogger(__name__)


class CommandLog:
    """The router's command log, kept in the journal database."""

    def __init__(self, journal: Journal, gate: JournalGate) -> None:
        self.journal, self.gate = journal, gate

    async def seen(self, cmd_id: str, device_id: str, name: str) -> tuple[bool, bytes | None]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.gate, self.journal.command_seen, cmd_id, device_id, name
        )

    async def replied(self, cmd_id: str, code: int, reply: bytes) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.gate, self.journal.command_replied, cmd_id, code, reply)


class DeviceLog:
    """A device's availability and errors in the journal's `devices` table; nobody waits."""

    def __init__(self, journal: Journal, gate: JournalGate) -> None:
        self.journal, self.gate = journal, gate

    def state_changed(self, device_id: str, state: dict[str, Any]) -> None:
        self._later(device_id, state["state"] == "online", None)

    def error(self, device_id: str, message: str) -> None:
        self._later(device_id, None, message)

    def _later(self, device_id: str, online: bool | None, error: str | None) -> None:
        fut = self.gate.submit(self.journal.device_state, device_id, online, error)
        fut.add_done_callback(_log_journal_error)


def _log_journal_error(fut: Future[Any]) -> None:
    if fut.exception() is not None:
        log.error("journal write failed: %s", fut.exception())
