"""`hub zigbee permit-join|list`: pairing Zigbee devices through zigbee2mqtt on the unit's own broker.

Talks to that broker directly (the hub need not run): `permit-join` publishes zigbee2mqtt's
`bridge/request/permit_join` and prints its response; `list` reads the retained `bridge/devices` and says,
for each device, what the hub makes of it (hub.zigbee.devices: used, or why it is ignored).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from hub.cli.common import add_config_arg, load_config_or_exit

WAIT_S = 5.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("zigbee", help="Zigbee 配对 pair and list zigbee2mqtt devices")
    verbs = p.add_subparsers(dest="zigbee_verb", required=True)
    join = verbs.add_parser("permit-join", help="允许设备入网 open the network for pairing")
    join.add_argument("seconds", type=int, nargs="?", help="秒数 seconds (10..254; default [zigbee] permit_join_s; "
                      "0 closes it)")
    add_config_arg(join)
    join.set_defaults(func=permit_join)
    listing = verbs.add_parser("list", help="列出设备 devices zigbee2mqtt knows, and what the hub does with each")
    listing.add_argument("--json", action="store_true")
    add_config_arg(listing)
    listing.set_defaults(func=list_devices)


def _exchange(cfg: dict[str, Any], topic: str, publish: tuple[str, str] | None) -> bytes | None:
    """Subscribe to `topic` (retained included), optionally publish, return the first payload or None."""
    import paho.mqtt.client as mqtt

    got: list[bytes] = []
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hub-zigbee-cli-{threading.get_ident()}")

    def on_connect(c: Any, u: Any, f: Any, reason: Any, p: Any = None) -> None:
        c.subscribe(topic, qos=1)
        if publish is not None:
            c.publish(publish[0], publish[1], qos=1)

    def on_message(c: Any, u: Any, message: Any) -> None:
        got.append(bytes(message.payload))
        done.set()

    client.on_connect, client.on_message = on_connect, on_message
    try:
        client.connect(cfg["host"], cfg["port"], keepalive=10)
    except OSError as exc:
        print(f"hub zigbee: 无法连接本机 MQTT 代理 {cfg['host']}:{cfg['port']}：检查 mosquitto 服务 "
              f"(systemctl status mosquitto) ({exc})", file=sys.stderr)
        return None
    client.loop_start()
    done.wait(WAIT_S)
    client.disconnect()
    client.loop_stop()
    return got[0] if got else b""


def permit_join(args: argparse.Namespace) -> int:
    config = load_config_or_exit(args)
    cfg = config["zigbee"]
    seconds = cfg["permit_join_s"] if args.seconds is None else args.seconds
    if not (seconds == 0 or 10 <= seconds <= 254):
        print("hub zigbee permit-join: 秒数 10..254，0 关闭 (seconds 10..254, 0 closes)", file=sys.stderr)
        return 2
    base = cfg["base_topic"]
    answer = _exchange(cfg, f"{base}/bridge/response/permit_join",
                       (f"{base}/bridge/request/permit_join", json.dumps({"time": seconds, "value": seconds > 0})))
    if answer is None:
        return 1
    if not answer:
        print(f"hub zigbee permit-join: zigbee2mqtt 没有回答：检查 zigbee2mqtt 服务 (systemctl status zigbee2mqtt; "
              f"base_topic {base})", file=sys.stderr)
        return 1
    try:
        body = json.loads(answer)
    except ValueError:
        body = {}
    if not isinstance(body, dict) or body.get("status") != "ok":
        print(f"hub zigbee permit-join: zigbee2mqtt 拒绝 refused: {answer[:200]!r}", file=sys.stderr)
        return 1
    print(f"允许入网 {seconds} 秒：按设备的配对键 (network open for {seconds} s: press the device's pairing "
          "button); 然后运行 hub zigbee list" if seconds else "已关闭入网 network closed")
    return 0


def list_devices(args: argparse.Namespace) -> int:
    from hub.zigbee.devices import Refused, read_devices

    config = load_config_or_exit(args)
    cfg = config["zigbee"]
    payload = _exchange(cfg, f"{cfg['base_topic']}/bridge/devices", None)
    if payload is None:
        return 1
    configured = {d["friendly_name"]: d for d in cfg["devices"]}
    try:
        known = read_devices(payload, configured) if payload else {}
    except Refused as exc:
        print(f"hub zigbee list: bridge/devices 无法读取 unreadable ({exc})", file=sys.stderr)
        return 1
    rows = [k.row() for k in known.values()]
    rows += [{"friendly_name": n, "role": d["role"], "room": d["room"], "used": False, "model": "",
              "reason": "not paired (not in zigbee2mqtt's device list): hub zigbee permit-join"}
             for n, d in configured.items() if n not in known]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("没有设备 no devices: run `hub zigbee permit-join` and pair one")
    for r in rows:
        mark = "在用 USED   " if r["used"] else "忽略 IGNORED"
        where = f"{r.get('role') or '-'} @ {r.get('room') or '-'}"
        print(f"{mark}  {r['friendly_name']:<20} {r.get('model') or '?':<16} {where:<20} {r['reason']}")
    return 0 if all(r["used"] for r in rows if r["friendly_name"] in configured) else 3
