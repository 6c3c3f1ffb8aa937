"""The event and command names of the queue, as the contract (docs/queue.md) spells them."""

from __future__ import annotations

# Inputs: the queue manager decides on these.
TICKET_REQUESTED = "queue.ticket.requested"
COUNTER_ACTION = "counter.action"
RATING_SUBMITTED = "rating.submitted"

# Results: the only events whose application changes the queue state.
DAY_STARTED = "queue.day.started"
TICKET_ISSUED = "queue.ticket.issued"
TICKET_REFUSED = "queue.ticket.refused"
TICKET_CALLED = "queue.ticket.called"
TICKET_TRANSFERRED = "queue.ticket.transferred"
TICKET_COMPLETED = "queue.ticket.completed"
TICKET_ABANDONED = "queue.ticket.abandoned"
COUNTER_STATE_CHANGED = "counter.state_changed"
RATING_REQUESTED = "rating.requested"
RATING_RECEIVED = "rating.received"
RATING_TIMED_OUT = "rating.timed_out"
QUEUE_STATUS = "queue.status"

INPUT_TYPES = frozenset({TICKET_REQUESTED, COUNTER_ACTION, RATING_SUBMITTED})
RESULT_TYPES = frozenset(
    {
        DAY_STARTED,
        TICKET_ISSUED,
        TICKET_REFUSED,
        TICKET_CALLED,
        TICKET_TRANSFERRED,
        TICKET_COMPLETED,
        TICKET_ABANDONED,
        COUNTER_STATE_CHANGED,
        RATING_REQUESTED,
        RATING_RECEIVED,
        RATING_TIMED_OUT,
        QUEUE_STATUS,
    }
)

# Counter actions (counter.action `action`). open and close are the clerk's log-in and
# log-out; the others are the caller keys of the issue.
CALL_NEXT = "call_next"
RECALL = "recall"
FINISH = "finish"
PAUSE = "pause"
RESUME = "resume"
TRANSFER = "transfer"
NO_SHOW = "no_show"
OPEN = "open"
CLOSE = "close"
ACTIONS = frozenset({CALL_NEXT, RECALL, FINISH, PAUSE, RESUME, TRANSFER, NO_SHOW, OPEN, CLOSE})

# Counter states (counter.state_changed `state`).
OPEN_STATE = "open"
PAUSED_STATE = "paused"
CLOSED_STATE = "closed"

# Lanes a ticket is called from (queue.ticket.called `lane`).
PRIORITY_LANE = "priority"
NORMAL_LANE = "normal"
TRANSFER_LANE = "transfer"  # transferred to this very counter: served before the queues

NORMAL = "normal"

# Commands the queue sends to hall devices.
TICKET_PRINT = "ticket.print"
TICKET_REFUSE = "ticket.refuse"
SHOW_CALL = "display.show_call"
ANNOUNCE = "voice.announce"
SHOW_DIGITS = "caller.show_digits"
BEEP = "caller.beep"
RATING_START = "rating.start"

# Caller digits when there is no ticket to show.
NOTHING_WAITING_TEXT = "----"
PAUSED_TEXT = "PAUS"

# Hub commands (device `hub`) that command_to_event turns into input events.
ISSUE_COMMAND = "queue.issue"
CALL_NEXT_COMMAND = "queue.call_next"
RECALL_COMMAND = "queue.recall"
TRANSFER_COMMAND = "queue.transfer"
HUB_COMMANDS = frozenset({ISSUE_COMMAND, CALL_NEXT_COMMAND, RECALL_COMMAND, TRANSFER_COMMAND})
