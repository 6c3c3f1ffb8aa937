"""The generic framed serial driver over a loopback link: acks after commit, resends,
dead letters, commands and their replies, polls, link loss and reconnection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from edge.config.hub import DeviceSection
from edge.drivers.port import Driver
from edge.drivers.profile_schema import Profile
from edge.drivers.profiles import parse_profile
from edge.drivers.registry import DriverEnv, build_driver
from edge.drivers.transport import LoopbackTransport, Transport, loopback_pair
from edge.errors import CommandError
from edge.model import Command
from tests.drivers.recording import RecordingPort, eventually, run_async

PROFILE = """\
vendor: Test
model: line device
kind: ticket_machine
transport: {type: serial, retry_s: 0.05}
framer: {name: line}
frames:
  - when: {prefix: "REQ,"}
    converter: text_fields
    params:
      event: queue.ticket.requested
      tag: REQ
      fields: [request_id, service]
      source_id: request_id
  - when: {prefix: "PONG"}
    converter: ignore
ack: {encoder: text, params: {template: "ACK,{request_id}"}}
poll:
  interval_s: 0.05
  encoder: text
  params: {template: PING}
  reply: {prefix: PONG}
  timeout_s: 0.05
  offline_after: 2
commands:
  ticket.print:
    args: {ticket_no: {type: str}}
    encoder: text
    params: {template: "PRT,{ticket_no}"}
    reply: {when: {prefix: "OK"}, error_when: {prefix: "ERR"}, timeout_s: 0.2}
"""


@dataclass
class FakeDevice:
    """The device end of the loopback: answers PING and PRT, records the rest."""

    end: LoopbackTransport
    pong: bool = True
    printer: str = "OK"  # OK, ERR or "" (silent)
    lines: list[bytes] = field(default_factory=list)

    async def serve(self) -> None:
        buf = b""
        while True:
            try:
                buf += await self.end.read()
            except Exception:
                return
            *complete, buf = buf.split(b"\r\n")
            for line in complete:
                self.lines.append(line)
                if line == b"PING" and self.pong:
                    self.end.write(b"PONG\r\n")
                elif line.startswith(b"PRT,") and self.printer:
                    self.end.write(self.printer.encode() + b",x\r\n")

    def say(self, text: str) -> None:
        self.end.write(text.encode() + b"\r\n")


@dataclass
class Rig:
    port: RecordingPort
    driver: Driver
    devices: asyncio.Queue[FakeDevice]
    current: FakeDevice | None = None

    async def device(self) -> FakeDevice:
        self.current = await asyncio.wait_for(self.devices.get(), 2)
        return self.current


@asynccontextmanager
async def rig(auto_commit: bool = True, profile: Profile | None = None) -> AsyncIterator[Rig]:
    devices: asyncio.Queue[FakeDevice] = asyncio.Queue()
    tasks: list[asyncio.Task[None]] = []

    async def connect() -> Transport:
        hub, dev = loopback_pair("tty")
        device = FakeDevice(dev)
        tasks.append(asyncio.create_task(device.serve()))
        devices.put_nowait(device)
        return hub

    port = RecordingPort(auto_commit)
    env = DriverEnv(connector=lambda *_: connect)
    prof = profile or parse_profile(PROFILE, "test.yaml", "test")
    driver = build_driver(DeviceSection(id="t1", profile="test"), prof, port, env=env)
    assert driver is not None
    running = asyncio.create_task(driver.run())
    r = Rig(port, driver, devices)
    try:
        yield r
    finally:
        running.cancel()
        for t in tasks:
            t.cancel()
        await asyncio.gather(running, *tasks, return_exceptions=True)


@run_async
async def test_ack_goes_out_only_after_the_journal_commit() -> None:
    async with rig(auto_commit=False) as r:
        dev = await r.device()
        dev.pong = False
        dev.say("REQ,K1-1,payment")
        await eventually(lambda: r.port.events, what="the event")
        (event,) = r.port.events
        assert event.type == "queue.ticket.requested" and event.source_id == "t1:K1-1"
        await asyncio.sleep(0.05)
        assert b"ACK,K1-1" not in dev.lines
        r.port.commit()
        await eventually(lambda: b"ACK,K1-1" in dev.lines, what="the ack")


@run_async
async def test_a_resent_frame_is_journaled_once_and_acknowledged_again() -> None:
    async with rig(auto_commit=False) as r:
        dev = await r.device()
        dev.say("REQ,K1-2,payment")
        dev.say("REQ,K1-2,payment")  # the device gave up waiting and resent
        await eventually(lambda: r.port.events)
        await asyncio.sleep(0.05)
        r.port.commit()
        await eventually(lambda: dev.lines.count(b"ACK,K1-2") == 1)
        dev.say("REQ,K1-2,payment")  # it missed the ack: resends once more
        await eventually(lambda: dev.lines.count(b"ACK,K1-2") == 2)
        assert len(r.port.events) == 1


@run_async
async def test_garbage_and_unreadable_frames_go_to_dead_letters() -> None:
    async with rig() as r:
        dev = await r.device()
        dev.say("HELLO")
        dev.say("REQ,only-one-field")
        dev.say("X" * 2000)
        await eventually(lambda: len(r.port.dead) >= 3, what="three dead letters")
        reasons = [d[3] for d in r.port.dead]
        assert reasons[0].startswith("no_rule")
        assert reasons[1].startswith("bad_field_count")
        assert "too_long" in reasons[2:]
        assert all(d[0] == "t1" and d[2] == "tty/a" for d in r.port.dead)
        assert r.port.events == []


@run_async
async def test_commands_are_answered_200_500_408_404_400() -> None:
    async with rig() as r:
        dev = await r.device()
        await eventually(lambda: r.port.is_online("t1"))
        ok = await r.driver.execute(
            Command("t1", "ticket.print", {"ticket_no": "A012"}, cmd_id="c1")
        )
        assert ok.code == 200 and b"PRT,A012" in dev.lines
        dev.printer = "ERR"
        with pytest.raises(CommandError) as e:
            await r.driver.execute(
                Command("t1", "ticket.print", {"ticket_no": "A013"}, cmd_id="c2")
            )
        assert e.value.code == 500
        dev.printer = ""
        with pytest.raises(CommandError) as e:
            await r.driver.execute(
                Command("t1", "ticket.print", {"ticket_no": "A014"}, cmd_id="c3")
            )
        assert e.value.code == 408
        with pytest.raises(CommandError) as e:
            await r.driver.execute(Command("t1", "ticket.burn", {}, cmd_id="c4"))
        assert e.value.code == 404
        with pytest.raises(CommandError) as e:
            await r.driver.execute(Command("t1", "ticket.print", {}, cmd_id="c5"))
        assert e.value.code == 400


@run_async
async def test_unanswered_polls_take_the_device_offline_and_an_answer_back_online() -> None:
    async with rig() as r:
        dev = await r.device()
        await eventually(lambda: r.port.is_online("t1") is True)
        dev.pong = False
        await eventually(lambda: r.port.is_online("t1") is False, what="offline after missed polls")
        assert "no answer to 2 polls" in r.port.online[-1][2]
        with pytest.raises(CommandError) as e:
            await r.driver.execute(Command("t1", "ticket.print", {"ticket_no": "A1"}, cmd_id="c"))
        assert e.value.code == 503
        dev.pong = True
        await eventually(lambda: r.port.is_online("t1") is True, what="online again")


@run_async
async def test_link_loss_goes_offline_and_the_driver_reconnects() -> None:
    async with rig() as r:
        first = await r.device()
        await eventually(lambda: r.port.is_online("t1") is True)
        first.end.close()  # unplugged
        await eventually(lambda: r.port.is_online("t1") is False)
        assert "lost" in r.port.online[-1][2]
        second = await r.device()  # the connector is called again
        await eventually(lambda: r.port.is_online("t1") is True)
        second.say("REQ,K1-9,invoice")
        await eventually(lambda: b"ACK,K1-9" in second.lines)
        assert [e.data["request_id"] for e in r.port.events] == ["K1-9"]
