"""The demo's two private Mosquitto brokers ("hall" and "cloud") on free loopback ports.

The demo must never touch a broker it did not start (the machine may run its own on 1883),
and must never leave one behind: each broker runs in its own session, so a Ctrl-C in the
terminal reaches the demo only (which then stops the hub first, the brokers last), and on
Linux it is told to exit if the demo itself dies without cleaning up.
"""

from __future__ import annotations

from pathlib import Path

from edge.errors import EdgeError
from edge.sim.mosquitto import Mosquitto

# Queue limits, set deliberately (Mosquitto's default of 1000 queued QoS 1 messages per
# client silently drops messages to a slow subscriber, which would show up as hallseq gaps
# that are not the hub's fault, and "0 = unlimited" lets a stuck client eat the memory):
# 100 000 messages / 64 MiB per client: far above what a demo day produces while a client
# is busy (a few thousand events), yet a bound. In flight: the launcher's 1000, so the
# demo's viewer gets the hub's whole QoS 1 window without waits.
MAX_QUEUED_MESSAGES = 100_000
MAX_QUEUED_BYTES = 64 * 1024 * 1024


def demo_broker(name: str, workdir: Path, port: int | None = None) -> Mosquitto:
    """One private broker, configured and logged in `workdir` as `{name}-mosquitto.*`.

    Start and stop it from the same thread (the main one): the parent-death signal is tied
    to the thread that started it.
    """
    return Mosquitto(
        workdir,
        port,
        name=f"{name}-mosquitto",
        # Nothing to keep between runs: sessions live as long as the demo.
        persistence=False,
        max_queued=(MAX_QUEUED_MESSAGES, MAX_QUEUED_BYTES),
        # `set_tcp_nodelay true` comes with edge.sim.mosquitto (nodelay=True), as in every
        # broker the project ships.
        own_session=True,
    )


def start_brokers(workdir: Path, attempts: int = 3) -> tuple[Mosquitto, Mosquitto]:
    """The hall broker and the cloud broker, started; both stopped again on any failure.

    A free port can be taken by someone else between choosing it and binding it, so a
    broker that fails to start is tried again on another port.
    """
    started: list[Mosquitto] = []
    try:
        for name in ("hall", "cloud"):
            for attempt in range(attempts):
                broker = demo_broker(name, workdir)
                try:
                    broker.start()
                except EdgeError:
                    if attempt == attempts - 1:
                        raise
                    continue
                started.append(broker)
                break
    except BaseException:
        for broker in started:
            broker.stop()
        raise
    return started[0], started[1]
