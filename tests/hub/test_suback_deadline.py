"""A subscription the broker never grants drops the connection, so the hub connects again
instead of staying deaf to the cloud's commands (seen on a RabbitMQ node failover)."""

from __future__ import annotations

import asyncio
import socket
import threading

from edge.mqttio import LinkOptions, MqttLink
from edge.sim.mosquitto import Mosquitto


class MuteBroker:
    """Answers CONNECT with CONNACK (MQTT 3.1.1) and ignores everything after it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = int(self.sock.getsockname()[1])
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            conn.recv(4096)  # the CONNECT
            conn.sendall(b"\x20\x02\x00\x00")  # CONNACK, accepted

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


def _options(url: str) -> LinkOptions:
    return LinkOptions(url=url, client_id="suback-test", mqtt5=False)


def test_no_suback_in_time_drops_the_connection() -> None:
    broker = MuteBroker()

    async def scenario() -> str:
        link = MqttLink(_options(f"mqtt://127.0.0.1:{broker.port}"))
        await link.connect()
        link.subscribe([("halls/h/commands/+/#", 1)], grant_within_s=0.5)
        return await asyncio.wait_for(link.closed, 5)

    try:
        assert asyncio.run(scenario()) == "subscription not granted"
    finally:
        broker.close()


def test_a_granted_subscription_keeps_the_connection(hall_broker: Mosquitto) -> None:
    async def scenario() -> bool:
        link = MqttLink(_options(hall_broker.url))
        await link.connect()
        link.subscribe([("halls/h/commands/+/#", 1)], grant_within_s=0.5)
        await asyncio.sleep(1.0)
        alive = link.is_open
        await link.close()
        return alive

    assert asyncio.run(scenario())
