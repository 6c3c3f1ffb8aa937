"""What the demo shows: the live dashboard, the one-line progress for logs, the summary.

Pure rendering: everything comes in as a TallySnapshot (the cloud side), the hub's
`metrics()` dict and a DemoStatus; nothing here talks to brokers or the hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from edge.demo.config import SERVICES
from edge.demo.tally import SeqReport, TallySnapshot

SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
STATE_STYLE = {"open": "green", "paused": "yellow", "closed": "dim"}
SERVICE_NAMES = {code: zh for code, _letter, zh, _en, _norm in SERVICES}
SERVICE_ORDER = {s[0]: i for i, s in enumerate(SERVICES)}  # by ticket letter: A, B, C...


@dataclass(frozen=True, slots=True)
class DemoStatus:
    """The demo's own state for the header."""

    hall_name: str
    hall_id: str
    speed: float
    elapsed_s: float
    hall_clock: str  # simulated hall time, HH:MM
    phase: str  # "running", "stopping", ...
    duration_s: float | None = None


def _duration(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


def seq_text(seq: SeqReport) -> str:
    """`1–2345, no gaps` or `1–2345, 3 missing (17–19)`."""
    if seq.first is None:
        return "none yet"
    text = f"{seq.first}–{seq.last}, "
    if not seq.missing:
        return text + "no gaps"
    ranges = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in seq.gaps)
    return text + f"{seq.missing} missing ({ranges})"


def replies_text(replies: Mapping[int, int] | Mapping[str, int]) -> str:
    """`200×12 202×3` in code order, or `none`."""
    if not replies:
        return "none"
    return " ".join(f"{code}×{n}" for code, n in sorted(replies.items(), key=lambda kv: int(kv[0])))


def failures_text(failures: Mapping[tuple[int, str, str], int], limit: int = 2) -> str:
    """The most frequent failed replies with their reason: `500×13 printer-1: ... paper end`."""
    top = sorted(failures.items(), key=lambda kv: -kv[1])[:limit]
    return "; ".join(f"{code}×{n} {device}: {msg}" for (code, device, msg), n in top)


def _header(st: DemoStatus) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(" hall-edge demo ", style="bold white on blue")
    t.append(f"  {st.hall_name} ({st.hall_id})", style="bold")
    t.append(f"   simulated day {st.hall_clock} (×{st.speed:g})", style="cyan")
    until = f" of {_duration(st.duration_s)}" if st.duration_s else ""
    t.append(f"   running {_duration(st.elapsed_s)}{until}")
    t.append(f"   {st.phase}", style="green" if st.phase == "running" else "yellow")
    t.append("   Ctrl-C stops", style="dim")
    return t


def _kv(rows: list[tuple[str, str]]) -> Table:
    t = Table.grid(padding=(0, 1))
    t.add_column(style="dim", no_wrap=True)
    t.add_column(no_wrap=True)
    for k, v in rows:
        t.add_row(k, v)
    return t


def _cloud_panel(snap: TallySnapshot) -> Panel:
    dup_style = "red" if snap.seq.duplicates else "green"
    gap_style = "red" if snap.seq.missing else "green"
    rows = [
        ("events", f"[bold]{snap.events}[/]"),
        ("rate", f"[bold]{snap.rate:.1f}[/] events/s"),
        ("hallseq", f"[{gap_style}]{seq_text(snap.seq)}[/]"),
        ("duplicates", f"[{dup_style}]{snap.seq.duplicates}[/]"),
        ("resent", str(snap.resent)),
        ("hub state", escape(snap.hub_state)),
        ("devices", _devices_text(snap.devices)),
    ]
    return Panel(_kv(rows), title="cloud broker: what arrived", border_style="blue")


def _devices_text(devices: Mapping[str, str]) -> str:
    online = sum(1 for s in devices.values() if s == "online")
    offline = [d for d, s in devices.items() if s == "offline"]
    text = f"{online} online"
    if offline:
        names = escape(", ".join(sorted(offline)[:3]))
        text += f", [red]{len(offline)} offline[/] ({names})"
    return text


def _hub_panel(m: Mapping[str, Any]) -> Panel:
    cloud = m.get("cloud", {})
    link = "[green]connected[/]" if cloud.get("connected") else "[red]disconnected[/]"
    hall = "[green]connected[/]" if m.get("hall", {}).get("connected") else "[red]disconnected[/]"
    dead = m.get("dead_letters", 0)
    in_flight = cloud.get("in_flight", 0)
    rows = [
        ("journaled", f"[bold]{m.get('journaled', 0)}[/]  (last hallseq {m.get('last_seq', 0)})"),
        ("pending", f"{m.get('pending', 0)} not yet committed"),
        ("outbox", f"[bold]{m.get('backlog', 0)}[/] to deliver, {in_flight} in flight"),
        ("cloud", f"{link}, acked {cloud.get('acked', 0)}, {cloud.get('rate', 0):.1f}/s"),
        ("hall broker", f"{hall}, {m.get('hall', {}).get('received', 0)} messages in"),
        ("dead letters", f"[{'red' if dead else 'green'}]{dead}[/]"),
        ("dups dropped", str(m.get("duplicates", 0))),
    ]
    return Panel(_kv(rows), title="hub: journal and outbox", border_style="magenta")


def _replies_panel(snap: TallySnapshot, m: Mapping[str, Any]) -> Panel:
    lines = Table.grid(padding=(0, 1))
    lines.add_column(no_wrap=True)
    lines.add_row(f"[bold]{replies_text(snap.replies)}[/]")
    lines.add_row(f"[dim]hub counted:[/] {replies_text(m.get('replies', {}))}")
    if snap.failures:  # every failure stays explained, not only while it is recent
        lines.add_row(f"[red]failed:[/] {escape(failures_text(snap.failures))}")
    for r in reversed(snap.recent_replies[-4:]):
        style = "green" if r.code < 300 else "red"
        lines.add_row(f"[{style}]{r.code}[/] {escape(r.device)} {escape(r.msg)}")
    return Panel(lines, title="replies to cloud commands", border_style="green")


def _types_table(snap: TallySnapshot, limit: int) -> Panel:
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
    t.add_column("event type", no_wrap=True)
    t.add_column("count", justify="right")
    ordered = sorted(snap.by_type.items(), key=lambda kv: (-kv[1], kv[0]))
    for etype, n in ordered[:limit]:
        t.add_row(etype, str(n))
    if len(ordered) > limit:
        t.add_row(f"[dim]… {len(ordered) - limit} more types[/]", "")
    return Panel(t, title=f"events by type ({len(ordered)})", border_style="blue")


def _recent_table(snap: TallySnapshot, limit: int) -> Panel:
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
    t.add_column("hallseq", justify="right", no_wrap=True)
    t.add_column("time", no_wrap=True)
    t.add_column("type", no_wrap=True, style="cyan")
    t.add_column("device", no_wrap=True)
    t.add_column("data", overflow="ellipsis", no_wrap=True, ratio=1)
    for e in reversed(snap.recent[-limit:]):
        seq = f"{e.seq}" + ("r" if e.resent else "")
        t.add_row(seq, e.clock, escape(e.type), escape(e.device), escape(e.text))
    return Panel(t, title="last events at the cloud", border_style="blue")


def _queue_table(snap: TallySnapshot) -> Panel:
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
    for col, just in (
        ("service", "left"),
        ("wait", "right"),
        ("max", "right"),
        ("open", "right"),
        ("est", "right"),
    ):
        t.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for code, q in sorted(snap.queue.items(), key=lambda kv: SERVICE_ORDER.get(kv[0], 99)):
        # The hall's own word for the service is shorter than its code, and what staff read.
        service = SERVICE_NAMES.get(code, code)
        waiting = q.get("waiting", 0)
        style = "bold yellow" if isinstance(waiting, int) and waiting >= 10 else ""
        est = q.get("est_wait_min")
        t.add_row(
            escape(service),
            f"[{style}]{waiting}[/]" if style else str(waiting),
            f"{q.get('longest_wait_s', 0)}s",
            str(q.get("open_counters", "")),
            f"{est:.0f}m" if isinstance(est, int | float) else "",
        )
    return Panel(t, title="queue status", border_style="cyan")


def _counters_table(snap: TallySnapshot) -> Panel:
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
    t.add_column("窗口", no_wrap=True)
    t.add_column("state", no_wrap=True)
    t.add_column("ticket", no_wrap=True)
    t.add_column("done", justify="right", no_wrap=True)
    for n, c in sorted(snap.counters.items()):
        style = STATE_STYLE.get(c.state, "")
        t.add_row(f"{n}号", f"[{style}]{c.state}[/]", escape(c.ticket) or "—", str(c.served))
    levels = " ".join(f"{k}★{v}" for k, v in sorted(snap.ratings.items(), reverse=True))
    return Panel(
        t, title="counters", subtitle=f"ratings {levels}" if levels else None, border_style="cyan"
    )


def _alerts_table(snap: TallySnapshot) -> Panel:
    t = Table.grid(padding=(0, 1))
    t.add_column(no_wrap=True, style="dim")
    t.add_column(overflow="fold")
    for a in reversed(snap.alerts[-6:]):
        style = SEVERITY_STYLE.get(a.severity, "")
        # The colour says the severity; the list keeps its rows for the messages.
        text = escape(a.text.removeprefix(f"[{a.severity}] "))
        t.add_row(a.clock, f"[{style}]{text}[/]" if style else text)
    if not snap.alerts:
        t.add_row("", "[dim]none yet[/]")
    return Panel(t, title=f"alerts ({snap.alerts_total})", border_style="red")


def dashboard(
    snap: TallySnapshot, metrics: Mapping[str, Any], st: DemoStatus, height: int = 50
) -> RenderableType:
    """The whole live screen; `height` (terminal rows) sizes the event lists."""
    # Rows: header 1, top panels 9, list frame 4, bottom panels 4 + their longest table.
    bottom_rows = 4 + max(len(snap.queue), len(snap.counters), 6)
    recent = max(4, min(40, height - 1 - 9 - 4 - bottom_rows - 1))
    top = Table.grid(expand=True, padding=(0, 1))
    for ratio in (4, 5, 4):  # the hub's lines are the longest
        top.add_column(ratio=ratio)
    top.add_row(_cloud_panel(snap), _hub_panel(metrics), _replies_panel(snap, metrics))
    middle = Table.grid(expand=True, padding=(0, 1))
    middle.add_column(ratio=2)
    middle.add_column(ratio=5)
    middle.add_row(_types_table(snap, recent), _recent_table(snap, recent))
    bottom = Table.grid(expand=True, padding=(0, 1))
    bottom.add_column(ratio=4)
    bottom.add_column(width=32)  # the counters table needs no more, and no less
    bottom.add_column(ratio=5)
    bottom.add_row(_queue_table(snap), _counters_table(snap), _alerts_table(snap))
    return Group(_header(st), top, middle, bottom)


def progress_line(snap: TallySnapshot, metrics: Mapping[str, Any], st: DemoStatus) -> str:
    """One line for --no-live output (logs, CI)."""
    cloud = metrics.get("cloud", {})
    return (
        f"[{_duration(st.elapsed_s):>6}] hall {st.hall_clock} | cloud {snap.events} events "
        f"{snap.rate:.1f}/s, hallseq {seq_text(snap.seq)}, dups {snap.seq.duplicates} | "
        f"journaled {metrics.get('journaled', 0)}, outbox {metrics.get('backlog', 0)}, "
        f"in flight {cloud.get('in_flight', 0)}, dead letters {metrics.get('dead_letters', 0)} | "
        f"alerts {snap.alerts_total} | replies {replies_text(snap.replies)}"
        + (f" (failed: {failures_text(snap.failures)})" if snap.failures else "")
    )
