"""One kind of simulated device on its own, for `hall-edge simulate KIND` and installers.

Each runner puts the device on its line (an existing tty such as one end of a socat link,
or a new pty pair whose path is reported) or on a broker, answers what the hub sends, and,
with `every_s` > 0, acts by itself at about that interval (presses keys, takes tickets,
pays bills), reporting each step through `say`. Runners return when `stop` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from typing import Any

from edge.sim.counter import BusSim, CallerSim, RatingPadSim
from edge.sim.display import DisplaySim
from edge.sim.framed import FramedSim
from edge.sim.modbus_pad import ModbusLineSim, ModbusPadSim
from edge.sim.mqtt_devices import FeedbackSim, FormDeskSim, KioskSim, MqttDeviceSim, RobotSim
from edge.sim.ports import FdPort, PtyLink, open_port
from edge.sim.printer import PaperRoll, PrinterSim
from edge.sim.ticket import SERVICE_CODES, TicketMachineSim

Say = Callable[[str], None]
SERIAL_KINDS = ("counter-bus", "modbus-pad", "ticket-machine", "display", "printer")
MQTT_KINDS = ("robot", "kiosk", "feedback", "eform")


async def _every(every_s: float, stop: asyncio.Event, act: Callable[[], Awaitable[None]]) -> None:
    if every_s <= 0:
        await stop.wait()
        return
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(random.uniform(0.5, 1.5) * every_s):
                await stop.wait()
        if not stop.is_set():
            await act()


async def _serve(
    sim: FramedSim | PrinterSim,
    link: PtyLink | None,
    stop: asyncio.Event,
    act: Callable[[], Awaitable[None]],
    every_s: float,
) -> None:
    reader = asyncio.create_task(sim.run())
    try:
        await _every(every_s, stop, act)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        if link is not None:
            link.unplug()
        else:
            sim.port.close()


def _open(path: str | None, say: Say) -> tuple[FdPort, PtyLink | None]:
    port, link, hub_path = open_port(path)
    say(
        f"device end ready; the hub opens {hub_path}"
        + (f" (pty {link.path})" if link and link.link else "")
    )
    return port, link


async def run_counter_bus(
    path: str | None,
    *,
    callers: list[int],
    pads: list[int],
    every_s: float,
    stop: asyncio.Event,
    say: Say,
) -> None:
    """Callers and rating pads on one RS-485 line (DL/T645-style frames)."""
    port, link = _open(path, say)
    bus = BusSim(port)
    sims = [CallerSim(bus, a) for a in callers]
    rng = random.Random()
    for a in pads:
        pad = RatingPadSim(
            bus, a, choose=lambda: rng.choices([5, 4, 3, 2, 1], [60, 25, 8, 4, 3])[0]
        )
        pad.delay_s = 1.0

    async def act() -> None:
        if not sims:
            return
        caller = rng.choice(sims)
        action = rng.choices(
            ["call_next", "finish", "recall", "pause", "resume"], [45, 40, 8, 4, 3]
        )[0]
        ok = await caller.press(action)
        say(f"caller {caller.address}: {action} ({'acknowledged' if ok else 'NOT acknowledged'})")

    await _serve(bus, link, stop, act, every_s)


async def run_modbus_pad(
    path: str | None, slaves: list[int], every_s: float, stop: asyncio.Event, say: Say
) -> None:
    """Modbus RTU rating pads (slaves) on one line; they rate when the hub starts a session."""
    port, link = _open(path, say)
    line = ModbusLineSim(port)
    rng = random.Random()
    pads = [
        ModbusPadSim(line, s, choose=lambda: rng.choices([5, 4, 3, 2, 1], [60, 25, 8, 4, 3])[0])
        for s in slaves
    ]
    for pad in pads:
        pad.delay_s = 1.0

    async def act() -> None:
        pad = rng.choice(pads)
        level = rng.choice([5, 5, 4, 3, 1])
        pad.rate(level)
        say(f"pad {pad.slave}: key for level {level} pressed")

    await _serve(line, link, stop, act, every_s)


async def run_ticket_machine(
    path: str | None, every_s: float, stop: asyncio.Event, say: Say
) -> None:
    """A ticket machine: customers take tickets; the hub's ticket.print is answered OK."""
    port, link = _open(path, say)
    sim = TicketMachineSim(port)
    rng = random.Random()

    async def act() -> None:
        service = rng.choice(list(SERVICE_CODES))
        request_id = await sim.request(
            service, rng.choices(["normal", "elderly", "vip"], [85, 12, 3])[0]
        )
        got = request_id or "NOT acknowledged"
        say(f"ticket requested for {service}: {got}; printed so far {len(sim.printed)}")

    await _serve(sim, link, stop, act, every_s)


async def run_display(path: str | None, stop: asyncio.Event, say: Say) -> None:
    """The call display and voice: shows and says what the hub sends."""
    port, link = _open(path, say)
    sim = DisplaySim(port)

    async def act() -> None:
        if sim.changed.is_set():
            sim.changed.clear()
            say(f"calls {sim.calls[-3:]} announcements {sim.announcements[-3:]}")

    await _serve(sim, link, stop, act, 1.0)


async def run_printer(path: str | None, paper: int, stop: asyncio.Event, say: Say) -> None:
    """An ESC/POS printer with `paper` invoices of paper left."""
    port, link = _open(path, say)
    sim = PrinterSim(port, PaperRoll(left=paper, near_end_at=max(1, paper // 4)))
    seen = 0

    async def act() -> None:
        nonlocal seen
        if len(sim.jobs) != seen:
            seen = len(sim.jobs)
            say(f"printed {seen} invoice(s); paper {sim.paper.state} ({sim.paper.left} left)")

    await _serve(sim, link, stop, act, 1.0)


def mqtt_sim(kind: str, broker: str, serial: str | None) -> MqttDeviceSim:
    """The MQTT simulator of `kind` (robot, kiosk, feedback, eform)."""
    makers: dict[str, Callable[[], MqttDeviceSim]] = {
        "robot": lambda: RobotSim(broker, serial or "GB2-0001"),
        "kiosk": lambda: KioskSim(broker, serial or "PS60-0001"),
        "feedback": lambda: FeedbackSim(broker, serial or "VOC-0001"),
        "eform": lambda: FormDeskSim(broker, serial or "EF-0001"),
    }
    return makers[kind]()


async def run_mqtt(
    kind: str, broker: str, *, serial: str | None, every_s: float, stop: asyncio.Event, say: Say
) -> None:
    """A vendor MQTT device on `broker`, acting every `every_s` seconds."""
    sim = mqtt_sim(kind, broker, serial)
    await asyncio.to_thread(sim.start)
    say(f"{kind} connected to {broker} as {getattr(sim, 'base', kind)}")
    rng = random.Random()

    async def act() -> None:
        result: Any
        if isinstance(sim, RobotSim):
            await asyncio.to_thread(sim.report_status)
            result = f"status, battery {sim.battery}%"
        elif isinstance(sim, KioskSim):
            account = "33" + "".join(rng.choices("0123456789", k=8))
            result = await asyncio.to_thread(sim.pay, rng.randrange(3000, 50000), "wechat", account)
        elif isinstance(sim, FeedbackSim):
            result = await asyncio.to_thread(sim.submit, "praise", "服务很好", "13800138000")
        else:
            assert isinstance(sim, FormDeskSim)
            result = await asyncio.to_thread(
                sim.submit, "NEW_INSTALL", "D1", "张三", "330102199001011234", "13900139000"
            )
        say(f"{kind}: sent {result}")

    async def act_or_say() -> None:
        try:
            await act()
        except RuntimeError as exc:  # paho: not connected (broker away, client id taken)
            say(f"{kind}: not sent, {exc} (paho reconnects by itself)")

    try:
        await _every(every_s, stop, act_or_say)
    finally:
        await asyncio.to_thread(sim.stop)
