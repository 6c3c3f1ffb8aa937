"""The outcome of a demo run, its checks, and the closing summary printed after it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table

from edge.demo.tally import SeqReport
from edge.demo.view import replies_text, seq_text
from edge.sim.hall_day import HallDayReport


@dataclass
class DemoResult:
    """Everything a demo run measured; `problems()` says what went wrong."""

    workdir: Path
    kept: bool  # the work folder stays (given by the user, or kept after a problem)
    elapsed_s: float
    events: int
    by_type: dict[str, int]
    by_device: dict[str, int]
    by_source: dict[tuple[str, str], int]  # (device id, event type) -> count
    seq: SeqReport
    replies: dict[int, int]
    commands_sent: int
    alerts: int
    metrics: dict[str, Any]  # the hub's metrics() once it had stopped
    journal_last_seq: int
    devices: dict[str, str]  # device id -> profile, as configured
    day: HallDayReport | None = None
    brokers_stopped: bool = False
    failures: dict[tuple[int, str, str], int] = field(default_factory=dict)
    speed: float = 1.0  # simulated seconds per real second

    @property
    def undelivered(self) -> int:
        """Events journaled but still in the outbox when the hub stopped."""
        return int(self.metrics.get("backlog", 0))

    def silent_profiles(self) -> list[str]:
        """Device models none of whose devices got an event to the cloud."""
        heard = {self.devices[d] for d in self.by_device if d in self.devices}
        return sorted(set(self.devices.values()) - heard)

    def problems(self) -> list[str]:
        """What breaks the delivery promise: holes in hallseq, nothing delivered at all."""
        out: list[str] = []
        if self.events == 0:
            out.append("no event reached the cloud broker")
        if self.seq.missing:
            out.append(f"hallseq has {self.seq.missing} missing numbers: {seq_text(self.seq)}")
        return out

    def warnings(self) -> list[str]:
        """Worth a look, but allowed by the contract or by a short run."""
        out: list[str] = []
        if self.seq.duplicates:
            out.append(f"{self.seq.duplicates} envelopes arrived twice (at-least-once delivery)")
        dead = int(self.metrics.get("dead_letters", 0))
        if dead:
            out.append(f"{dead} messages went to the dead-letter table (hall-edge deadletters)")
        if self.undelivered:
            n = self.undelivered
            out.append(
                f"{n} {'event was' if n == 1 else 'events were'} still in the outbox at stop: "
                "journaled, not yet acknowledged by the cloud; the hub sends "
                f"{'it' if n == 1 else 'them'} when it runs again (nothing is lost)"
            )
        silent = self.silent_profiles()
        if silent:
            out.append("no event yet from: " + ", ".join(silent) + " (run longer?)")
        return out


def _types_table(by_type: Mapping[str, int]) -> Table:
    t = Table(title="events at the cloud, per type", box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("event type")
    t.add_column("count", justify="right")
    for etype, n in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])):
        t.add_row(etype, str(n))
    t.add_row("[bold]total[/]", f"[bold]{sum(by_type.values())}[/]")
    return t


def _checks_table(r: DemoResult) -> Table:
    t = Table(title="delivery", box=box.SIMPLE_HEAD, title_justify="left", show_header=False)
    t.add_column(style="dim")
    t.add_column()
    gap_style = "red" if r.seq.missing else "green"
    m = r.metrics
    rows = [
        ("hallseq", f"[{gap_style}]{seq_text(r.seq)}[/]"),
        ("gaps", f"[{gap_style}]{r.seq.missing}[/]"),
        ("duplicates", f"[{'yellow' if r.seq.duplicates else 'green'}]{r.seq.duplicates}[/]"),
        ("journal last hallseq", str(r.journal_last_seq)),
        ("left in outbox", str(r.undelivered)),
        ("dead letters", str(m.get("dead_letters", 0))),
        ("dropped as duplicates", str(m.get("duplicates", 0))),
        ("alerts raised", str(r.alerts)),
        ("cloud commands", f"{r.commands_sent} sent, replies {replies_text(r.replies)}"),
        ("brokers", "stopped" if r.brokers_stopped else "[red]still running[/]"),
        ("run time", f"{r.elapsed_s:.0f}s"),
    ]
    for k, v in rows:
        t.add_row(k, v)
    return t


@dataclass(frozen=True)
class HallCounts:
    """The hall day as the cloud got it: counted from the events that reached it."""

    tickets_requested: int
    tickets_wechat: int  # of those, from the platform's queue.issue (device `cloud`)
    tickets_issued: int
    tickets_refused: int
    calls: int
    completed: int
    abandoned: int
    transfers: int
    ratings: int
    payments: int
    feedback: int
    forms: int
    invoices: int

    @classmethod
    def of(cls, r: DemoResult) -> HallCounts:
        t = r.by_type
        wechat = r.by_source.get(("cloud", "queue.ticket.requested"), 0)
        return cls(
            tickets_requested=t.get("queue.ticket.requested", 0),
            tickets_wechat=wechat,
            tickets_issued=t.get("queue.ticket.issued", 0),
            tickets_refused=t.get("queue.ticket.refused", 0),
            calls=t.get("queue.ticket.called", 0),
            completed=t.get("queue.ticket.completed", 0),
            abandoned=t.get("queue.ticket.abandoned", 0),
            transfers=t.get("queue.ticket.transferred", 0),
            ratings=t.get("rating.submitted", 0),
            payments=t.get("kiosk.payment", 0),
            feedback=t.get("feedback.submitted", 0),
            forms=t.get("form.submitted", 0),
            invoices=t.get("invoice.printed", 0),
        )


def _day_table(day: HallDayReport | None, r: DemoResult) -> Table:
    # Every count is what reached the cloud (the simulators' own counters count key
    # presses, some of which the hub rightly refuses: a finish with no ticket at the
    # counter, a call with nobody waiting).
    t = Table(
        title="the hall day, as the cloud got it",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        show_header=False,
    )
    t.add_column(style="dim")
    t.add_column()
    c = HallCounts.of(r)
    rows = [
        ("hall day reached", (day.reached if day is not None else "") or "?"),
        (
            "tickets",
            f"{c.tickets_requested} requested ({c.tickets_wechat} by WeChat), "
            f"{c.tickets_issued} issued, {c.tickets_refused} refused",
        ),
        (
            "calls",
            f"{c.calls} (recalls included), {c.completed} completed, {c.abandoned} abandoned, "
            f"{c.transfers} transferred",
        ),
        ("ratings", str(c.ratings)),
        ("kiosk payments", str(c.payments)),
        ("feedback", str(c.feedback)),
        ("e-forms", str(c.forms)),
        ("invoices printed", str(c.invoices)),
    ]
    if day is not None:
        rows.append(("printer paper", day.printer_paper))
    for k, v in rows:
        t.add_row(k, v)
    return t


# Why the demo's own devices refuse some commands, by design of the simulated day.
WHY = {
    "paper end": "by design: the simulated printer's roll (60 invoices, shared with the "
    "counters' PCs) runs out in the afternoon and nobody refills it; the hub reported "
    "printer.status near_end, then end, before refusing",
    "paper near end": "the roll is nearly out",
}


def failure_lines(failures: Mapping[tuple[int, str, str], int]) -> list[str]:
    """Every 4xx/5xx reply with its count, device, message and, for the demo's own
    by-design failures, why: `500 ×13 printer-1: printer-1 cannot print: paper end (...)`."""
    out = []
    for (code, device, msg), n in sorted(failures.items(), key=lambda kv: (kv[0][0], -kv[1])):
        why = next((w for key, w in WHY.items() if msg.endswith(key)), "")
        out.append(f"{code} ×{n} {device}: {msg}" + (f" ({why})" if why else ""))
    return out


def summary(r: DemoResult) -> RenderableType:
    """The closing summary: per-type counts, delivery checks, what the devices did."""
    side = Table.grid(padding=(0, 4))
    side.add_column(vertical="top")
    side.add_column(vertical="top")
    right: list[RenderableType] = [_checks_table(r)]
    right.append(_day_table(r.day, r))
    side.add_row(_types_table(r.by_type), Group(*right))
    parts: list[RenderableType] = [side]
    for problem in r.problems():
        parts.append(f"[bold red]problem:[/] {problem}")
    for warning in r.warnings():
        parts.append(f"[yellow]note:[/] {warning}")
    for line in failure_lines(r.failures):
        parts.append(f"[yellow]reply[/] {escape(line)}")
    if not r.problems():
        parts.append(
            "[bold green]every journaled event reached the cloud in hallseq order with no gaps[/]"
            if not r.undelivered
            else "[bold green]no gaps in what reached the cloud[/]"
        )
    if r.kept:
        parts.append(
            f"[dim]work folder: {r.workdir} (hall.toml, hall.db, demo.log, broker logs)[/]"
        )
    return Group(*parts)
