"""`hub console`: a small platform console for installers and demos.

Watches one hub (or every hub under the prefix), prints events as they arrive, and acknowledges
calls: type `a` + Enter to ack the newest open call, `a N` for the N-th listed, or run
`hub console --ack EVENT_ID` once.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from datetime import datetime
from typing import Any

from hub.cli.common import add_config_arg
from hub.config.loader import ConfigError, load, resolve_path

OPENING = {"call.raised", "alarm.fire", "alarm.fall", "alarm.inactivity", "alarm.heat", "alarm.cold",
           "health.alert"}
CLOSING = {"call.acknowledged", "call.cancelled", "alarm.fire_cleared"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("console", help="watch hubs' events and acknowledge calls (platform stand-in)")
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
    open_items: dict[str, tuple[str, str]] = {}  # event id -> (hub, summary)
    lock = threading.Lock()

    def on_message(c: Any, u: Any, m: Any) -> None:
        try:
            body = json.loads(m.payload)
        except ValueError:
            return
        if args.json:
            print(json.dumps({"topic": m.topic, "payload": body}, ensure_ascii=False), flush=True)
        else:
            print(_describe(m.topic, body), flush=True)
        if not isinstance(body, dict) or "type" not in body:
            return
        with lock:
            data = body.get("data") or {}
            if body["type"] in OPENING:
                open_items[body["id"]] = (body.get("hub", "?"), f"{body['type']} {data.get('kind', '')}")
            elif body["type"] in CLOSING:
                open_items.pop(data.get("call_id") or data.get("alarm_id") or "", None)

    client.on_message = on_message
    client.subscribe(f"{prefix}/{hub_id}/event/#", qos=1)
    client.subscribe(f"{prefix}/{hub_id}/status", qos=1)
    print(f"watching {prefix}/{hub_id} on {host}:{port} — 'a' + Enter acknowledges the newest open call, "
          "'a N' the N-th, 'l' lists, 'q' quits", flush=True)
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
            with lock:
                items = list(open_items.items())
            if cmd[0] == "l":
                for i, (eid, (hub, what)) in enumerate(items, 1):
                    print(f"  {i}. {hub} {what} {eid}")
            elif cmd[0] == "a":
                if not items:
                    print("  nothing open to acknowledge")
                    continue
                index = int(cmd[1]) - 1 if len(cmd) > 1 and cmd[1].isdigit() else len(items) - 1
                eid, (hub, what) = items[max(0, min(index, len(items) - 1))]
                _send_ack(client, prefix, hub, eid, args.by, args.message)
                print(f"  ack sent for {what} {eid}")
    except KeyboardInterrupt:
        pass
    finally:
        client.loop_stop()
        client.disconnect()
    return 0


def _describe(topic: str, body: Any) -> str:
    if topic.endswith("/status") and isinstance(body, dict):
        return (f"[status] {body.get('hub', topic.split('/')[-2])}: {body.get('state')} "
                f"queue={body.get('queue_depth', '?')}")
    if not isinstance(body, dict):
        return f"[{topic}] {body!r}"
    try:
        when = datetime.fromisoformat(body["ts"]).strftime("%H:%M:%S")
    except (KeyError, ValueError, TypeError):
        when = "??:??:??"
    data = json.dumps(body.get("data", {}), ensure_ascii=False)
    return f"{when} {body.get('hub', '?')} #{body.get('seq', '?')} {body.get('type')} {data} id={body.get('id')}"
