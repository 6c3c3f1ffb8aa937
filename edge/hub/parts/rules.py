"""The rules part: the engine behind the rules stage, its clock, reloads and traces."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.config import HubConfig
from edge.errors import CommandError
from edge.hub.part import Core, Part
from edge.hub.rules_stage import RulesStage
from edge.model import BAD_ARGS, DONE, Command, JournaledEvent, Output
from edge.rules import RuleEngine
from edge.rules.engine import reload
from edge.rules.hubconfig import engine_for, rule_paths
from edge.rules.watch import RuleFilesWatcher
from edge.store import JournalReader

log = logging.getLogger(__name__)


def rules_stage(cfg: HubConfig, reader: JournalReader) -> RulesStage:
    """The engine with its saved state, caught up on what was journaled after the save."""
    engine = engine_for(cfg)
    blob = reader.rule_state()
    if blob:
        engine.load_state(blob)
    # The state is saved at most once a second (edge/hub/rules_stage.py); events journaled
    # after it are fed again so windows and counters lose nothing. Their outputs were
    # carried out the first time.
    replayed = 0
    far = datetime.now(UTC) + timedelta(days=3650)
    for ev in reader.events(datetime.fromtimestamp(0, UTC), far, after_seq=engine.last_seq):
        engine.evaluate(ev)
        replayed += 1
    if replayed:
        log.info("rules: state caught up on %d events journaled after its last save", replayed)
    return RulesStage(engine)


class _RuleTicks:
    """Schedules and time-based conditions need a clock tick like any service."""

    name = "rules"

    def __init__(self, engine: RuleEngine) -> None:
        self.engine = engine

    def handle(self, event: JournaledEvent) -> Sequence[Output]:
        return ()  # rules see events in the pipeline, before the commit

    def tick(self, now: datetime) -> Sequence[Output]:
        return self.engine.tick(now)


def attach_rules(core: Core, stage: RulesStage) -> Part:
    cfg, engine = core.cfg, stage.engine
    paths = rule_paths(cfg)

    def do_reload() -> list[Output]:
        outputs = reload(engine, paths, cfg.rules.params, cfg.rules.builtin)
        core.fanout.carry_out(outputs)
        if outputs:
            log.error("rules: reload refused, old rules kept: %s", _message(outputs))
        else:
            log.info("rules: reloaded %d rules", len(engine.ruleset.rules))
        return outputs

    async def rules_reload(cmd: Command) -> Mapping[str, Any]:
        outputs = do_reload()
        if outputs:
            raise CommandError(BAD_ARGS, _message(outputs))
        return {"_code": DONE, "rules": len(engine.ruleset.rules)}

    async def rules_trace(cmd: Command) -> Mapping[str, Any]:
        rule = cmd.args.get("rule")
        if rule is None:
            return {"rules": engine.traced_ids()}
        if not isinstance(rule, str):
            raise CommandError(BAD_ARGS, "rule must be a rule id")
        return {"rule": rule, "traces": engine.traces(rule)}

    part = Part(
        services=[_RuleTicks(engine)],
        commands={"rules.reload": rules_reload, "rules.trace": rules_trace},
    )
    if cfg.rules.watch and paths:
        watcher = RuleFilesWatcher(paths)

        async def watch_rule_files() -> None:
            def changed() -> None:
                do_reload()

            await watcher.run(changed)

        part.tasks.append(watch_rule_files)
    return part


def _message(outputs: Sequence[Output]) -> str:
    data = getattr(outputs[0], "data", {})
    return str(data.get("message"))
