"""A compressed hall morning: every simulator against the real drivers and codecs."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import time
from pathlib import Path

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.config.hub import DeviceSection
from edge.drivers.hotplug import PortWatcher
from edge.drivers.port import Driver
from edge.drivers.profile_schema import PrinterSpec
from edge.drivers.profiles import ProfileSet, load_profiles
from edge.drivers.registry import DriverEnv, build_codec, build_drivers
from edge.model import Command, Event, Reply
from edge.sim.hall_day import arrivals_per_hour, run_hall
from edge.sim.hall_links import devices_toml, open_hall_links
from edge.sim.mosquitto import Mosquitto
from tests.drivers.recording import RecordingPort, run_async


def fast_profiles() -> ProfileSet:
    profiles = dict(load_profiles())
    printer = profiles["invoice-printer-escpos"]
    profiles[printer.id] = msgspec.structs.replace(
        printer, printer=PrinterSpec(poll_interval_s=0.05)
    )
    return ProfileSet(profiles)


class MiniQueue:
    """Just enough of the hub's queue manager for the clerks and pads to have work."""

    def __init__(self, drivers: dict[str, Driver], counters: int) -> None:
        self.drivers = drivers
        self.counters = counters
        self.waiting: list[str] = []
        self.tickets = 0
        self.replies: list[asyncio.Task[Reply]] = []

    def _do(self, device: str, name: str, args: dict[str, object]) -> None:
        cmd = Command(device, name, args, cmd_id=f"{name}-{len(self.replies)}")
        self.replies.append(asyncio.create_task(self.drivers[device].execute(cmd)))

    def handle(self, e: Event) -> None:
        if e.type == "queue.ticket.requested":
            self.tickets += 1
            ticket = f"A{self.tickets:03d}"
            self.waiting.append(ticket)
            self._do(
                e.device_id,
                "ticket.print",
                {"request_id": e.data["request_id"], "ticket_no": ticket},
            )
        elif e.type == "counter.action" and e.data["action"] == "call_next" and self.waiting:
            self._do(e.device_id, "caller.show_digits", {"text": self.waiting.pop(0)})
        elif e.type == "counter.action" and e.data["action"] == "finish":
            self._do(
                f"pad-{e.data['counter']}", "rating.start", {"rating_id": f"R{len(self.replies)}"}
            )


class HallBrokerReader:
    """Decodes every vendor MQTT message of the hall with its device's codec."""

    def __init__(
        self, broker: Mosquitto, devices: list[DeviceSection], profiles: ProfileSet
    ) -> None:
        self.codecs = [c for d in devices if (c := build_codec(d, profiles[d.profile])) is not None]
        self.events: list[Event] = []
        self.errors: list[str] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-hub")
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe(
            [(t, 1) for k in self.codecs for t in k.subscriptions()]
        )
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert ready.wait(5)

    def _message(self, client: mqtt.Client, userdata: object, m: mqtt.MQTTMessage) -> None:
        payload = bytes(m.payload)
        for codec in self.codecs:
            if (
                codec.owns(m.topic)
                and codec.decode_state(m.topic, payload) is None
                and codec.decode_reply(m.topic, payload) is None
            ):
                try:
                    self.events += codec.decode(m.topic, payload)
                except Exception as exc:
                    self.errors.append(f"{m.topic}: {exc}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_arrivals_peak_in_the_morning_and_dip_at_lunch() -> None:
    assert arrivals_per_hour(9.5, 4) > arrivals_per_hour(12.5, 4) < arrivals_per_hour(14.5, 4)


@run_async
async def test_a_compressed_hall_morning(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "mosquitto", persistence=False)
    broker.start()
    links = open_hall_links(4, tmp_path / "links")
    devices = [DeviceSection(**d) for d in links.devices()]
    assert "[[devices]]" in devices_toml(links.devices()) and "ttyBus" in devices_toml(
        links.devices()
    )
    profiles = fast_profiles()
    port = RecordingPort()
    watcher = PortWatcher(use_udev=False)
    drivers = build_drivers(devices, profiles, port, env=DriverEnv(watcher=watcher))
    queue = MiniQueue(drivers, 4)
    submit = port.submit

    def submit_and_serve(event: Event, on_committed=None) -> None:  # type: ignore[no-untyped-def]
        submit(event, on_committed)
        queue.handle(event)

    port.submit = submit_and_serve  # type: ignore[method-assign]
    reader = HallBrokerReader(broker, devices, profiles)
    running = [asyncio.create_task(d.run()) for d in drivers.values()]
    try:
        report = await run_hall(
            broker.url, links, speed=4000, closes=time(12, 0), paper_invoices=9, seed=7
        )
        await asyncio.sleep(0.3)
    finally:
        for t in running:
            t.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await watcher.close()
        reader.close()
        links.close()
        broker.stop()
    kinds = Counter(e.type for e in port.events)
    assert kinds["queue.ticket.requested"] == report.tickets_requested >= 20
    assert kinds["counter.action"] >= report.calls and report.served >= 10
    assert kinds["rating.submitted"] >= 10
    levels = Counter(e.data["level"] for e in port.of_type("rating.submitted"))
    assert levels[5] + levels[4] > sum(levels.values()) / 2 and levels[1] + levels[2] >= 1
    papers = [e.data["paper"] for e in port.of_type("printer.status")]
    assert papers[0] == "ok" and "near_end" in papers
    assert {d for d, _, _, _ in port.dead} == set(), port.dead[:3]
    mqtt_kinds = Counter(e.type for e in reader.events)
    assert reader.errors == []
    assert mqtt_kinds["kiosk.payment"] == report.payments >= 3
    assert mqtt_kinds["robot.status"] >= 3 and mqtt_kinds["form.submitted"] == report.forms >= 1
    replies = await asyncio.gather(*queue.replies, return_exceptions=True)
    assert sum(isinstance(r, Reply) and r.code == 200 for r in replies) >= 0.9 * len(replies)
