"""What a fleet run checks in PostgreSQL, where the consumers wrote: every event once, no
gap left open, every command answered (tests/cloud/test_fleet.py, bench/fleet.py)."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import aiomqtt
import asyncpg


async def pg_fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """SQL's rows, on a connection of its own (the checks run beside the consumers)."""
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def send_command(
    mqtt_port: int, dsn: str, hall_id: str, device: str, name: str, deadline_s: float
) -> float | None:
    """Publish a command, resend it with the same cmd_id every 2 s until its reply is in
    PostgreSQL (the consumer stores replies) or the deadline; seconds to the reply."""
    cmd_id = f"fleet-{secrets.token_hex(4)}"
    body = json.dumps({"cmd_id": cmd_id, "args": {}}).encode()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    next_send = t0
    while loop.time() - t0 < deadline_s:
        if loop.time() >= next_send:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    mqtt_port,
                    identifier=f"cloud-cmd-{cmd_id}",
                    protocol=aiomqtt.ProtocolVersion.V311,
                    timeout=5,
                ) as c:
                    await c.publish(f"halls/{hall_id}/commands/{device}/{name}", body, qos=1)
            except aiomqtt.MqttError:
                pass  # a node down: the next send (same cmd_id) tries again
            next_send = loop.time() + 2.0
        rows = await pg_fetch(dsn, "SELECT 1 FROM replies WHERE cmd_id = $1", cmd_id)
        if rows:
            return loop.time() - t0
        await asyncio.sleep(0.2)
    return None


def check(dsn: str, expected: set[tuple[str, str]]) -> tuple[int, list[tuple[str, str]], int, int]:
    """Rows stored, expected (hall, event id) keys missing, keys stored more than once,
    open gaps."""

    async def run() -> tuple[int, list[tuple[str, str]], int, int]:
        rows = await pg_fetch(dsn, "SELECT hallid, id, count(*) AS n FROM events GROUP BY 1, 2")
        have = {(r["hallid"], r["id"]): int(r["n"]) for r in rows}
        missing = sorted(expected - set(have))
        dup = sum(1 for n in have.values() if n > 1)
        gaps = await pg_fetch(dsn, "SELECT count(*) AS n FROM gaps WHERE closed_at IS NULL")
        return sum(have.values()), missing, dup, int(gaps[0]["n"])

    return asyncio.run(run())
