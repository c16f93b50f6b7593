"""`hub console`: a small platform console for installers and demos.

Watches one hub (or every hub under the prefix) and prints each event as one readable line (time,
hub, type, what happened in Chinese and English, the key facts). Open alarms — calls and every other
alarm — are listed numbered, most severe first (fire; fall and emergency calls; inactivity; health,
heat, cold; health calls; mains; service and family calls; battery), reprinted whenever one opens or
closes. `a N` + Enter acknowledges number N of the list last printed (`a` alone: number 1, the most
severe), so a newly arrived alarm never shifts what the operator picked. `hub console --ack EVENT_ID`
acknowledges one alarm and exits.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from hub.cli.common import add_config_arg
from hub.cli.console_board import Board
from hub.cli.event_text import alarm_label
from hub.config.loader import ConfigError, load, resolve_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("console", help="watch hubs' events and acknowledge alarms (platform stand-in)")
    add_config_arg(p)
    p.add_argument("--host", help="broker host (default: from the config, else localhost)")
    p.add_argument("--port", type=int, help="broker port (default: from the config, else 1883)")
    p.add_argument("--prefix", help="topic prefix (default: from the config, else eldercare/v1)")
    p.add_argument("--hub", help="hub id to watch (default: the config's; '+' for all)")
    p.add_argument("--all", action="store_true", help="watch every hub under the prefix")
    p.add_argument("--ack", metavar="EVENT_ID", help="acknowledge this event and exit")
    p.add_argument("--by", default="console", help="operator name sent with acks")
    p.add_argument("--message", default=None, help="text sent with acks")
    p.add_argument("--json", action="store_true", help="print raw JSON lines")
    p.add_argument("--exit-after", type=float, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=console)


def _settings(args: argparse.Namespace) -> tuple[str, int, str, str, dict[str, Any]]:
    mqtt: dict[str, Any] = {}
    hub_id = "+"
    if args.config or not (args.host and args.hub):
        try:
            cfg = load(resolve_path(args.config))
            mqtt, hub_id = cfg["mqtt"], cfg.hub_id
        except ConfigError as exc:
            if args.config:
                print(str(exc), file=sys.stderr)
                raise SystemExit(2) from None
    host = args.host or mqtt.get("host", "localhost")
    port = args.port or mqtt.get("port", 1883)
    prefix = (args.prefix or mqtt.get("topic_prefix", "eldercare/v1")).rstrip("/")
    hub_id = "+" if args.all else (args.hub or hub_id)
    return host, port, prefix, hub_id, mqtt


def _client(host: str, port: int, mqtt_cfg: dict[str, Any]) -> Any:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"console-{int(time.time() * 1000)}")
    if mqtt_cfg.get("username"):
        client.username_pw_set(mqtt_cfg["username"], mqtt_cfg.get("password"))
    tls = mqtt_cfg.get("tls")
    if tls:
        client.tls_set(ca_certs=tls["ca"], certfile=tls["cert"], keyfile=tls["key"])
    client.connect(host, port, keepalive=30)
    return client


def _send_ack(client: Any, prefix: str, hub_id: str, event_id: str, by: str, message: str | None) -> None:
    body = {"event_id": event_id, "by": by, **({"message": message} if message else {})}
    client.publish(f"{prefix}/{hub_id}/cmd/ack", json.dumps(body, ensure_ascii=False), qos=1).wait_for_publish(10)


def console(args: argparse.Namespace) -> int:
    host, port, prefix, hub_id, mqtt_cfg = _settings(args)
    try:
        client = _client(host, port, mqtt_cfg)
    except OSError as exc:
        print(f"cannot reach the broker at {host}:{port}: {exc}", file=sys.stderr)
        return 1
    client.loop_start()
    if args.ack:
        if hub_id == "+":
            print("--ack needs a hub: give --hub ID or --config", file=sys.stderr)
            return 2
        _send_ack(client, prefix, hub_id, args.ack, args.by, args.message)
        print(f"acknowledged {args.ack} on {hub_id}")
        client.loop_stop()
        client.disconnect()
        return 0
    board = Board(args.by, args.message)

    def on_message(c: Any, u: Any, m: Any) -> None:
        try:
            body = json.loads(m.payload)
        except ValueError:
            return
        board.message(m.topic, body, args.json)

    client.on_message = on_message
    client.subscribe(f"{prefix}/{hub_id}/event/#", qos=1)
    client.subscribe(f"{prefix}/{hub_id}/status", qos=1)
    board.say(f"watching {prefix}/{hub_id} on {host}:{port} — open alarms are numbered most severe first: "
              "'a' + Enter acknowledges number 1, 'a N' number N, 'l' lists, 'q' quits")
    try:
        if args.exit_after is not None:
            time.sleep(args.exit_after)
            return 0
        for line in sys.stdin:
            cmd = line.strip().split()
            if not cmd:
                continue
            if cmd[0] == "q":
                break
            if cmd[0] == "l":
                board.show()
            elif cmd[0] == "a":
                number = cmd[1] if len(cmd) > 1 else "1"
                target = board.pick(number)
                if target is not None:
                    _send_ack(client, prefix, target.hub, target.id, args.by, args.message)
                    board.say(f"  ack sent 已发送应答: {number}. {alarm_label(target.type, target.facts)} "
                              f"({target.hub}, {target.id})")
            else:
                board.say("  'a' acknowledges number 1, 'a N' number N, 'l' lists, 'q' quits")
    except KeyboardInterrupt:
        pass
    finally:
        client.loop_stop()
        client.disconnect()
    return 0
