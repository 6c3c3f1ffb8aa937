"""The feedback part: `feedback.close` journals a `feedback.closed`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from edge.errors import CommandError
from edge.hub.part import Core, Part
from edge.model import BAD_ARGS, Command, Event

FEEDBACK_ID_MAX = 64
FEEDBACK_NOTE_MAX = 200


def feedback_closed_event(cmd: Command) -> Event:
    """The `feedback.closed` a `feedback.close` command stands for; CommandError(400)."""
    unknown = sorted(set(cmd.args) - {"feedback_id", "note"})
    if unknown:
        raise CommandError(
            BAD_ARGS, f"feedback.close takes no argument {', '.join(unknown)} (feedback_id, note)"
        )
    fid = cmd.args.get("feedback_id")
    if not isinstance(fid, str) or not fid.strip() or len(fid) > FEEDBACK_ID_MAX:
        raise CommandError(
            BAD_ARGS, f"feedback_id must be a non-empty string of at most {FEEDBACK_ID_MAX}"
        )
    note = cmd.args.get("note", "")
    if not isinstance(note, str) or len(note) > FEEDBACK_NOTE_MAX:
        raise CommandError(BAD_ARGS, f"note must be a string of at most {FEEDBACK_NOTE_MAX}")
    data: dict[str, Any] = {"feedback_id": fid, "cmd_id": cmd.cmd_id}
    if note:
        data["note"] = note
    # As for queue.issue: an event made from a cloud command is the cloud's; a rule's, the hub's.
    return Event("feedback.closed", "cloud" if cmd.origin == "cloud" else "hub", data)


def attach_feedback(core: Core) -> Part:
    """`feedback.close` on the hub: journals a `feedback.closed`, which closes a complaint
    for the KPIs. The reply (200) comes once the event is committed."""

    async def close(cmd: Command) -> Mapping[str, Any]:
        event = feedback_closed_event(cmd)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def committed() -> None:
            if not done.done():
                done.set_result(None)

        core.pipeline.submit(event, committed)
        await done
        return {"feedback_id": event.data["feedback_id"], "closed": True}

    return Part(commands={"feedback.close": close})
