"""`hub status`: connection, queue depth by priority, open alarms and calls — from the running hub."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hub.cli.common import add_config_arg, load_config_or_exit
from hub.cli.event_text import alarm_label
from hub.core.control import ControlError, request, socket_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="终端状态 show the running hub's state")
    add_config_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=status)


def status(args: argparse.Namespace) -> int:
    config = load_config_or_exit(args)
    try:
        st = request(socket_path(config.state_dir), {"cmd": "status"}, timeout=10)
    except ControlError as exc:
        print(f"hub status: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(st, ensure_ascii=False, indent=2))
        return 0
    online = st.get("state") == "online"
    print(f"hub {st.get('hub')}  v{st.get('version')}  up {st.get('uptime_s')} s")
    print(f"broker: {'online 在线' if online else 'OFFLINE 离线'}"
          + ("" if online or not st.get("last_error") else f"  ({st['last_error']})"))
    queue = st.get("queue", {})
    print(f"queue: {st.get('queue_depth', 0)} waiting (urgent {queue.get('urgent', 0)}, "
          f"measurement {queue.get('measurement', 0)}, telemetry {queue.get('telemetry', 0)}), "
          f"{st.get('in_flight', 0)} in flight")
    alarms = st.get("open_alarms") or []
    print(f"open alarms 待处理报警: {len(alarms)} (calls {len(st.get('open_calls') or [])})")
    for a in alarms:  # most severe first, as the hub lists them
        flags = [f for f, on in (("已升级 ESCALATED", a.get("escalated")),
                                 (f"已应答 ACKNOWLEDGED by {a.get('by')}", a.get("acknowledged")),
                                 ("仍存在 PRESENT", a.get("present"))) if on]
        print(f"  {alarm_label(a['type'], a)}  since {a['since']}{''.join('  ' + f for f in flags)}  {a['alarm_id']}")
    cert = st.get("certificate")
    if isinstance(cert, dict) and "days_left" in cert:
        print(f"certificate 证书: {cert['subject']} (issuer {cert['issuer']}), {cert['days_left']:.0f} days left "
              f"until {cert['not_after'][:10]}" + ("" if cert["state"] == "ok" else f"  {cert['state'].upper()}: "
                                                                            f"{cert.get('remedy', '')}"))
    remote = st.get("config") or {}
    if remote:  # remote configuration (docs/fleet.md)
        last = remote.get("last") or {}
        print(f"config 配置: version {remote.get('version')}"
              + (f"  (last: {last.get('result')} v{last.get('version')} at {last.get('ts')})" if last else "")
              + (f"  WAITING 等待: {remote['waiting']}" if remote.get("waiting") else ""))
    chains = (st.get("escalation") or {}).get("chains") or []
    if "escalation" in st:
        print(f"escalation 升级通知: {len(chains)} chain(s) running (after {st['escalation'].get('after_s')} s)")
    for c in chains:
        done = ", ".join(c.get("done") or []) or "waiting for after_s"
        nxt = f"; next step at {c['next_step_at']}" if c.get("next_step_at") else ""
        print(f"  {c['alarm_type']} {c['event_id'][:8]}: step {c['step'] + 1}/{c['of']} {c.get('role')} "
              f"{c.get('name')} ({done}){nxt}")
    notices = st.get("notices")
    if isinstance(notices, dict):  # hub.notices: what waits to be said or confirmed
        waiting, due = notices.get("pending") or [], notices.get("reminders") or []
        print(f"notices 通知: {len(waiting)} waiting, reminders 提醒 due: {len(due)}; schedule: "
              f"{'; '.join(notices.get('scheduled') or []) or 'none'}")
        for n in [*waiting, *due]:
            print(f"  {n.get('ref')} {n.get('priority') or n.get('kind')}  said {n.get('plays')}x"
                  + ("  WAITS FOR A PRESS 待确认" if n.get("confirm") and n.get("plays") else "")
                  + (f"  next {n['next']}" if n.get("next") else "") + f"  until {n.get('until')}")
    shown = {"hub", "version", "uptime_s", "state", "last_error", "queue", "queue_depth", "in_flight",
             "open_calls", "open_alarms", "config", "escalation", "notices",
             *(["certificate"] if isinstance(cert, dict) and "days_left" in cert else [])}
    for key in sorted(set(st) - shown):
        print("\n".join(readable(key, st[key])))
    return 0


def readable(key: str, value: Any, indent: int = 0) -> list[str]:
    """A status section as indented `key: value` lines for the technician (`--json` has it raw):
    nested sections indent, a list of records gets one line per record."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [f"{pad}{key}: —"]
        return [f"{pad}{key}:"] + [line for k, v in value.items() for line in readable(str(k), v, indent + 2)]
    if isinstance(value, list):
        if not value:
            return [f"{pad}{key}: —"]
        if all(not isinstance(v, dict | list) for v in value):
            return [f"{pad}{key}: {', '.join(_scalar(v) for v in value)}"]
        return [f"{pad}{key}:"] + [f"{pad}  - {_record(v)}" for v in value]
    return [f"{pad}{key}: {_scalar(value)}"]


def _record(value: Any) -> str:
    if isinstance(value, dict):
        return " · ".join(f"{k} {_scalar(v) if not isinstance(v, dict | list) else json.dumps(v, ensure_ascii=False)}"
                          for k, v in value.items())
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else _scalar(value)


def _scalar(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
