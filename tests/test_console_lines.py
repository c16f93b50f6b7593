"""`hub console` prints every message a hub sends as one bilingual sentence, never as (cut) JSON: checked
on an example of every schema in docs/schemas/ (made from the schema, so a type added later is covered)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from schema_examples import examples

from hub.cli.event_lines import describe

EXAMPLES = examples()
# What a hub publishes: every event envelope (its type a const), its retained status and config report.
SENT = sorted(n for n, v in EXAMPLES.items()
              if n in ("status", "config.reported") or (isinstance(v, dict) and v.get("type") == n))
HAN = re.compile(r"[\u4e00-\u9fff]")


def _topic(name: str) -> str:
    base = "eldercare/v1/demo-0001"
    if name == "status":
        return f"{base}/status"
    if name == "config.reported":
        return f"{base}/config/reported"
    return f"{base}/event/{name.split('.')[0]}"


def _assert_sentence(line: str) -> None:
    assert "\n" not in line, line
    with pytest.raises(ValueError):
        json.loads(line)
    assert not {"{", "}", '":'} & set(re.findall(r'[{}]|":', line)), f"JSON in the line: {line}"
    assert "None" not in line and "[]" not in line, line


def test_the_hub_sends_events_of_many_types():
    assert len(SENT) >= 45 and "escalation.step" in SENT and "system.update" in SENT, SENT


@pytest.mark.parametrize("name", SENT)
def test_every_message_type_reads_as_one_bilingual_sentence(name: str):
    line = describe(_topic(name), EXAMPLES[name])
    _assert_sentence(line)
    words = line.replace(name, " ")
    if isinstance(EXAMPLES[name].get("id"), str):
        words = words.replace(EXAMPLES[name]["id"], " ")
    assert HAN.search(words), f"no Chinese words naming {name}: {line}"
    assert re.search(r"\b[a-z]{3,}\b", words.replace("hub", " "), re.I), f"no English words naming {name}: {line}"
    assert "事件 event «" not in line, f"{name} has no sentence of its own in hub.cli.event_lines: {line}"


@pytest.mark.parametrize(("data", "shown"), [
    ({"version": "0.2.0", "stage": "downloading", "progress": 40, "bytes": 1_200_000},
     "软件升级 software update · 0.2.0 · 下载中 downloading 40 % (1.2 MB)"),
    ({"version": "0.2.0", "stage": "rolled_back", "from_version": "0.1.0", "reason": "self-test failed: mqtt"},
     "已回退 ROLLED BACK · 从 from 0.1.0 · self-test failed: mqtt"),
])
def test_an_update_reads_as_its_stage(data: dict[str, Any], shown: str):
    body = {"type": "system.update", "ts": "2026-11-30T12:33:11.000+08:00", "hub": "h1", "id": "e1", "data": data}
    line = describe("eldercare/v1/h1/event/system", body)
    assert shown in line
    _assert_sentence(line)


def test_an_escalation_step_says_who_was_told_how_and_what_came_of_it():
    data = {"event_id": "5f3a9c21-0000", "alarm_type": "alarm.fall", "step": 1, "role": "family", "name": "女儿",
            "channel": "sms", "to": ["+8613800000001"], "outcome": "sent", "seconds": 125.0, "detail": None}
    line = describe("eldercare/v1/h1/event/escalation",
                    {"type": "escalation.step", "ts": "2026-11-30T12:33:11.000+08:00", "hub": "h1", "data": data})
    # the event's step is an index: the chain's second step (the daughter) is "第2步", as `hub status` says
    # "step 2/3" (the console said "第1步", and "第0步" for the duty desk)
    assert ("升级通知 escalation step · 第2步 step 2 · 家属 family 女儿 · 短信 SMS → +8613800000001 · 已发送 sent · "
            "跌倒 fall #5f3a9c21, 125 s 未应答 without ack") in line
    _assert_sentence(line)
    data.update(step=0, role="duty", name="社区值班员")
    first = describe("eldercare/v1/h1/event/escalation",
                     {"type": "escalation.step", "ts": "2026-11-30T12:33:11.000+08:00", "hub": "h1", "data": data})
    assert "第1步 step 1 · 社区值班员 duty desk · 短信 SMS" in first and "第0步" not in first  # the name once


def test_an_unknown_event_type_still_reads_as_words_not_json():
    body = {"type": "sms.refused_v2", "ts": "2026-11-30T12:33:11+08:00", "hub": "h1",
            "data": {"from": "138****0001", "text": "1", "nested": {"a": [1, {"b": None}]}, "long": "x " * 200}}
    line = describe("eldercare/v1/h1/event/sms", body)
    assert "事件 event «sms refused v2»" in line and "from 138****0001" in line and "nested a 1, b —" in line
    assert line.endswith("…") and len(line) < 300
    with pytest.raises(ValueError):
        json.loads(line)
    assert "{" not in line and '":' not in line


def test_a_pendant_or_pull_cord_call_says_which_and_where_never_button_none(capsys: pytest.CaptureFixture[str]):
    """A BLE trigger's call carries `trigger` and `room` (hub.triggers), not `button`: the duty operator read
    "紧急呼叫 emergency call · 按钮 button None" for the bathroom pull cord, in the line and the open list."""
    from hub.cli.console_board import Board

    body = {"type": "call.raised", "ts": "2026-11-30T12:33:11+08:00", "hub": "h1", "id": "c1",
            "data": {"kind": "emergency", "trigger": "bath_cord", "room": "卫生间"}}
    line = describe("eldercare/v1/h1/event/call", body)
    assert "紧急呼叫 emergency call · 无线按钮 wireless bath_cord · 卫生间" in line and "None" not in line, line
    capsys.readouterr()
    Board("duty", "").message("eldercare/v1/h1/event/call", body, raw=False)
    out = capsys.readouterr().out  # the event's line, then the numbered open alarms
    assert "1. 紧急呼叫 emergency call · 无线按钮 wireless bath_cord · 卫生间 · h1" in out and "None" not in out, out


@pytest.mark.parametrize(("data", "shown"), [
    ({"trigger": "pendant", "room": "卧室", "kind": "pendant", "reason": "battery_low", "detail": "battery 10%",
      "battery_pct": 10, "remedy": "更换按钮电池"},
     "无线按钮故障 TRIGGER FAULT · pendant (卧室) · 电量低 battery low · battery 10% · 更换按钮电池"),
    ({"trigger": "bath_cord", "room": "卫生间", "kind": "pull_cord", "reason": "not_heard",
      "detail": "not heard for 25.0 h", "battery_pct": None},
     "无线按钮故障 TRIGGER FAULT · bath_cord (卫生间) · 没有信号 not heard · not heard for 25.0 h"),
])
def test_a_trigger_fault_says_its_battery_once_and_its_reason_in_words(data: dict[str, Any], shown: str):
    # the technician read "battery_low · battery 10% · 电量 battery 10%", and "电量 battery ?%" with no reading
    body = {"type": "fault.trigger", "ts": "2026-11-30T12:33:11+08:00", "hub": "h1", "id": "f1", "data": data}
    line = describe("eldercare/v1/h1/event/fault", body)
    assert shown in line and "?%" not in line and line.count("10%") <= 1, line


def test_an_event_joined_into_an_open_alarm_is_listed_as_that_alarm_once(capsys: pytest.CaptureFixture[str]):
    """Mains lost, back, lost again before anyone acked: the second power.lost joins the first alarm. The console
    listed two open alarms for it, and after the operator acked number 1 it still listed the other."""
    from hub.cli.console_board import Board

    board = Board("duty", "")
    first = {"type": "power.lost", "ts": "2026-12-07T17:40:24+08:00", "hub": "h1", "id": "a1", "data": {}}
    again = {**first, "ts": "2026-12-07T17:41:34+08:00", "id": "a2"}
    board.message("eldercare/v1/h1/event/power", first, raw=False)
    board.message("eldercare/v1/h1/event/power", again, raw=False)
    status = {"state": "online", "hub": "h1", "queue_depth": 0, "open_alarms": [
        {"alarm_id": "a1", "type": "power.lost", "since": first["ts"], "acknowledged": False, "also": ["a2"]}]}
    board.message("eldercare/v1/h1/status", status, raw=False)
    assert list(board.items) == ["a1"] and board.shown == ["a1"], capsys.readouterr().out
    ack = {"type": "power.acknowledged", "ts": "2026-12-07T17:42:28+08:00", "hub": "h1", "id": "k1",
           "data": {"alarm_id": "a1", "alarm_type": "power.lost", "by": "duty"}}
    board.message("eldercare/v1/h1/event/power", ack, raw=False)
    assert board.items == {} and capsys.readouterr().out.rstrip().endswith("no open alarms 无待处理报警")


def test_a_test_call_never_reads_like_a_real_emergency():
    body = {"type": "call.raised", "ts": "2026-11-30T12:33:11+08:00", "hub": "h1", "id": "e1",
            "data": {"kind": "emergency", "button": 17, "test": True}}
    line = describe("eldercare/v1/h1/event/call", body)
    assert "测试呼叫 TEST CALL (not an emergency) · 紧急呼叫 emergency call" in line
    body["data"].pop("test")
    assert "TEST" not in describe("eldercare/v1/h1/event/call", body)


def test_readings_read_as_their_grade_in_words_not_enum_names():
    def line(etype: str, data: dict[str, Any]) -> str:
        return describe("eldercare/v1/h1/event/measurement",
                        {"type": etype, "ts": "2026-11-30T12:33:11+08:00", "hub": "h1", "data": data})
    assert line("measurement.blood_pressure", {"systolic": 185.0, "diastolic": 112.0, "grade": "grade_3"}).endswith(
        "血压 blood pressure · 185/112 mmHg · 3级高血压 grade 3")
    assert line("measurement.glucose", {"mmol_per_l": 12.5, "category": "high", "meal": "after"}).endswith(
        "血糖 glucose · 12.5 mmol/L · 偏高 high · 餐后 after a meal")


def test_the_daily_summary_reads_as_the_day_not_its_fields():
    data = {"date": "2026-12-06", "from": "2026-12-06T06:00:00+08:00", "to": "2026-12-07T06:00:00+08:00",
            "partial": True, "covered_from": "2026-12-06T09:30:12.5+08:00", "first_activity": "09:31",
            "activity": 7, "hourly": [0] * 24, "out_min": 0, "night_up": 1, "night_bathroom": 0, "alarms": 1,
            "calls": 2, "readings": [{"kind": "bp"}], "findings": []}
    body = {"type": "wellbeing.daily", "ts": "2026-12-07T06:00:01+08:00", "hub": "h1", "data": data}
    line = describe("eldercare/v1/h1/event/wellbeing", body)
    assert line == ("06:00:01 h1 wellbeing.daily 每日小结 daily summary · 2026-12-06 (不完整 partial, 自 from 09:30) · "
                    "活动 activity 7 · 首次活动 first seen 09:31 · 夜间起床 up at night 1 · 夜间如厕 night toilet 0 · "
                    "外出 out 0 min · 报警 alarms 1 · 呼叫 calls 2 · 测量 readings 1 · 无特别发现 no findings")
    # a day heard from 09:30 only (the hub restarted after a power cut): 09:31 is when the unit first heard her,
    # not when she got up ("起床 up 09:31" told the duty desk she had got up late); a whole day says 起床
    found = {"zh": "夜间如厕 5 次，平时 1-2 次", "en": "Night toilet visits: 5, usually 1-2"}
    data.update(partial=False, findings=[found], first_activity="06:42")
    whole = describe("eldercare/v1/h1/event/wellbeing", body)
    assert " · 起床 up 06:42 · " in whole
    # never "as usual": a partial day, or a unit under seven complete days, is not compared at all
    assert whole.endswith(
        "与平时不同 unlike her usual days: 夜间如厕 5 次，平时 1-2 次 / Night toilet visits: 5, usually 1-2")


def test_a_zigbee_fault_says_what_is_wrong_and_what_to_do():
    data = {"device": "kitchen_co", "room": "厨房", "role": "co", "kind": "offline", "detail": "unreachable",
            "remedy": "检查设备电池和距离，必要时重新配对 (replace the battery, move it nearer; re-pair)"}
    line = describe("eldercare/v1/h1/event/fault",
                    {"type": "fault.zigbee", "ts": "2026-12-07T04:44:22+08:00", "hub": "h1", "data": data})
    assert line.endswith("无线设备故障 zigbee fault · 离线 offline · 厨房 · kitchen_co · "
                         "检查设备电池和距离，必要时重新配对 (replace the battery, move it nearer; re-pair)"), line


def test_a_sensor_fault_says_what_to_do_not_only_its_code():
    """The duty operator sends a technician: "no_response · SHT3x@0x44 i2c-1" alone left them to guess what
    with; the hub's remedy (in fault.sensor since the start) was never shown."""
    remedy = ("温度传感器无响应：检查 I2C 接线 (SDA=GPIO2, SCL=GPIO3)、3.3V 供电与地址 (SHT3x@0x44 i2c-1) / "
              "temperature sensor not answering: check the I2C wiring")
    data = {"component": "temperature", "part": "SHT3x@0x44 i2c-1", "kind": "no_response", "detail": "errno 121",
            "remedy": remedy}
    line = describe("eldercare/v1/h1/event/fault",
                    {"type": "fault.sensor", "ts": "2026-12-07T21:04:57+08:00", "hub": "h1", "data": data})
    assert line.endswith("传感器故障 sensor fault · 温度传感器 temperature · 无响应 no response · SHT3x@0x44 i2c-1 · "
                         + remedy), line


@pytest.mark.parametrize(("extra", "shown"), [
    ({"fall_countdown": {"source": "wearable", "since": "2026-12-07T08:54:30+08:00", "countdown_s": 30}},
     " · 正在确认跌倒 checking a fall (佩戴传感器 wearable, 倒计时 countdown 30 s, since 08:54:30)"),
    ({"fall_countdown": None}, ""),
    ({"mains": "lost"}, " · 市电中断 MAINS LOST"),
    ({"mains": "ok"}, ""),
    # a remote config that needs a restart, held while alarms are open: the operator who sent it saw nothing
    ({"config": {"version": 0, "waiting": "version 1: open alarms"}},
     " · 新配置待重启 config change waits to restart (version 1: open alarms)"),
    ({"config": {"version": 1}}, ""),
])
def test_the_status_line_shows_what_the_operator_acts_on_now(extra: dict[str, Any], shown: str):
    body = {**EXAMPLES["status"], "state": "online", "queue_depth": 0, "open_alarms": [], "config": {"version": 0},
            **extra}
    line = describe(_topic("status"), body)
    _assert_sentence(line)
    assert line.endswith("· 队列 queue 0 · 待应答 awaiting ack 0" + shown), line
