"""The shipped default pack: every behaviour the issue lists, with zh-CN messages."""

from __future__ import annotations

from datetime import timedelta

from edge.model import Command
from tests.rules.helpers import T0, Feed, alerts, commands, default_engine


def test_ticket_called_goes_to_hall_screens_and_voice() -> None:
    engine = default_engine()
    out = engine.evaluate(
        Feed()(
            "queue.ticket.called",
            {"ticket_no": "A012", "counter": 3, "staff_id": "s7", "call_no": 1},
        )
    ).outputs
    cmds = commands(out)
    assert sorted((c.device_id, c.name) for c in cmds) == [
        ("screen-1", "display.show_call"),
        ("screen-2", "display.show_call"),
        ("voice-1", "voice.announce"),
    ]
    voice = next(c for c in cmds if c.name == "voice.announce")
    assert voice.args["text"] == "请A012号到3号窗口办理业务"
    assert voice.origin == "rule:call-announce"
    assert alerts(out) == []


def test_hall_screens_can_be_one_device_by_param() -> None:
    engine = default_engine(hall_screens="big-screen", hall_voice="group:hall-voice")
    cmds = commands(
        engine.evaluate(Feed()("queue.ticket.called", {"ticket_no": "B001", "counter": 1})).outputs
    )
    assert [c.device_id for c in cmds] == ["big-screen", "voice-1"]


def test_low_rating_alerts_the_manager() -> None:
    engine = default_engine()
    feed = Feed()
    assert (
        alerts(engine.evaluate(feed("rating.submitted", {"counter": 3, "level": 3})).outputs) == []
    )
    (alert,) = alerts(engine.evaluate(feed("rating.submitted", {"counter": 3, "level": 2})).outputs)
    assert alert["message"] == "3号窗口收到不满意评价（等级2），请值班经理跟进"
    assert alert["rule"] == "rating-low" and alert["subject"] == "counter:3"


def test_hourly_average_below_the_bar_alerts_once_per_hour() -> None:
    engine = default_engine(avg_rating_bar=4.0, low_rating_level=1)
    feed = Feed()
    got = []
    for i, level in enumerate([5, 3, 3, 3, 3]):
        got += alerts(
            engine.evaluate(
                feed("rating.submitted", {"counter": 5, "level": level}, at=i * 60)
            ).outputs
        )
    assert [a["rule"] for a in got] == ["rating-average-low"]  # throttled after the first
    assert got[0]["message"] == "5号窗口近一小时平均评价3.7（3条），低于4.0，请值班经理关注"
    # another counter is judged on its own ratings
    out = engine.evaluate(feed("rating.submitted", {"counter": 6, "level": 5}, at=400)).outputs
    assert alerts(out) == []


def test_the_average_forgets_ratings_older_than_an_hour() -> None:
    engine = default_engine(low_rating_level=0)
    feed = Feed()
    for i in range(3):
        engine.evaluate(feed("rating.submitted", {"counter": 2, "level": 1}, at=i))
    later = feed("rating.submitted", {"counter": 2, "level": 5}, at=3600 * 2)
    assert alerts(engine.evaluate(later).outputs) == []
    assert engine.traces("rating-average-low")[0]["values"]["avg_level"] == 1.0


def test_too_many_waiting_asks_for_another_counter() -> None:
    engine = default_engine()
    feed = Feed()
    status = {"service": "payment", "waiting": 12, "longest_wait_s": 60, "open_counters": 2}
    (alert,) = alerts(engine.evaluate(feed("queue.status", status)).outputs)
    assert alert["message"] == "缴费业务等候人数12人，超过阈值10人，请增开窗口"
    assert alert["subject"] == "service:payment"
    # throttled per service for queue_alert_gap_min (15 min)
    assert alerts(engine.evaluate(feed("queue.status", status, at=60)).outputs) == []
    other = {**status, "service": "new_install"}
    assert len(alerts(engine.evaluate(feed("queue.status", other, at=61)).outputs)) == 1
    assert len(alerts(engine.evaluate(feed("queue.status", status, at=15 * 60 + 1)).outputs)) == 1


def test_wait_above_the_service_norm() -> None:
    engine = default_engine()
    feed = Feed()
    pay = {"service": "payment", "waiting": 3, "longest_wait_s": 5 * 60 + 30, "open_counters": 1}
    (alert,) = alerts(engine.evaluate(feed("queue.status", pay)).outputs)
    assert alert["message"] == "缴费业务最长等候已5分钟，超过5分钟的服务标准，请增开窗口"
    apply_ok = {
        "service": "new_install",
        "waiting": 3,
        "longest_wait_s": 19 * 60,
        "open_counters": 1,
    }
    assert alerts(engine.evaluate(feed("queue.status", apply_ok)).outputs) == []
    apply_late = {**apply_ok, "longest_wait_s": 21 * 60}
    (alert,) = alerts(engine.evaluate(feed("queue.status", apply_late)).outputs)
    assert "新装业务" in alert["message"] and "20分钟" in alert["message"]


def test_service_norms_and_threshold_are_params() -> None:
    engine = default_engine(waiting_threshold=20, wait_norm_min={"payment": 10})
    feed = Feed()
    status = {"service": "payment", "waiting": 15, "longest_wait_s": 9 * 60, "open_counters": 1}
    assert alerts(engine.evaluate(feed("queue.status", status)).outputs) == []


def test_vip_is_greeted_and_led_once_per_visit() -> None:
    engine = default_engine(vip_counter="9")
    feed = Feed()
    seen = {"camera": "door", "customer_ref": "c-81", "vip": True, "distance": 1.2}
    cmds = commands(engine.evaluate(feed("customer.recognized", seen)).outputs)
    assert [(c.device_id, c.name) for c in cmds] == [
        ("robot-1", "robot.speak"),
        ("robot-1", "robot.lead"),
    ]
    assert "9号窗口" in str(cmds[0].args["text"]) and cmds[1].args["counter"] == "9"
    # seen again and again during the visit: nothing more
    for minute in (1, 30, 100, 200):
        out = engine.evaluate(feed("customer.recognized", seen, at=minute * 60)).outputs
        assert commands(out) == []
    # back after more than visit_gap_min (120 min) without being seen: a new visit
    cmds = commands(engine.evaluate(feed("customer.recognized", seen, at=(200 + 121) * 60)).outputs)
    assert len(cmds) == 2
    # not a VIP, or no vip flag: nothing
    assert (
        commands(
            engine.evaluate(
                feed("customer.recognized", {**seen, "vip": False, "customer_ref": "c-9"})
            ).outputs
        )
        == []
    )
    assert (
        commands(engine.evaluate(feed("customer.recognized", {"customer_ref": "c-10"})).outputs)
        == []
    )


def test_printer_paper_and_cutter_alerts() -> None:
    engine = default_engine()
    feed = Feed()
    near = alerts(
        engine.evaluate(feed("printer.status", {"paper": "near_end"}, device="prn-1")).outputs
    )
    assert near[0]["message"] == "prn-1发票打印机纸张即将用尽，请及时更换纸卷"
    assert near[0]["severity"] == "warning"
    # the same state polled again is not alerted again
    assert (
        alerts(
            engine.evaluate(
                feed("printer.status", {"paper": "near_end"}, device="prn-1", at=30)
            ).outputs
        )
        == []
    )
    end = alerts(
        engine.evaluate(feed("printer.status", {"paper": "end"}, device="prn-1", at=60)).outputs
    )
    assert end[0]["severity"] == "critical" and "缺纸" in end[0]["message"]
    cut = alerts(
        engine.evaluate(
            feed("printer.status", {"paper": "ok", "cutter_error": True}, device="prn-2")
        ).outputs
    )
    assert cut[0]["message"] == "prn-2发票打印机切刀故障，请检修"
    assert (
        alerts(
            engine.evaluate(
                feed("printer.status", {"paper": "ok", "cutter_error": False}, device="prn-3")
            ).outputs
        )
        == []
    )


def test_device_offline_alerts_only_after_the_configured_time() -> None:
    engine = default_engine(offline_min=5)
    feed = Feed()
    engine.evaluate(feed("device.offline", {}, device="pad-3"))
    engine.evaluate(feed("device.offline", {}, device="pad-4"))
    assert engine.tick(T0 + timedelta(minutes=4)) == []
    engine.evaluate(feed("device.online", {}, device="pad-4", at=4 * 60 + 30))  # pad-4 came back
    out = engine.tick(T0 + timedelta(minutes=5, seconds=1))
    assert [a["subject"] for a in alerts(out)] == ["device:pad-3"]
    assert alerts(out)[0]["message"] == "设备pad-3已离线超过5分钟，请检查电源和网络"
    assert out[0].causation == 1  # type: ignore[union-attr]
    assert engine.tick(T0 + timedelta(minutes=30)) == []
    assert engine.traces("device-offline")[-2]["result"] == "cancelled"


def test_repeated_offline_events_do_not_postpone_the_alert() -> None:
    engine = default_engine(offline_min=10)
    feed = Feed()
    for minute in (0, 4, 8):
        engine.evaluate(feed("device.offline", {}, device="kiosk-1", at=minute * 60))
    assert len(alerts(engine.tick(T0 + timedelta(minutes=10, seconds=1)))) == 1


def test_occupancy_above_the_limit() -> None:
    engine = default_engine(occupancy_limit=50)
    feed = Feed()
    assert alerts(engine.evaluate(feed("footfall.counted", {"occupancy": 50})).outputs) == []
    (alert,) = alerts(
        engine.evaluate(feed("footfall.counted", {"occupancy": 51, "camera": "c1"})).outputs
    )
    assert alert["message"] == "营业厅当前在场51人，超过上限50人，请做好分流引导"
    assert alerts(engine.evaluate(feed("footfall.counted", {"occupancy": 60}, at=60)).outputs) == []
    assert (
        len(
            alerts(engine.evaluate(feed("footfall.counted", {"occupancy": 60}, at=31 * 60)).outputs)
        )
        == 1
    )


def test_nothing_in_the_default_pack_drops_events() -> None:
    engine = default_engine()
    feed = Feed()
    cases: list[tuple[str, dict[str, object]]] = [
        ("queue.ticket.called", {"ticket_no": "A1", "counter": 1}),
        ("rating.submitted", {"counter": 1, "level": 1}),
        ("printer.status", {"paper": "end"}),
        ("kiosk.payment", {"amount_cents": 100}),
    ]
    for etype, data in cases:
        assert engine.evaluate(feed(etype, data)).forward is True


def test_commands_from_the_pack_are_commands() -> None:
    engine = default_engine()
    out = engine.evaluate(Feed()("queue.ticket.called", {"ticket_no": "A1", "counter": 1})).outputs
    assert all(isinstance(o, Command) for o in out)


def test_a_wait_past_the_norm_raises_one_alert_in_hall_minutes() -> None:
    engine = default_engine()
    feed = Feed()
    pay = {"service": "payment", "waiting": 3, "longest_wait_s": 480, "open_counters": 1}
    (alert,) = alerts(engine.evaluate(feed("queue.status", pay)).outputs)
    assert alert["message"] == "缴费业务最长等候已8分钟，超过5分钟的服务标准，请增开窗口"
    short = {**pay, "service": "invoice", "longest_wait_s": 240}  # 4 of its 20 minutes
    assert alerts(engine.evaluate(feed("queue.status", short)).outputs) == []
