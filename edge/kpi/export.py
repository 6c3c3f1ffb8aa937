"""Reports for export: one CSV table, or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from edge.kpi.figures import FeedbackCounts, Figures, PaymentMix
from edge.kpi.model_window import ModelWindow
from edge.kpi.reports import DayReport, DayRow, MonthReport

# Figure fields exported per row, in CSV column order.
FIGURE_COLUMNS: tuple[str, ...] = (
    "issued",
    "completed",
    "abandoned",
    "no_show",
    "left",
    "wait_median_s",
    "wait_p90_s",
    "service_median_s",
    "service_p90_s",
    "within_norm",
    "within_norm_rate",
    "rated",
    "level_1",
    "level_2",
    "level_3",
    "level_4",
    "level_5",
    "avg_level",
    "satisfied",
    "satisfaction_rate",
    "participation_rate",
    "poor",
    "timed_out",
    "active_days",
)
FEEDBACK_COLUMNS: tuple[str, ...] = (
    "complaints",
    "suggestions",
    "praise",
    "feedback_other",
    "complaints_open",
)


def _figure_values(f: Figures) -> list[Any]:
    values: list[Any] = [
        f.issued,
        f.completed,
        f.abandoned,
        f.no_show,
        f.left,
        f.wait_median_s,
        f.wait_p90_s,
        f.service_median_s,
        f.service_p90_s,
        f.within_norm,
        f.within_norm_rate,
        f.rated,
        *f.levels,
        f.avg_level,
        f.satisfied,
        f.satisfaction_rate,
        f.participation_rate,
        f.poor,
        f.timed_out,
        f.active_days,
    ]
    return values


def _mix_values(pay: PaymentMix, buckets: Sequence[str]) -> list[Any]:
    return [
        *(pay.counts.get(b, 0) for b in buckets),
        pay.total,
        pay.non_counter,
        pay.non_counter_share,
        pay.kiosk_failed,
    ]


def _feedback_values(fb: FeedbackCounts) -> list[Any]:
    return [fb.complaints, fb.suggestions, fb.praise, fb.other, fb.complaints_open]


def to_csv(report: DayReport | MonthReport, window: ModelWindow | None = None) -> str:
    """One CSV table: a row per hall/day/counter/staff/service; empty cells are no value.

    Payment and feedback columns are filled on hall and day rows only.
    """
    period = report.day.isoformat() if isinstance(report, DayReport) else report.month
    buckets = _buckets(report)
    rows = [_period_row(period, "hall", "hall", report, buckets)]
    if isinstance(report, MonthReport):
        for day in report.days:
            rows.append(_period_row(day.day.isoformat(), "day", day.day.isoformat(), day, buckets))
    blank_tail = [None] * (len(buckets) + 4 + len(FEEDBACK_COLUMNS))
    model = set(window.counters) if window is not None else set()
    for scope, groups in (
        ("counter", report.counters),
        ("staff", report.staff),
        ("service", report.services),
    ):
        for f in groups:
            mark = "1" if scope == "counter" and f.key in model else ""
            rows.append(
                [period, scope, f.key, mark, " ".join(f.members), *_figure_values(f), *blank_tail]
            )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_header(buckets))
    for values in rows:
        writer.writerow("" if v is None else v for v in values)
    return out.getvalue()


def _buckets(report: DayReport | MonthReport) -> list[str]:
    """The payment buckets of the columns: the report's, then any only some day has."""
    buckets = list(report.payments.counts)
    if isinstance(report, MonthReport):
        for day_row in report.days:
            buckets.extend(b for b in day_row.payments.counts if b not in buckets)
    return buckets


def _header(buckets: list[str]) -> list[str]:
    return [
        "period",
        "scope",
        "key",
        "model",
        "members",
        *FIGURE_COLUMNS,
        *(f"payments_{b}" for b in buckets),
        "payments_total",
        "payments_non_counter",
        "non_counter_share",
        "kiosk_failed",
        *FEEDBACK_COLUMNS,
    ]


def _period_row(
    period: str, scope: str, key: str, part: DayReport | MonthReport | DayRow, buckets: list[str]
) -> list[Any]:
    """A hall or day row: its figures, payment mix and feedback."""
    return [
        period,
        scope,
        key,
        "",
        "",
        *_figure_values(part.hall),
        *_mix_values(part.payments, buckets),
        *_feedback_values(part.feedback),
    ]


def to_json(report: DayReport | MonthReport, window: ModelWindow | None = None) -> str:
    """The report as one line of JSON (UTF-8 text, Chinese kept readable): like every
    `--format json` of the CLI, one object per line."""
    data = report.to_dict()
    if isinstance(report, MonthReport):
        data["model_window"] = None if window is None else window.to_dict()
    return json.dumps(data, ensure_ascii=False)
