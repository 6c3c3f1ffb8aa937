"""The outputs of one decision, applied to the state as they are made."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.model import HUB_DEVICE, Command, Event, Output
from edge.queue.state import QueueState, apply


class Outcome:
    """Collects the results and commands of one decision (on an input, or on a tick).

    `emit` applies each result to the state at once, so the rest of the decision, and the
    next input, see it; that is the live half of the event sourcing (the other is rebuild).
    """

    def __init__(
        self, state: QueueState, at: datetime, causation: int | None, tz: ZoneInfo
    ) -> None:
        self.state = state
        self.at = at
        self.causation = causation
        self.tz = tz  # the hall's, for times written into event data
        self.outputs: list[Output] = []

    def emit(self, event_type: str, data: Mapping[str, Any]) -> None:
        """Journal-bound result event from the hub, applied to the state now."""
        event = Event(
            type=event_type,
            device_id=HUB_DEVICE,
            data=dict(data),
            time=self.at.astimezone(self.tz),
            causation=self.causation,
        )
        apply(self.state, event)
        self.outputs.append(event)

    def command(self, device_id: str | None, name: str, args: Mapping[str, Any]) -> None:
        """A command for a hall device; none when the config leaves the device out."""
        if device_id:
            self.outputs.append(
                Command(device_id=device_id, name=name, args=dict(args), origin="queue")
            )
