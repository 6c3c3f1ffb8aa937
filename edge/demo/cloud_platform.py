"""The provincial service platform, simulated: it sends the hall commands through the cloud
broker now and then (WeChat tickets, invoices, robot announcements, status queries), so the
demo shows the command path and the hub's reply codes as well as the events."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.demo.config import SERVICES

HALL_TZ = ZoneInfo("Asia/Shanghai")
GREETINGS = (
    "欢迎光临国网供电营业厅，请到取号机取号",
    "缴费业务可使用自助缴费机，无需排队",
    "办理新装、增容业务请准备好身份证和房产证明",
    "请留意叫号屏，过号请重新取号",
)
PLACES = ("entrance", "kiosks", "waiting_area")

Send = Callable[[str, str, Mapping[str, Any]], str]


class CloudPlatform:
    """Chooses the next cloud command; `run` sends one every `every_sim_s` hall seconds."""

    def __init__(self, send: Send, counters: int, seed: int = 1) -> None:
        self.send = send
        self.counters = counters
        self.rng = random.Random(seed)
        self.invoices = 0
        self.sent = 0
        # (weight, maker): tickets and invoices are what the platform mostly asks for.
        self._menu: list[tuple[int, Callable[[], tuple[str, str, dict[str, Any]]]]] = [
            (3, self._wechat_ticket),
            (3, self._invoice),
            (2, self._robot_speak),
            (1, self._robot_navigate),
            (1, lambda: ("printer-1", "printer.query_status", {})),
            (1, lambda: ("hub", "config.get", {"key": "hall.name"})),
            (1, self._kpi_report),
        ]

    def _wechat_ticket(self) -> tuple[str, str, dict[str, Any]]:
        service = self.rng.choice(SERVICES)[0]
        priority = self.rng.choices(["normal", "elderly"], [9, 1])[0]
        return "hub", "queue.issue", {"service": service, "priority": priority, "channel": "wechat"}

    def _invoice(self) -> tuple[str, str, dict[str, Any]]:
        self.invoices += 1
        today = datetime.now(HALL_TZ)
        account = "33" + "".join(self.rng.choices("0123456789", k=8))
        return (
            "printer-1",
            "printer.print_invoice",
            {
                "invoice_no": f"FP{today:%Y%m%d}{self.invoices:05d}",
                "amount_cents": self.rng.randrange(5000, 80000),
                "buyer": self.rng.choice(["张*", "李*", "王*", "刘*"]),
                "account": account[:2] + "******" + account[-2:],
                "issued_at": today.isoformat(timespec="seconds"),
            },
        )

    def _robot_speak(self) -> tuple[str, str, dict[str, Any]]:
        return "robot-1", "robot.speak", {"text": self.rng.choice(GREETINGS)}

    def _robot_navigate(self) -> tuple[str, str, dict[str, Any]]:
        places = [*PLACES, *(f"counter_{n}" for n in range(1, self.counters + 1))]
        return "robot-1", "robot.navigate_to", {"target": self.rng.choice(places)}

    def _kpi_report(self) -> tuple[str, str, dict[str, Any]]:
        return "hub", "kpi.report", {"day": f"{datetime.now(HALL_TZ):%Y-%m-%d}"}

    def next_command(self) -> tuple[str, str, dict[str, Any]]:
        """The next (device, command, args) the platform sends."""
        weights = [w for w, _ in self._menu]
        maker = self.rng.choices([m for _, m in self._menu], weights)[0]
        return maker()

    async def run(self, speed: float, stop: asyncio.Event, every_sim_s: float = 300.0) -> None:
        """Send a command about every `every_sim_s` simulated seconds until `stop`."""
        while not stop.is_set():
            delay = self.rng.uniform(0.5, 1.5) * every_sim_s / speed
            try:
                await asyncio.wait_for(stop.wait(), delay)
                return
            except TimeoutError:
                pass
            device, name, args = self.next_command()
            self.send(device, name, args)
            self.sent += 1
