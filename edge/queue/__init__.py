"""The hall's queue system: tickets, counters, calling order, displays and ratings.

See docs/queue.md for the contract. The hub builds one `QueueManager` and, for cloud
commands addressed to `hub`, calls `command_to_event` for the names in `HUB_COMMANDS`.
"""

from __future__ import annotations

from edge.queue.commands import HUB_COMMANDS, command_to_event, request_id_of
from edge.queue.manager import QueueManager, is_queue_result
from edge.queue.state import QueueState, apply

__all__ = [
    "HUB_COMMANDS",
    "QueueManager",
    "QueueState",
    "apply",
    "command_to_event",
    "is_queue_result",
    "request_id_of",
]
