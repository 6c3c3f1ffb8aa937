"""The process settings of a long-running hub: malloc arenas, the garbage collector and
the GIL's switch interval.

- glibc gives every thread that allocates a malloc arena of its own (up to 8 per core),
  and each keeps the pages it once touched: the journal's commit thread and the connect
  executor's each held a few MB of the hub's RSS. Two arenas are plenty for a process
  whose Python work runs on one thread.
- After start-up the heap holds some 200,000 objects (config, profiles, rules, modules)
  that live as long as the process; every full collection walked them all again, a pause
  of several milliseconds in the middle of the event stream. `gc.freeze` moves them out of
  the collector's sight; the young generation's threshold is raised so the per-event
  garbage (envelopes, rows) is collected a few times a second, not hundreds.
- A thread that wants the GIL waits up to the switch interval (5 ms by default) for the
  loop thread to give it up: the journal's commit thread, back from its fsync, waited that
  long before the batch could be acknowledged and sent, while the loop parsed the next
  messages. At 0.5 ms hub.sh's p99 at 1,000 events/s went from 4.4-10.6 to 3.3-3.7 ms
  (docs/performance.md); the loop's own work is cut into slices a tenth as long only while
  another thread is runnable, which is seldom.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sys

log = logging.getLogger(__name__)

_M_ARENA_MAX = -8  # mallopt(3)
MALLOC_ARENAS = 2
YOUNG_THRESHOLD = 20_000
SWITCH_INTERVAL_S = 0.0005


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Before any thread starts; True if glibc took it (False elsewhere, e.g. musl)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def settle_after_start() -> None:
    """Once the hub is built: what start-up made is kept out of every later collection."""
    gc.collect()
    gc.freeze()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, gen1, gen2)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    log.debug("gc: %d objects frozen after start-up", gc.get_freeze_count())
