"""`GET /metrics`: the hub's figures in the Prometheus text format, by prometheus-client.

The counters the hub keeps anyway (edge/hub/figures.py reads them) are turned into metric
families at scrape time, by a custom collector: the pipeline pays nothing per event for
being scraped. Only the group-commit histogram is observed as it happens, once a batch.
Label values are bounded: reasons and reply codes are fixed sets, devices and rules come
from the config.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Seconds from the batch's first write to its COMMIT returning (fsync included): the
# disk's fsync is 0.15-0.25 ms here, a batch of hundreds of rows a few ms.
COMMIT_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(slots=True)
class HubFigures:
    """One reading of the hub's counters and states, taken at scrape time."""

    journaled: int = 0
    delivered: int = 0
    resent: int = 0
    duplicates: int = 0
    backlog: int = 0
    backlog_bytes: int = 0
    dead_letters: Mapping[str, int] = field(default_factory=dict)  # by reason
    cloud_connected: bool = False
    hall_connected: bool = False
    devices: list[tuple[str, str, bool | None]] = field(default_factory=list)  # id, kind, online
    rule_firings: Mapping[str, int] = field(default_factory=dict)
    rule_errors: int = 0
    commands: Mapping[tuple[str, int], int] = field(default_factory=dict)  # (origin, code)
    queue_waiting: Mapping[str, int] = field(default_factory=dict)
    alerts_raised: int = 0
    journal_bytes: int = 0
    http_clients: int = 0
    uptime_s: float = 0.0


# The metrics that are one number: (counter or gauge, name, help, HubFigures field).
_SCALARS = (
    ("counter", "events_journaled", "Events written to the journal.", "journaled"),
    ("counter", "events_delivered", "Events the cloud acknowledged (PUBACK).", "delivered"),
    ("counter", "events_resent", "Events sent to the cloud again after a cut.", "resent"),
    ("counter", "events_duplicate", "Events dropped as repeats of journaled ones.", "duplicates"),
    ("gauge", "outbox_backlog", "Events journaled, not yet acknowledged by the cloud.", "backlog"),
    ("gauge", "outbox_backlog_bytes", "Envelope bytes waiting in the outbox.", "backlog_bytes"),
    ("gauge", "journal_bytes", "Size of the journal's files (database and WAL).", "journal_bytes"),
    ("gauge", "cloud_connected", "1 while the cloud link is up.", "cloud_connected"),
    ("gauge", "hall_broker_connected", "1 while the hall broker link is up.", "hall_connected"),
    ("counter", "rule_errors", "Events on which the rules failed.", "rule_errors"),
    (
        "counter",
        "alerts_raised",
        "Alerts the hub itself raised (outbox, disk); the rules' are in rule_firings.",
        "alerts_raised",
    ),
    ("gauge", "http_live_clients", "Open live-update (SSE) connections.", "http_clients"),
    ("gauge", "uptime_seconds", "Seconds since the hub started.", "uptime_s"),
)


class _HubCollector(Collector):
    def __init__(self, read: Callable[[], HubFigures]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        f = self.read()
        for kind, name, doc, attr in _SCALARS:
            family = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield family(f"hall_edge_{name}", doc, value=float(getattr(f, attr)))
        yield _labelled(
            CounterMetricFamily(
                "hall_edge_dead_letters", "Dead letters, by reason.", labels=["reason"]
            ),
            {(r,): n for r, n in f.dead_letters.items()},
        )
        online: dict[tuple[str, ...], float] = {
            (d, k): int(s) for d, k, s in f.devices if s is not None
        }
        yield _labelled(
            GaugeMetricFamily(
                "hall_edge_device_online",
                "1 online, 0 offline, per configured device (absent: never heard of).",
                labels=["device", "kind"],
            ),
            online,
        )
        yield _labelled(
            CounterMetricFamily(
                "hall_edge_rule_firings", "Rule firings, by rule.", labels=["rule"]
            ),
            {(r,): n for r, n in f.rule_firings.items()},
        )
        yield _labelled(
            CounterMetricFamily(
                "hall_edge_commands",
                "Command replies, by origin (cloud or internal) and reply code.",
                labels=["origin", "code"],
            ),
            {(o, str(c)): n for (o, c), n in f.commands.items()},
        )
        yield _labelled(
            GaugeMetricFamily(
                "hall_edge_queue_waiting", "Tickets waiting, by service.", labels=["service"]
            ),
            {(s,): n for s, n in f.queue_waiting.items()},
        )


def _labelled(
    family: CounterMetricFamily | GaugeMetricFamily, values: Mapping[tuple[str, ...], float]
) -> Metric:
    for labels, value in sorted(values.items()):
        family.add_metric(list(labels), value)
    return family


class Metrics:
    """The hub's registry: its collector, the commit histogram, the process collector."""

    def __init__(self, read: Callable[[], HubFigures]) -> None:
        # No `_created` series: a scrape's every counter would carry a second one that only
        # says when the hub started, which `uptime_seconds` says once.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_HubCollector(read))
        self.commit_seconds = Histogram(
            "hall_edge_journal_commit_seconds",
            "Group commit time of one journal batch (write to COMMIT returned).",
            buckets=COMMIT_BUCKETS,
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
