"""The [kpi] section of the hub config: service norms, the model-counter rule, channels."""

from __future__ import annotations

import re
from datetime import time

import msgspec

from edge.config.hub import Section

# Service codes of the shipped ticket machine (docs/devices.md §6; norms: docs/kpi.md,
# "Figures"). Fee payment has the 5-minute norm of the
# utility's service commitments; business applications have 20 minutes.
DEFAULT_NORMS_MIN: dict[str, float] = {
    "payment": 5.0,
    "new_install": 20.0,
    "capacity_change": 20.0,
    "name_transfer": 20.0,
    "invoice": 20.0,
    "consultation": 20.0,
}

# kiosk.payment `channel` -> bucket of the payment channel mix. Cash and card paid at the
# kiosk are "self-service kiosk"; the mobile wallets have buckets of their own.
DEFAULT_KIOSK_CHANNELS: dict[str, str] = {
    "wechat": "wechat",
    "alipay": "alipay",
    "unionpay": "unionpay",
    "card": "kiosk",
    "cash": "kiosk",
}

# Buckets in display order; "counter" is the only one that needs a clerk.
DEFAULT_CHANNEL_NAMES: dict[str, str] = {
    "counter": "柜台(现金/刷卡)",
    "kiosk": "自助缴费机",
    "wechat": "微信",
    "alipay": "支付宝",
    "unionpay": "银联/云闪付",
}

COUNTER_CHANNEL = "counter"

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> time | None:
    """`"18:00"` -> time(18, 0); None when the text is not a 24-hour HH:MM time."""
    m = _HHMM.match(text)
    return time(int(m.group(1)), int(m.group(2))) if m else None


class KpiSection(Section, frozen=True):
    """Settings of the service-evaluation figures and of the monthly model counter (标兵窗口)."""

    enabled: bool = True
    # Hall closing time (hall time zone): `kpi.daily` is published once when it passes.
    closing_time: str = "18:00"
    # Time of day on the 1st of a month at which last month's `kpi.model_window` is
    # published; the hours after midnight let late events and late tickets come in.
    model_window_at: str = "06:00"
    # Service norm in minutes per service code: the share of tickets served within it.
    norms_min: dict[str, float] = msgspec.field(default_factory=lambda: dict(DEFAULT_NORMS_MIN))
    default_norm_min: float = 20.0  # for service codes missing from norms_min
    # A counter needs at least this many ratings in the month to become the model counter.
    min_ratings: int = 30
    satisfied_levels: list[int] = msgspec.field(default_factory=lambda: [4, 5])
    poor_levels: list[int] = msgspec.field(default_factory=lambda: [1, 2])
    # Completed tickets of these services count as payments made at a counter.
    counter_payment_services: list[str] = msgspec.field(default_factory=lambda: ["payment"])
    kiosk_channels: dict[str, str] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_KIOSK_CHANNELS)
    )
    channel_names: dict[str, str] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_CHANNEL_NAMES)
    )
    # kiosk.payment `result` values that mean money was taken; a payment without a
    # `result` counts too (kiosks that only report done payments).
    payment_ok_results: list[str] = msgspec.field(default_factory=lambda: ["ok", "success"])

    def __post_init__(self) -> None:
        # msgspec turns a ValueError here into a validation error that edge.config.schema
        # reports as "FILE: kpi: expected ..."; the message names the key itself.
        for key in ("closing_time", "model_window_at"):
            value = getattr(self, key)
            if parse_hhmm(value) is None:
                raise ValueError(f"{key} as a 24-hour time HH:MM like 18:00 (got {value!r})")
        for code, minutes in self.norms_min.items():
            if not minutes > 0:
                raise ValueError(f"norms_min.{code} as minutes above 0 (got {minutes!r})")
        if not self.default_norm_min > 0:
            raise ValueError(f"default_norm_min as minutes above 0 (got {self.default_norm_min!r})")
        if self.min_ratings < 1:
            raise ValueError(f"min_ratings as a count of at least 1 (got {self.min_ratings!r})")
        for key in ("satisfied_levels", "poor_levels"):
            levels = getattr(self, key)
            if not levels or any(not 1 <= lv <= 5 for lv in levels):
                raise ValueError(f"{key} as a non-empty list of levels 1 to 5 (got {levels!r})")
        if set(self.satisfied_levels) & set(self.poor_levels):
            raise ValueError("satisfied_levels and poor_levels without a level in common")
        if COUNTER_CHANNEL in self.kiosk_channels.values():
            raise ValueError(
                f"kiosk_channels mapping kiosk channels to buckets other than {COUNTER_CHANNEL!r}"
            )

    @property
    def closing(self) -> time:
        """The closing time as a time of day."""
        parsed = parse_hhmm(self.closing_time)
        assert parsed is not None  # checked in __post_init__
        return parsed

    @property
    def model_window_time(self) -> time:
        """Time of day on the 1st when last month's model counter is published."""
        parsed = parse_hhmm(self.model_window_at)
        assert parsed is not None  # checked in __post_init__
        return parsed

    def norm_s(self, service: str) -> float:
        """The service norm of a service code, in seconds."""
        return self.norms_min.get(service, self.default_norm_min) * 60.0

    def channel_order(self) -> list[str]:
        """Payment-mix buckets in display order: named ones first, then any extra buckets."""
        order = list(self.channel_names)
        if COUNTER_CHANNEL not in order:
            order.insert(0, COUNTER_CHANNEL)
        for bucket in self.kiosk_channels.values():
            if bucket not in order:
                order.append(bucket)
        return order
