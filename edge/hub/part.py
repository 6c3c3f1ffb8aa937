"""What a hub part gets (`Core`) and what it gives back (`Part`).

A part — the devices, the rules, the queue, the KPIs, the feedback desk, the faces — is a
function `attach_x(core, ...) -> Part` called once by the composition root
(edge/hub/build.py), which puts together what every part returned. A part changes nothing
of the core itself; what it adds is in what it returns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from edge.clock import Clock
from edge.config import HubConfig
from edge.hub.devices import CommandTransport, DeviceTable
from edge.hub.fanout import Fanout
from edge.hub.hall_link import HallLink
from edge.hub.intake import Intake
from edge.hub.mqtt_intake import TopicHandler
from edge.hub.pipeline import JournalPipeline
from edge.model import Command, Service
from edge.store import JournalReader
from edge.uplink import Uplink

CommandHandler = Callable[[Command], Awaitable[Mapping[str, Any]]]
Task = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Core:
    """The pipeline's stages a part may use."""

    cfg: HubConfig
    tz: ZoneInfo
    clock: Clock  # the hall's time (edge/clock.py)
    reader: JournalReader
    pipeline: JournalPipeline
    intake: Intake
    devices: DeviceTable
    hall: HallLink
    uplink: Uplink
    fanout: Fanout


@dataclass(slots=True)
class Part:
    services: list[Service] = field(default_factory=list)
    topic_handlers: list[TopicHandler] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    commands: dict[str, CommandHandler] = field(default_factory=dict)
    transports: dict[str, CommandTransport] = field(default_factory=dict)  # by device id
    on_stop: list[Task] = field(default_factory=list)
    # What the console reads of the part (edge/hub/parts/web.py): "queue", "kpi".
    exposes: dict[str, Any] = field(default_factory=dict)
