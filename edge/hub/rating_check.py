"""The queue's rating time-out against what each counter's rating pad can take.

The queue manager sends `rating.start` with `timeout_s` = `[queue] rating_timeout_s`
rounded to whole seconds (edge/queue/counter_actions.py). A pad counts it in its own
range (the RS-485 pad in one byte: 5-255 s, the Modbus pad 5-600 s, firmware-configs/):
out of it, every `rating.start` would be refused with a 400 at the counter's first
finished ticket, and no customer could rate. The config check says so before the hub
runs, naming the key, the pad and its range.
"""

from __future__ import annotations

from collections.abc import Mapping

from edge.config import HubConfig
from edge.drivers.profile_schema import Profile
from edge.errors import ConfigError
from edge.queue.catalogue import RATING_START


def check_rating_timeout(cfg: HubConfig, profiles: Mapping[str, Profile]) -> None:
    """`profiles`: device id -> its profile. Raises ConfigError on the first pad that
    cannot take the time-out."""
    q = cfg.queue
    if not q.enabled:
        return
    sent = max(1, round(q.rating_timeout_s))
    for i, counter in enumerate(q.counters):
        profile = profiles.get(counter.rating_pad or "")
        command = profile.commands.get(RATING_START) if profile is not None else None
        spec = command.args.get("timeout_s") if command is not None else None
        if spec is None or profile is None:
            continue
        low = spec.min if spec.min is not None else float("-inf")
        high = spec.max if spec.max is not None else float("inf")
        if not low <= sent <= high:
            raise ConfigError(
                cfg.source,
                "queue.rating_timeout_s",
                f"{low:g} to {high:g} s, what rating pad {counter.rating_pad!r} of"
                f" queue.counters[{i}] (profile {profile.id}) takes",
                q.rating_timeout_s,
            )
