"""Conditions (simpleeval) and templates (str.format lookups): safe, checked at load."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from simpleeval import FeatureNotAvailable

from edge.rules.conditions import EVENT_NAMES, ExprError, Scope, compile_expr, static_checker
from edge.rules.schedules import parse_duration, parse_schedule
from edge.rules.templates import TemplateError, compile_template, compile_value, render_value
from tests.rules.helpers import TZ

SCOPE = Scope(names=EVENT_NAMES | {"n"}, params=frozenset({"bar"}), windows=frozenset({"w"}))


def run(source: str, **names: Any) -> Any:
    checker = static_checker()
    expr = compile_expr(source, SCOPE, checker)
    base = {
        "data": {},
        "params": {"bar": 3},
        "state": {},
        "time": datetime(2026, 1, 5, 9, tzinfo=TZ),
    }
    return checker.run(expr, {**base, **names})


def test_event_fields_read_as_attributes_or_keys() -> None:
    data = {"level": 2, "dims": {"attitude": 1}, "items": [4, 5], "get": "field named get"}
    assert run("data.level <= params.bar", data=data) is True
    assert run("data['level'] + data.dims.attitude + data.items[1]", data=data) == 8
    assert run("data.get", data=data) == "field named get"
    assert run("data.service in ('payment', 'invoice')", data={"service": "invoice"}) is True
    assert run("time.hour == 9 and time.weekday() == 0") is True
    assert run("len([x for x in data.items if x > 4])", data=data) == 1


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("foo > 1", "'foo'"),
        ("params.nope", "params.nope"),
        ("avg('missing', 1)", "missing"),
        ("avg(window_id, 1)", "quoted"),
        ("open('x')", "'open'"),
        ("data.__class__", "__class__"),
        ("(x := 1)", "no NamedExpr"),
        ("'{0.__class__}'.format(data)", "format"),
        ("a = 1", "one expression"),
        ("", "non-empty"),
        ("data.level >", "valid expression"),
    ],
)
def test_bad_expressions_are_refused_with_a_reason(source: str, reason: str) -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(source, SCOPE, static_checker())
    assert reason in str(info.value)


def test_methods_are_limited_per_type_at_run_time() -> None:
    with pytest.raises(FeatureNotAvailable):
        run("data.clear()", data={"a": 1})
    with pytest.raises(FeatureNotAvailable):
        run("n.pop()", n=[1])
    assert run("data.name.upper()", data={"name": "pad"}) == "PAD"


def test_templates_render_fields_specs_and_keep_single_values_typed() -> None:
    names = {
        "data": {"counter": 3, "ticket_no": "A012", "list": [1, 2]},
        "avg": 3.456,
        "params": {"names": {"payment": "缴费业务"}},
        "time": datetime(2026, 1, 5, 9, 5, tzinfo=TZ),
    }
    t = compile_template(
        "请{data.ticket_no}号到{data.counter}号窗口 {avg:.1f} {time:%H:%M} {params.names[payment]}"
    )
    assert t.render(names) == "请A012号到3号窗口 3.5 09:05 缴费业务"
    assert compile_template("{data.counter}").value(names) == 3
    assert compile_template("{data.list[1]}").value(names) == 2
    assert compile_template("{{literal}} {data.counter!r}").render(names) == "{literal} 3"
    value = compile_value({"a": ["{data.counter}", 5, True], "b": "x{data.ticket_no}"})
    assert render_value(value, names) == {"a": [3, 5, True], "b": "xA012"}


@pytest.mark.parametrize(
    "text", ["{", "{}", "{0}", "{data.__class__}", "{data:{spec}}", "{a!x}", "{data.x()}"]
)
def test_malformed_templates_are_refused(text: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(text)


def test_template_missing_field_names_it() -> None:
    with pytest.raises(TemplateError) as info:
        compile_template("{data.nope}").render({"data": {}})
    assert "no field 'nope' in data" in str(info.value)


def test_templates_never_read_attributes() -> None:
    with pytest.raises(TemplateError):
        compile_template("{time.year}").render({"time": datetime(2026, 1, 1, tzinfo=TZ)})


def test_durations_and_schedules_parse() -> None:
    assert parse_duration("90s") == 90 and parse_duration("1h30m") == 5400
    assert (
        parse_duration(2.5) == 2.5
        and parse_duration("120") == 120
        and parse_duration("1d") == 86400
    )
    for bad in ("10 minutes", "-5", "0", "m", True):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert parse_schedule("daily  7:05").at is not None
    assert parse_schedule("every 5m").every_s == 300
    for bad in ("daily 25:00", "hourly", "every 0s"):
        with pytest.raises(ValueError):
            parse_schedule(bad)
