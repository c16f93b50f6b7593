"""One readable line per alarm-side hub event or open alarm, Chinese and English, for `hub console` and `hub
status`; the operators' and technicians' events and `describe` itself are in hub.cli.event_lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.alarms.words import CALL_WORDS

KINDS = {kind: f"{zh} {en}" for kind, (zh, en) in CALL_WORDS.items()}  # as the resident hears them
ALARMS = {"alarm.fire": "火警 fire", "alarm.fall": "跌倒 fall", "alarm.inactivity": "长时间无活动 inactivity",
          "alarm.heat": "室温过高 heat", "alarm.cold": "室温过低 cold", "health.alert": "健康警报 health alert",
          "power.lost": "停电 mains lost", "power.battery_low": "电池电量低 battery low",
          "alarm.gas": "燃气泄漏 gas leak", "alarm.co": "一氧化碳 carbon monoxide", "alarm.water": "漏水 water leak"}
CAUSES = {"smoke": "烟雾 smoke", "rate_of_rise": "温度骤升 rapid temperature rise"}
REASONS = {"bp_grade_3": "血压很高 BP grade 3", "glucose_dangerous": "血糖很高 glucose dangerous",
           "glucose_low": "血糖偏低 glucose low", "gap": "超时无活动 no activity",
           "morning": "早晨无活动 no activity this morning", "out": "外出未归 out too long",
           "bedtime": "夜间未上床 not in bed by the usual time",
           "pulse_low": "脉搏过慢 pulse low", "pulse_high": "脉搏过快 pulse high",
           "ketone_high": "血酮偏高 ketone high"}
SOURCES = {"wearable": "佩戴传感器 wearable", "radar": "雷达 radar"}
# The grades as the community's chronic-disease programme words them (hub.health.grading), not its enum names.
BP_GRADES = {"normal": "正常 normal", "high_normal": "正常高值 high-normal", "grade_1": "1级高血压 grade 1",
             "grade_2": "2级高血压 grade 2", "grade_3": "3级高血压 grade 3"}
GLUCOSE = {"hypo_severe": "严重低血糖 severe hypo", "hypo": "低血糖 hypo", "normal": "正常 normal",
           "high": "偏高 high", "dangerous": "很高 dangerous"}
MEALS = {"fasting": "空腹 fasting", "before": "餐前 before a meal", "after": "餐后 after a meal",
         "bedtime": "睡前 bedtime"}
# The home's parts and what went wrong with them, as a duty operator reads a fault line (docs/protocol.md).
PARTS = {"temperature": "温度传感器 temperature", "smoke": "烟雾探测 smoke", "pir": "人体感应 PIR",
         "power": "电源 power", "door": "门磁 door", "mat": "压力垫 mat", "button": "呼叫按钮 call button"}
FAULTS = {"no_response": "无响应 no response", "crc": "校验错误 CRC", "short_read": "读数不全 short read",
          "stuck": "卡住 stuck", "impossible": "读数异常 impossible value", "timeout": "超时 timeout",
          "wrong_chip": "芯片不符 wrong chip", "trouble": "自身故障 trouble", "silent": "多日无变化 silent",
          "error": "错误 error"}
Facts = Callable[[dict[str, Any]], str]


def _alert_values(values: Any) -> str:
    """What the duty operator reads of a health alert: the reading in its units, not a JSON object."""
    if not isinstance(values, dict):
        return "?"
    parts = []
    if "systolic" in values:
        parts.append(f"{_n(values.get('systolic'))}/{_n(values.get('diastolic'))} mmHg")
    if "mmol_per_l" in values:
        beyond = {"high": "超出量程 HI", "low": "低于量程 LO"}.get(values.get("out_of_range") or "")
        parts.append(beyond or f"{_n(values.get('mmol_per_l'))} mmol/L")
    if "pulse" in values:
        parts.append(f"脉搏 pulse {_n(values.get('pulse'))}/min")
    if values.get("meal"):
        parts.append(MEALS.get(str(values["meal"]), str(values["meal"])))
    return " · ".join(parts) or " · ".join(f"{k} {_n(v)}" for k, v in values.items()) or "无读数 no values"


def _cpu(celsius: Any) -> str:
    """The SoC temperature; a unit without a thermal zone (a simulation on a PC) says so."""
    return "CPU 温度 temperature 无读数 n/a" if celsius is None else f"CPU {_n(celsius)} °C"


def _n(value: Any) -> str:
    """185.0 -> '185', 7.25 -> '7.25', None -> '?'."""
    if isinstance(value, float):
        return f"{value:g}"
    return "?" if value is None else str(value)


TRIGGER_FAULTS = {"not_heard": "没有信号 not heard", "battery_low": "电量低 battery low",
                  "counter_back": "计数回退 counter went back", "untested": "未测试 untested",
                  "test_failed": "测试未按 weekly test failed"}


def trigger_fault(d: dict[str, Any]) -> str:
    """'pendant (卧室) · 电量低 battery low · battery 10% · remedy': the battery once (the detail of a
    battery fault says it already), the reason in words."""
    reason, detail = str(d.get("reason")), str(d.get("detail") or "")
    line = f"{d.get('trigger')} ({d.get('room')}) · {TRIGGER_FAULTS.get(reason, reason)}"
    line += f" · {detail}" if detail else ""
    if d.get("battery_pct") is not None and "battery" not in detail:
        line += f" · 电量 battery {_n(d['battery_pct'])}%"
    return line + (f" · {d['remedy']}" if d.get("remedy") else "")


def alarm_label(alarm_type: str, facts: dict[str, Any]) -> str:
    """'紧急呼叫 emergency call · button 17', '火警 fire · 烟雾 smoke', ..."""
    if alarm_type == "call.raised":
        # a Zigbee SOS button (hub.zigbee) is a `device`, a BLE pendant or pull cord (hub.triggers) a `trigger`
        wireless = facts.get("device") if facts.get("device") is not None else facts.get("trigger")
        # A test call (the installer's live check) must never pass for a real emergency.
        return (("测试呼叫 TEST CALL (not an emergency) · " if facts.get("test") else "")
                + f"{KINDS.get(str(facts.get('kind')), str(facts.get('kind')))} · "
                + (f"按钮 button {facts.get('button')}" if wireless is None
                   else f"无线按钮 wireless {wireless} · {facts.get('room')}"))
    parts = [ALARMS.get(alarm_type, alarm_type)]
    if facts.get("cause"):
        parts.append(CAUSES.get(str(facts["cause"]), str(facts["cause"])))
    if facts.get("reason"):
        parts.append(REASONS.get(str(facts["reason"]), str(facts["reason"])))
    if alarm_type == "alarm.fall" and facts.get("source"):
        parts.append(SOURCES.get(str(facts["source"]), str(facts["source"])))
    if facts.get("temperature_c") is not None:
        parts.append(f"{_n(facts['temperature_c'])} °C")
    if facts.get("device") is not None:  # a Zigbee sensor (hub.zigbee): which, and where
        parts.append(f"{facts.get('room')} · {facts['device']}")
    elif facts.get("room"):  # the wired smoke detector's [smoke] room
        parts.append(str(facts["room"]))
    return " · ".join(parts)


FALL_WORDS = {"fall.cancelled": "摔倒询问答了没事 said she was fine after a fall",
              "fall.recovered": "摔倒后自己起来 got up after a fall", "alarm.fall": "摔倒报警 fall alarm"}


def after_fall(d: dict[str, Any]) -> str:
    """' · ⚠ 42 秒前 s before: 摔倒询问答了没事 …': a call soon after a fall is about the fall, whatever its button."""
    fall = (d.get("context") or {}).get("recent_fall")
    if not isinstance(fall, dict):
        return ""
    return f" · ⚠ {_n(fall.get('s_before'))} 秒前 s before: {FALL_WORDS.get(str(fall.get('type')), fall.get('type'))}"


def ack_state(d: dict[str, Any]) -> str:
    """A clearing event's word on the alarm it ends: taken by the platform already, or still waiting (an
    alarm whose condition is gone is still open until someone acknowledges it)."""
    return "" if "acked" not in d else " · 已应答 acked" if d["acked"] else " · 未应答 not acked"


def _by(d: dict[str, Any]) -> str:
    return f"由 by {d.get('by')}" + (f" «{d['message']}»" if d.get("message") else "")


FACTS: dict[str, tuple[str, Facts]] = {
    "call.raised": ("", lambda d: alarm_label("call.raised", d) + after_fall(d)),
    "call.acknowledged": ("呼叫已应答 call acknowledged", lambda d: f"{KINDS.get(d.get('kind', ''), '')} · {_by(d)}"),
    "call.cancelled": ("呼叫已取消 call cancelled", lambda d: f"{KINDS.get(d.get('kind', ''), '')}"),
    "call.escalated": ("呼叫无人应答 call escalated", lambda d: f"{KINDS.get(d.get('kind', ''), '')} · "
                       f"{_n(d.get('after_s'))} s 未应答 without ack"),
    "alarm.fire": ("", lambda d: alarm_label("alarm.fire", d)),
    "alarm.fire_cleared": ("火警解除 fire cleared", lambda d: f"{CAUSES.get(d.get('cause', ''), '')} · "
                           f"{d.get('duration_s')} s · {'已应答 acked' if d.get('acked') else '未应答 not acked'}"),
    "alarm.heat": ("", lambda d: f"{alarm_label('alarm.heat', d)} ≥ {_n(d.get('threshold_c'))} °C"
                   + (" · 再次 repeat" if d.get("repeat") else "")),
    "alarm.cold": ("", lambda d: f"{alarm_label('alarm.cold', d)} ≤ {_n(d.get('threshold_c'))} °C"
                   + (" · 再次 repeat" if d.get("repeat") else "")),
    "alarm.heat_cleared": ("室温恢复 heat cleared", lambda d: f"{_n(d.get('temperature_c'))} °C" + ack_state(d)),
    "alarm.cold_cleared": ("室温恢复 cold cleared", lambda d: f"{_n(d.get('temperature_c'))} °C" + ack_state(d)),
    "alarm.fall": ("", lambda d: f"{alarm_label('alarm.fall', d)} · {_n(d.get('waited_s'))} s 无回应 no response"),
    "fall.cancelled": ("跌倒已取消 fall cancelled", lambda d: f"{SOURCES.get(d.get('source', ''), d.get('source'))}"
                       f" · 按钮 button {d.get('button')}"),
    "fall.recovered": ("跌倒后已起身 fall, got up", lambda d: f"{_n(d.get('impact_g'))} g · "
                       f"{d.get('kind')}"),
    "alarm.inactivity": ("", lambda d: f"{alarm_label('alarm.inactivity', d)} · {d.get('gap_min')} min "
                         f"(limit {d.get('limit_min')} min)"),
    "health.alert": ("", lambda d: f"{alarm_label('health.alert', d)} · {_alert_values(d.get('values'))}"),
    "power.lost": ("", lambda d: alarm_label("power.lost", d)),
    "power.battery_low": ("", lambda d: alarm_label("power.battery_low", d)),
    "power.restored": ("来电 mains restored", lambda d: f"停电 outage {d.get('outage_s')} s" + ack_state(d)),
    "measurement.blood_pressure": ("血压 blood pressure", lambda d: f"{_n(d.get('systolic'))}/{_n(d.get('diastolic'))}"
                                   f" mmHg · {BP_GRADES.get(str(d.get('grade')), d.get('grade'))}"
                                   + (f" · 脉搏 pulse {_n(d['pulse'])}" if d.get("pulse") is not None else "")),
    "measurement.glucose": ("血糖 glucose", lambda d: f"{_n(d.get('mmol_per_l'))} mmol/L · "
                            f"{GLUCOSE.get(str(d.get('category')), d.get('category'))}"
                            + (f" · {MEALS.get(str(d['meal']), d['meal'])}" if d.get("meal") else "")),
    "fault.sensor": ("传感器故障 sensor fault", lambda d: f"{PARTS.get(str(d.get('component')), d.get('component'))}"
                     f" · {FAULTS.get(str(d.get('kind')), d.get('kind'))} · {d.get('part')}"
                     + (f" · {d['remedy']}" if d.get("remedy") else "")),  # what the technician sent out does
    "fault.cleared": ("故障解除 fault cleared", lambda d: f"{PARTS.get(str(d.get('component')), d.get('component'))}"
                      f" · {d.get('part')}"),
    "telemetry.environment": ("环境 environment", lambda d: f"{_n(d.get('temperature_c'))} °C · 湿度 humidity "
                              f"{_n(d.get('humidity_pct'))} % · 活动 activity {d.get('activity_count')}"
                              + (" · 烟雾 SMOKE" if d.get("smoke") else "")),
    "telemetry.device": ("设备 device", lambda d: f"{_cpu(d.get('cpu_temp_c'))} · 内存 memory "
                         f"{d.get('mem_available_mb')}/{d.get('mem_total_mb')} MB free · 存储 disk "
                         f"{d.get('disk_free_mb')} MB free · 队列 queue {d.get('queue_depth')}"
                         f"{' · SD 卡写入过多 SD writes high' if d.get('sd_wear') == 'high' else ''}"),
    "system.selftest": ("自检 self-test", lambda d: f"{'通过 ok' if d.get('ok') else '有故障 FAILED'} · passed "
                        f"{d.get('passed')} · failed {d.get('failed')} "
                        f"{', '.join(map(str, d.get('failed_components') or []))}"),
    "system.provisioned": ("已开通 provisioned", lambda d: f"{d.get('source')} · {d.get('provisioning_id')}"),
    "health.follow_up": ("需随访 follow-up", lambda d: f"{d.get('level_name')} · {', '.join(d.get('reasons') or [])}"),
    "away.set": ("外出模式 away on", lambda d: f"{_by(d)}"),
    "away.cleared": ("外出结束 away off", lambda d: f"{_by(d)}"),
}


def _acked(d: dict[str, Any]) -> str:
    still = " · 仍存在 still present" if d.get("present") else ""
    return f"{ALARMS.get(d.get('alarm_type', ''), '')} · {_by(d)}{still}"


for _t in ("alarm", "health", "power"):
    FACTS[f"{_t}.acknowledged"] = ("报警已应答 alarm acknowledged", _acked)


# The unit's TLS client certificate (docs/fleet.md, "Certificates and rotation").
FACTS.update({
    "cert.csr": ("证书申请 certificate request", lambda d: f"{d.get('request_id')} · {d.get('subject')} · "
                 f"{d.get('key_type')}"),
    "cert.rotated": ("证书已更换 certificate rotated", lambda d: f"{d.get('request_id')} · serial {d.get('serial')} · "
                     f"until {str(d.get('not_after'))[:10]}"),
    "cert.rotation_failed": ("证书更换失败 certificate rotation FAILED", lambda d: f"{d.get('request_id')} · "
                             f"{d.get('stage')} · {d.get('reason')} · kept {d.get('kept_serial')}"),
    "fault.certificate": ("证书到期 certificate expiry", lambda d: f"{d.get('state')} · "
                          f"{_n(d.get('days_left'))} days left · {d.get('subject')}"),
})

# Zigbee sensors through zigbee2mqtt (docs/protocol.md "Zigbee sensors").
ZIGBEE_FAULTS = {"offline": "离线 offline", "unusable": "无法使用 unusable",
                 "bridge_offline": "网关离线 bridge offline"}


def _zkind(d: dict[str, Any]) -> str:
    return ZIGBEE_FAULTS.get(str(d.get("kind")), str(d.get("kind")))


def _where(d: dict[str, Any]) -> str:
    return f"{d.get('room')} · {d.get('device')}"


FACTS.update({
    "alarm.gas": ("", lambda d: alarm_label("alarm.gas", d)),
    "alarm.co": ("", lambda d: alarm_label("alarm.co", d)),
    "alarm.water": ("", lambda d: alarm_label("alarm.water", d)),
    "alarm.gas_cleared": ("燃气泄漏解除 gas cleared", lambda d: _where(d) + ack_state(d)),
    "alarm.co_cleared": ("一氧化碳解除 CO cleared", lambda d: _where(d) + ack_state(d)),
    "alarm.water_cleared": ("漏水解除 water leak cleared", lambda d: _where(d) + ack_state(d)),
    "valve.closed": ("阀门已关闭 valve closed", lambda d: f"{_where(d)} · {_n(d.get('after_s'))} s"),
    "fault.valve": ("阀门未关闭 valve did NOT close", lambda d: f"{_where(d)} · {d.get('reason')}"),
    "fault.zigbee": ("无线设备故障 zigbee fault", lambda d: f"{_zkind(d)} · {_where(d)}"
                     + (f" · {d['remedy']}" if d.get("remedy") else "")),
    "fault.zigbee_cleared": ("无线设备恢复 zigbee fault cleared", lambda d: f"{_zkind(d)} · {_where(d)}"),
})
