"""The hub process as `hall-edge run` builds it, with a journal file that cannot grow.

`python -m tests.support.hubmain -c hall.toml --max-page-count N`

`build_hub(cfg, max_page_count=N)` caps the journal at N SQLite pages (a small disk
without root tricks: SQLITE_FULL), but no config key reaches it yet, so `hall-edge run`
cannot be told; this module is `hall-edge run` plus that one argument. Everything else is
the real hub: the same config loader, build_hub, links, signals and log lines.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from edge.config import load
from edge.hub.build import build_hub
from tests.support.hall import ROOT, HubProcess


async def _main(config: Path, max_page_count: int | None) -> None:
    cfg = load(config)
    hub = await build_hub(cfg, max_page_count=max_page_count)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, hub.stop)
    await hub.run()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-c", "--config", type=Path, required=True)
    ap.add_argument("--max-page-count", type=int, default=None)
    args = ap.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    asyncio.run(_main(args.config, args.max_page_count))


class SmallDiskHub(HubProcess):
    """A HubProcess whose journal file is capped at `max_page_count` pages."""

    def __init__(self, config: Path, max_page_count: int) -> None:
        super().__init__(config)
        self.max_page_count = max_page_count

    def start(self, wait: bool = True, timeout: float = 20.0) -> None:
        self.runs += 1
        with self.log.open("ab") as out:
            out.write(f"--- run {self.runs}\n".encode())
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.support.hubmain",
                    "-c",
                    str(self.config),
                    "--max-page-count",
                    str(self.max_page_count),
                ],
                cwd=self.config.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        if wait:
            self.wait_connected(timeout)


if __name__ == "__main__":
    main()
