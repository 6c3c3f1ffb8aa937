"""Service evaluation KPIs and the monthly model counter (标兵窗口), from the journal."""

from edge.kpi.facts import KPI_EVENT_TYPES
from edge.kpi.figures import FeedbackCounts, Figures, PaymentMix
from edge.kpi.model_window import ModelWindow, Standing, choose_model_window, model_window_data
from edge.kpi.reports import DayReport, DayRow, MonthReport, day_report, month_report
from edge.kpi.service import KPI_DAILY, KPI_MODEL_WINDOW, KpiService, ReadEvents

__all__ = [
    "KPI_DAILY",
    "KPI_EVENT_TYPES",
    "KPI_MODEL_WINDOW",
    "DayReport",
    "DayRow",
    "FeedbackCounts",
    "Figures",
    "KpiService",
    "ModelWindow",
    "MonthReport",
    "PaymentMix",
    "ReadEvents",
    "Standing",
    "choose_model_window",
    "day_report",
    "model_window_data",
    "month_report",
]
