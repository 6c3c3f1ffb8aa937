"""Hot reload: watch the rule files and call back when one changes (watchfiles `awatch`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from watchfiles import Change, awatch

_SUFFIXES = (".yaml", ".yml")


class RuleFilesWatcher:
    """Watches rule files and folders; `run` calls `on_change` once per batch of changes.

    A file is watched through its folder, so that editors which save by writing a new
    file and renaming it over the old one are seen too. Paths that do not exist (yet)
    are skipped; the default pack ships inside the package and is not watched.
    """

    def __init__(self, paths: Sequence[Path], debounce_ms: int = 300) -> None:
        self.files = {p.resolve() for p in paths if p.is_file()}
        self.folders = {p.resolve() for p in paths if p.is_dir()}
        self.debounce_ms = debounce_ms
        self._stop = asyncio.Event()

    def _watched(self) -> list[Path]:
        return sorted(self.folders | {f.parent for f in self.files})

    def _relevant(self, change: Change, path: str) -> bool:
        del change  # added, modified and deleted all count
        p = Path(path)
        if p in self.files:
            return True
        return p.suffix in _SUFFIXES and p.parent in self.folders

    def stop(self) -> None:
        """Make `run` return."""
        self._stop.set()

    async def run(self, on_change: Callable[[], None]) -> None:
        """Call `on_change` after each batch of changes to a rule file, until stopped."""
        targets = self._watched()
        if not targets:
            await self._stop.wait()
            return
        async for changes in awatch(
            *targets,
            watch_filter=self._relevant,
            debounce=self.debounce_ms,
            stop_event=self._stop,
            recursive=False,
        ):
            if changes:
                on_change()
