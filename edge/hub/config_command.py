"""`config.get`: the hub's running config, passwords masked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec

from edge.config import HubConfig
from edge.errors import CommandError
from edge.model import BAD_ARGS, Command


def config_get(cfg: HubConfig) -> Callable[[Command], Awaitable[Mapping[str, Any]]]:
    async def handler(cmd: Command) -> Mapping[str, Any]:
        raw = msgspec.to_builtins(cfg)
        for section in ("hall_broker", "cloud"):
            if raw[section].get("password") is not None:
                raw[section]["password"] = "***"
        key = cmd.args.get("key")
        if key is None:
            return {"config": raw}
        node: Any = raw
        for part in str(key).split("."):
            if not isinstance(node, dict) or part not in node:
                raise CommandError(BAD_ARGS, f"no config key {key!r}")
            node = node[part]
        return {"key": key, "value": node}

    return handler
