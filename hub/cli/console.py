"""`hub console`: a small platform console for installers and demos.

Watches one hub (or every hub under the prefix) and prints each event as one readable line (time,
hub, type, what happened in Chinese and English, the key facts). Open alarms — calls and every other
alarm — are listed numbered, most severe first (fire; fall and emergency calls; inactivity; health,
heat, cold; health calls; mains; service and family calls; battery), reprinted whenever one opens or
closes. `a N` + Enter acknowledges number N of the list last printed (`a` alone: number 1, the most
severe), so a newly arrived alarm never shifts what the operator picked. `hub console --ack EVENT_ID`
acknowledges one alarm and exits (hub.cli.acknowledge).

It never goes deaf: the subscriptions are made again on every connect (the session is clean, so the
broker forgets them when the link drops), a lost and a restored connection each print a line that says
when the last message came, and a long silence on a live link is said too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.cli.acknowledge import EXIT_REFUSED, EXIT_UNCONFIRMED, AckOnce, already_line
from hub.cli.common import add_config_arg
from hub.cli.console_board import Board
from hub.cli.event_text import alarm_label
from hub.config.loader import ConfigError, load, resolve_path

KEEPALIVE_S = 10  # a broker that stops answering is noticed within two of these
QUIET_S = 90.0  # a live link with no message for this long (the hub's status comes every <= 60 s): say so
# What the operator may type, said in both languages (a community worker reads the Mandarin first).
KEYS_HELP = ("  a 回车应答第 1 条，a N 应答第 N 条，l 重新列出，q 退出 / "
             "'a' acknowledges number 1, 'a N' number N, 'l' lists, 'q' quits")
RECONNECT_MAX_S = 5  # paho's default backoff grows to 120 s: a console deaf for two minutes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("console", help="监看终端事件、应答报警 watch hubs' events and acknowledge alarms",
                       description="监看终端事件、应答报警 Watch hubs' events and acknowledge alarms (a stand-in "
                       "for the community platform). Keys: 'a' + Enter acknowledges number 1, 'a N' number N, "
                       "'l' lists, 'q' quits. --ack exits 0 acknowledged (the hub confirmed), 1 refused (not an "
                       "open alarm; nothing sent), 3 sent but not confirmed in time.")
    add_config_arg(p)
    p.add_argument("--host", help="服务器 broker host (default: from the config, else localhost)")
    p.add_argument("--port", type=int, help="端口 broker port (default: from the config, else 1883)")
    p.add_argument("--prefix", help="主题前缀 topic prefix (default: from the config, else eldercare/v1)")
    p.add_argument("--hub", help="终端 hub id to watch (default: the config's; '+' for all)")
    p.add_argument("--all", action="store_true", help="监看全部终端 watch every hub under the prefix")
    p.add_argument("--ack", metavar="EVENT_ID", help="应答此报警后退出 acknowledge this open alarm and exit")
    p.add_argument("--wait", type=float, default=10.0, metavar="S",
                   help="--ack: 等待终端确认的秒数 seconds to wait for the hub's status and its confirmation (10)")
    p.add_argument("--by", default="console", help="应答人 operator name sent with acks")
    p.add_argument("--message", default=None, help="应答附言 text sent with acks")
    p.add_argument("--json", action="store_true", help="原始 JSON print raw JSON lines")
    p.add_argument("--exit-after", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--quiet-after", type=float, default=QUIET_S, help=argparse.SUPPRESS)
    p.set_defaults(func=console)


def _settings(args: argparse.Namespace) -> tuple[str, int, str, str, dict[str, Any], tzinfo | None]:
    mqtt: dict[str, Any] = {}
    hub_id, zone = "+", None
    if args.config or not (args.host and args.hub):
        try:
            cfg = load(resolve_path(args.config))
            mqtt, hub_id = cfg["mqtt"], cfg.hub_id
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                zone = ZoneInfo(cfg["hub"]["timezone"])  # the console's own lines in the zone of the hub's
        except ConfigError as exc:
            if args.config:
                print(str(exc), file=sys.stderr)
                raise SystemExit(2) from None
    host = args.host or mqtt.get("host", "localhost")
    port = args.port or mqtt.get("port", 1883)
    prefix = (args.prefix or mqtt.get("topic_prefix", "eldercare/v1")).rstrip("/")
    hub_id = "+" if args.all else (args.hub or hub_id)
    return host, port, prefix, hub_id, mqtt, zone


def _client(host: str, port: int, mqtt_cfg: dict[str, Any], handler: Any) -> Any:
    """Connected (or OSError), callbacks from `handler` set before the first CONNACK can arrive."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"console-{int(time.time() * 1000)}")
    client.on_connect, client.on_message = handler.on_connect, handler.on_message
    client.on_disconnect = getattr(handler, "on_disconnect", None)
    client.reconnect_delay_set(1, RECONNECT_MAX_S)
    if mqtt_cfg.get("username"):
        client.username_pw_set(mqtt_cfg["username"], mqtt_cfg.get("password"))
    tls = mqtt_cfg.get("tls")
    if tls:
        client.tls_set(ca_certs=tls["ca"], certfile=tls["cert"], keyfile=tls["key"])
    client.connect(host, port, keepalive=KEEPALIVE_S)
    return client


def _send_ack(client: Any, prefix: str, hub_id: str, event_id: str, by: str, message: str | None) -> bool:
    """True once the broker has the ack (PUBACK); False if the link is down or slow (paho may still send
    it after reconnecting: an ack repeated later is harmless, the hub takes the first)."""
    body = {"event_id": event_id, "by": by, **({"message": message} if message else {})}
    info = client.publish(f"{prefix}/{hub_id}/cmd/ack", json.dumps(body, ensure_ascii=False), qos=1)
    try:
        info.wait_for_publish(10)
    except (RuntimeError, ValueError):  # not connected: queued at best
        return False
    return bool(info.is_published())


def _reader_gone() -> None:
    """stdout's reader went away while paho's thread printed: quiet stdout, and stop the console the way
    Ctrl-C does (a real signal, so the main thread's blocking read of stdin is interrupted too)."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    os.kill(os.getpid(), signal.SIGINT)


def _clock(t: float | None, zone: tzinfo | None = None) -> str:
    return "—" if t is None else datetime.fromtimestamp(t, zone).strftime("%H:%M:%S")


class Link:
    """The console's side of the broker connection: subscribe on every connect, say when it is lost and
    restored and when the last message came. paho calls it from its thread."""

    def __init__(self, board: Board, topics: list[str], raw: bool, zone: tzinfo | None = None) -> None:
        self.board, self.topics, self.raw, self.zone = board, topics, raw, zone
        self.last_message: float | None = None
        self.lost_at: float | None = None
        self.connected = False
        self.closing = False
        self._quiet_said = False
        self._stop = threading.Event()

    def _say(self, text: str) -> None:
        try:
            self.board.say(text)
        except BrokenPipeError:
            _reader_gone()

    def _t(self, t: float | None) -> str:
        return _clock(t, self.zone)

    def on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self._say(f"!! {self._t(time.time())} 服务器拒绝连接 the broker refused the console: {reason_code}")
            return
        client.subscribe([(t, 1) for t in self.topics])
        self.connected = True
        if self.lost_at is not None:
            self._say(f"== {self._t(time.time())} 连接已恢复 connection restored after "
                           f"{time.time() - self.lost_at:.0f} s · 最后收到消息 last message received "
                           f"{self._t(self.last_message)} · 已重新订阅，断线期间的报警见待处理列表 "
                           "subscribed again; what happened meanwhile shows in the hub's status (open alarms)")
            self.lost_at = None

    def on_disconnect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        self.connected = False
        if self.closing or self.lost_at is not None:
            return
        self.lost_at = time.time()
        self._say(f"!! {self._t(self.lost_at)} 连接中断 connection to the broker LOST ({reason_code}) · "
                       f"最后收到消息 last message received {self._t(self.last_message)} · 正在重连 reconnecting…")

    def on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.last_message, self._quiet_said = time.time(), False
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        try:
            self.board.message(message.topic, body, self.raw)
        except BrokenPipeError:  # `hub console | head`: the reader has gone; end as the main thread would
            _reader_gone()

    def summary(self) -> str:
        state = "在线 connected" if self.connected else f"连接中断 LOST since {self._t(self.lost_at)}"
        return f"  broker {state} · 最后收到消息 last message received {self._t(self.last_message)}"

    def watch_quiet(self, quiet_s: float = QUIET_S) -> None:
        """A live link on which nothing arrives (the hub stopped, a wrong hub id, a broker that stopped
        routing): say so once per silence."""
        started = time.time()
        while not self._stop.wait(min(1.0, quiet_s / 4)):
            since = self.last_message or started
            if self.connected and not self._quiet_said and time.time() - since > quiet_s:
                self._quiet_said = True
                last = self._t(self.last_message) if self.last_message else "none since the console started"
                self._say(f"!! {self._t(time.time())} 已 {time.time() - since:.0f} s 未收到消息 no message for "
                          f"{time.time() - since:.0f} s (last: {last}): is the hub running, is its id right?")

    def stop(self) -> None:
        self.closing = True
        self._stop.set()


def ack_and_exit(args: argparse.Namespace, host: str, port: int, prefix: str, hub_id: str,
                 mqtt_cfg: dict[str, Any], zone: tzinfo | None = None) -> int:
    if hub_id == "+":
        print("--ack needs a hub: give --hub ID or --config", file=sys.stderr)
        return 2
    waiter = AckOnce(prefix, hub_id, args.ack)
    try:
        client = _client(host, port, mqtt_cfg, waiter)
    except OSError as exc:
        print(f"连不上服务器 cannot reach the broker at {host}:{port}: {exc}", file=sys.stderr)
        return 1
    client.loop_start()
    try:
        alarm, why = waiter.find(args.wait)
        if waiter.already is not None:
            print(already_line(waiter.already, args.ack, hub_id, zone))
            return 0
        if alarm is None:
            print(f"拒绝 refused, nothing sent: {why}", file=sys.stderr)
            return EXIT_REFUSED
        label = alarm_label(str(alarm.get("type")), alarm)
        sent = _send_ack(client, prefix, hub_id, args.ack, args.by, args.message)
        confirmed = waiter.confirmed(args.wait) if sent else None
        if confirmed is None:
            what = ("已发送，尚未确认 sent, not yet confirmed" if sent else
                    "未确认送达服务器 not confirmed sent (the broker link dropped; it may still go out)")
            print(f"{what}: {label} [{args.ack}] on {hub_id} — the hub has not reported it acknowledged within "
                  f"{args.wait:g} s (is it online? `hub status`)", file=sys.stderr)
            return EXIT_UNCONFIRMED
        print(f"已应答 acknowledged: {label} [{args.ack}] on {hub_id} by {args.by} "
              f"(the hub reported {confirmed.get('type')})")
        return 0
    finally:
        client.loop_stop()
        client.disconnect()


def acknowledge(board: Board, client: Any, prefix: str, number: str, by: str, message: str | None) -> None:
    """`a N`: send the ack for number N and say what is true once it is sent: the hub's acknowledgement
    often comes in before the broker's PUBACK reaches the console, and is then above, not to follow."""
    target = board.pick(number)
    if target is None:
        return
    label = f"{number}. {alarm_label(target.type, target.facts)} ({target.hub}, {target.id})"
    if not _send_ack(client, prefix, target.hub, target.id, by, message):
        board.say(f"  !! 应答未能送达服务器 ack NOT confirmed sent: {label} — the broker link is down; it may go "
                  "out once restored (the hub's acknowledgement line will say); 'a N' again is harmless")
    elif board.is_open(target.id):
        board.say(f"  ack sent 已发送应答: {label}; 等待终端确认 the hub's acknowledgement follows")
    else:
        board.say(f"  ack sent 已发送应答: {label}; 终端已确认（见上一行）the hub has acknowledged it (line above)")


def console(args: argparse.Namespace) -> int:
    host, port, prefix, hub_id, mqtt_cfg, zone = _settings(args)
    if args.ack:
        return ack_and_exit(args, host, port, prefix, hub_id, mqtt_cfg, zone)
    board = Board(args.by, args.message)
    link = Link(board, [f"{prefix}/{hub_id}/event/#", f"{prefix}/{hub_id}/status",
                        f"{prefix}/{hub_id}/config/reported"], args.json, zone)
    try:
        client = _client(host, port, mqtt_cfg, link)
    except OSError as exc:
        print(f"连不上服务器 cannot reach the broker at {host}:{port}: {exc}", file=sys.stderr)
        return 1
    board.say(f"watching {prefix}/{hub_id} on {host}:{port} — 待处理报警按紧急程度编号 open alarms are numbered "
              "most severe first:")
    board.say(KEYS_HELP)
    client.loop_start()
    threading.Thread(target=link.watch_quiet, args=(args.quiet_after,), name="console-quiet", daemon=True).start()
    try:
        if args.exit_after is not None:
            time.sleep(args.exit_after)
            return 0
        for line in sys.stdin:
            cmd = line.strip().lower().split()  # caps lock on: 'A 2' is still number 2
            if not cmd:
                continue
            if cmd[0] == "q":
                break
            if cmd[0] == "l":
                board.show()
                board.say(link.summary())
            elif cmd[0] in ("a", "ack"):
                acknowledge(board, client, prefix, cmd[1] if len(cmd) > 1 else "1", args.by, args.message)
            elif cmd[0][:1] == "a" and cmd[0][1:].isdigit():  # 'a2', the space forgotten
                acknowledge(board, client, prefix, cmd[0][1:], args.by, args.message)
            else:
                board.say(KEYS_HELP)
    except KeyboardInterrupt:
        pass
    finally:
        link.stop()
        client.loop_stop()
        client.disconnect()
    return 0
