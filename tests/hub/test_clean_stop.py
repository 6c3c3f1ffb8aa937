"""A clean stop (SIGTERM) of a real hub process logs no ERROR and no traceback."""

from __future__ import annotations

import time
from pathlib import Path

from edge.sim.hub_process import HubProcess
from edge.sim.mosquitto import Mosquitto
from tests.support.hall import write_config
from tests.support.load import Load, rating


def test_sigterm_soon_after_start_logs_no_error(
    tmp_path: Path, hall_broker: Mosquitto, cloud_broker: Mosquitto
) -> None:
    # KPIs on (the default) with a queue: the services whose ticks run on their own threads.
    extra = "\n".join(
        [
            "[queue]",
            "[[queue.services]]",
            'code = "payment"',
            'letter = "A"',
            'name_zh = "缴费"',
            "[[queue.counters]]",
            "number = 1",
            'services = ["payment"]',
        ]
    )
    cfg = write_config(tmp_path / "hall.toml", hall_broker.url, cloud_broker.url, extra=extra)
    hub = HubProcess(cfg)
    hub.start()
    # Devices keep publishing through the stop: the shutdown then waits its full drain
    # time, over several ticks of the 1 s ticker, which is where the KPI tick used to
    # reach its already-closed executor.
    load = Load(hall_broker.url, rating(), 200_000, rate=None).start()
    try:
        time.sleep(1.0)
        assert hub.stop() == 0
    finally:
        load.close()
    text = hub.log_text()
    assert "hub stopped" in text
    assert " ERROR " not in text and "CRITICAL" not in text, text
    assert "Traceback" not in text, text
