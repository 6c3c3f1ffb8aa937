"""Checks and repairs the hub makes on its journal before it serves."""

from __future__ import annotations

import logging
import shutil
import sqlite3

import msgspec

from edge.config import HubConfig
from edge.errors import StoreError
from edge.model import TIMEOUT, Reply
from edge.store import Journal, journal_bytes

log = logging.getLogger(__name__)

RESTART_MSG = "the hub restarted before the device answered"

_json = msgspec.json.Encoder()


def check_disk_budget(cfg: HubConfig, journal: Journal) -> None:
    """[store] disk_max_bytes against the room there is: a budget the disk cannot give
    is no bound at all (the disk fills first), which the installer should know."""
    budget = cfg.store.disk_max_bytes
    if budget is None:
        return
    used = journal_bytes(journal.path)
    free = shutil.disk_usage(journal.path.parent).free
    if used + free < budget:
        log.warning(
            "%s: store.disk_max_bytes = %d but the journal (%d bytes) and the free space"
            " (%d bytes) come to only %d: the disk will fill before the budget",
            cfg.source,
            budget,
            used,
            free,
            used + free,
        )


def finish_interrupted_commands(journal: Journal) -> None:
    """Commands of the last run still waiting for their device when it died get a final
    408 now (contract §6): their arguments were never kept, so they cannot be sent again;
    a retry with the same cmd_id gets this reply."""

    def reply(cmd_id: str) -> bytes:
        return _json.encode(Reply(cmd_id, TIMEOUT, RESTART_MSG).as_dict())

    try:
        n = journal.finish_interrupted_commands(reply, TIMEOUT)
    except sqlite3.Error as exc:
        raise StoreError(f"{journal.path}: cannot read the command log: {exc}") from None
    if n:
        log.warning("%d commands in flight when the hub stopped: answered 408", n)
