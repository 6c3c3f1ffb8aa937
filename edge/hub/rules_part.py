"""Wiring the rules engine into the hub: inside each journal batch, on the hub's loop."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.errors import CommandError
from edge.hub.app import Hub
from edge.model import BAD_ARGS, DONE, Command, JournaledEvent, Output
from edge.rules import RuleEngine
from edge.rules.engine import reload
from edge.rules.hubconfig import engine_for, rule_paths
from edge.rules.watch import RuleFilesWatcher

log = logging.getLogger(__name__)

STATE_SAVE_INTERVAL_S = 1.0


class _RuleTicks:
    """Schedules and time-based conditions need a clock tick like any service."""

    name = "rules"

    def __init__(self, engine: RuleEngine) -> None:
        self.engine = engine

    def handle(self, event: JournaledEvent) -> Sequence[Output]:
        return ()  # rules see events inside the batch, through Hub.use_rules

    def tick(self, now: datetime) -> Sequence[Output]:
        return self.engine.tick(now)


def attach_rules(hub: Hub) -> RuleEngine:
    cfg = hub.cfg
    engine = engine_for(cfg)
    blob = hub.journal.rule_state()
    if blob:
        engine.load_state(blob)
    # The state is saved at most once a second (a 70 KB blob per batch would dominate the
    # journal's writes); events journaled after the saved state are fed again at start-up so
    # windows and counters lose nothing. Their outputs were carried out the first time.
    replayed = 0
    far = datetime.now(UTC) + timedelta(days=3650)
    for ev in hub.reader.events(datetime.fromtimestamp(0, UTC), far, after_seq=engine.last_seq):
        engine.evaluate(ev)
        replayed += 1
    if replayed:
        log.info("rules: state caught up on %d events journaled after its last save", replayed)

    def decide(ev: JournaledEvent) -> bool:
        decision = engine.evaluate(ev)
        if decision.outputs:
            hub.emit_rule_outputs(decision.outputs)
        return decision.forward

    saved_at = [time.monotonic()]

    def state() -> bytes | None:
        now = time.monotonic()
        if not engine.dirty or now - saved_at[0] < STATE_SAVE_INTERVAL_S:
            return None
        saved_at[0] = now
        return engine.dump_state()

    hub.final_rule_state = lambda: engine.dump_state() if engine.dirty else None

    hub.use_rules(decide, state, engine.action_failed)
    hub.add_service(_RuleTicks(engine))
    paths = rule_paths(cfg)

    def do_reload() -> list[Output]:
        outputs = reload(engine, paths, cfg.rules.params, cfg.rules.builtin)
        hub.carry_out(outputs)
        if outputs:
            log.error("rules: reload refused, old rules kept: %s", outputs[0].data.get("message"))  # type: ignore[union-attr]
        else:
            log.info("rules: reloaded %d rules", len(engine.ruleset.rules))
        return outputs

    async def rules_reload(cmd: Command) -> Mapping[str, Any]:
        outputs = do_reload()
        if outputs:
            raise CommandError(BAD_ARGS, str(outputs[0].data.get("message")))  # type: ignore[union-attr]
        return {"_code": DONE, "rules": len(engine.ruleset.rules)}

    async def rules_trace(cmd: Command) -> Mapping[str, Any]:
        rule = cmd.args.get("rule")
        if rule is None:
            return {"rules": engine.traced_ids()}
        if not isinstance(rule, str):
            raise CommandError(BAD_ARGS, "rule must be a rule id")
        return {"rule": rule, "traces": engine.traces(rule)}

    hub.router.register("rules.reload", rules_reload)
    hub.router.register("rules.trace", rules_trace)
    if cfg.rules.watch and paths:
        watcher = RuleFilesWatcher(paths)

        async def watch_rule_files() -> None:
            def changed() -> None:
                do_reload()

            await watcher.run(changed)

        hub.background.append(watch_rule_files)
    return engine
