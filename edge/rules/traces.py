"""Traces: the last firings of each rule, so an installer can see why a rule did (not) act.

An entry is plain JSON data (it is kept in the engine's state blob):
`{"at", "event": {seq, id, type, device_id}, "result", "values", "actions", "errors"}` where
`result` is fired / pending / cancelled / suppressed:dedupe / suppressed:throttle / error /
missed / action_failed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from edge.model import Command

_MAX_DEPTH = 6
_MAX_ITEMS = 50
_MAX_TEXT = 500


def plain(value: Any, depth: int = 0) -> Any:
    """A JSON-safe, size-bounded copy of `value` (datetimes as ISO text, others as text)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= _MAX_TEXT else value[:_MAX_TEXT] + "…"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if depth >= _MAX_DEPTH:
        return "…"
    if type(value) is dict or isinstance(value, Mapping):
        items = list(value.items())[:_MAX_ITEMS]
        return {str(k): plain(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v, depth + 1) for v in list(value)[:_MAX_ITEMS]]
    return plain(str(value), depth)


class TraceBook:
    """Per rule id, the last `depth` trace entries (oldest first)."""

    def __init__(self, depth: int = 20) -> None:
        self.depth = max(1, depth)
        self._by_rule: dict[str, deque[dict[str, Any]]] = {}

    def add(self, rule_id: str, entry: dict[str, Any]) -> None:
        """Append an entry; the oldest one leaves when the rule has `depth` of them."""
        book = self._by_rule.get(rule_id)
        if book is None:
            book = self._by_rule[rule_id] = deque(maxlen=self.depth)
        book.append(entry)

    def get(self, rule_id: str) -> list[dict[str, Any]]:
        """The entries of a rule, oldest first (copies: callers may keep them)."""
        return [dict(e) for e in self._by_rule.get(rule_id, ())]

    def ids(self) -> list[str]:
        """Rule (and `window:`) ids that have entries."""
        return sorted(k for k, v in self._by_rule.items() if v)

    def keep_only(self, ids: Iterable[str]) -> None:
        """Forget the traces of rules that are gone (after a reload)."""
        keep = set(ids)
        for key in [k for k in self._by_rule if k not in keep]:
            del self._by_rule[key]

    def command_failed(self, rule_id: str, cmd: Command, error: str, at: float) -> None:
        """Attach a failure reported by the hub to the firing that sent `cmd`."""
        text = f"command {cmd.name} to {cmd.device_id}: {error}"
        for entry in reversed(self._by_rule.get(rule_id, ())):
            for action in entry.get("actions", ()):
                if action.get("action") != "command" or action.get("name") != cmd.name:
                    continue
                targets = action.get("targets") or [action.get("device")]
                if cmd.device_id in targets:
                    action.setdefault("failed", []).append(
                        {"device": cmd.device_id, "error": error}
                    )
                    entry.setdefault("errors", []).append(text)
                    return
        self.add(
            rule_id,
            {
                "at": at,
                "result": "action_failed",
                "actions": [],
                "errors": [text],
                "command": {"device": cmd.device_id, "name": cmd.name, "cmd_id": cmd.cmd_id},
            },
        )

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Plain data for the state blob."""
        return {k: list(v) for k, v in self._by_rule.items() if v}

    def load(self, data: Mapping[str, Any]) -> None:
        """Restore what `dump` returned (entries beyond `depth` are dropped, oldest first)."""
        self._by_rule = {
            str(k): deque((dict(e) for e in v if isinstance(e, dict)), maxlen=self.depth)
            for k, v in data.items()
            if isinstance(v, list)
        }
