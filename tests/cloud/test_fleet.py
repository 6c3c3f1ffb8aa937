"""The fleet, short: 20 simulated halls and a real hub through the 3-node RabbitMQ cluster
into 3 AMQP consumers and PostgreSQL, through a SIGKILL of the broker node that leads the
consumers' quorum queue, a SIGKILL of a consumer (restarted) and a 5 s cut of the real
hub's cloud link. Then: every event in PostgreSQL exactly once, no open gap, every command
sent during the run answered. (bench/fleet.py is the long version with figures.)
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from cloud import devcluster
from edge.sim.consumer_process import consumers
from edge.sim.fleet import Fleet
from edge.sim.fleet_check import check, send_command
from edge.sim.real_hall import RealHall
from edge.sim.waits import settles
from tests.cloud.devcluster_fixture import healed


def test_fleet_through_faults(cluster: devcluster.Cluster, tmp_path: Path, pg_dsn: str) -> None:
    c = healed(cluster)
    n1, n2, n3 = c.nodes
    group = f"fleet-{secrets.token_hex(3)}"
    # Consumer 0 declares the shared quorum queue on n1: its leader is there, the victim.
    cons = consumers(tmp_path / "consumers", [n.amqp_url for n in c.nodes], pg_dsn, 3, group)
    cons[0].start()
    for k in cons[1:]:
        k.start()
    real = RealHall("real-01", tmp_path / "real-01", n2.mqtt_port, rate=20)
    real.start()
    fleet = Fleet.make(20, [n.mqtt_url for n in c.nodes], rate=10)
    answered: list[float | None] = []

    async def scenario() -> None:
        fleet.start()
        await asyncio.sleep(3)
        await asyncio.to_thread(c.kill, n1)  # queue leader, a third of the halls
        commands = asyncio.gather(
            send_command(n3.mqtt_port, pg_dsn, "sim-004", "hub", "config.get", 30),
            send_command(n3.mqtt_port, pg_dsn, "real-01", "hub", "config.get", 30),
        )
        await asyncio.sleep(2)
        await asyncio.to_thread(cons[1].kill)
        await asyncio.sleep(1)
        await asyncio.to_thread(cons[1].start)
        real.proxy.cut(5.0)
        await asyncio.sleep(6)
        await asyncio.to_thread(c.restart, n1)  # it rejoins; its halls come back to it
        await asyncio.sleep(2)
        fleet.pause()
        await asyncio.to_thread(real.pause)
        answered.extend(await commands)
        assert await fleet.drained(30), "simulated halls still hold unacknowledged events"
        await fleet.close()

    try:
        asyncio.run(scenario())
        assert settles(lambda: real.outbox_left() == 0, 30, every=0.25), "the real hub's outbox"
        expected = set(fleet.made()) | {("real-01", i) for i in real.journal_ids()}
        assert real.sent > 100 and len(expected) > 1000
        assert settles(lambda: not check(pg_dsn, expected)[1], 30, every=0.25), "events missing"
        stored, missing, duplicates, open_gaps = check(pg_dsn, expected)
        assert missing == []
        assert duplicates == 0
        assert stored == len(expected)
        assert open_gaps == 0
        assert all(a is not None for a in answered), answered
        # The faults did happen: the victim's halls and the real hub reconnected.
        assert sum(h.connects > 1 for h in fleet.halls) >= 5
        assert real.proxy.connections >= 2
    finally:
        real.stop()
        for k in cons:
            k.kill()
        healed(c)
