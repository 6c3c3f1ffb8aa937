"""A whole hall day, compressed: every simulated device behaving as in a real 供电营业厅.

Customers arrive with a morning and an afternoon peak and take tickets of several services
(some pay at the kiosk instead, some fill an e-form first); clerks call the next ticket
with their callers, serve, recall or mark a no-show now and then, transfer a few, pause
for lunch, and finish; customers rate on the pads (mostly 非常满意/满意, some poor, one
counter worse than the others); the robot reports its battery and runs its tasks; the
shared invoice printer runs low on paper in the afternoon; a few customers leave feedback.

The simulators only play devices: they speak the real bytes and topics and react to what
the hub tells them (caller.show_digits, rating.start, ticket.print, display.show_call...).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from edge.clock import ScaledClock
from edge.sim.counter import BusSim, CallerSim, RatingPadSim
from edge.sim.display import DisplaySim
from edge.sim.hall_links import (
    EFORM_SERIAL,
    FEEDBACK_SERIAL,
    KIOSK_SERIAL,
    MODBUS_PAD_SLAVE,
    PAD_BUS_BASE,
    ROBOT_SERIAL,
    HallLinks,
)
from edge.sim.modbus_pad import ModbusLineSim, ModbusPadSim
from edge.sim.mqtt_devices import FeedbackSim, FormDeskSim, KioskSim, MqttDeviceSim, RobotSim
from edge.sim.printer import PaperRoll, PrinterSim
from edge.sim.ticket import TicketMachineSim

log = logging.getLogger(__name__)
HALL_TZ = ZoneInfo("Asia/Shanghai")

SERVICES = {  # share of the customers who take a ticket
    "payment": 0.30,
    "consultation": 0.25,
    "invoice": 0.15,
    "new_install": 0.12,
    "capacity_change": 0.10,
    "name_transfer": 0.08,
}
E_FORM_SERVICES = {
    "new_install": "NEW_INSTALL",
    "capacity_change": "CAPACITY",
    "name_transfer": "TRANSFER",
}
GOOD_LEVELS = ([5, 4, 3, 2, 1], [62, 25, 8, 3, 2])
POOR_LEVELS = ([5, 4, 3, 2, 1], [30, 25, 20, 15, 10])  # the counter with a bad day
FEEDBACK = [
    ("praise", "3号窗口服务热情，办理很快"),
    ("praise", "工作人员耐心解释电价政策"),
    ("suggestion", "希望增加自助缴费机"),
    ("suggestion", "等候区可以多放几把椅子"),
    ("complaint", "排队时间太长"),
]


def arrivals_per_hour(hour: float, counters: int) -> float:
    """Customers per hour: a morning peak at 9:30, a smaller one at 14:30, a lunch dip."""
    peak = 9.0 * counters
    return peak * (
        0.25
        + 0.75 * math.exp(-((hour - 9.5) ** 2) / 1.2)
        + 0.6 * math.exp(-((hour - 14.5) ** 2) / 1.0)
    )


class SimClock(ScaledClock):
    """Simulated hall time running `speed` times faster than the wall clock, in hall time.

    The demo's hub runs on the same clock (`build_hub(cfg, clock=clock.now)`), so the
    devices' events and the hub's own stamps tell the same simulated time."""

    def __init__(self, speed: float, opens: datetime, running: bool = True) -> None:
        super().__init__(opens, speed, running)
        self.opens = opens

    def now(self) -> datetime:
        """The simulated hall time (in the tz of `opens`)."""
        return super().now().astimezone(self.opens.tzinfo)

    def hour(self) -> float:
        """The simulated hour of the day, as a number (9.5 is 9:30)."""
        t = self.now()
        return t.hour + t.minute / 60 + t.second / 3600

    async def sleep(self, sim_s: float) -> None:
        """Wait `sim_s` simulated seconds."""
        await asyncio.sleep(self.to_real_s(sim_s))


@dataclass
class HallDayReport:
    """What the simulated devices did (for the demo's closing summary and tests)."""

    tickets_requested: int = 0
    tickets_printed: int = 0
    calls: int = 0
    served: int = 0
    no_shows: int = 0
    transfers: int = 0
    ratings: Counter[int] = field(default_factory=Counter)
    payments: int = 0
    payments_failed: int = 0
    feedback: Counter[str] = field(default_factory=Counter)
    forms: int = 0
    invoices_printed: int = 0
    printer_paper: str = "ok"
    robot_tasks: int = 0
    reached: str = ""


@dataclass
class _Hall:
    clock: SimClock
    closes: datetime
    rng: random.Random
    report: HallDayReport
    links: HallLinks
    bus: BusSim
    modbus: ModbusLineSim
    callers: list[CallerSim]
    display: DisplaySim
    ticket: TicketMachineSim
    printer: PrinterSim
    robot: RobotSim
    kiosk: KioskSim
    feedback: FeedbackSim
    eform: FormDeskSim

    def open(self) -> bool:
        return self.clock.now() < self.closes

    def mqtt_sims(self) -> tuple[MqttDeviceSim, ...]:
        return (self.robot, self.kiosk, self.feedback, self.eform)


async def _customer(h: _Hall) -> None:
    rng = h.rng
    service = rng.choices(list(SERVICES), list(SERVICES.values()))[0]
    if service == "payment" and rng.random() < 0.4:
        account = "33" + "".join(rng.choices("0123456789", k=8))
        ok = rng.random() > 0.03
        channel = rng.choices(
            ["wechat", "alipay", "unionpay", "card", "cash"], [45, 30, 10, 10, 5]
        )[0]
        await asyncio.to_thread(h.kiosk.pay, rng.randrange(3000, 60000), channel, account, ok)
        h.report.payments += 1
        h.report.payments_failed += not ok
        return
    if service in E_FORM_SERVICES and rng.random() < 0.6:
        mobile = "1" + rng.choice("3456789") + "".join(rng.choices("0123456789", k=9))
        await asyncio.to_thread(
            h.eform.submit,
            E_FORM_SERVICES[service],
            f"D{rng.randint(1, 2)}",
            "张三",
            "330102199001011234",
            mobile,
        )
        h.report.forms += 1
    priority = rng.choices(["normal", "elderly", "vip"], [87, 10, 3])[0]
    if await h.ticket.request(service, priority, f"{h.clock.now():%m%d}") is not None:
        h.report.tickets_requested += 1


# Customers already at the door when the hall opens, per counter: they come in within
# the first minutes, so the morning starts with a queue (and the wait alert has its case).
OPENING_CROWD_PER_COUNTER = 2


async def _arrivals(h: _Hall) -> None:
    pending: set[asyncio.Task[None]] = set()
    for _ in range(OPENING_CROWD_PER_COUNTER * len(h.callers)):
        task = asyncio.create_task(_customer(h))
        pending.add(task)
        task.add_done_callback(pending.discard)
        await h.clock.sleep(h.rng.uniform(5.0, 25.0))
    while h.open():
        rate = arrivals_per_hour(h.clock.hour(), len(h.callers)) / 3600.0
        await h.clock.sleep(h.rng.expovariate(rate))
        task = asyncio.create_task(_customer(h))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending, return_exceptions=True)


async def _called(h: _Hall, caller: CallerSim, wait_sim_s: float) -> bool:
    """Did the hub show a ticket on this caller (or call to its counter on the display)?"""
    calls_before = len(h.display.calls)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(wait_sim_s / h.clock.speed):
            while True:
                if caller.digits_shown.is_set():
                    return True
                if any(c[1] == str(caller.address) for c in h.display.calls[calls_before:]):
                    return True
                await asyncio.sleep(0.02)
    return False


async def _clerk(h: _Hall, caller: CallerSim) -> None:
    rng = h.rng
    lunch_done = caller.address % 2 == 1  # half of the counters stay open at lunch
    while h.open():
        if not lunch_done and h.clock.hour() >= 12.0:
            lunch_done = True
            await caller.press("pause")
            await h.clock.sleep(rng.uniform(1500, 2100))
            await caller.press("resume")
        caller.digits_shown.clear()
        await caller.press("call_next")
        if not await _called(h, caller, 20):
            await h.clock.sleep(rng.uniform(45, 90))  # nobody waiting
            continue
        h.report.calls += 1
        if rng.random() < 0.06:
            await h.clock.sleep(60)
            await caller.press("recall")
            h.report.calls += 1
        if rng.random() < 0.04:
            await h.clock.sleep(90)
            await caller.press("no_show")
            h.report.no_shows += 1
            continue
        if rng.random() < 0.03:
            others = [c.address for c in h.callers if c is not caller]
            await h.clock.sleep(rng.uniform(60, 180))
            await caller.press("transfer", rng.choice(others))
            h.report.transfers += 1
            continue
        await h.clock.sleep(rng.lognormvariate(math.log(420), 0.45))  # about 7 minutes
        await caller.press("finish")
        h.report.served += 1


def _chooser(h: _Hall, counter: int) -> Callable[[], int]:
    levels, weights = POOR_LEVELS if counter == 3 else GOOD_LEVELS

    def choose() -> int:
        level = h.rng.choices(levels, weights)[0]
        h.report.ratings[level] += 1
        return level

    return choose


async def _robot(h: _Hall) -> None:
    robot = h.robot
    while h.open():
        if robot.charging:
            robot.battery = min(100, robot.battery + 3)
            robot.charging = robot.battery < 95
            robot.mode = 3 if robot.charging else 0
        else:
            robot.battery = max(0, robot.battery - 1)
            robot.charging = robot.battery < 20
        await asyncio.to_thread(robot.report_status)
        h.report.robot_tasks = len(robot.visited) + len(robot.spoken)
        await h.clock.sleep(300)


async def _consumables(h: _Hall) -> None:
    """Counter PCs print on the shared printer too; the kiosk's receipt roll wears down."""
    kiosk_paper = "OK"
    while h.open():
        await h.clock.sleep(h.rng.uniform(400, 900))
        h.printer.consume(h.rng.randint(1, 3))
        h.report.printer_paper = h.printer.paper.state
        h.report.invoices_printed = len(h.printer.jobs)
        paper = "LOW" if h.report.payments > 25 else "OK"
        if paper != kiosk_paper:
            kiosk_paper = paper
            await asyncio.to_thread(h.kiosk.state, paper)


async def _feedback(h: _Hall) -> None:
    while h.open():
        await h.clock.sleep(h.rng.expovariate(1 / 3600))
        category, text = h.rng.choice(FEEDBACK)
        phone = "1" + h.rng.choice("3589") + "".join(h.rng.choices("0123456789", k=9))
        await asyncio.to_thread(h.feedback.submit, category, text, phone)
        h.report.feedback[category] += 1


async def run_hall(
    hall_broker_url: str,
    links: HallLinks,
    speed: float = 120.0,
    stop: asyncio.Event | None = None,
    *,
    seed: int = 1,
    opens: time = time(8, 30),
    closes: time = time(17, 0),
    paper_invoices: int = 60,
    clock: SimClock | None = None,
) -> HallDayReport:
    """Simulate a hall day on `links` (serial) and the hall broker (MQTT) until it closes.

    `speed` is simulated seconds per real second (120: the 8.5-hour day in about 4 minutes).
    Returns early when `stop` is set. The hub must already be running with
    `links.devices()` in its config. `clock` (made here when None) is the day's time, which
    the MQTT devices stamp their payloads with.
    """
    if clock is None:
        clock = SimClock(speed, datetime.combine(datetime.now(HALL_TZ).date(), opens, HALL_TZ))
    clock.begin()
    h = _open_hall(hall_broker_url, links, clock, random.Random(seed), closes, paper_invoices)
    _attach_pads(h, pad_delay_s=8.0 / speed)
    for sim in h.mqtt_sims():
        sim.clock = clock.now
        await asyncio.to_thread(sim.start)
    lines = [h.bus.run(), h.modbus.run(), h.display.run(), h.ticket.run(), h.printer.run()]
    serving: list[asyncio.Task[None]] = [asyncio.create_task(c) for c in lines]
    day: list[Coroutine[Any, Any, None]] = [_arrivals(h), _robot(h), _consumables(h), _feedback(h)]
    day += [_clerk(h, c) for c in h.callers]
    acting = [asyncio.create_task(c) for c in day]
    waiter = asyncio.create_task((stop or asyncio.Event()).wait())
    try:
        await _until_closed_or_stopped(waiter, acting)
    finally:
        await _close_hall(h, [*acting, waiter, *serving])
    return h.report


def _open_hall(
    hall_broker_url: str,
    links: HallLinks,
    clock: SimClock,
    rng: random.Random,
    closes: time,
    paper_invoices: int,
) -> _Hall:
    """The hall's simulated devices on their links, not yet running."""
    bus = BusSim(links.bus.port)
    return _Hall(
        clock=clock,
        closes=datetime.combine(clock.opens.date(), closes, HALL_TZ),
        rng=rng,
        report=HallDayReport(),
        links=links,
        bus=bus,
        callers=[CallerSim(bus, i) for i in range(1, links.counters + 1)],
        modbus=ModbusLineSim(links.modbus.port),
        display=DisplaySim(links.display.port),
        ticket=TicketMachineSim(links.ticket.port),
        printer=PrinterSim(
            links.printer.port, PaperRoll(left=paper_invoices, near_end_at=paper_invoices // 3)
        ),
        robot=RobotSim(hall_broker_url, ROBOT_SERIAL),
        kiosk=KioskSim(hall_broker_url, KIOSK_SERIAL),
        feedback=FeedbackSim(hall_broker_url, FEEDBACK_SERIAL),
        eform=FormDeskSim(hall_broker_url, EFORM_SERIAL),
    )


def _attach_pads(h: _Hall, pad_delay_s: float) -> None:
    """A rating pad per counter: on the bus, but the last counter's on the Modbus line."""
    for i in range(1, h.links.counters):
        pad = RatingPadSim(h.bus, PAD_BUS_BASE + i, _chooser(h, i))
        pad.delay_s = pad_delay_s
    last_pad = ModbusPadSim(h.modbus, MODBUS_PAD_SLAVE, _chooser(h, h.links.counters))
    last_pad.delay_s = pad_delay_s


async def _until_closed_or_stopped(
    waiter: asyncio.Task[bool], acting: list[asyncio.Task[None]]
) -> None:
    """Until `stop` is set (`waiter` done) or every acting device has finished its day."""
    await asyncio.wait([waiter, *acting], return_when=asyncio.FIRST_COMPLETED)
    while not waiter.done() and not all(t.done() for t in acting):
        await asyncio.wait([waiter, *acting], return_when=asyncio.FIRST_COMPLETED)


async def _close_hall(h: _Hall, tasks: list[asyncio.Task[object]]) -> None:
    """Stops every device, logs the ones that failed and completes the report."""
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            log.error("hall day: a simulated device failed: %r", result)
    for sim in h.mqtt_sims():
        with contextlib.suppress(Exception):
            await asyncio.to_thread(sim.stop)
    h.report.tickets_printed = len(h.ticket.printed)
    h.report.invoices_printed = len(h.printer.jobs)
    h.report.printer_paper = h.printer.paper.state
    h.report.reached = f"{h.clock.now():%H:%M}"
