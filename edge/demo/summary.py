"""The outcome of a demo run, its checks, and the closing summary printed after it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Group, RenderableType
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


def _cloud_saw(done: int, seen: int) -> str:
    """`(cloud 31)`, green when the cloud got as many as the devices sent."""
    style = "green" if done == seen else "yellow"
    return f"[{style}](cloud {seen})[/]"


def _day_table(day: HallDayReport, r: DemoResult) -> Table:
    t = Table(
        title="what the simulated devices did",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        show_header=False,
    )
    t.add_column(style="dim")
    t.add_column()
    by_type = r.by_type
    ratings = " ".join(f"{k}★{v}" for k, v in sorted(day.ratings.items(), reverse=True))
    n_ratings = sum(day.ratings.values())
    n_feedback = sum(day.feedback.values())
    # The ticket machine's own requests only: the cloud platform's WeChat tickets come
    # from device `cloud`.
    machine_tickets = sum(
        n
        for (device, etype), n in r.by_source.items()
        if etype == "queue.ticket.requested" and device not in ("cloud", "hub")
    )
    rows = [
        ("hall day reached", day.reached or "?"),
        (
            "tickets",
            f"{day.tickets_requested} requested "
            f"{_cloud_saw(day.tickets_requested, machine_tickets)}, {day.tickets_printed} printed",
        ),
        (
            "calls",
            f"{day.calls} ({day.served} served, {day.no_shows} no-shows, "
            f"{day.transfers} transfers)",
        ),
        (
            "ratings",
            f"{ratings or 'none'} {_cloud_saw(n_ratings, by_type.get('rating.submitted', 0))}",
        ),
        (
            "kiosk payments",
            f"{day.payments} ({day.payments_failed} failed) "
            f"{_cloud_saw(day.payments, by_type.get('kiosk.payment', 0))}",
        ),
        (
            "feedback",
            (", ".join(f"{k} {v}" for k, v in sorted(day.feedback.items())) or "none")
            + f" {_cloud_saw(n_feedback, by_type.get('feedback.submitted', 0))}",
        ),
        ("e-forms", f"{day.forms} {_cloud_saw(day.forms, by_type.get('form.submitted', 0))}"),
        (
            "invoices printed",
            f"{day.invoices_printed} (paper {day.printer_paper}) "
            f"{_cloud_saw(day.invoices_printed, by_type.get('invoice.printed', 0))}",
        ),
        ("robot tasks", str(day.robot_tasks)),
    ]
    for k, v in rows:
        t.add_row(k, v)
    return t


def summary(r: DemoResult) -> RenderableType:
    """The closing summary: per-type counts, delivery checks, what the devices did."""
    side = Table.grid(padding=(0, 4))
    side.add_column(vertical="top")
    side.add_column(vertical="top")
    right: list[RenderableType] = [_checks_table(r)]
    if r.day is not None:
        right.append(_day_table(r.day, r))
    side.add_row(_types_table(r.by_type), Group(*right))
    parts: list[RenderableType] = [side]
    for problem in r.problems():
        parts.append(f"[bold red]problem:[/] {problem}")
    for warning in r.warnings():
        parts.append(f"[yellow]note:[/] {warning}")
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
