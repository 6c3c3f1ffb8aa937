"""`hall-edge run`, the hub in the foreground, without typer or rich in the process.

The hub is a long-running service whose resident memory issue #18 bounds (50 MB): typer
and rich alone are 4.7 MB of it (measured with /proc/self/status around their imports),
for two options and one error line. This module is what both ways of calling `run`
share: the direct one (edge/cli/run_direct.py) and typer's command (edge/cli/core.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from edge.errors import ConfigError, EdgeError


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


def err_line(message: str) -> None:
    """One `error:` line on stderr, red on a terminal, never folded: every command's
    (edge/cli/common.py passes it on), without rich."""
    red = sys.stderr.isatty() and not os.environ.get("NO_COLOR")
    head = "\x1b[31merror:\x1b[0m" if red else "error:"
    print(f"{head} {message}", file=sys.stderr, flush=True)


def run_hub(config: Path, level: LogLevel = LogLevel.info) -> int:
    """Run the hub until SIGTERM or SIGINT; the exit code (2: a config mistake, which the
    systemd unit does not restart, since restarting cannot fix the file)."""
    from edge.config import load  # noqa: PLC0415 - after the CLI's own checks
    from edge.hub.build import build_hub, check_config  # noqa: PLC0415 - heavy imports
    from edge.hub.memory import limit_malloc_arenas, settle_after_start  # noqa: PLC0415

    try:
        cfg = load(config)
        # The whole config first, as `config check` does it: a mistake is reported
        # before the journal (or anything else) is created.
        check_config(cfg)
    except EdgeError as exc:
        err_line(str(exc))
        return 2
    logging.basicConfig(
        level=level.value.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,  # python-escpos calls basicConfig() when imported
    )

    async def main() -> None:
        limit_malloc_arenas()  # before the hub starts its threads
        hub = await build_hub(cfg)
        settle_after_start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, hub.stop)
        await hub.run()

    try:
        asyncio.run(main())
    except ConfigError as exc:
        err_line(str(exc))
        return 2
    except EdgeError as exc:
        err_line(str(exc))
        return 1
    return 0


def one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def guarded(call: Callable[[], object], debug: bool) -> int:
    """Run a command; what goes wrong is one `error:` line and its exit code (see
    `edge.cli.run_cli`). The typer commands add typer's and click's own errors."""
    try:
        result = call()
    except BrokenPipeError:
        return 1  # `hall-edge ... | head`: the reader left; nothing to say
    except ConfigError as exc:
        if debug:
            raise
        err_line(str(exc))
        return 2
    except (EdgeError, OSError, ValueError) as exc:
        if debug:
            raise
        err_line(one_line(exc))
        return 1
    except Exception as exc:
        if debug:
            raise
        err_line(
            f"internal error in hall-edge ({type(exc).__name__}: {exc}); "
            "run it again with --debug for the traceback"
        )
        return 70
    return result if isinstance(result, int) else 0
