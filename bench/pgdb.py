"""A throw-away PostgreSQL database on the machine's server, for the cloud benchmarks."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg

PG = "postgresql://postgres@127.0.0.1:5432"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def new_db() -> tuple[str, str]:
    """A fresh database: its name and its DSN."""
    name = f"hallcloud_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    return name, f"{PG}/{name}"


def drop_db(name: str) -> None:
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def count_events(dsn: str) -> int:
    """Rows in the consumer's `events` table."""

    async def count() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM events"))
        finally:
            await conn.close()

    return asyncio.run(count())
