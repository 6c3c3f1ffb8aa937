"""What the hall's devices are told when a ticket is called or a service ends."""

from __future__ import annotations

from edge.config.queue import CounterConf, QueueSection
from edge.queue import catalogue as c
from edge.queue.outcome import Outcome


def call_text(section: QueueSection, ticket_no: str, counter: int) -> str:
    """The sentence displays show and voices speak: 请A012号到3号窗口办理业务."""
    return section.call_text.format(ticket=ticket_no, counter=counter)


def announce_call(
    out: Outcome, section: QueueSection, counter: CounterConf, ticket_no: str
) -> None:
    """Caller digits and beep, window and hall displays, voices (first call and recalls)."""
    text = call_text(section, ticket_no, counter.number)
    out.command(counter.caller, c.SHOW_DIGITS, {"text": ticket_no})
    out.command(counter.caller, c.BEEP, {})
    for display in (*counter.displays, *section.displays):
        out.command(
            display, c.SHOW_CALL, {"ticket_no": ticket_no, "counter": counter.number, "text": text}
        )
    for voice in section.voices:
        out.command(voice, c.ANNOUNCE, {"text": text, "repeat": section.voice_repeat})


def show_digits(out: Outcome, counter: CounterConf, text: str) -> None:
    """Put `text` on the counter caller's digits (when the counter has a caller)."""
    out.command(counter.caller, c.SHOW_DIGITS, {"text": text})
