"""Short MQTT probes: a login and its outcome, a retained message read with a subscribe."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from typing import Literal

import paho.mqtt.client as paho

from edge.config import BrokerSection, HubConfig
from edge.errors import LinkError
from edge.mqttio import LinkOptions, MqttLink

Outcome = Literal["accepted", "refused", "unreachable"]


@dataclass(frozen=True, slots=True)
class Login:
    outcome: Outcome
    detail: str = ""
    retained: bytes | None = None  # the message read, when one was asked for


def _options(
    cfg: HubConfig, section: BrokerSection, user: str | None, password: str | None, mqtt5: bool
) -> LinkOptions:
    return LinkOptions(
        url=section.url,
        # Never the hub's id: a broker hands a client id's session to its newest login.
        client_id=f"hall-edge-doctor-{os.getpid()}",
        mqtt5=mqtt5,
        clean=True,
        keepalive_s=10,
        username=user,
        password=password,
        **section.tls_paths(cfg.resolve),
    )


async def login(
    cfg: HubConfig,
    section: BrokerSection,
    user: str | None,
    password: str | None,
    timeout: float,
    read: str | None = None,
    mqtt5: bool = False,
) -> Login:
    """Log in (and read the retained message of `read`), then disconnect cleanly."""
    got: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def on_message(msg: paho.MQTTMessage) -> None:
        if not got.done():
            got.set_result(bytes(msg.payload))

    link = MqttLink(_options(cfg, section, user, password, mqtt5), on_message=on_message)
    try:
        await link.connect(timeout)
    except LinkError as exc:
        text = str(exc)
        if ": refused: " in text:
            return Login("refused", text.split(": refused: ", 1)[1])
        return Login("unreachable", text)
    try:
        if read is None:
            return Login("accepted")
        link.subscribe([(read, 1)])
        with contextlib.suppress(TimeoutError):
            return Login("accepted", retained=await asyncio.wait_for(got, timeout))
        return Login("accepted")
    finally:
        await link.close()
