"""The month's race for the model counter, read from a real journal: each counter's
month-to-date satisfaction at the end of each day, and the ranking by docs/kpi.md's rule."""

from __future__ import annotations

from pathlib import Path

from edge.config.kpi import KpiSection
from edge.kpi import KpiService
from edge.sim.month import SHANGHAI
from edge.web.month_race import MonthRace
from tests.kpi.events import at, rated_tickets
from tests.kpi.journal import HubJournal, as_new_events


def test_race_is_month_to_date_per_day_and_ranked(tmp_path: Path) -> None:
    journal = HubJournal(tmp_path / "hall.db")
    try:
        # Counter 1: all 5s on the 2nd, then two 1s on the 3rd (4 of 6 satisfied);
        # counter 2: 3 of 4 satisfied on the 3rd. No ratings on the 1st.
        events = rated_tickets("1", "S1", [5, 5, 5, 5], day="2026-11-02")
        events += rated_tickets("1", "S1", [1, 1], day="2026-11-03", prefix="x")
        events += rated_tickets("2", "S2", [5, 4, 4, 2], day="2026-11-03")
        journal.append(as_new_events(events))
        section = KpiSection(min_ratings=5)
        race = MonthRace(KpiService(section, SHANGHAI, journal.read_events), section, SHANGHAI)
        out = race.compute(at("2026-11-03 18:00"))
    finally:
        journal.close()
    assert out["month"] == "2026-11"
    assert out["race"]["days"] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    scores = {c["counter"]: c["scores"] for c in out["race"]["counters"]}
    assert scores == {"1": [None, 1.0, round(4 / 6, 4)], "2": [None, None, 0.75]}
    ranking = [(r["counter"], r["eligible"], r["rated"]) for r in out["ranking"]]
    # Only counter 1 has the 5 ratings the rule asks for; counter 2 is ranked after it.
    assert ranking == [("1", True, 6), ("2", False, 4)]
    assert out["model_counter"] == "1"
