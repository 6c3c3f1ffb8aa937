"""`hall-edge run`, the command systemd starts, called without typer's option handling.

typer converts a command's options through pydantic when it runs one: 7.2 MB of the hub's
resident memory for two options (issue #18 aims at 50 MB), and typer and rich themselves
are 4.7 MB more (edge/cli/__init__.py imports neither for this). The plain forms of
`run`'s options are read here; anything else (`--help`, a mistake, an option added to `run` but
not here) returns None and goes through typer as before, so its messages do not change.
tests/cli/test_run_direct.py keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from edge.cli.hub_run import LogLevel, run_hub

OPTIONS = {"-c": "config", "--config": "config", "--log-level": "log_level"}


def direct_run(argv: Sequence[str]) -> Callable[[], int] | None:
    """The hub's run for `argv` when it is `run` with plain options only; else None."""
    if not argv or argv[0] != "run":
        return None
    values: dict[str, str] = {}
    rest = list(argv[1:])
    while rest:
        name, eq, value = rest.pop(0).partition("=")
        if name not in OPTIONS or OPTIONS[name] in values or (eq and name == "-c"):
            return None
        if not eq:
            if not rest or rest[0].startswith("-"):
                return None
            value = rest.pop(0)
        values[OPTIONS[name]] = value
    if values.get("log_level", "info") not in LogLevel.__members__:
        return None
    config = Path(values.get("config", "hall.toml"))
    level = LogLevel(values.get("log_level", "info"))
    return lambda: run_hub(config, level)
