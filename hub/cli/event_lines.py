"""The console's line for every message a hub sends: the alarms' sentences (hub.cli.event_text) and
those of the operators' and technicians' events — escalation steps, updates, voice calls, check-ins,
storage and broker faults, SMS refusals, the config report — each one bilingual sentence, never JSON.
An event type this table does not know yet still reads as words (its type spelled out, its facts as
`key value`), so a newer hub never prints a cut-off JSON object on an older console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.cli.event_text import ALARMS, FACTS, SOURCES, Facts, _n, trigger_fault

ROLES = {"duty": "社区值班员 duty desk", "family": "家属 family", "neighbour": "邻居 neighbour",
         "volunteer": "志愿者 volunteer", "doctor": "医生 doctor", "caller": "来电人 caller"}
STEP_OUTCOMES = {"sent": "已发送 sent", "partly_sent": "部分发送 partly sent", "failed": "失败 FAILED",
                 "unavailable": "无法发送 unavailable (no modem)", "answered": "已接听未按1 answered, no 1",
                 "acknowledged": "已按1确认 acknowledged (pressed 1)", "no_answer": "无人接听 no answer",
                 "interrupted": "被中断 interrupted (hub stopped)", "stopped": "已挂断 stopped (acked elsewhere)"}
ENDINGS = {"acknowledged": "已应答 acknowledged", "withdrawn": "已撤回 withdrawn (alarm closed by its owner)",
           "exhausted": "全部未联系上 EXHAUSTED (nobody answered)"}
STAGES = {"downloading": "下载中 downloading", "verifying": "校验中 verifying", "installing": "安装中 installing",
          "waiting": "等待报警结束 waiting for open alarms", "restarting": "重启中 restarting",
          "healthy": "新版本正常 healthy", "rolled_back": "已回退 ROLLED BACK", "failed": "失败 FAILED"}
RESULTS = {"applied": "已生效 applied", "applied_restart": "重启后已生效 applied after a restart",
           "refused": "已拒绝 REFUSED", "rolled_back": "已回退 ROLLED BACK", "unchanged": "无变化 unchanged"}
STORAGE = {"disk_full": "存储已满 card full", "read_only": "只读 read-only", "io_error": "读写错误 I/O error",
           "cannot_open": "无法打开 cannot open", "corrupt": "数据损坏 corrupt"}
DIRECTIONS = {"outgoing": "呼出 outgoing", "incoming": "呼入 incoming"}
SMS_REASONS = {"not_a_number": "发件人不是电话号码 sender is not a phone number",
               "stranger": "陌生号码 a number the hub never texted",
               "unknown_code": "编号不符 no open alarm has that code",
               "nothing_open": "没有待确认的报警 nothing waits for an ack from it",
               "acknowledged_already": "已确认过 acknowledged already"}
PLAIN_MAX = 160  # characters of facts a line shows of an event type it has no sentence for


def _short(event_id: Any) -> str:
    return f"#{str(event_id)[:8]}" if event_id else ""


def _alarm(d: dict[str, Any]) -> str:
    label = "呼叫 call" if d.get("alarm_type") == "call.raised" else ALARMS.get(str(d.get("alarm_type")), "报警 alarm")
    return f"{label} {_short(d.get('event_id'))}".strip()


def _clock(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).strftime("%H:%M:%S")
    except ValueError:
        return str(value) if value else "—"


def _words(value: Any) -> str:
    """A value as words: lists joined, objects as `key value`, never braces."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {_words(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value) or "—"
    return "—" if value is None else _n(value)


def plain(data: dict[str, Any]) -> str:
    """Facts of an event this console has no sentence for: `key value · key value`, cut at a word."""
    text = " · ".join(f"{k} {_words(v)}" for k, v in data.items())
    return text if len(text) <= PLAIN_MAX else text[:PLAIN_MAX].rsplit(" ", 1)[0] + " …"


def _ordinal(step: Any) -> str:
    """The event's `step` is an index (0 = the first step); people count from 1, as `hub status` does."""
    return str(step + 1) if isinstance(step, int) and not isinstance(step, bool) else _n(step)


def _step(d: dict[str, Any]) -> str:
    channel = "短信 SMS" if d.get("channel") == "sms" else "电话 phone call"
    n, role, name = _ordinal(d.get("step")), ROLES.get(str(d.get("role")), str(d.get("role"))), d.get("name") or ""
    who = role if name in role else f"{role} {name}"  # "社区值班员 duty desk", not "… duty desk 社区值班员"
    line = (f"第{n}步 step {n} · {who} · {channel} → {', '.join(map(str, d.get('to') or []))} · "
            f"{STEP_OUTCOMES.get(str(d.get('outcome')), d.get('outcome'))} · {_alarm(d)}, {_n(d.get('seconds'))} s "
            "未应答 without ack")
    if d.get("talk_s"):
        line += f" · 通话 talked {_n(d['talk_s'])} s"
    return line + (f" ({d['detail']})" if d.get("detail") else "")


def _ended(d: dict[str, Any]) -> str:
    line = f"{ENDINGS.get(str(d.get('outcome')), d.get('outcome'))}"
    if d.get("outcome") == "acknowledged":
        who = " ".join(str(p) for p in (ROLES.get(str(d.get("role")), ""), d.get("name")) if p)
        line += f" 由 by {d.get('by') or '?'}" + (f" ({who})" if who else "") + (
            f" via {d['via']}" if d.get("via") else "")
    return line + f" · {_alarm(d)} · {_n(d.get('steps_reached'))} 步 steps reached · {_n(d.get('seconds'))} s"


def _update(d: dict[str, Any]) -> str:
    stage = str(d.get("stage"))
    line = f"{d.get('version')} · {STAGES.get(stage, stage)}"
    if stage == "downloading" and d.get("progress") is not None:
        line += f" {_n(d['progress'])} %" + (f" ({_n(round(d['bytes'] / 1e6, 1))} MB)" if d.get("bytes") else "")
    if d.get("from_version"):
        line += f" · 从 from {d['from_version']}"
    return line + (f" · {d['reason']}" if d.get("reason") else "")


def _voice(d: dict[str, Any]) -> str:
    line = (f"{DIRECTIONS.get(str(d.get('direction')), d.get('direction'))} "
            f"{ROLES.get(str(d.get('who')), d.get('who'))} {d.get('peer')} · "
            f"第{_n(d.get('attempt'))}个 attempt {_n(d.get('attempt'))}"
            + (f" · via {d['via']}" if d.get("via") else ""))
    if d.get("trigger"):
        line += f" · 报警 alarm {_short(d['trigger'])}"
    return line


def _voice_ended(d: dict[str, Any]) -> str:
    talk = f"通话 talked {_n(d.get('talk_s'))} s" if d.get("answered") else "未接通 never answered"
    return (f"{_voice(d)} · {talk} · 原因 reason {d.get('reason')}"
            + (f" ({d['detail']})" if d.get("detail") else ""))


def _sms_refused(d: dict[str, Any]) -> str:
    reason = str(d.get("reason"))
    return (f"来自 from {d.get('from', '?')} «{d.get('text', '')}» · 未作确认 not an ack: "
            f"{SMS_REASONS.get(reason, reason)}"
            + (f" · 报警 alarm {_short(d['event_id'])}" if d.get("event_id") else ""))


def _sms_received(d: dict[str, Any]) -> str:
    who = "值班/家属号码 a number the hub texts" if d.get("known") else "其他号码 another number"
    return f"来自 from {d.get('from', '?')} ({who}) «{d.get('text', '')}» · 不是确认 not an ack"


def _counts(d: Any) -> str:
    return ", ".join(f"{k} ×{_n(v)}" for k, v in d.items()) if isinstance(d, dict) and d else "—"


def _daily(d: dict[str, Any]) -> str:
    """The day's summary as the duty desk reads it: the figures that matter, and what differs from her norm."""
    day = str(d.get("date"))
    if d.get("partial"):
        day += f" (不完整 partial, 自 from {_clock(d.get('covered_from'))[:5]})"
    found = [f"{f.get('zh')} / {f.get('en')}" for f in d.get("findings") or [] if isinstance(f, dict)]
    # On a day heard only from `covered_from` on, the first sign of life is when the unit began to hear her,
    # not when she got up.
    first = "首次活动 first seen" if d.get("partial") else "起床 up"
    return (f"{day} · 活动 activity {_n(d.get('activity'))} · {first} {d.get('first_activity') or '—'} · "
            f"夜间起床 up at night {_n(d.get('night_up'))} · 夜间如厕 night toilet {_n(d.get('night_bathroom'))} · "
            f"外出 out {_n(d.get('out_min'))} min · 报警 alarms {_n(d.get('alarms'))} · 呼叫 calls "
            f"{_n(d.get('calls'))} · 测量 readings {len(d.get('readings') or [])} · "
            # No findings is not "as usual": a new unit (under 7 complete days) or a partial day is not compared.
            + ("与平时不同 unlike her usual days: " + "; ".join(found) if found else "无特别发现 no findings"))


def _voice_refused(d: dict[str, Any]) -> str:
    return (f"{_n(d.get('count'))} 次 calls · {_clock(d.get('first'))}–{_clock(d.get('last'))} · 来源 from "
            f"{_counts(d.get('sources'))} · 原因 why {_counts(d.get('reasons'))} · 未接听 none answered")


OPS: dict[str, tuple[str, Facts]] = {
    "escalation.step": ("升级通知 escalation step", _step),
    "escalation.ended": ("升级结束 escalation ended", _ended),
    "system.update": ("软件升级 software update", _update),
    "system.pong": ("在线应答 pong (hub answers a ping)", lambda d: "请求 request " + plain(d.get("request") or {})),
    "voice.started": ("通话接通 voice call connected", lambda d: f"{_voice(d)} · 接通用时 set up in "
                      f"{_n(d.get('setup_s'))} s"),
    "voice.ended": ("通话结束 voice call ended", _voice_ended),
    "voice.refused": ("拒接陌生来电 stranger calls refused", _voice_refused),
    "checkin.ok": ("每日报平安 daily check-in done", lambda d: f"{d.get('window')} · "
                   + ("按钮 by button" if d.get("by") == "button" else "回应询问 answered the question")),
    "checkin.missed": ("未报平安 daily check-in MISSED", lambda d: f"{d.get('window')} · 询问于 asked at "
                       f"{_clock(d.get('asked_at'))} · 等待 waited {_n(d.get('wait_s'))} s · 最后活动 last activity "
                       f"{_clock(d.get('last_activity'))}"),
    "fault.storage": ("存储故障 STORAGE FAULT", lambda d: f"{STORAGE.get(str(d.get('reason')), d.get('reason'))} · "
                      f"{d.get('detail')} · 未保存事件 unsaved events {_n(d.get('unsaved_events'))} · "
                      f"{d.get('remedy')}"),
    "fault.storage_cleared": ("存储恢复 storage fault cleared", lambda d: f"{STORAGE.get(str(d.get('reason')), '')}"
                              f" · 故障 fault {_short(d.get('fault_id'))}"),
    "fault.uplink": ("服务器拒收 broker refused a message", lambda d: f"{d.get('kind')} ({d.get('reason')}, code "
                     f"{_n(d.get('reason_code'))}) · 主题 topic {d.get('topic')} · 事件 event {d.get('event_type')} · "
                     f"{d.get('remedy')}"),
    "fault.duplicate_id": ("终端ID重复 DUPLICATE hub id", lambda d: f"client id {d.get('client_id')} · 被顶替 taken "
                           f"over {_n(d.get('takeovers'))}× · 等待 waits {_n(d.get('backoff_s'))} s · "
                           f"{d.get('detail')} · {d.get('remedy')}"),
    "measurement.ketone": ("血酮 blood ketone", lambda d: f"{_n(d.get('mmol_per_l'))} mmol/L · {d.get('category')}"),
    "sms.refused": ("短信回复未被采纳 SMS reply refused", _sms_refused),
    "sms.received": ("收到短信 SMS received", _sms_received),
    "wellbeing.daily": ("每日小结 daily summary", _daily),
    # cmd/report's answers: the chart itself is in the message, never printed
    "report.ready": ("报告已生成 report ready", lambda d: f"请求 request {d.get('id')} · {_n(d.get('days'))} 天 days · "
                     f"{d.get('format')} · {_n(round(int(d.get('bytes') or 0) / 1024))} kB"),
    "report.failed": ("报告未生成 report FAILED", lambda d: f"请求 request {d.get('id') or '—'} · {d.get('reason')}"),
    # wireless triggers (hub.triggers): pendants, pull cords, and devices other integrations supervise
    "fault.trigger": ("无线按钮故障 TRIGGER FAULT", trigger_fault),
    "fault.trigger_cleared": ("无线按钮恢复 trigger fault cleared", lambda d: f"{d.get('trigger')} ({d.get('room')}) "
                              f"· {d.get('reason')} · 故障 fault {_short(d.get('fault_id'))}"),
    "trigger.tested": ("按钮测试成功 trigger tested", lambda d: f"{d.get('trigger')} ({d.get('room')}) · 电量 battery "
                       f"{_n(d.get('battery_pct'))}% · 信号 signal {_n(d.get('signal'))}"),
}
PRIORITY = {"critical": "紧急 critical", "action": "需回应 action", "info": "一般 info"}
KIND = {"medication": "服药 medication", "measure_bp": "量血压 measure BP", "measure_glucose": "测血糖 measure glucose"}


def _notice(d: dict[str, Any]) -> str:
    head = f"通知 notice {d.get('notice_id')} · {PRIORITY.get(str(d.get('priority')), d.get('priority'))}"
    return head + (f" · 播放 plays {_n(d.get('plays'))}" if "plays" in d else "")


def _reminder(d: dict[str, Any]) -> str:
    return (f"提醒 reminder {d.get('reminder_id')} · {KIND.get(str(d.get('kind')), d.get('kind'))} · 应于 due "
            f"{_clock(d.get('due'))} · 说了 said {_n(d.get('said'))}×")


OPS.update({
    "notice.played": ("通知已播放 notice played", _notice),
    "notice.confirmed": ("老人已确认通知 notice confirmed", lambda d: _notice(d) + f" · 由 by {d.get('by')}"),
    "notice.expired": ("通知未确认已过期 notice expired unconfirmed", lambda d: _notice(d) + f" · {d.get('reason')}"),
    "notice.refused": ("通知被拒绝 notice REFUSED", lambda d: f"通知 notice {d.get('notice_id') or '—'} · "
                       f"{d.get('reason')} · {d.get('detail')}"),
    "feedback.recorded": ("判定已记录 verdict recorded", lambda d: f"{d.get('feedback_id')} · {d.get('verdict')} · "
                          f"{d.get('action')} · 活动时限 limits ×{d.get('scale')}"),
    "feedback.refused": ("判定被拒绝 verdict REFUSED", lambda d: f"{d.get('feedback_id') or '—'} · {d.get('reason')} · "
                         f"{d.get('detail')}"),
    "reminder.confirmed": ("提醒已确认 reminder confirmed", lambda d: _reminder(d) + f" · 由 by {d.get('by')}"),
    "reminder.missed": ("提醒未回应 reminder MISSED", lambda d: _reminder(d)
                        + (" · 因报警推迟 held by an alarm" if d.get("held") else "")),
})
REPORT_TITLE = "配置报告 config report"


def _report(body: dict[str, Any]) -> str:
    result = str(body.get("result"))
    line = (f"{_clock(body.get('ts')):8} {body.get('hub', '?')} config.reported {REPORT_TITLE} · 版本 version "
            f"{_n(body.get('version'))} · {RESULTS.get(result, result)}")
    if body.get("key"):
        line += f" · 键 key {body['key']}"
    if body.get("reason"):
        line += f" · {body['reason']}"
    if body.get("changed"):
        line += f" · 改动 changed {', '.join(map(str, body['changed']))}"
    return line + f" · 生效版本 in effect {_n(body.get('applied_version'))}"


def _status(topic: str, body: dict[str, Any]) -> str:
    hub = body.get("hub", topic.split("/")[-2])
    state = {"online": "在线 online", "offline": "离线 OFFLINE"}.get(str(body.get("state")), body.get("state"))
    opened = body.get("open_alarms")
    waiting = [a for a in opened if isinstance(a, dict) and not a.get("acknowledged")] if isinstance(
        opened, list) else None
    if "queue_depth" not in body:  # the Last Will: the broker says the hub is gone, nothing more
        return f"{'':8} {hub} status {state} · 终端已断开 the hub's connection ended (the broker says so)"
    return (f"{'':8} {hub} status {state} · 队列 queue {body.get('queue_depth')}"
            + (f" · 待应答 awaiting ack {len(waiting)}" if waiting is not None else "") + _live(body))


def _live(body: dict[str, Any]) -> str:
    """What the duty operator acts on as it happens (pushed at once: ctx.set_status(now=True)): a fall
    being checked with the resident right now, mains power lost."""
    out = ""
    countdown = body.get("fall_countdown")
    if isinstance(countdown, dict):
        source = SOURCES.get(str(countdown.get("source")), countdown.get("source"))
        out += (f" · 正在确认跌倒 checking a fall ({source}, "
                f"倒计时 countdown {_n(countdown.get('countdown_s'))} s, since {_clock(countdown.get('since'))})")
    if body.get("mains") == "lost":
        out += " · 市电中断 MAINS LOST"
    config = body.get("config")
    if isinstance(config, dict) and config.get("waiting"):  # a remote change held back by open alarms
        out += f" · 新配置待重启 config change waits to restart ({config['waiting']})"
    return out


def describe(topic: str, body: Any) -> str:
    """One line: time, hub, type, what happened in Chinese and English, the key facts."""
    if not isinstance(body, dict):
        return f"{'':8} {topic} · 无法读取的消息 unreadable message ({type(body).__name__})"
    if topic.endswith("/status"):
        return _status(topic, body)
    if topic.endswith("/config/reported"):
        return _report(body)
    when = _clock(body.get("ts")) if body.get("ts") else "??:??:??"
    when = when if len(when) == 8 else "??:??:??"
    etype = str(body.get("type"))
    data: dict[str, Any] = body["data"] if isinstance(body.get("data"), dict) else {}
    title, facts = FACTS.get(etype) or OPS.get(etype) or (f"事件 event «{etype.replace('.', ' ').replace('_', ' ')}»",
                                                          None)
    try:
        detail = facts(data) if facts else plain(data)
    except (TypeError, ValueError, AttributeError, KeyError):
        detail = plain(data)
    line = f"{when} {body.get('hub', '?')} {etype} " + " · ".join(p for p in (title, detail) if p)
    if etype in ALARMS or etype == "call.raised":
        line += f"  [id {body.get('id')}]"
    return line

