"""Background load for fault tests: devices publishing QoS 1 events while a fault is injected."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from edge.sim.device_publisher import DevicePublisher

# (topic, payload) of the i-th message.
MessageMaker = Callable[[int], tuple[str, dict[str, Any] | bytes]]


def rating(device: str = "pad-1") -> MessageMaker:
    """A rating from `device` with a device-side id and the test's counter `n`."""
    topic = f"hall/devices/{device}/events/rating/submitted"

    def make(i: int) -> tuple[str, dict[str, Any] | bytes]:
        # Levels 3-5: the default rules raise an alert for every low rating, which would
        # double the journal's work without testing anything more here.
        return topic, {"id": f"{device}-{i}", "n": i, "level": 3 + i % 3, "counter": 1 + i % 7}

    return make


class Load:
    """Publishes messages `start`..`stop-1` on its own thread (flow-controlled, like a gateway).

    `rate` in messages/s paces it (None: as fast as the hall broker acknowledges).
    """

    def __init__(
        self,
        url: str,
        make: MessageMaker,
        stop: int,
        start: int = 0,
        rate: float | None = None,
        client_id: str = "fault-load",
    ) -> None:
        self.pub = DevicePublisher(url, client_id=client_id)
        self.make = make
        self.start_i, self.stop_i = start, stop
        self.rate = rate
        self.sent = 0
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=client_id, daemon=True)

    def start(self) -> Load:
        self._thread.start()
        return self

    def _run(self) -> None:
        t0 = time.monotonic()
        try:
            for k, i in enumerate(range(self.start_i, self.stop_i)):
                if self.rate is not None:
                    delay = t0 + k / self.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                topic, payload = self.make(i)
                self.pub.publish(topic, payload)
                self.sent += 1
        except BaseException as exc:  # reported by wait(), not lost in a thread
            self.error = exc
        finally:
            self.done.set()

    def wait_sent(self, count: int, timeout: float) -> None:
        """Until `count` messages went out (or the load ended)."""
        deadline = time.monotonic() + timeout
        while self.sent < count and not self.done.is_set():
            if time.monotonic() > deadline:
                raise AssertionError(f"load stuck at {self.sent}/{count} messages")
            time.sleep(0.01)

    def wait(self, timeout: float) -> None:
        """Until every message went out; re-raises a publishing error."""
        if not self.done.wait(timeout):
            raise AssertionError(f"load not finished after {timeout:.0f} s ({self.sent} sent)")
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.pub.close()
