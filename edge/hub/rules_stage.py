"""The rules' place in the pipeline: between the journal's numbering and its transaction.

A stamped batch (hallseq numbers and envelopes, nothing written yet) goes to `decide`,
which says for each event whether it goes to the cloud and what the rules derive from it
(alerts, commands). The journal then writes the events, their outbox rows and the rule
state in one commit, so a `drop` never reaches the outbox and the rule state on disk never
runs ahead of the events it has seen. The outputs are carried out after that commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from edge.model import Command, JournaledEvent, Output
from edge.rules import RuleEngine

log = logging.getLogger(__name__)

STATE_SAVE_INTERVAL_S = 1.0
# A large state (full windows) is saved less often: on average at most this many bytes a
# second go to the journal for it. Whatever a later save would have held is rebuilt at
# start-up from the events journaled after the last one.
STATE_SAVE_BYTES_PER_S = 64 * 1024


@dataclass(slots=True)
class Verdict:
    """Per event of a batch, in order: does it go to the cloud (None: all do)."""

    forward: list[bool] | None = None
    outputs: list[Output] = field(default_factory=list)


class Decider(Protocol):
    errors: int

    def decide(self, events: Sequence[JournaledEvent]) -> Verdict: ...

    def state_to_save(self, final: bool = False) -> bytes | None: ...


class ForwardAll:
    """No rules configured: every event goes to the cloud and nothing is derived."""

    errors = 0

    def decide(self, events: Sequence[JournaledEvent]) -> Verdict:
        return Verdict()

    def state_to_save(self, final: bool = False) -> bytes | None:
        return None


class RulesStage:
    def __init__(self, engine: RuleEngine) -> None:
        self.engine = engine
        self.errors = 0
        self._next_save = time.monotonic() + STATE_SAVE_INTERVAL_S

    def decide(self, events: Sequence[JournaledEvent]) -> Verdict:
        forward: list[bool] = []
        verdict = Verdict(forward)
        for ev in events:
            try:
                decision = self.engine.evaluate(ev)
            except Exception as exc:
                # The event is sound and will be journaled; only the rules failed on it. It
                # goes to the cloud as if no rule had named it.
                self.errors += 1
                log.error(
                    "rules failed on event %d (%s): %s: %s",
                    ev.seq,
                    ev.type,
                    type(exc).__name__,
                    exc,
                )
                forward.append(True)
                continue
            forward.append(decision.forward)
            verdict.outputs.extend(decision.outputs)
        return verdict

    def state_to_save(self, final: bool = False) -> bytes | None:
        """The engine's state when it changed, at most once a second (a 70 KB blob per
        batch would dominate the journal's writes) and, when it is large, at most
        `STATE_SAVE_BYTES_PER_S` on average (a full hour's window is several hundred KB);
        at shutdown (`final`) whenever it changed. Events journaled after the saved state
        are fed again at start-up."""
        if not self.engine.dirty:
            return None
        now = time.monotonic()
        if not final and now < self._next_save:
            return None
        blob = self.engine.dump_state()
        self._next_save = now + max(STATE_SAVE_INTERVAL_S, len(blob) / STATE_SAVE_BYTES_PER_S)
        return blob

    def action_failed(self, cmd: Command, error: str) -> None:
        """A command a rule sent failed: the rule's own bookkeeping (retries, traces)."""
        if cmd.origin.startswith("rule:"):
            self.engine.action_failed(cmd, error)
