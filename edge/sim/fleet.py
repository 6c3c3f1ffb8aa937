"""Many simulated halls (edge/sim/sim_hall.py) in one asyncio loop, spread over a cloud
broker's nodes: the fleet of bench/fleet.py and of its short version in the suite."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import aiomqtt

from edge.sim.sim_hall import SimHall


@dataclass
class Fleet:
    """N simulated halls `sim-000`... spread over the broker URLs (hall i starts on
    url i mod len)."""

    halls: list[SimHall]
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    generating: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def make(cls, n: int, urls: list[str], rate: float, prefix: str = "sim") -> Fleet:
        halls = [
            SimHall(f"{prefix}-{i:03d}", urls, rate, url_index=i % len(urls)) for i in range(n)
        ]
        return cls(halls)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        default = loop.get_exception_handler()

        def quiet(lp: asyncio.AbstractEventLoop, ctx: dict[str, object]) -> None:
            # aiomqtt leaves the futures of a dropped connection unretrieved, and paho's
            # writer callbacks can outlive the socket a killed node closed: expected here.
            if isinstance(ctx.get("exception"), aiomqtt.MqttError | OSError):
                return
            (default or asyncio.BaseEventLoop.default_exception_handler)(lp, ctx)  # type: ignore[arg-type]

        loop.set_exception_handler(quiet)
        self.generating.set()
        self.tasks = [asyncio.create_task(h.run(self.stop, self.generating)) for h in self.halls]

    def pause(self) -> None:
        """No new events; what is in the outboxes is still delivered."""
        self.generating.clear()

    async def drained(self, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout
        while loop.time() < until:
            if all(not h.outbox for h in self.halls):
                return True
            await asyncio.sleep(0.2)
        return False

    async def close(self) -> None:
        self.stop.set()
        for t in self.tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(t, 20)

    def made(self) -> dict[tuple[str, str], int]:
        return {(h.hall_id, i): s for h in self.halls for i, s in h.made.items()}
