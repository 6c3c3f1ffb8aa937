"""Reports for people: rich tables for the terminal (CSV and JSON are in edge.kpi.export)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from edge.config.kpi import KpiSection
from edge.kpi.figures import FeedbackCounts, Figures, PaymentMix
from edge.kpi.model_window import ModelWindow
from edge.kpi.reports import DayReport, MonthReport

MODEL_MARK = "★"
NONE = "—"


def fmt_duration(seconds: float | None) -> str:
    """Seconds as m:ss (h:mm:ss from an hour on); a dash for no value."""
    if seconds is None:
        return NONE
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def fmt_rate(value: float | None) -> str:
    """A share as a percentage with one decimal; a dash for no value."""
    return NONE if value is None else f"{value * 100:.1f}%"


def fmt_level(value: float | None) -> str:
    return NONE if value is None else f"{value:.2f}"


def fmt_count(value: int | None) -> str:
    return NONE if value is None else str(value)


# -- rich tables ------------------------------------------------------------------------

_GROUP_HEADERS = (
    "办结\ndone",
    "弃号\nabandoned",
    "等候中位\nwait med",
    "等候P90\nwait p90",
    "办理中位\nserve med",
    "办理P90\nserve p90",
    "时限内\nin norm",
    "评价\nrated",
    "均分\navg",
    "满意率\nsatisfied",
    "参评率\nrated/done",
    "差评\npoor",
    "超时\ntimed out",
)


def _group_cells(f: Figures) -> list[str]:
    return [
        str(f.completed),
        str(f.abandoned),
        fmt_duration(f.wait_median_s),
        fmt_duration(f.wait_p90_s),
        fmt_duration(f.service_median_s),
        fmt_duration(f.service_p90_s),
        fmt_rate(f.within_norm_rate),
        str(f.rated),
        fmt_level(f.avg_level),
        fmt_rate(f.satisfaction_rate),
        fmt_rate(f.participation_rate),
        str(f.poor),
        str(f.timed_out),
    ]


# Below this many columns a table of 13 figures is shown as two tables (waits and service
# times, then ratings), each with its name columns, so that no figure is cut at 80 columns.
WIDE = 150
Row = tuple[Sequence[str], Sequence[str], str | None]  # name cells, figure cells, style


def _table(title: str, headers: Sequence[str], labels: int) -> Table:
    """A table whose first `labels` columns are names (left) and the rest numbers (right)."""
    table = Table(title=title, title_justify="left", header_style="bold", collapse_padding=True)
    for i, header in enumerate(headers):
        if i < labels:  # ranks and names whole; a list of members ("1, 3") may fold
            table.add_column(header, justify="left", no_wrap=i < 2, overflow="fold")
        else:  # a header may fold; a figure (at most "100.0%", "125:07") never does
            table.add_column(header, justify="right", overflow="fold", min_width=6)
    return table


def _tables(
    title: str,
    names: Sequence[str],
    figures: Sequence[str],
    rows: Sequence[Row],
    width: int | None,
) -> list[Table]:
    """One table, or two (the figures split in halves) below `WIDE` columns."""
    half = (len(figures) + 1) // 2
    parts = [(0, len(figures))] if width is None or width >= WIDE else [(0, half), (half, None)]
    out: list[Table] = []
    for n, (lo, hi) in enumerate(parts, start=1):
        suffix = "" if len(parts) == 1 else f" ({n}/{len(parts)})"
        table = _table(title + suffix, (*names, *figures[lo:hi]), len(names))
        for label_cells, figure_cells, style in rows:
            table.add_row(*label_cells, *figure_cells[lo:hi], style=style)
        out.append(table)
    return out


def counters_table(
    counters: Sequence[Figures], model: Sequence[str] = (), width: int | None = None
) -> list[Table]:
    """Counters in ranked order; the model counter(s) marked with a star."""
    rows: list[Row] = []
    for rank, f in enumerate(counters, start=1):
        name = f"{MODEL_MARK} {f.key}" if f.key in model else f.key
        style = "bold green" if f.key in model else None
        rows.append(((str(rank), name, ", ".join(f.members)), _group_cells(f), style))
    names = ("#\n", "窗口\ncounter", "人员\nstaff")
    return _tables("窗口排名 Counters ranked", names, _GROUP_HEADERS, rows, width)


def staff_table(staff: Sequence[Figures], width: int | None = None) -> list[Table]:
    """Staff members in ranked order, with the counters they served at."""
    rows: list[Row] = [
        ((str(rank), f.key, ", ".join(f.members)), _group_cells(f), None)
        for rank, f in enumerate(staff, start=1)
    ]
    names = ("#\n", "人员\nstaff", "窗口\ncounters")
    return _tables("人员 Staff", names, _GROUP_HEADERS, rows, width)


def services_table(services: Sequence[Figures], width: int | None = None) -> list[Table]:
    """Figures per service type, with the tickets issued."""
    rows: list[Row] = [((f.key,), (fmt_count(f.issued), *_group_cells(f)), None) for f in services]
    figures = ("取号\nissued", *_GROUP_HEADERS)
    return _tables("业务类型 Services", ("业务\nservice",), figures, rows, width)


def summary_table(title: str, hall: Figures, pay: PaymentMix, fb: FeedbackCounts) -> Table:
    """The hall's headline figures as a two-column table."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = (
        ("取号 tickets issued", fmt_count(hall.issued)),
        ("办结 completed", str(hall.completed)),
        (
            "弃号 abandoned (过号 no-show / 离开 left)",
            f"{hall.abandoned} ({hall.no_show} / {hall.left})",
        ),
        (
            "等候 wait median / p90",
            f"{fmt_duration(hall.wait_median_s)} / {fmt_duration(hall.wait_p90_s)}",
        ),
        (
            "办理 service median / p90",
            f"{fmt_duration(hall.service_median_s)} / {fmt_duration(hall.service_p90_s)}",
        ),
        ("时限内办结 within service norm", fmt_rate(hall.within_norm_rate)),
        (
            "评价 ratings (参评率 participation)",
            f"{hall.rated} ({fmt_rate(hall.participation_rate)})",
        ),
        ("平均分 average level", fmt_level(hall.avg_level)),
        ("满意率 satisfaction rate", fmt_rate(hall.satisfaction_rate)),
        ("差评 poor (levels 1-2)", str(hall.poor)),
        ("超时未评 timed-out ratings", str(hall.timed_out)),
        (
            "缴费 payments (非柜台 without a counter)",
            f"{pay.total} ({fmt_rate(pay.non_counter_share)})",
        ),
        (
            "投诉 / 建议 / 表扬 complaints / suggestions / praise",
            f"{fb.complaints} / {fb.suggestions} / {fb.praise}",
        ),
        ("未结投诉 complaints open", str(fb.complaints_open)),
    )
    for label, value in rows:
        table.add_row(label, value)
    return table


def payments_table(pay: PaymentMix, section: KpiSection) -> Table:
    """The payment channel mix."""
    table = _table(
        "缴费渠道 Payment channels",
        ("渠道\nchannel", "代码\ncode", "笔数\npayments", "占比\nshare"),
        2,
    )
    for bucket, count in pay.counts.items():
        share = count / pay.total if pay.total else None
        table.add_row(
            section.channel_names.get(bucket, bucket), bucket, str(count), fmt_rate(share)
        )
    table.add_row(
        "非柜台合计 without a counter",
        "",
        str(pay.non_counter),
        fmt_rate(pay.non_counter_share),
        style="bold",
    )
    return table


def days_table(report: MonthReport, width: int | None = None) -> list[Table]:
    """One row per day of the month."""
    figures = (
        "取号\nissued",
        "办结\ndone",
        "弃号\nabandoned",
        "等候中位\nwait med",
        "办理中位\nserve med",
        "时限内\nin norm",
        "评价\nrated",
        "满意率\nsatisfied",
        "非柜台缴费\nno counter",
        "投诉\ncomplaints",
        "未结\nopen",
    )
    rows: list[Row] = []
    for row in report.days:
        h = row.hall
        cells = (
            fmt_count(h.issued),
            str(h.completed),
            str(h.abandoned),
            fmt_duration(h.wait_median_s),
            fmt_duration(h.service_median_s),
            fmt_rate(h.within_norm_rate),
            str(h.rated),
            fmt_rate(h.satisfaction_rate),
            fmt_rate(row.payments.non_counter_share),
            str(row.feedback.complaints),
            str(row.feedback.complaints_open),
        )
        rows.append(((row.day.isoformat(), "一二三四五六日"[row.day.weekday()]), cells, None))
    return _tables("每日 Days", ("日期\nday", "星期\n"), figures, rows, width)


def model_window_line(month: str, window: ModelWindow | None, section: KpiSection) -> Text:
    """One line naming the model counter of the month, or why there is none."""
    if window is None:
        return Text(
            f"{month} 标兵窗口 model counter: none (no counter had {section.min_ratings} ratings)",
            style="yellow",
        )
    tie = " (并列 tie)" if len(window.counters) > 1 else ""
    staff = f", 人员 staff {', '.join(window.staff)}" if window.staff else ""
    return Text(
        f"{MODEL_MARK} {month} 标兵窗口 model counter: {', '.join(window.counters)}{tie}{staff} — "
        f"满意率 {fmt_rate(window.satisfaction_rate)}, 均分 {window.avg_level:.2f}, "
        f"评价 {window.rated}, 办结 {window.completed}",
        style="bold green",
    )


def day_view(report: DayReport, section: KpiSection, width: int | None = None) -> RenderableType:
    """Every table of a day report (the wide ones split below `WIDE` columns)."""
    title = f"服务评价 Service KPIs — {report.day.isoformat()} ({report.timezone})"
    return Group(
        summary_table(title, report.hall, report.payments, report.feedback),
        *counters_table(report.counters, width=width),
        *staff_table(report.staff, width),
        *services_table(report.services, width),
        payments_table(report.payments, section),
    )


def month_view(
    report: MonthReport,
    window: ModelWindow | None,
    section: KpiSection,
    width: int | None = None,
) -> RenderableType:
    """Every table of a month report, the model counter marked."""
    title = f"服务评价 Service KPIs — {report.month} ({report.timezone})"
    model = window.counters if window is not None else ()
    return Group(
        model_window_line(report.month, window, section),
        summary_table(title, report.hall, report.payments, report.feedback),
        *counters_table(report.counters, model, width),
        *staff_table(report.staff, width),
        *services_table(report.services, width),
        payments_table(report.payments, section),
        *days_table(report, width),
    )
