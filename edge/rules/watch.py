"""Hot reload: watch the rule files and call back when one changes (a stat of each, once a
second).

watchfiles did this with an inotify thread, and importing it (with anyio and
multiprocessing) cost the hub 5 MB of its memory; a handful of rule files stat'ed once a
second costs nothing measurable, and a reload a second later is still at once for a
person editing a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

_SUFFIXES = (".yaml", ".yml")

# What a file looked like: inode (a save by rename is a new file), size, modification time.
_Look = tuple[int, int, int]


class RuleFilesWatcher:
    """Watches rule files and folders; `run` calls `on_change` once per batch of changes.

    A folder's *.yaml and *.yml files are looked at each time, so files added to it (or
    saved by writing a new file and renaming it over the old one) are seen too. Paths that
    do not exist (yet) are skipped; the default pack ships inside the package and is not
    watched.
    """

    def __init__(
        self, paths: Sequence[Path], debounce_ms: int = 300, interval_s: float = 1.0
    ) -> None:
        self.files = {p.resolve() for p in paths if p.is_file()}
        self.folders = {p.resolve() for p in paths if p.is_dir()}
        self.debounce_ms = debounce_ms
        self.interval_s = interval_s
        self._stop = asyncio.Event()

    def _look(self) -> dict[Path, _Look]:
        seen: dict[Path, _Look] = {}
        candidates = set(self.files)
        for folder in self.folders:
            with contextlib.suppress(OSError):
                candidates.update(p for p in folder.iterdir() if p.suffix in _SUFFIXES)
        for path in candidates:
            try:
                st = os.stat(path)
            except OSError:
                continue  # gone: its absence is the change
            seen[path] = (st.st_ino, st.st_size, st.st_mtime_ns)
        return seen

    def stop(self) -> None:
        """Make `run` return."""
        self._stop.set()

    async def _pause(self, seconds: float) -> bool:
        """Sleep; True if stopped meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return self._stop.is_set()

    async def run(self, on_change: Callable[[], None]) -> None:
        """Call `on_change` after each batch of changes to a rule file, until stopped."""
        if not self.files and not self.folders:
            await self._stop.wait()
            return
        last = self._look()
        while not await self._pause(self.interval_s):
            now = self._look()
            if now == last:
                continue
            # Changed: wait until it holds still (an editor writing in several steps).
            while not await self._pause(self.debounce_ms / 1000):
                settled = self._look()
                if settled == now:
                    break
                now = settled
            if self._stop.is_set():
                return
            last = now
            on_change()
