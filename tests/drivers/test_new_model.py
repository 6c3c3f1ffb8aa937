"""A new device model is one YAML file: loaded from a fixture folder, driven end to end
through a simulator on a pty pair, found again after an unplug by its by-id link."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge.config.hub import DeviceSection
from edge.drivers.framing import Frame, make_framer
from edge.drivers.hotplug import PortWatcher
from edge.drivers.profiles import load_profiles
from edge.drivers.registry import DriverEnv, build_driver
from edge.model import Command
from edge.sim.framed import FramedSim, Outgoing
from edge.sim.ports import PtyLink
from tests.drivers.recording import RecordingPort, cancelled, eventually, run_async

FIXTURES = Path(__file__).parent / "fixtures" / "profiles"
LINK_NAME = "usb-Acme_QK9_A1B2C3-if00-port0"


class AcmeKioskSim(FramedSim):
    """The test's own simulator of the new model: the bytes of the YAML's comments."""

    def __init__(self, link: PtyLink) -> None:
        super().__init__(link.port, make_framer("stx_etx"))
        self.printed: list[str] = []

    async def request(self, request_id: str, service: str, priority: str) -> bool:
        frame = Frame(f"T;{request_id};{service};{priority}".encode())
        ack = f"A;{request_id}".encode()
        return await self.send_until_acked(frame, lambda f: f.payload == ack, retry_s=0.2)

    def handle(self, frame: Frame) -> list[Outgoing]:
        text = frame.payload.decode()
        if text.startswith("P;"):
            self.printed.append(text)
            return [Frame(f"K;{text.split(';')[1]}".encode())]
        return []


@run_async
async def test_new_model_from_one_yaml_file_end_to_end(tmp_path: Path) -> None:
    profiles = load_profiles(FIXTURES)
    assert "acme-queue-kiosk" in profiles and "counter-caller-485" in profiles
    by_id = tmp_path / "by-id"
    link = PtyLink(by_id / LINK_NAME)
    sim = AcmeKioskSim(link)
    serving = asyncio.create_task(sim.run())
    port = RecordingPort()
    watcher = PortWatcher(
        by_id_dir=str(by_id), sys_tty=str(tmp_path / "no-sys"), poll_s=0.05, use_udev=False
    )
    # No port in the settings: the profile's by-id pattern finds the kiosk.
    device = DeviceSection(id="qk-1", profile="acme-queue-kiosk")
    driver = build_driver(
        device, profiles["acme-queue-kiosk"], port, env=DriverEnv(watcher=watcher)
    )
    assert driver is not None
    running = asyncio.create_task(driver.run())
    try:
        await eventually(lambda: port.is_online("qk-1"), what="the kiosk found by its by-id link")
        assert await sim.request("Q-1", "B", "1")
        (event,) = port.events
        assert event.type == "queue.ticket.requested" and event.device_id == "qk-1"
        assert event.data == {
            "channel": "kiosk",
            "request_id": "Q-1",
            "service": "invoice",
            "priority": "elderly",
        }
        reply = await driver.execute(
            Command(
                "qk-1",
                "ticket.print",
                {"request_id": "Q-1", "ticket_no": "B007", "service": "invoice"},
                cmd_id="c1",
            )
        )
        assert reply.code == 200 and sim.printed == ["P;Q-1;B007;0"]

        first_tty = link.path
        serving.cancel()
        link.unplug()
        await eventually(lambda: port.is_online("qk-1") is False, what="offline after unplug")
        spacer = PtyLink()  # holds the old number's neighbour: the replug gets another tty
        link = PtyLink(by_id / LINK_NAME)
        assert link.path != first_tty
        sim = AcmeKioskSim(link)
        serving = asyncio.create_task(sim.run())
        await eventually(lambda: port.is_online("qk-1") is True, what="online after replug")
        assert await sim.request("Q-2", "A", "0")
        assert [e.data["request_id"] for e in port.events] == ["Q-1", "Q-2"]
        spacer.unplug()
    finally:
        await cancelled(running, serving)
        await watcher.close()
        link.unplug()
