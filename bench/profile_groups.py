"""Where the hub's time per event goes: a cProfile dump grouped by what the code does."""

from __future__ import annotations

import pstats
from typing import Any

# paho-mqtt functions by direction (client.py); what is not listed is "paho other".
_PAHO_RECEIVE = {
    "_packet_read", "_packet_handle", "_handle_publish", "_handle_on_message",
    "_handle_pubackcomp", "_do_on_publish", "_sock_recv", "loop_read", "_handle_pingresp",
    "_handle_connack", "_handle_suback", "_read_packet", "__init__",
}  # fmt: skip
_PAHO_SEND = {
    "publish", "_send_publish", "_packet_queue", "_packet_write", "loop_write", "_sock_send",
    "_send_puback", "_send_command_with_mid", "ack", "_call_socket_register_write",
    "_call_socket_unregister_write", "_mid_generate", "want_write", "_pack_remaining_length",
    "_pack_str16",
}  # fmt: skip


def classify(filename: str, func: str) -> str:
    """The group of one profiled function (see `group_profile`)."""
    f = filename.replace("\\", "/")
    if "select.epoll" in func:
        return "idle (waiting in epoll)"
    if (
        f.startswith("<frozen")
        or "importlib" in f
        or func.startswith("<built-in method _imp")
        or any(m in f for m in ("/yaml/", "/re/", "/dataclasses.py", "/typing.py", "/typer/"))
        or "/edge/config/" in f
        or "/edge/drivers/profile" in f
    ):
        return "start-up (imports, config, profiles)"
    if "/edge/store/" in f or "sqlite3" in func:
        return "journal / SQLite"
    if "/edge/rules/" in f or "simpleeval" in f:
        return "rules"
    if (
        "/edge/envelope.py" in f
        or "/edge/model.py" in f
        or "msgspec.json.Encoder" in func
        or "base64" in f
        or func in ("<method 'isoformat' of 'datetime.datetime' objects>",)
        or "astimezone" in func
        or "zoneinfo" in func
    ):
        return "envelope + event ids"
    if "/paho/mqtt/properties.py" in f or "/paho/mqtt/reasoncodes.py" in f:
        return "paho MQTT 5 properties"
    if "/edge/mqttio.py" in f:
        return "edge/mqttio.py (paho driven by asyncio)"
    if "/paho/mqtt/" in f:
        return _paho_group(f, func)
    if "_socket.socket" in func or "_ssl" in func:
        return "socket syscalls"
    if "msgspec.json.Decoder" in func or "/edge/drivers/convention.py" in f:
        return "payload decode"
    if "/asyncio/" in f or "selectors.py" in f or "_contextvars" in func or "_asyncio" in func:
        return "asyncio"
    if "/edge/" in f:
        return "hub logic (pipeline, uplink, links)"
    if "/logging/" in f:
        return "logging"
    return "other"


def _paho_group(f: str, func: str) -> str:
    if "/_packet.py" in f:
        return "paho receive"
    if func in _PAHO_SEND:
        return "paho publish / ack"
    if func in _PAHO_RECEIVE:
        return "paho receive"
    return "paho other"


Key = tuple[str, int, str]


def _transparent(filename: str) -> bool:
    """Builtins and stdlib helpers are charged to whoever called them (list.index called by
    paho is paho's cost; threading.Condition made for every paho message is paho's too)."""
    return filename == "~" or filename.endswith(("/threading.py", "/enum.py", "/functools.py"))


def _charge(
    raw: dict[Key, tuple[Any, ...]], key: Key, seconds: float, depth: int = 0
) -> dict[str, float]:
    filename, _line, func = key
    group = classify(filename, func)
    if group != "other" or not _transparent(filename) or depth > 4:
        return {group: seconds}
    callers: dict[Key, tuple[Any, ...]] = raw[key][4]
    total = sum(v[2] for v in callers.values())
    if not callers or total <= 0:
        return {group: seconds}
    out: dict[str, float] = {}
    for caller, v in callers.items():
        part = seconds * v[2] / total
        for g, t in _charge(raw, caller, part, depth + 1).items():
            out[g] = out.get(g, 0.0) + t
    return out


def group_profile(stats: pstats.Stats, events: int) -> dict[str, Any]:
    """Self time per group in µs per event (idle and start-up shown apart, not in the share).

    A builtin's self time goes to the group of its callers, in proportion to the time spent
    in it from each caller."""
    raw: dict[Key, tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    groups: dict[str, float] = {}
    funcs: list[tuple[str, float]] = []
    for key, (_cc, _nc, tottime, _ct, _callers) in raw.items():
        filename, line, func = key
        for g, t in _charge(raw, key, tottime).items():
            groups[g] = groups.get(g, 0.0) + t
        short = filename.rsplit("site-packages/", 1)[-1].rsplit("/main/", 1)[-1]
        funcs.append((f"{short}:{line} {func}" if filename != "~" else func, tottime))
    busy = sum(t for g, t in groups.items() if not g.startswith(("idle", "start-up")))
    ordered = sorted(groups.items(), key=lambda kv: -kv[1])
    funcs.sort(key=lambda kv: -kv[1])
    return {
        "events": events,
        "busy_us_per_event": round(busy / events * 1e6, 1),
        "groups": {
            g: {
                "us_per_event": round(t / events * 1e6, 2),
                "share": round(t / busy, 3)
                if busy and not g.startswith(("idle", "start-up"))
                else 0.0,
            }
            for g, t in ordered
        },
        "top": [(f, round(t / events * 1e6, 2)) for f, t in funcs[:25]],
    }
