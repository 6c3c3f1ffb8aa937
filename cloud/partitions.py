"""Month partitions of `events`: made ahead for this month and the next, and on demand.

A batch holding an event of a month without its partition gets it made first, in a short
transaction of its own (creating a partition locks the parent table, which a batch must not
hold). Months outside FIRST_YEAR..LAST_YEAR are not made: such times (a device clock in
1970) land in `events_default`, which is why no month partition inside that range may ever
be created after rows of it reached the default one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

FIRST_YEAR, LAST_YEAR = 2000, 2099
_LOCK = 0x4A11C10E

Month = tuple[int, int]


def month_of(t: datetime) -> Month:
    u = t.astimezone(UTC)
    return (u.year, u.month)


def next_month(m: Month) -> Month:
    return (m[0] + 1, 1) if m[1] == 12 else (m[0], m[1] + 1)


def partition_name(m: Month) -> str:
    return f"events_y{m[0]:04d}m{m[1]:02d}"


class Partitions:
    """Which month partitions exist (cached per connection's lifetime of the sink)."""

    def __init__(self) -> None:
        self.known: set[Month] = set()

    async def ensure_ahead(self, conn: Any, now: datetime | None = None) -> list[str]:
        this = month_of(now or datetime.now(UTC))
        return await self.ensure(conn, [this, next_month(this)])

    async def ensure(self, conn: Any, months: Iterable[Month]) -> list[str]:
        """Make the missing partitions of `months`; returns the names made now."""
        wanted = sorted({m for m in months if FIRST_YEAR <= m[0] <= LAST_YEAR} - self.known)
        made: list[str] = []
        if not wanted:
            return made
        async with conn.transaction():
            # Two consumers meeting a new month at once: one makes it, the other sees it.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
            for m in wanted:
                name = partition_name(m)
                exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name)
                if not exists:
                    start = datetime(m[0], m[1], 1, tzinfo=UTC)
                    end_m = next_month(m)
                    end = datetime(end_m[0], end_m[1], 1, tzinfo=UTC)
                    await conn.execute(
                        f"CREATE TABLE {name} PARTITION OF events"
                        f" FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                    )
                    made.append(name)
        self.known.update(wanted)
        return made
