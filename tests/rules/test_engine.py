"""The engine on events: forward/drop, actions, loop guard, isolation of failures."""

from __future__ import annotations

from pathlib import Path

from edge.model import Command, Event
from edge.rules.engine import MAX_CHAIN, RuleEngine
from tests.rules.helpers import (
    GROUPS,
    TZ,
    Feed,
    alerts,
    commands,
    engine_from,
    one_rule_engine,
    ruleset_from,
)


def test_events_no_rule_cares_about_are_forwarded_without_outputs(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: r
            description: d
            trigger: rating.*
            actions: [drop]
    """,
    )
    feed = Feed()
    d = engine.evaluate(feed("kiosk.payment", {"amount_cents": 100}))
    assert d.forward is True and d.outputs == []
    d = engine.evaluate(feed("rating.submitted", {"level": 5}))
    assert d.forward is False


def test_explicit_forward_wins_over_a_broad_drop(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: drop-status
            description: statuses stay in the hall
            trigger: "*.status"
            actions: [drop]
          - id: keep-paper-end
            description: except a printer without paper
            trigger: {events: [printer.status], data: {paper: [end, near_end]}}
            actions: [forward]
    """,
    )
    feed = Feed()
    assert engine.evaluate(feed("robot.status", {"battery": 80})).forward is False
    assert engine.evaluate(feed("printer.status", {"paper": "ok"})).forward is False
    assert engine.evaluate(feed("printer.status", {"paper": "end"})).forward is True
    assert engine.evaluate(feed("printer.status", {})).forward is False  # missing field: no match


def test_device_and_group_filters(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: pads
            description: only pads
            trigger: {events: [device.error], devices: ["pad-*"]}
            actions: [drop]
          - id: screens
            description: only screens
            trigger: {events: [device.error], groups: [hall-screens]}
            actions: [drop]
    """,
    )
    feed = Feed()
    assert engine.evaluate(feed("device.error", device="pad-3")).forward is False
    assert engine.evaluate(feed("device.error", device="screen-2")).forward is False
    assert engine.evaluate(feed("device.error", device="kiosk-1")).forward is True
    assert engine.traces("pads")[0]["event"]["device_id"] == "pad-3"
    assert engine.traces("screens")[0]["event"]["device_id"] == "screen-2"


def test_command_to_a_group_makes_one_command_per_member_with_origin(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: show
            description: show calls
            trigger: queue.ticket.called
            actions:
              - command:
                  device: group:hall-screens
                  name: display.show_call
                  args:
                    counter: "{data.counter}"
                    text: "请{data.ticket_no}号"
                    n: 1
                    tags: ["{data.counter}"]
    """,
    )
    out = engine.evaluate(
        Feed()("queue.ticket.called", {"ticket_no": "A012", "counter": 3})
    ).outputs
    cmds = commands(out)
    assert [c.device_id for c in cmds] == ["screen-1", "screen-2"]
    assert all(c.origin == "rule:show" and c.name == "display.show_call" for c in cmds)
    # a template that is one placeholder keeps the value's type
    assert cmds[0].args == {"counter": 3, "text": "请A012号", "n": 1, "tags": [3]}


def test_a_failing_action_is_traced_and_the_others_still_run(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: a
            description: first rule, second action fails
            trigger: rating.submitted
            actions:
              - command: {device: "group:nobody", name: x.y}
              - alert: {message: "{data.missing_field}"}
              - alert: {message: "等级{data.level}"}
          - id: b
            description: second rule still runs
            trigger: rating.submitted
            actions:
              - command: {device: pad-1, name: rating.cancel}
    """,
    )
    d = engine.evaluate(Feed()("rating.submitted", {"level": 2}))
    assert [a["message"] for a in alerts(d.outputs)] == ["等级2"]
    assert [c.device_id for c in commands(d.outputs)] == ["pad-1"]
    trace = engine.traces("a")[-1]
    assert trace["result"] == "fired"
    assert any("nobody" in e for e in trace["errors"])
    assert any("missing_field" in e for e in trace["errors"])


def test_a_condition_error_is_traced_and_other_rules_run(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: broken
            description: reads a field some events lack
            trigger: rating.submitted
            when: data.level / data.zero > 1
          - id: fine
            description: d
            trigger: rating.submitted
            actions: [{alert: {message: ok}}]
    """,
    )
    d = engine.evaluate(Feed()("rating.submitted", {"level": 2, "zero": 0}))
    assert len(alerts(d.outputs)) == 1
    entry = engine.traces("broken")[-1]
    assert entry["result"] == "error" and "ZeroDivisionError" in entry["errors"][0]
    d = engine.evaluate(Feed()("rating.submitted", {"level": 2}))  # seq 1 again: already seen
    assert d.outputs == []


def test_missing_field_message_names_the_field(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: r
            description: d
            trigger: rating.submitted
            when: data.level < 3
    """,
    )
    engine.evaluate(Feed()("rating.submitted", {"counter": 3}))
    assert "no field 'level'" in engine.traces("r")[-1]["errors"][0]


def test_conditions_cannot_change_the_event_or_state(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: r
            description: tries to mutate
            trigger: rating.submitted
            when: data.pop('level') or True
    """,
    )
    ev = Feed()("rating.submitted", {"level": 2})
    engine.evaluate(ev)
    assert ev.data == {"level": 2}
    assert "not allowed" in engine.traces("r")[-1]["errors"][0]


def test_evaluate_never_raises_even_on_odd_data(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: r
            description: d
            trigger: "*"
            vars: {x: "data.get('a', 0) + 1"}
            when: x > 1
            actions: [{alert: {message: "{x}"}}]
    """,
    )
    feed = Feed()
    for data in ({"a": "text"}, {"a": None}, {"a": [1]}, {"a": {"b": 1}}, {"a": 1}):
        d = engine.evaluate(feed("thing.happened", data))
        assert isinstance(d.outputs, list)
    assert [e["result"] for e in engine.traces("r")] == ["error"] * 4 + ["fired"]


def test_loop_guard_a_rule_never_fires_on_its_own_events(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: echo
            description: alerts on every alert (would loop)
            trigger: alert.raised
            actions: [{alert: {message: "again"}}]
          - id: note
            description: emits a derived event on anything
            trigger: "*"
            actions: [{emit: {type: hall.note, data: {of: "{type}"}}}]
    """,
    )
    feed = Feed()
    own = feed("alert.raised", {"rule": "echo", "message": "x"}, device="hub", causation=1)
    d = engine.evaluate(own)
    assert alerts(d.outputs) == []  # echo skipped its own alert
    notes = [o for o in d.outputs if isinstance(o, Event) and o.type == "hall.note"]
    assert notes[0].data == {"of": "alert.raised", "rule": "note"} and notes[0].causation == own.seq
    d = engine.evaluate(feed("hall.note", {"of": "x", "rule": "note"}, device="hub", causation=2))
    assert not [o for o in d.outputs if isinstance(o, Event) and o.type == "hall.note"]


def test_chains_through_several_rules_stop_at_max_chain(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: ping
            description: pong makes ping
            trigger: pong
            actions: [{emit: {type: ping}}]
          - id: pong
            description: ping makes pong
            trigger: ping
            actions: [{emit: {type: pong}}]
    """,
    )
    feed = Feed()
    ev = feed("ping", {})
    steps = 0
    while True:
        out = [o for o in engine.evaluate(ev).outputs if isinstance(o, Event)]
        if not out:
            break
        steps += 1
        ev = feed(out[0].type, out[0].data, device="hub", causation=out[0].causation)
        assert steps < 50
    assert steps == MAX_CHAIN + 1
    assert (
        engine.traces("ping")[-1]["result"] == "suppressed:chain"
        or engine.traces("pong")[-1]["result"] == "suppressed:chain"
    )


def test_replayed_events_update_state_but_send_no_commands(tmp_path: Path) -> None:
    engine = one_rule_engine(
        tmp_path,
        """
        id: greet
        trigger: customer.recognized
        actions:
          - command: {device: robot-1, name: robot.speak, args: {text: hi}}
          - alert: {message: seen}
        """,
    )
    d = engine.evaluate(Feed()("customer.recognized", {}, replayed=True))
    assert commands(d.outputs) == [] and len(alerts(d.outputs)) == 1
    assert "replayed" in engine.traces("greet")[-1]["actions"][0]["skipped"]


def test_events_already_evaluated_are_skipped(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: count
            description: counts
            trigger: x
            actions: [{state: {increment: n}}]
    """,
    )
    feed = Feed()
    first = feed("x")
    engine.evaluate(first)
    engine.evaluate(first)
    engine.evaluate(feed("x"))
    assert engine.value("n") == 2


def test_state_actions_and_reading_them_back(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: tally
            description: per counter tally of low ratings
            trigger: rating.submitted
            when: data.level <= 2
            actions:
              - state: {increment: "low.{data.counter}"}
              - state: {set: last_low_counter, value: data.counter}
          - id: third
            description: alert at the third low rating of a counter
            trigger: rating.submitted
            when: value('low.' + str(data.counter), 0) == 3
            actions:
              - alert: {message: "{data.counter}号窗口第3条差评"}
              - state: {unset: "low.{data.counter}"}
    """,
    )
    feed = Feed()
    got = []
    for level in (1, 5, 2, 2, 1):
        got += alerts(
            engine.evaluate(feed("rating.submitted", {"counter": 4, "level": level})).outputs
        )
    assert [a["message"] for a in got] == ["4号窗口第3条差评"]
    assert engine.value("low.4") == 1  # reset at the third, then one more
    assert engine.value("last_low_counter") == 4


def test_alert_shape_follows_the_contract(tmp_path: Path) -> None:
    engine = one_rule_engine(
        tmp_path,
        """
        id: low
        trigger: rating.submitted
        actions:
          - alert:
              severity: critical
              message: "m {data.counter}"
              subject: "counter:{data.counter}"
        """,
    )
    ev = Feed()("rating.submitted", {"counter": 3})
    (out,) = engine.evaluate(ev).outputs
    assert isinstance(out, Event)
    assert (out.type, out.device_id, out.causation, out.time) == (
        "alert.raised",
        "hub",
        ev.seq,
        ev.time,
    )
    assert dict(out.data) == {
        "severity": "critical",
        "rule": "low",
        "message": "m 3",
        "subject": "counter:3",
    }


def test_action_failed_is_attached_to_the_firing(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: show
            description: d
            trigger: queue.ticket.called
            actions: [{command: {device: group:hall-screens, name: display.show_call}}]
    """,
    )
    cmds = commands(engine.evaluate(Feed()("queue.ticket.called", {})).outputs)
    engine.action_failed(cmds[1], "503 device offline")
    engine.action_failed(Command("x", "y", origin="cloud"), "ignored")
    entry = engine.traces("show")[-1]
    assert entry["errors"] == ["command display.show_call to screen-2: 503 device offline"]
    assert entry["actions"][0]["failed"] == [{"device": "screen-2", "error": "503 device offline"}]
    engine.action_failed(Command("robot-9", "robot.lead", origin="rule:show"), "404 unknown device")
    assert engine.traces("show")[-1]["result"] == "action_failed"


def test_traces_keep_the_last_n_firings(tmp_path: Path) -> None:
    rs = ruleset_from(
        tmp_path,
        """
        rules:
          - id: r
            description: d
            trigger: x
            vars: {n: seq * 10}
            actions: [drop]
    """,
    )
    engine = RuleEngine(rs, TZ, GROUPS, trace_depth=3)
    feed = Feed()
    for _ in range(5):
        engine.evaluate(feed("x"))
    entries = engine.traces("r")
    assert [e["event"]["seq"] for e in entries] == [3, 4, 5]
    assert entries[-1]["values"] == {"n": 50}
    assert entries[-1]["at"] == "2026-11-27T09:00:00+08:00"
    assert entries[-1]["actions"] == [{"action": "drop"}]


def test_vars_are_computed_on_first_use(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: r
            description: the var would fail on events of other counters
            trigger: rating.submitted
            vars:
              ratio: data.level / data.weight
              label: "'counter ' + str(data.counter)"
            when: data.counter == 3 and ratio > 1
            actions: [{alert: {message: "{label} {ratio}"}}]
    """,
    )
    feed = Feed()
    assert engine.evaluate(feed("rating.submitted", {"counter": 4, "level": 2})).outputs == []
    assert engine.traces("r") == []  # ratio was never needed
    out = engine.evaluate(feed("rating.submitted", {"counter": 3, "level": 4, "weight": 2})).outputs
    assert [a["message"] for a in alerts(out)] == ["counter 3 2.0"]
    assert engine.traces("r")[-1]["values"] == {"ratio": 2.0, "when": True, "label": "counter 3"}
    engine.evaluate(feed("rating.submitted", {"counter": 3, "level": 4}))
    assert engine.traces("r")[-1]["errors"][0].startswith("VarError: var ratio: MissingField")


def test_tumbling_window_resets_on_the_local_hour(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        windows:
          - id: tickets-hour
            trigger: queue.ticket.issued
            key: data.service
            kind: tumbling
            period: 1h
        rules:
          - id: busy-hour
            description: the 3rd ticket of a service within one clock hour
            trigger: queue.ticket.issued
            when: count('tickets-hour', data.service) == 3
            actions: [{alert: {message: "{data.service} {time:%H:%M}"}}]
    """,
    )
    feed = Feed()
    got = []
    # 09:58, 09:59, 10:01, 10:02, 10:03 hall time
    for minute in (58, 59, 61, 62, 63):
        ev = feed("queue.ticket.issued", {"service": "payment"}, at=minute * 60)
        got += [a["message"] for a in alerts(engine.evaluate(ev).outputs)]
    assert got == ["payment 10:03"]


def test_window_value_errors_are_traced_under_the_window(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        windows:
          - id: amounts
            trigger: kiosk.payment
            value: data.amount_cents
            period: 1h
    """,
    )
    engine.evaluate(Feed()("kiosk.payment", {"amount_cents": "lots"}))
    assert "not a number" in engine.traces("window:amounts")[0]["errors"][0]
    assert "window:amounts" in engine.traced_ids()


def test_emit_templates_device_and_keeps_types(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path,
        """
        rules:
          - id: note
            description: d
            trigger: queue.ticket.completed
            actions:
              - emit:
                  type: service.long
                  device: "{device_id}"
                  data: {ticket: "{data.ticket_no}", minutes: "{data.service_s}", fixed: [1, x]}
    """,
    )
    ev = Feed()("queue.ticket.completed", {"ticket_no": "A1", "service_s": 1500}, device="caller-3")
    (out,) = engine.handle(ev)
    assert isinstance(out, Event)
    assert (out.type, out.device_id, out.causation) == ("service.long", "caller-3", ev.seq)
    assert out.data == {"ticket": "A1", "minutes": 1500, "fixed": [1, "x"], "rule": "note"}
