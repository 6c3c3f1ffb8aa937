"""Plays the hub's part for the queue tests: a SQLite journal, seq/id, feeding back results.

Every event the manager returns is written to a real SQLite journal and read back (JSON
data, RFC 3339 time with milliseconds), then fed to `handle` like the hub does, so the
tests see exactly what a rebuild after a restart sees.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge.config.queue import QueueSection, check
from edge.config.schema import convert
from edge.model import Command, Event, JournaledEvent, Output
from edge.queue import QueueManager

SHANGHAI = ZoneInfo("Asia/Shanghai")

SERVICES: list[dict[str, Any]] = [
    {"code": "payment", "letter": "A", "name_zh": "缴费", "name_en": "Payment", "norm_min": 4},
    {"code": "new_install", "letter": "B", "name_zh": "新装", "norm_min": 15},
    {"code": "capacity_change", "letter": "C", "name_zh": "增减容", "norm_min": 18},
    {"code": "invoice", "letter": "D", "name_zh": "发票", "norm_min": 5},
    {"code": "consultation", "letter": "E", "name_zh": "咨询", "norm_min": 8},
]


def _counter(number: int, services: list[str], *displays: str) -> dict[str, Any]:
    """Counter `number` with its own caller and rating pad (and window screens)."""
    counter: dict[str, Any] = {
        "number": number,
        "services": services,
        "caller": f"caller-{number}",
        "rating_pad": f"pad-{number}",
    }
    if displays:
        counter["displays"] = list(displays)
    return counter


COUNTERS: list[dict[str, Any]] = [
    _counter(1, ["payment", "invoice"], "window-1"),
    _counter(2, ["payment", "invoice"], "window-2"),
    _counter(3, ["new_install", "capacity_change", "consultation"]),
    _counter(4, ["capacity_change", "new_install"]),
    _counter(5, ["invoice", "payment", "consultation"]),
    _counter(6, ["consultation", "new_install"]),
]


def queue_section(**overrides: Any) -> QueueSection:
    """The test hall: 5 services, 6 counters, hall screen and voice; overrides on top."""
    data: dict[str, Any] = {
        "services": SERVICES,
        "counters": COUNTERS,
        "opening_hours": {"open": "08:30", "close": "17:00", "last_ticket": "16:30"},
        "priority": {"max_in_row": 2},
        "recalls": 2,
        "rating_timeout_s": 30,
        "status_min_interval_s": 5,
        "displays": ["hall-screen"],
        "voices": ["hall-voice"],
    }
    data.update(overrides)
    section = convert(data, QueueSection, "hall.toml", "queue")
    check(section, "hall.toml")
    return section


def at(day: str, hhmmss: str) -> datetime:
    """A hall-time instant: at("2026-11-27", "09:30:00")."""
    return datetime.fromisoformat(f"{day}T{hhmmss}").replace(tzinfo=SHANGHAI)


class Journal:
    """A minimal journal in a SQLite file: what the hub's store keeps of each event."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, id TEXT, type TEXT,"
            " device_id TEXT, time TEXT, data TEXT, causation INTEGER)"
        )

    def append(self, ev: Event, now: datetime) -> JournaledEvent:
        t = (ev.time or now).astimezone(SHANGHAI).isoformat(timespec="milliseconds")
        cur = self.db.execute(
            "INSERT INTO events (type, device_id, time, data, causation) VALUES (?,?,?,?,?)",
            (ev.type, ev.device_id, t, json.dumps(ev.data, ensure_ascii=False), ev.causation),
        )
        seq = int(cur.lastrowid or 0)
        self.db.execute("UPDATE events SET id = ? WHERE seq = ?", (f"EV{seq:08d}", seq))
        return self.read(seq)

    def read(self, seq: int) -> JournaledEvent:
        row = self.db.execute("SELECT * FROM events WHERE seq = ?", (seq,)).fetchone()
        return _row(row)

    def events(self, since: datetime | None = None) -> list[JournaledEvent]:
        rows = self.db.execute("SELECT * FROM events ORDER BY seq").fetchall()
        out = [_row(r) for r in rows]
        return out if since is None else [e for e in out if e.time >= since]

    def close(self) -> None:
        self.db.commit()
        self.db.close()


def _row(row: tuple[Any, ...]) -> JournaledEvent:
    seq, id_, type_, device_id, time, data, causation = row
    return JournaledEvent(
        seq=seq,
        id=id_,
        type=type_,
        device_id=device_id,
        time=datetime.fromisoformat(time),
        data=json.loads(data),
        causation=causation,
    )


@dataclass
class Hall:
    """The hub around one QueueManager, with the commands sent to devices kept in order."""

    path: Path
    section: QueueSection
    journal: Journal = field(init=False)
    manager: QueueManager = field(init=False)
    commands: list[tuple[datetime, Command]] = field(default_factory=list)
    now: datetime | None = None
    _requests: int = 0
    # When a list: (journal length, manager snapshot) after every send and tick.
    checkpoints: list[tuple[int, dict[str, Any]]] | None = None

    def __post_init__(self) -> None:
        self.journal = Journal(self.path)
        self.manager = QueueManager(self.section, SHANGHAI)

    def send(
        self, type_: str, device_id: str, data: Mapping[str, Any], when: datetime
    ) -> list[Output]:
        """A device's event: journal it, feed it, carry out what comes back."""
        self.now = when
        j = self.journal.append(Event(type_, device_id, dict(data), time=when), when)
        outs = self.manager.handle(j)
        self._carry_out(outs)
        self._checkpoint()
        return outs

    def journal_only(
        self, type_: str, device_id: str, data: Mapping[str, Any], when: datetime
    ) -> None:
        """An input that reaches the journal but not the manager (the hub dies right then)."""
        self.journal.append(Event(type_, device_id, dict(data), time=when), when)

    def tick(self, when: datetime) -> list[Output]:
        self.now = when
        outs = self.manager.tick(when)
        self._carry_out(outs)
        self._checkpoint()
        return outs

    def _checkpoint(self) -> None:
        if self.checkpoints is not None:
            n = self.journal.db.execute("SELECT count(*) FROM events").fetchone()[0]
            self.checkpoints.append((n, self.manager.snapshot()))

    def restart(self, when: datetime) -> list[Output]:
        """A new manager rebuilt from the journal since the day's reset."""
        self.now = when
        self.manager = QueueManager(self.section, SHANGHAI)
        since = self.manager.day_start(when)
        outs = self.manager.rebuild(self.journal.events(since))
        self._carry_out(outs)
        return outs

    def _carry_out(self, outs: list[Output]) -> None:
        assert self.now is not None
        for out in outs:
            if isinstance(out, Command):
                self.commands.append((self.now, out))
                continue
            j = self.journal.append(out, self.now)
            # The manager's own results come back from the journal: already applied.
            assert self.manager.handle(j) == []

    def request(
        self,
        service: str,
        when: datetime,
        priority: str = "normal",
        request_id: str | None = None,
        device: str = "kiosk-1",
    ) -> str:
        """A ticket machine asks for a ticket; returns the ticket number ('' if refused)."""
        self._requests += 1
        rid = request_id or f"r{self._requests}"
        outs = self.send(
            "queue.ticket.requested",
            device,
            {"request_id": rid, "service": service, "priority": priority},
            when,
        )
        issued = [o for o in outs if isinstance(o, Event) and o.type == "queue.ticket.issued"]
        return str(issued[0].data["ticket_no"]) if issued else ""

    def press(self, counter: int, action: str, when: datetime, **extra: Any) -> list[Output]:
        """A clerk presses a key on the counter's caller."""
        data = {"counter": counter, "action": action, **extra}
        return self.send("counter.action", f"caller-{counter}", data, when)

    def called(self, outs: list[Output]) -> str | None:
        """The ticket a press called, if any."""
        for o in outs:
            if isinstance(o, Event) and o.type == "queue.ticket.called":
                return str(o.data["ticket_no"])
        return None

    def events(self, type_: str | None = None) -> list[JournaledEvent]:
        return [e for e in self.journal.events() if type_ is None or e.type == type_]

    def sent(self, device_id: str, name: str | None = None) -> list[Command]:
        return [
            c
            for _, c in self.commands
            if c.device_id == device_id and (name is None or c.name == name)
        ]

    def rebuilt_snapshot(self, when: datetime) -> dict[str, Any]:
        fresh = QueueManager(self.section, SHANGHAI)
        assert fresh.rebuild(self.journal.events(fresh.day_start(when))) == []
        return fresh.snapshot()


def later(t: datetime, **kw: float) -> datetime:
    return t + timedelta(**kw)
