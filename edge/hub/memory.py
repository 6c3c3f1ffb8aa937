"""The process settings of a long-running hub: malloc arenas and the garbage collector.

- glibc gives every thread that allocates a malloc arena of its own (up to 8 per core),
  and each keeps the pages it once touched: the journal's commit thread and the connect
  executor's each held a few MB of the hub's RSS. Two arenas are plenty for a process
  whose Python work runs on one thread.
- After start-up the heap holds some 200,000 objects (config, profiles, rules, modules)
  that live as long as the process; every full collection walked them all again, a pause
  of several milliseconds in the middle of the event stream. `gc.freeze` moves them out of
  the collector's sight; the young generation's threshold is raised so the per-event
  garbage (envelopes, rows) is collected a few times a second, not hundreds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger(__name__)

_M_ARENA_MAX = -8  # mallopt(3)
MALLOC_ARENAS = 2
YOUNG_THRESHOLD = 20_000


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
    log.debug("gc: %d objects frozen after start-up", gc.get_freeze_count())
