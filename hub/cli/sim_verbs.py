"""The arguments of every `hub sim` verb, built here in the CLI so that `hub sim VERB --help` answers
without a config and without a running hub (the running hub parses the same arguments again and
checks them against what is fitted; tests/test_sim_cli.py holds the two to the same options)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Build = Callable[[argparse.ArgumentParser], None]


def _button_pin(p: argparse.ArgumentParser) -> None:
    p.add_argument("--button", type=int, metavar="PIN", help="按钮的 GPIO 号 the button's GPIO pin (default: the "
                   "first [[buttons]] entry)")


def _press(p: argparse.ArgumentParser) -> None:
    _button_pin(p)
    p.add_argument("--hold", type=float, metavar="S", help="按住的秒数 seconds held down (0..120, or up to "
                   "[calls] stuck_after_s + 60: held past stuck_after_s the button is stuck; a second press "
                   "held 3 s cancels the call)")


def _button(p: argparse.ArgumentParser) -> None:
    p.add_argument("state", choices=("stuck", "free"), help="卡住（一直按着）/松开 held down from now (a press, "
                   "then fault.sensor after [calls] stuck_after_s) or let go")
    _button_pin(p)


def _motion(p: argparse.ArgumentParser) -> None:
    p.add_argument("--count", type=int, default=1, help="检测次数 detections (1..1000)")
    p.add_argument("--hold", type=float, default=0.5, metavar="S", help="每次高电平秒数 seconds the PIR output "
                   "stays high (0.3..60)")
    p.add_argument("--gap", type=float, default=0.4, metavar="S", help="两次之间的秒数 seconds low between "
                   "detections (0.3..60)")


def _choice(name: str, choices: tuple[str, ...], text: str) -> Build:
    def build(p: argparse.ArgumentParser) -> None:
        p.add_argument(name, choices=choices, help=text)
    return build


def _temperature(p: argparse.ArgumentParser) -> None:
    p.add_argument("celsius", type=float, help="室温 room temperature, °C (-40..120)")
    p.add_argument("--ramp", type=float, default=0.0, metavar="C_PER_MIN", help="此后每分钟升降 °C per minute "
                   "from now on (-30..30; SHT3x model)")


def _fault(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=("temperature", "smoke", "pir", "clear"), help="哪个传感器故障 which sensor "
                   "fails; clear: all back to normal")
    p.add_argument("kind", nargs="?", help="故障类型 how it fails (temperature: nack, crc, stuck…; smoke: open, "
                   "short…)")


def _bp(p: argparse.ArgumentParser) -> None:
    p.add_argument("systolic", help="收缩压 mmHg, or ERR: the cuff fails (a meter showing Err)")
    p.add_argument("diastolic", nargs="?", help="舒张压 mmHg")
    p.add_argument("--pulse", type=float, metavar="N", help="脉搏 pulse per minute")
    p.add_argument("--meter", metavar="ADDR", help="血压计 the meter from `hub sim ble-new` (default: the paired one)")


def _glucose(p: argparse.ArgumentParser) -> None:
    p.add_argument("mmol", help="血糖 mmol/L (HI / LO: beyond the meter's range)")
    p.add_argument("--meal", choices=("fasting", "before", "after", "bedtime"), help="测量时段 when, relative "
                   "to a meal")


def _named(state: tuple[str, ...], what: str) -> Build:
    def build(p: argparse.ArgumentParser) -> None:
        p.add_argument("state", choices=state, help=what)
        p.add_argument("--name", help="名称 which one, by its configured name (default: the first)")
    return build


def _number(name: str, text: str) -> Build:
    def build(p: argparse.ArgumentParser) -> None:
        p.add_argument(name, type=float, help=text)
    return build


def _fall(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=1, help="随机种子 which synthetic fall trace")
    p.add_argument("--how", choices=("walking", "chair", "got-up", "collapse"), default="walking",
                   help="怎样跌倒 walking: from standing; chair: a slow slump out of a chair; got-up: gets up "
                        "and walks away (fall.recovered); collapse: gets up, then lies still again")


def _ble_scan(p: argparse.ArgumentParser) -> None:
    p.add_argument("timeout", type=float, nargs="?", default=2.0, help="扫描秒数 seconds to scan (at most 30)")


def _modem(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="what", required=True)
    sub.add_parser("status", help="模块状态 what the modem model reports")
    sms = sub.add_parser("sms", help="收到短信 a text arrives: FROM TEXT…")
    sms.add_argument("sender", metavar="FROM")
    sms.add_argument("text", nargs="+")
    sub.add_parser("sim", help="SIM 卡 absent|present").add_argument("state", choices=("absent", "present"))
    sub.add_parser("network", help="注册状态 registration").add_argument(
        "state", choices=("home", "searching", "denied", "roaming"))
    sub.add_parser("signal", help="信号 RSSI 0..31, 99 unknown").add_argument(
        "rssi", type=int, choices=[*range(32), 99], metavar="RSSI")
    sub.add_parser("fault", help="模块故障 sms|reset|reboot|clear").add_argument(
        "kind", choices=("sms", "reset", "reboot", "clear"))
    callee = sub.add_parser("callee", help="被叫如何应答 how a number the hub rings behaves")
    callee.add_argument("number")
    callee.add_argument("behaviour", choices=("answer", "busy", "no-answer"))
    callee.add_argument("--after", type=float, default=2.0, metavar="S", help="振铃秒数 seconds of ringing")
    callee.add_argument("--press", default="", metavar="KEYS", help="接听后按键 keys pressed once answered")
    callee.add_argument("--hang-up-after", type=float, metavar="S", help="挂断 hang up after S seconds")
    sub.add_parser("press", help="通话中按键 keys pressed in the call").add_argument("keys")
    sub.add_parser("hangup", help="对方挂断 the far end hangs up")
    sub.add_parser("call", help="来电 someone rings the hub").add_argument("caller")
    sub.add_parser("ims", help="IMS/VoLTE 设置 setting").add_argument("setting", choices=("auto", "on", "off"))
    sub.add_parser("voice", help="语音网络 voice network").add_argument("network", choices=("cs", "volte-only"))
    sub.add_parser("vendor", help="模块厂商 module maker").add_argument("name", choices=("quectel", "simcom"))


def _ble_pair(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", help="蓝牙地址 the meter's address")
    p.add_argument("--passkey", help="配对码 passkey")


def _zigbee(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=("gas", "water", "co", "smoke", "door", "motion", "sos", "battery", "offline",
                                    "online", "valve"), help="哪个设备报告什么 which device reports what")
    p.add_argument("value", nargs="?", help="on|off (gas… motion); 电量 battery percent; valve stuck|ok")
    p.add_argument("--name", help="设备名 friendly_name (default: the first of that role)")


def _wellbeing(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=("close",), help="close: end the day now and send its summary")


def _notice(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", nargs="?", help="通知内容 what the unit says (or --audio)")
    p.add_argument("--id", help="通知编号 the notice id (default: made up)")
    p.add_argument("--priority", default="action", help="critical|action|info")
    p.add_argument("--confirm", action="store_true", help="需按键确认 she confirms it with a press")
    p.add_argument("--repeat", type=float, metavar="S", help="重复间隔秒 repeat every S seconds (60..86400)")
    p.add_argument("--expires-in", type=float, default=3600.0, metavar="S", help="有效秒数 expires in S seconds")
    p.add_argument("--quiet", metavar="HH:MM-HH:MM", help="免打扰时段 not said in this window")
    p.add_argument("--audio", metavar="FILE", help="录音文件 a recording (wav, flac, ogg; mono)")


def _reminder(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="提醒编号 a [[reminders]] id: it falls due now")
def _pendant(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("press", "double", "long", "battery", "silent", "replay"),
                   help="按一下/双击/长按/电量/停止发信号/重放 a press, double, long press; battery PCT; silent: no "
                        "more adverts (battery out); replay: the last frame again, as an attacker would")
    p.add_argument("value", nargs="?", type=int, help="battery: 电量 the percentage it reports (default 15)")
    p.add_argument("--id", help="哪个呼叫器 which [[triggers]] id (default: the first)")


# verb -> (one line, Chinese and English; its arguments)
VERBS: dict[str, tuple[str, Build]] = {
    "press": ("按呼叫按钮 press a call button", _press),
    "button": ("呼叫按钮卡住/松开 a call button left held down, or set free", _button),
    "motion": ("人体感应 PIR detections", _motion),
    "smoke": ("烟雾 smoke on|off", _choice("state", ("on", "off"), "有烟 smoke present or gone")),
    "temperature": ("室温 room temperature", _temperature),
    "humidity": ("湿度 humidity", _number("percent", "相对湿度 relative humidity, %% (0..100)")),
    "power": ("市电与电池 mains and battery (needs [power] fitted)", _choice(
        "state", ("lost", "restored", "battery_low", "battery_ok"), "停电/来电/电量低/电量正常 mains or battery")),
    "fault": ("传感器故障 a sensor fault", _fault),
    "bp": ("测血压 a blood-pressure reading", _bp),
    "glucose": ("测血糖 a glucose reading", _glucose),
    "fall": ("佩戴设备检测到跌倒 a fall seen by the wearable", _fall),
    "radar": ("雷达报告 a radar report", _choice("what", ("fall", "presence", "garbage"),
                                             "跌倒/有人/乱码 fall, presence, or line noise")),
    "inactivity": ("时间快进 hours pass without activity", _number("hours", "小时 hours (above 0, at most 72)")),
    "door": ("门磁 door contact", _named(("open", "close"), "开/关 open or close")),
    "mat": ("床垫/坐垫 pressure mat", _named(("on", "off"), "有人/无人 someone on it or not")),
    "clock-step": ("调整时钟 the wall clock is set (as NTP does)", _number(
        "seconds", "秒数 seconds, negative: backwards (at most ten years)")),
    "modem": ("4G 模块 the 4G modem model (with [modem] port set)", _modem),
    "ble-scan": ("蓝牙扫描 Bluetooth scan (used by `hub ble scan`)", _ble_scan),
    "ble-pair": ("蓝牙配对 Bluetooth pairing (used by `hub ble pair`)", _ble_pair),
    "ble-new": ("新血压计 a BP meter never paired, in pairing mode (for the set-up page)", lambda p: None),
    "wellbeing": ("今日生活情况 the day's wellbeing counts so far; close: send wellbeing.daily now", _wellbeing),
    "zigbee": ("Zigbee 设备 zigbee2mqtt payloads on the unit's broker (with [zigbee] enabled)", _zigbee),
    "notice": ("社区通知 a notice as the platform sends it (cmd/notice)", _notice),
    "reminder": ("提醒 a configured reminder falls due now", _reminder),
    "pendant": ("无线呼叫器 a BLE pendant or pull cord ([[triggers]])", _pendant),
    "ble-adverts": ("蓝牙广播扫描 BLE advert scan (used by `hub ble scan --triggers`)", _ble_scan),
}


def parser(verb: str) -> argparse.ArgumentParser:
    summary, build = VERBS[verb]
    p = argparse.ArgumentParser(prog=f"hub sim {verb}", description=f"{summary}. 需运行中的模拟终端 Sent to the "
                                "running `hub run --simulate` found through --config.")
    build(p)
    p.add_argument("--config", metavar="PATH", help="配置文件 config file of the simulated hub")
    p.add_argument("--json", action="store_true", help="以 JSON 输出 print the hub's answer as JSON")
    return p


def overview() -> str:
    width = max(map(len, VERBS))
    return "\n".join(f"  {verb:<{width}}  {summary}" for verb, (summary, _) in VERBS.items())
