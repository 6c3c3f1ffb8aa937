"""Fixtures of the cloud tests: a fresh PostgreSQL database and a Mosquitto per test.

The machine's PostgreSQL 15 (127.0.0.1:5432, trust auth) is shared: each test creates its
own database `hallcloud_test_<random>` and drops it at the end, and never stops the server.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from edge.sim.mosquitto import Mosquitto
from tests.cloud.devcluster_fixture import cluster  # noqa: F401  (one per session)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def dsn_of(name: str, port: int = 5432) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{name}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def pg_db() -> Iterator[str]:
    """The name of a fresh, empty database of this test."""
    name = f"hallcloud_test_{secrets.token_hex(6)}"
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    yield name
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def pg_dsn(pg_db: str) -> str:
    return dsn_of(pg_db)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path / "cloud-broker")
    b.start()
    yield b
    b.stop()


def query(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of one query, for assertions."""

    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(dsn)
        try:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(run())
